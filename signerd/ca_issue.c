/*
 * signerd's CA at work: a worker's request for one host and public key
 * is checked against what ca.c loaded, and a leaf is issued (or a
 * recent one reused).  The worker chooses only the host, among the
 * allowed ones, and its own key; everything else the leaf says is
 * decided here.
 *
 * Extensions are built as structures (GENERAL_NAME, BASIC_CONSTRAINTS,
 * ...), never from configuration strings, so no byte of a host name is
 * ever parsed as syntax.
 */
#include <sys/types.h>
#include <sys/tree.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "ca_int.h"
#include "hostname.h"
#include "log.h"
#include "proto.h"

#define CA_SERIAL_BITS	127
#define CA_BACKDATE	3600	/* tolerate clients with slow clocks */
#define CA_CACHE_MAX	256

/*
 * A recent leaf, reused while less than half of its life has passed:
 * the same key asking again gets the same certificate, so a worker
 * that loops costs no signatures.  Workers renew at two thirds, by
 * which time this entry is stale and they get a fresh leaf.
 */
struct ca_cached {
	RB_ENTRY(ca_cached)	 entry;
	char			 host[AIB_HOSTNAME_MAX + 1];
	uint8_t			 spkihash[SHA256_DIGEST_LENGTH];
	char			*pem;
	size_t			 pemlen;
	time_t			 issued;
	time_t			 notafter;
	char			 serial[CA_SERIAL_MAX];
};

static int	ca_cached_cmp(struct ca_cached *, struct ca_cached *);
RB_PROTOTYPE(ca_cache, ca_cached, entry, ca_cached_cmp);

static EVP_PKEY	*ca_parse_spki(const uint8_t *, size_t, int *, char *,
		    size_t);
static int	ca_set_serial(X509 *, char *, size_t);
static int	ca_set_validity(const struct ca *, X509 *, uint32_t, time_t,
		    time_t *);
static int	ca_set_names(const struct ca *, X509 *, const char *);
static int	ca_add_san(X509 *, const char *, int);
static int	ca_add_constraints(X509 *, int);
static int	ca_add_keyids(const struct ca *, X509 *);
static int	ca_issue(struct ca *, const char *, EVP_PKEY *, int,
		    uint32_t, time_t, struct ca_leaf *);
static int	ca_pem_out(const struct ca *, X509 *, struct ca_leaf *);
static int	ca_cache_get(struct ca *, const char *, const uint8_t *,
		    time_t, struct ca_leaf *);
static void	ca_cache_put(struct ca *, const uint8_t *,
		    const struct ca_leaf *, time_t);

static int
ca_cached_cmp(struct ca_cached *a, struct ca_cached *b)
{
	int	 rv;

	if ((rv = strcmp(a->host, b->host)) != 0)
		return (rv);
	return (memcmp(a->spkihash, b->spkihash, sizeof(a->spkihash)));
}

/* Not _STATIC: libbsd leaves __unused empty, so unused ones would warn. */
RB_GENERATE(ca_cache, ca_cached, entry, ca_cached_cmp);

/* The SPKI must be exactly one well-formed, acceptable public key. */
static EVP_PKEY *
ca_parse_spki(const uint8_t *spki, size_t len, int *type, char *why,
    size_t whylen)
{
	X509_PUBKEY		*xpk;
	EVP_PKEY		*pkey = NULL;
	const unsigned char	*p = spki;

	if (len == 0 || len > AIB_SPKI_MAX ||
	    (xpk = d2i_X509_PUBKEY(NULL, &p, (long)len)) == NULL) {
		(void)snprintf(why, whylen, "public key does not parse");
		goto done;
	}
	if (p != spki + len)
		(void)snprintf(why, whylen, "public key has trailing bytes");
	else if (ca_pubkey_check(xpk, type, why, whylen) == 0 &&
	    (pkey = X509_PUBKEY_get(xpk)) == NULL)
		(void)snprintf(why, whylen, "public key does not parse");
	X509_PUBKEY_free(xpk);
 done:
	ERR_clear_error();
	return (pkey);
}

