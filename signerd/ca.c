/*
 * The CA held by signerd.  Everything that could let a compromised
 * proxy worker widen its power is decided here, from data the parent
 * sent: which names may be signed (exact canonical provider hosts),
 * which keys are acceptable, and what the certificate says.  The
 * worker chooses only the host, among those, and its own public key.
 *
 * Extensions are built as structures (GENERAL_NAME, BASIC_CONSTRAINTS,
 * ...), never from configuration strings, so no byte of a host name is
 * ever parsed as syntax.
 */
#include <sys/types.h>
#include <sys/queue.h>
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
#include "hostname.h"
#include "log.h"
#include "proto.h"

#define CA_SERIAL_BITS	127
#define CA_BACKDATE	3600	/* tolerate clients with slow clocks */
#define CA_CN_MAX	64	/* ub-common-name; longer hosts: SAN only */
#define CA_CACHE_MAX	256
#define CA_RSA_MIN	2048
/* Ends every PEM private key label: PRIVATE, RSA PRIVATE, EC PRIVATE. */
#define CA_PEM_KEY	"PRIVATE KEY-----"

enum ca_keytype {
	CA_KEY_RSA,
	CA_KEY_P256,
	CA_KEY_P384
};

struct ca_host {
	TAILQ_ENTRY(ca_host)	 entry;
	char			 name[AIB_HOSTNAME_MAX + 1];
};

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
RB_HEAD(ca_cache, ca_cached);

struct ca {
	X509			*cert;		/* the signing CA */
	EVP_PKEY		*key;
	const EVP_MD		*md;
	ASN1_OCTET_STRING	*keyid;		/* for the leaves' AKI */
	time_t			 notbefore;
	time_t			 notafter;
	char			*chain;		/* CA file certs, PEM */
	size_t			 chainlen;
	TAILQ_HEAD(, ca_host)	 hosts;
	size_t			 nhosts;
	struct ca_cache		 cache;
	size_t			 ncached;
};

static int	ca_cached_cmp(struct ca_cached *, struct ca_cached *);
RB_PROTOTYPE(ca_cache, ca_cached, entry, ca_cached_cmp);

static int	ca_asn1_time(const ASN1_TIME *, time_t *);
static int	ca_pubkey_check(X509_PUBKEY *, int *, char *, size_t);
static int	ca_read_chain(STACK_OF(X509) *, const uint8_t *, size_t,
		    char *, size_t);
static int	ca_load_chain(struct ca *, const uint8_t *, size_t, char *,
		    size_t);
static int	ca_check_cert(struct ca *, time_t, char *, size_t);
static int	ca_check_time(const struct ca *, time_t, char *, size_t);
static int	ca_pem_pass(char *, int, int, void *);
static int	ca_load_key(struct ca *, const uint8_t *, size_t, char *,
		    size_t);
static int	ca_set_keyid(struct ca *);
static int	ca_allowed(const struct ca *, const char *);
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
static void	ca_cache_flush(struct ca *);
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

void
ca_timestr(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		(void)snprintf(buf, len, "%lld", (long long)t);
}

static int
ca_asn1_time(const ASN1_TIME *at, time_t *t)
{
	struct tm	 tm;

	memset(&tm, 0, sizeof(tm));
	if (at == NULL || !ASN1_TIME_to_tm(at, &tm))
		return (-1);
	*t = timegm(&tm);
	return (0);
}

/*
 * RSA of at least 2048 bits, or EC on P-256 or P-384 named by OID.
 * The curve comes from the SubjectPublicKeyInfo itself, which also
 * refuses explicit curve parameters.
 */
