/*
 * The CA held by signerd: the certificate, chain and key the parent
 * sent, checked before the first request, and the exact canonical
 * provider hosts it may sign for.  Everything that could let a
 * compromised proxy worker widen its power is decided from these;
 * the worker chooses only the host, among those, and its own public
 * key (ca_issue.c).
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
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "asn1time.h"
#include "ca.h"
#include "ca_int.h"
#include "cryptoerr.h"
#include "hostname.h"
#include "proto.h"

#define CA_RSA_MIN	2048
/* Ends every PEM private key label: PRIVATE, RSA PRIVATE, EC PRIVATE. */
#define CA_PEM_KEY	"PRIVATE KEY-----"

struct ca_host {
	TAILQ_ENTRY(ca_host)	 entry;
	char			 name[AIB_HOSTNAME_MAX + 1];
};

static int	ca_read_chain(STACK_OF(X509) *, const uint8_t *, size_t,
		    char *, size_t);
static int	ca_load_chain(struct ca *, const uint8_t *, size_t, char *,
		    size_t);
static int	ca_check_cert(struct ca *, time_t, char *, size_t);
static int	ca_pem_pass(char *, int, int, void *);
static int	ca_load_key(struct ca *, const uint8_t *, size_t, char *,
		    size_t);
static int	ca_set_keyid(struct ca *);
static struct ca *ca_begin(const uint8_t *, size_t, time_t, char *, size_t);
static struct ca *ca_finish(struct ca *, char *, size_t);
static int	ca_key_proof(struct ca *, char *, size_t);

void
ca_timestr(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		(void)snprintf(buf, len, "%lld", (long long)t);
}

/*
 * RSA of at least 2048 bits, or EC on P-256 or P-384 named by OID.
 * The curve comes from the SubjectPublicKeyInfo itself, which also
 * refuses explicit curve parameters.
 */
int
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
	/* Kept for the name constraints a client checks (ca_names.c). */
	ca->certs = chain;
	chain = NULL;
	rv = 0;
	goto fail;
 oom:
	(void)snprintf(err, errlen, "out of memory");
 fail:
	BIO_free(bio);
	sk_X509_pop_free(chain, X509_free);
	return (rv);
}

int
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
	if (asn1_time_epoch(X509_get0_notBefore(ca->cert),
	    &ca->notbefore) == -1 ||
	    asn1_time_epoch(X509_get0_notAfter(ca->cert),
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

/* The certificate half of a CA, checked; the key comes next. */
static struct ca *
ca_begin(const uint8_t *certpem, size_t certlen, time_t now, char *err,
    size_t errlen)
{
	struct ca	*ca;

	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	TAILQ_INIT(&ca->hosts);
	RB_INIT(&ca->cache);
	if (ca_load_chain(ca, certpem, certlen, err, errlen) == -1 ||
	    ca_check_cert(ca, now, err, errlen) == -1) {
		ca_free(ca);
		return (NULL);
	}
	return (ca);
}

static struct ca *
ca_finish(struct ca *ca, char *err, size_t errlen)
{
	if (ca_set_keyid(ca) == -1) {
		(void)snprintf(err, errlen, "out of memory");
		ERR_clear_error();
		ca_free(ca);
		return (NULL);
	}
	ERR_clear_error();
	return (ca);
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
	if ((ca = ca_begin(certpem, certlen, now, err, errlen)) == NULL)
		return (NULL);
	if (ca_load_key(ca, keypem, keylen, err, errlen) == -1) {
		ERR_clear_error();
		ca_free(ca);
		return (NULL);
	}
	return (ca_finish(ca, err, errlen));
}

/*
 * A key we cannot read, only use (a PKCS#11 token's): it matches the
 * certificate if a signature it makes verifies with the certificate's
 * public key.  This also proves, at start and reload rather than at the
 * first leaf, that the token signs with the digest the leaves use.
 */
static int
ca_key_proof(struct ca *ca, char *err, size_t errlen)
{
	static const unsigned char	 msg[] = "aibproxyd CA key check";
	EVP_MD_CTX			*md;
	unsigned char			*sig = NULL;
	size_t				 siglen = 0;
	int				 rv = -1;

	if ((md = EVP_MD_CTX_new()) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (EVP_DigestSignInit(md, NULL, ca->md, NULL, ca->key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, msg, sizeof(msg)) != 1 ||
	    (sig = malloc(siglen)) == NULL ||
	    EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)) != 1) {
		(void)snprintf(err, errlen, "CA key cannot sign: %s",
		    crypto_why());
		goto done;
	}
	EVP_MD_CTX_reset(md);
	if (EVP_DigestVerifyInit(md, NULL, ca->md, NULL,
	    X509_get0_pubkey(ca->cert)) != 1 ||
	    EVP_DigestVerify(md, sig, siglen, msg, sizeof(msg)) != 1) {
		(void)snprintf(err, errlen,
		    "CA key does not match the CA certificate");
		goto done;
	}
	rv = 0;
 done:
	free(sig);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return (rv);
}

/* -n with a key in a token: the certificate half alone. */
struct ca *
ca_load_cert(const uint8_t *certpem, size_t certlen, time_t now, char *err,
    size_t errlen)
{
	if (certlen > CA_FILE_MAX) {
		(void)snprintf(err, errlen, "CA certificate file is larger "
		    "than %d bytes", CA_FILE_MAX);
		return (NULL);
	}
	return (ca_begin(certpem, certlen, now, err, errlen));
}

struct ca *
ca_load_pkey(const uint8_t *certpem, size_t certlen, EVP_PKEY *key,
    time_t now, char *err, size_t errlen)
{
	struct ca	*ca;

	if ((ca = ca_load_cert(certpem, certlen, now, err, errlen)) == NULL)
		return (NULL);
	if (!EVP_PKEY_up_ref(key)) {
		(void)snprintf(err, errlen, "out of memory");
		ca_free(ca);
		return (NULL);
	}
	ca->key = key;
	if (ca_key_proof(ca, err, errlen) == -1) {
		ca_free(ca);
		return (NULL);
	}
	return (ca_finish(ca, err, errlen));
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
	sk_X509_pop_free(ca->certs, X509_free);
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
	if (ca_names_check(ca, canon, err, errlen) == -1)
		return (-1);
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

int
ca_allowed(const struct ca *ca, const char *host)
{
	struct ca_host	*h;

	TAILQ_FOREACH(h, &ca->hosts, entry)
		if (strcmp(h->name, host) == 0)
			return (1);
	return (0);
}