/* Random, positive, at most 127 bits, never zero. */
static int
ca_set_serial(X509 *x, char *hex, size_t hexlen)
{
	BIGNUM	*bn;
	char	*s = NULL;
	int	 rv = -1;

	if ((bn = BN_new()) == NULL)
		return (-1);
	do {
		if (!BN_rand(bn, CA_SERIAL_BITS, BN_RAND_TOP_ANY,
		    BN_RAND_BOTTOM_ANY))
			goto fail;
	} while (BN_is_zero(bn));
	if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    (s = BN_bn2hex(bn)) == NULL ||
	    strlcpy(hex, s, hexlen) >= hexlen)
		goto fail;
	rv = 0;
 fail:
	OPENSSL_free(s);
	BN_free(bn);
	return (rv);
}

static int
ca_set_validity(const struct ca *ca, X509 *x, uint32_t lifetime,
    time_t now, time_t *notafter)
{
	time_t	 nb, na;

	nb = now - CA_BACKDATE;
	if (nb < ca->notbefore)
		nb = ca->notbefore;
	na = now + (time_t)lifetime;
	if (na > ca->notafter)
		na = ca->notafter;
	if (ASN1_TIME_set(X509_getm_notBefore(x), nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), na) == NULL)
		return (-1);
	*notafter = na;
	return (0);
}

int
ca_leaf_subject(X509_NAME *subj, const char *host)
{
	if (strlen(host) > CA_CN_MAX)
		return (0);
	if (!X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_ASC,
	    (const unsigned char *)host, -1, -1, 0))
		return (-1);
	return (0);
}

/* The subject (ca_leaf_subject()); issuer = CA subject. */
static int
ca_set_names(const struct ca *ca, X509 *x, const char *host)
{
	if (!X509_set_issuer_name(x, X509_get_subject_name(ca->cert)))
		return (-1);
	return (ca_leaf_subject(X509_get_subject_name(x), host));
}

/* Exactly one dNSName, as a structure; critical when there is no CN. */
static int
ca_add_san(X509 *x, const char *host, int critical)
{
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*gen;
	ASN1_IA5STRING	*ia5;
	int		 rv = -1;

	if ((gens = GENERAL_NAMES_new()) == NULL)
		return (-1);
	if ((gen = GENERAL_NAME_new()) == NULL)
		goto fail;
	if ((ia5 = ASN1_IA5STRING_new()) == NULL ||
	    !ASN1_STRING_set(ia5, host, (int)strlen(host))) {
		ASN1_IA5STRING_free(ia5);
		GENERAL_NAME_free(gen);
		goto fail;
	}
	GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
	if (!sk_GENERAL_NAME_push(gens, gen)) {
		GENERAL_NAME_free(gen);
		goto fail;
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, critical,
	    X509V3_ADD_REPLACE) != 1)
		goto fail;
	rv = 0;
 fail:
	GENERAL_NAMES_free(gens);
	return (rv);
}

/* CA:FALSE, digitalSignature (+keyEncipherment for RSA), serverAuth. */
static int
ca_add_constraints(X509 *x, int rsa)
{
	BASIC_CONSTRAINTS	*bc = NULL;
	ASN1_BIT_STRING		*ku = NULL;
	EXTENDED_KEY_USAGE	*eku = NULL;
	int			 rv = -1;

	if ((bc = BASIC_CONSTRAINTS_new()) == NULL)
		goto fail;
	bc->ca = 0;
	if (X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1,
	    X509V3_ADD_REPLACE) != 1)
		goto fail;
	if ((ku = ASN1_BIT_STRING_new()) == NULL ||
	    !ASN1_BIT_STRING_set_bit(ku, 0, 1) ||
	    (rsa && !ASN1_BIT_STRING_set_bit(ku, 2, 1)))
		goto fail;
	if (X509_add1_ext_i2d(x, NID_key_usage, ku, 1,
	    X509V3_ADD_REPLACE) != 1)
		goto fail;
	if ((eku = sk_ASN1_OBJECT_new_null()) == NULL ||
	    !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)))
		goto fail;
	if (X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0,
	    X509V3_ADD_REPLACE) != 1)
		goto fail;
	rv = 0;
 fail:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	sk_ASN1_OBJECT_free(eku);	/* OBJ_nid2obj() objects are static */
	return (rv);
}