static int
ca_pubkey_check(X509_PUBKEY *xpk, int *type, char *why, size_t whylen)
{
	ASN1_OBJECT		*alg;
	const ASN1_OBJECT	*curve;
	const void		*pval;
	X509_ALGOR		*pa;
	EVP_PKEY		*pkey;
	int			 ptype, bits, nid;

	if (!X509_PUBKEY_get0_param(&alg, NULL, NULL, &pa, xpk) ||
	    (pkey = X509_PUBKEY_get(xpk)) == NULL) {
		(void)snprintf(why, whylen, "public key does not parse");
		return (-1);
	}
	bits = EVP_PKEY_bits(pkey);
	EVP_PKEY_free(pkey);

	switch ((nid = OBJ_obj2nid(alg))) {
	case NID_rsaEncryption:
		if (bits < CA_RSA_MIN) {
			(void)snprintf(why, whylen, "RSA key of %d bits is "
			    "too weak (at least %d)", bits, CA_RSA_MIN);
			return (-1);
		}
		*type = CA_KEY_RSA;
		return (0);
	case NID_X9_62_id_ecPublicKey:
		X509_ALGOR_get0(NULL, &ptype, &pval, pa);
		if (ptype != V_ASN1_OBJECT) {
			(void)snprintf(why, whylen,
			    "EC key without a named curve");
			return (-1);
		}
		curve = pval;
		switch ((nid = OBJ_obj2nid(curve))) {
		case NID_X9_62_prime256v1:
			*type = CA_KEY_P256;
			return (0);
		case NID_secp384r1:
			*type = CA_KEY_P384;
			return (0);
		}
		(void)snprintf(why, whylen, "EC curve %s is not allowed "
		    "(P-256 or P-384 only)",
		    nid == NID_undef ? "(unknown)" : OBJ_nid2sn(nid));
		return (-1);
	}
	(void)snprintf(why, whylen, "%s keys are not allowed "
	    "(RSA or EC P-256/P-384 only)",
	    nid == NID_undef ? "unknown" : OBJ_nid2sn(nid));
	return (-1);
}

/* Every CERTIFICATE block, in order; other blocks are skipped. */
static int
ca_read_chain(STACK_OF(X509) *chain, const uint8_t *pem, size_t len,
    char *err, size_t errlen)
{
	BIO			*bio;
	X509			*x;
	char			*name = NULL, *header = NULL;
	unsigned char		*data = NULL;
	const unsigned char	*p;
	long			 dlen;
	unsigned long		 e;
	int			 rv = -1;

	ERR_clear_error();
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (-1);
	}
	while (PEM_read_bio(bio, &name, &header, &data, &dlen) == 1) {
		if (strcmp(name, PEM_STRING_X509) == 0) {
			p = data;
			x = d2i_X509(NULL, &p, dlen);
			if (x == NULL || p != data + dlen) {
				X509_free(x);
				(void)snprintf(err, errlen, "CA certificate "
				    "%d in the file does not parse",
				    sk_X509_num(chain) + 1);
				goto fail;
			}
			if (!sk_X509_push(chain, x)) {
				X509_free(x);
				(void)snprintf(err, errlen, "out of memory");
				goto fail;
			}
		}
		/* A block we skip may be a private key: wipe it. */
		OPENSSL_cleanse(data, (size_t)dlen);
		OPENSSL_free(data);
		OPENSSL_free(header);
		OPENSSL_free(name);
		data = NULL;
		header = name = NULL;
	}
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) != ERR_LIB_PEM ||
	    ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
		(void)snprintf(err, errlen,
		    "CA certificate file is not valid PEM");
		goto fail;
	}
	if (sk_X509_num(chain) == 0) {
		(void)snprintf(err, errlen,
		    "CA certificate file holds no certificate");
		goto fail;
	}
	rv = 0;
 fail:
	if (data != NULL)
		OPENSSL_cleanse(data, (size_t)dlen);
	OPENSSL_free(data);
	OPENSSL_free(header);
	OPENSSL_free(name);
	BIO_free(bio);
	ERR_clear_error();
	return (rv);
}

/* Keep the signing CA and a normalised PEM copy of the whole file. */
static int
ca_load_chain(struct ca *ca, const uint8_t *pem, size_t len, char *err,
    size_t errlen)
{
	STACK_OF(X509)	*chain;
	BIO		*bio = NULL;
	char		*p;
	long		 plen;
	int		 i, rv = -1;

	if ((chain = sk_X509_new_null()) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (ca_read_chain(chain, pem, len, err, errlen) == -1)
		goto fail;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		goto oom;
	for (i = 0; i < sk_X509_num(chain); i++)
		if (!PEM_write_bio_X509(bio, sk_X509_value(chain, i)))
			goto oom;
	if ((plen = BIO_get_mem_data(bio, &p)) <= 0)
		goto oom;
	if (plen > CA_CHAIN_MAX) {
		(void)snprintf(err, errlen, "CA certificate file holds more "
		    "than %d bytes of certificates", CA_CHAIN_MAX);
		goto fail;
	}
	if ((ca->chain = malloc((size_t)plen)) == NULL)
		goto oom;
	memcpy(ca->chain, p, (size_t)plen);
	ca->chainlen = (size_t)plen;
	ca->cert = sk_X509_value(chain, 0);
	if (!X509_up_ref(ca->cert)) {
		ca->cert = NULL;
		goto oom;
	}
	rv = 0;
	goto fail;
 oom:
	(void)snprintf(err, errlen, "out of memory");
 fail:
	BIO_free(bio);
	sk_X509_pop_free(chain, X509_free);
	return (rv);
}

static int
ca_check_time(const struct ca *ca, time_t now, char *err, size_t errlen)
{
	char	 when[64];

	if (now < ca->notbefore) {
		ca_timestr(ca->notbefore, when, sizeof(when));
		(void)snprintf(err, errlen,
		    "CA certificate is not valid before %s", when);
		return (-1);
	}
	if (now > ca->notafter) {
		ca_timestr(ca->notafter, when, sizeof(when));
		(void)snprintf(err, errlen,
		    "CA certificate expired on %s", when);
		return (-1);
	}
	return (0);
}

static int
ca_check_cert(struct ca *ca, time_t now, char *err, size_t errlen)
{
	char		 why[AIB_REASON_MAX];
	uint32_t	 flags;
	int		 type;

	flags = X509_get_extension_flags(ca->cert);
	if (flags & EXFLAG_INVALID) {
		(void)snprintf(err, errlen,
		    "CA certificate has invalid extensions");
		return (-1);
	}
	if ((flags & EXFLAG_BCONS) == 0 || (flags & EXFLAG_CA) == 0) {
		(void)snprintf(err, errlen, "CA certificate is not a CA "
		    "(basicConstraints CA:TRUE missing)");
		return (-1);
	}
	/* No keyUsage at all means any use: `openssl req -x509` CAs. */
	if ((flags & EXFLAG_KUSAGE) &&
	    (X509_get_key_usage(ca->cert) & KU_KEY_CERT_SIGN) == 0) {
		(void)snprintf(err, errlen,
		    "CA certificate keyUsage lacks keyCertSign");
		return (-1);
	}
	if (ca_asn1_time(X509_get0_notBefore(ca->cert), &ca->notbefore) ==
	    -1 || ca_asn1_time(X509_get0_notAfter(ca->cert),
	    &ca->notafter) == -1) {
		(void)snprintf(err, errlen,
		    "CA certificate validity does not parse");
		return (-1);
	}
	if (ca_check_time(ca, now, err, errlen) == -1)
		return (-1);
	if (ca_pubkey_check(X509_get_X509_PUBKEY(ca->cert), &type, why,
	    sizeof(why)) == -1) {
		(void)snprintf(err, errlen, "CA key: %s", why);
		return (-1);
	}
	ca->md = type == CA_KEY_P384 ? EVP_sha384() : EVP_sha256();
	return (0);
}

/* Never prompt: remember that a passphrase was wanted and fail. */
static int
ca_pem_pass(char *buf, int size, int rwflag, void *arg)
{
	int	*asked = arg;

	*asked = 1;
	return (-1);
}

static int
ca_load_key(struct ca *ca, const uint8_t *pem, size_t len, char *err,
    size_t errlen)
{
	BIO		*bio;
	int		 asked = 0;

	ERR_clear_error();
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (-1);
	}
	ca->key = PEM_read_bio_PrivateKey(bio, NULL, ca_pem_pass, &asked);
	BIO_free(bio);
	ERR_clear_error();
	if (ca->key == NULL) {
		if (asked)
			(void)snprintf(err, errlen, "CA key is encrypted "
			    "(signerd needs it without a passphrase)");
		else if (memmem(pem, len, CA_PEM_KEY,
		    sizeof(CA_PEM_KEY) - 1) == NULL)
			(void)snprintf(err, errlen,
			    "CA key file holds no private key");
		else
			(void)snprintf(err, errlen, "CA key does not parse");
		return (-1);
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		(void)snprintf(err, errlen,
		    "CA key does not match the CA certificate");
		return (-1);
	}
	return (0);
}