static int
ca_add_keyids(const struct ca *ca, X509 *x)
{
	ASN1_OCTET_STRING	*ski = NULL;
	AUTHORITY_KEYID		*akid = NULL;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen;
	int			 rv = -1;

	if (!X509_pubkey_digest(x, EVP_sha1(), md, &mdlen) ||
	    (ski = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(ski, md, (int)mdlen))
		goto fail;
	if (X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0,
	    X509V3_ADD_REPLACE) != 1)
		goto fail;
	if ((akid = AUTHORITY_KEYID_new()) == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_dup(ca->keyid)) == NULL)
		goto fail;
	if (X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0,
	    X509V3_ADD_REPLACE) != 1)
		goto fail;
	rv = 0;
 fail:
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(akid);
	return (rv);
}

/* Leaf PEM followed by every certificate of the CA file. */
static int
ca_pem_out(const struct ca *ca, X509 *x, struct ca_leaf *leaf)
{
	BIO	*bio;
	char	*p;
	long	 len;
	int	 rv = -1;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return (-1);
	if (!PEM_write_bio_X509(bio, x) ||
	    (len = BIO_get_mem_data(bio, &p)) <= 0)
		goto fail;
	if ((leaf->cl_pem = malloc((size_t)len + ca->chainlen + 1)) == NULL)
		goto fail;
	memcpy(leaf->cl_pem, p, (size_t)len);
	memcpy(leaf->cl_pem + len, ca->chain, ca->chainlen);
	leaf->cl_pemlen = (size_t)len + ca->chainlen;
	leaf->cl_pem[leaf->cl_pemlen] = '\0';
	rv = 0;
 fail:
	BIO_free(bio);
	return (rv);
}

static int
ca_issue(struct ca *ca, const char *host, EVP_PKEY *pkey, int type,
    uint32_t lifetime, time_t now, struct ca_leaf *leaf)
{
	X509	*x;
	int	 rv = -1;

	if ((x = X509_new()) == NULL)
		return (-1);
	if (!X509_set_version(x, 2) ||
	    ca_set_serial(x, leaf->cl_serial, sizeof(leaf->cl_serial)) == -1 ||
	    ca_set_validity(ca, x, lifetime, now, &leaf->cl_notafter) == -1 ||
	    ca_set_names(ca, x, host) == -1 ||
	    !X509_set_pubkey(x, pkey) ||
	    ca_add_constraints(x, type == CA_KEY_RSA) == -1 ||
	    ca_add_keyids(ca, x) == -1 ||
	    ca_add_san(x, host, strlen(host) > CA_CN_MAX) == -1)
		goto fail;
	if (X509_sign(x, ca->key, ca->md) <= 0)
		goto fail;
	if (ca_pem_out(ca, x, leaf) == -1)
		goto fail;
	rv = 0;
 fail:
	X509_free(x);
	ERR_clear_error();
	return (rv);
}

void
ca_cache_flush(struct ca *ca)
{
	struct ca_cached	*c;

	while ((c = RB_MIN(ca_cache, &ca->cache)) != NULL) {
		RB_REMOVE(ca_cache, &ca->cache, c);
		free(c->pem);
		free(c);
	}
	ca->ncached = 0;
}

static int
ca_cache_get(struct ca *ca, const char *host, const uint8_t *hash,
    time_t now, struct ca_leaf *leaf)
{
	struct ca_cached	 key, *c;

	memset(&key, 0, sizeof(key));
	(void)strlcpy(key.host, host, sizeof(key.host));
	memcpy(key.spkihash, hash, sizeof(key.spkihash));
	if ((c = RB_FIND(ca_cache, &ca->cache, &key)) == NULL)
		return (-1);
	if (now < c->issued ||
	    now - c->issued >= (c->notafter - c->issued) / 2) {
		RB_REMOVE(ca_cache, &ca->cache, c);
		ca->ncached--;
		free(c->pem);
		free(c);
		return (-1);
	}
	if ((leaf->cl_pem = malloc(c->pemlen + 1)) == NULL)
		return (-1);
	memcpy(leaf->cl_pem, c->pem, c->pemlen + 1);
	leaf->cl_pemlen = c->pemlen;
	leaf->cl_notafter = c->notafter;
	leaf->cl_cached = 1;
	(void)strlcpy(leaf->cl_serial, c->serial, sizeof(leaf->cl_serial));
	return (0);
}

/* Best effort: a leaf that cannot be cached is simply issued again. */
static void
ca_cache_put(struct ca *ca, const uint8_t *hash, const struct ca_leaf *leaf,
    time_t now)
{
	struct ca_cached	*c;

	if (ca->ncached >= CA_CACHE_MAX) {
		log_debug("%s: cache full, flushed", __func__);
		ca_cache_flush(ca);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	if ((c->pem = malloc(leaf->cl_pemlen + 1)) == NULL) {
		free(c);
		return;
	}
	memcpy(c->pem, leaf->cl_pem, leaf->cl_pemlen + 1);
	c->pemlen = leaf->cl_pemlen;
	(void)strlcpy(c->host, leaf->cl_host, sizeof(c->host));
	memcpy(c->spkihash, hash, sizeof(c->spkihash));
	c->issued = now;
	c->notafter = leaf->cl_notafter;
	(void)strlcpy(c->serial, leaf->cl_serial, sizeof(c->serial));
	if (RB_INSERT(ca_cache, &ca->cache, c) != NULL) {
		free(c->pem);
		free(c);
		return;
	}
	ca->ncached++;
}

int
ca_request(struct ca *ca, const char *host, const uint8_t *spki,
    size_t spkilen, uint32_t lifetime, time_t now, struct ca_leaf *leaf,
    char *reason, size_t reasonlen)
{
	EVP_PKEY	*pkey;
	uint8_t		 hash[SHA256_DIGEST_LENGTH];
	const char	*why;
	int		 type;

	memset(leaf, 0, sizeof(*leaf));
	if (host_canon(host, leaf->cl_host, sizeof(leaf->cl_host),
	    &why) == -1) {
		(void)snprintf(reason, reasonlen, "not a valid host name (%s)",
		    why);
		return (-1);
	}
	if (!ca_allowed(ca, leaf->cl_host)) {
		(void)snprintf(reason, reasonlen,
		    "not a configured provider host");
		return (-1);
	}
	if (ca_check_time(ca, now, reason, reasonlen) == -1)
		return (-1);
	if (lifetime == 0) {
		(void)snprintf(reason, reasonlen, "leaf lifetime is zero");
		return (-1);
	}
	if (spkilen > AIB_SPKI_MAX || !EVP_Digest(spki, spkilen, hash, NULL,
	    EVP_sha256(), NULL)) {
		(void)snprintf(reason, reasonlen, "public key does not parse");
		return (-1);
	}
	if (ca_cache_get(ca, leaf->cl_host, hash, now, leaf) == 0)
		return (0);
	if ((pkey = ca_parse_spki(spki, spkilen, &type, reason,
	    reasonlen)) == NULL)
		return (-1);
	if (ca_issue(ca, leaf->cl_host, pkey, type, lifetime, now,
	    leaf) == -1) {
		EVP_PKEY_free(pkey);
		(void)snprintf(reason, reasonlen,
		    "internal error while signing");
		return (-1);
	}
	EVP_PKEY_free(pkey);
	ca_cache_put(ca, hash, leaf, now);
	return (0);
}

void
ca_leaf_clear(struct ca_leaf *leaf)
{
	free(leaf->cl_pem);
	memset(leaf, 0, sizeof(*leaf));
}