/* The leaves' AKI: the CA's own SKI, or the usual SHA-1 of its key. */
static int
ca_set_keyid(struct ca *ca)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;

	ca->keyid = X509_get_ext_d2i(ca->cert, NID_subject_key_identifier,
	    NULL, NULL);
	if (ca->keyid != NULL)
		return (0);
	if (!X509_pubkey_digest(ca->cert, EVP_sha1(), md, &mdlen) ||
	    (ca->keyid = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(ca->keyid, md, (int)mdlen))
		return (-1);
	return (0);
}

struct ca *
ca_load(const uint8_t *certpem, size_t certlen, const uint8_t *keypem,
    size_t keylen, time_t now, char *err, size_t errlen)
{
	struct ca	*ca;

	if (certlen > CA_FILE_MAX || keylen > CA_FILE_MAX) {
		(void)snprintf(err, errlen, "CA %s file is larger than %d "
		    "bytes", certlen > CA_FILE_MAX ? "certificate" : "key",
		    CA_FILE_MAX);
		return (NULL);
	}
	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	TAILQ_INIT(&ca->hosts);
	RB_INIT(&ca->cache);
	if (ca_load_chain(ca, certpem, certlen, err, errlen) == -1 ||
	    ca_check_cert(ca, now, err, errlen) == -1 ||
	    ca_load_key(ca, keypem, keylen, err, errlen) == -1)
		goto fail;
	if (ca_set_keyid(ca) == -1) {
		(void)snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ERR_clear_error();
	return (ca);
 fail:
	ERR_clear_error();
	ca_free(ca);
	return (NULL);
}

void
ca_free(struct ca *ca)
{
	struct ca_host	*h;

	if (ca == NULL)
		return;
	ca_cache_flush(ca);
	while ((h = TAILQ_FIRST(&ca->hosts)) != NULL) {
		TAILQ_REMOVE(&ca->hosts, h, entry);
		free(h);
	}
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	ASN1_OCTET_STRING_free(ca->keyid);
	free(ca->chain);
	free(ca);
}

int
ca_allow(struct ca *ca, const char *host, char *err, size_t errlen)
{
	struct ca_host	*h;
	char		 canon[AIB_HOSTNAME_MAX + 1];
	const char	*why;

	if (host_canon(host, canon, sizeof(canon), &why) == -1) {
		(void)snprintf(err, errlen, "provider host: %s", why);
		return (-1);
	}
	if (strcmp(canon, host) != 0) {
		(void)snprintf(err, errlen,
		    "provider host %s is not canonical", host);
		return (-1);
	}
	if (ca_allowed(ca, canon))
		return (0);
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (-1);
	}
	(void)strlcpy(h->name, canon, sizeof(h->name));
	TAILQ_INSERT_TAIL(&ca->hosts, h, entry);
	ca->nhosts++;
	return (0);
}

size_t
ca_nhosts(const struct ca *ca)
{
	return (ca->nhosts);
}

time_t
ca_notafter(const struct ca *ca)
{
	return (ca->notafter);
}

static int
ca_allowed(const struct ca *ca, const char *host)
{
	struct ca_host	*h;

	TAILQ_FOREACH(h, &ca->hosts, entry)
		if (strcmp(h->name, host) == 0)
			return (1);
	return (0);
}

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

/* Subject CN=host (when it fits ub-common-name), issuer = CA subject. */
static int
ca_set_names(const struct ca *ca, X509 *x, const char *host)
{
	X509_NAME	*subj;

	if (!X509_set_issuer_name(x, X509_get_subject_name(ca->cert)))
		return (-1);
	if (strlen(host) > CA_CN_MAX)
		return (0);
	subj = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_ASC,
	    (const unsigned char *)host, -1, -1, 0))
		return (-1);
	return (0);
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

static void
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
