/*
 * signerd/ca.c: loading and checking the CA, and what it agrees to
 * sign.  Every CA, key and request is generated here with libcrypto,
 * so the tests need no files.
 */
#include <sys/types.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "../../signerd/ca.h"
#include "proto.h"
#include "testcrypto.h"
#include "unit.h"

#define DAY		(24 * 60 * 60)
#define LIFETIME	(30 * DAY)
#define HOST		"api.anthropic.com"
#define HOST2		"api.openai.com"
/* Over 64 octets: too long for a CN, fine for a dNSName. */
#define LONGHOST	"a-rather-long-label-for-testing-purposes-0123456789" \
			    ".anthropic.example"
#define EXPIRED_AT	1767225600	/* 2026-01-01 00:00:00 UTC */

/* A CA as written to disk: certificate file and key file. */
struct fixture {
	char	*certpem;
	char	*keypem;
	X509	*chain[3];	/* as in the file, signing CA first */
	int	 nchain;
	X509	*root;		/* what a client trusts */
};

static time_t		 now;
static struct fixture	 fx_rsa, fx_ec, fx_p384, fx_chain, fx_noise, fx_short;
static struct fixture	 fx_rsa1024, fx_k1, fx_ed, fx_noca, fx_cafalse;
static struct fixture	 fx_nocertsign, fx_expired, fx_notyet;
static EVP_PKEY		*leaf_ec, *leaf_ec2, *leaf_p384, *leaf_rsa;
static EVP_PKEY		*leaf_rsa1024, *leaf_k1, *leaf_ed;
static char		*pem_mismatch, *pem_encrypted, *pem_ecparams;

/* Key and certificate generation. */

static EVP_PKEY *
gen_key(int type, int param)
{
	EVP_PKEY_CTX	*ctx;
	EVP_PKEY	*pkey = NULL;

	if ((ctx = EVP_PKEY_CTX_new_id(type, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) <= 0)
		abort();
	if (type == EVP_PKEY_RSA &&
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, param) <= 0)
		abort();
	if (type == EVP_PKEY_EC &&
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, param) <= 0)
		abort();
	if (EVP_PKEY_keygen(ctx, &pkey) <= 0)
		abort();
	EVP_PKEY_CTX_free(ctx);
	return (pkey);
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    !X509_add_ext(x, ext, -1))
		abort();
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for key, signed by issuer/ikey (self-signed when
 * issuer is NULL).  bc and ku are extension values or NULL.
 */
static X509 *
make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    time_t nb, time_t na, const char *bc, const char *ku)
{
	X509	*x;
	BIGNUM	*bn;

	if ((x = X509_new()) == NULL || (bn = BN_new()) == NULL)
		abort();
	if (!X509_set_version(x, 2) || !BN_rand(bn, 64, 0, 0) ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer :
	    x)) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), na) == NULL ||
	    !X509_set_pubkey(x, key))
		abort();
	BN_free(bn);
	if (bc != NULL)
		add_ext(x, issuer ? issuer : x, NID_basic_constraints, bc);
	if (ku != NULL)
		add_ext(x, issuer ? issuer : x, NID_key_usage, ku);
	add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid");
	if (X509_sign(x, ikey ? ikey : key, EVP_PKEY_base_id(key) ==
	    EVP_PKEY_ED25519 ? NULL : EVP_sha256()) <= 0)
		abort();
	return (x);
}

static char *
key_pem(EVP_PKEY *key)
{
	BIO	*bio;

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
		abort();
	return (tc_bio_text(bio));
}

static char *
cert_pem(X509 *x)
{
	BIO	*bio;

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509(bio, x))
		abort();
	return (tc_bio_text(bio));
}

static char *
certs_pem(struct fixture *fx)
{
	BIO	*bio;
	int	 i;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		abort();
	for (i = 0; i < fx->nchain; i++)
		if (!PEM_write_bio_X509(bio, fx->chain[i]))
			abort();
	return (tc_bio_text(bio));
}

static void
make_ca(struct fixture *fx, EVP_PKEY *key, time_t nb, time_t na,
    const char *bc, const char *ku)
{
	fx->chain[0] = make_cert("Test CA", key, NULL, NULL, nb, na, bc, ku);
	fx->nchain = 1;
	fx->root = fx->chain[0];
	fx->certpem = certs_pem(fx);
	fx->keypem = key_pem(key);
	EVP_PKEY_free(key);
}

static const char *bc_ca = "critical,CA:TRUE";
static const char *ku_ca = "critical,keyCertSign,cRLSign";

/* Intermediate ("AI Proxy CA") cross-signed by a corporate root (seed 001). */
static void
make_chain(struct fixture *fx)
{
	EVP_PKEY	*rootkey, *key;
	X509		*root;

	rootkey = gen_key(EVP_PKEY_EC, NID_X9_62_prime256v1);
	key = gen_key(EVP_PKEY_EC, NID_X9_62_prime256v1);
	root = make_cert("Upstream Root CA", rootkey, NULL, NULL, now - DAY,
	    now + 3650 * DAY, bc_ca, ku_ca);
	fx->chain[0] = make_cert("AI Proxy CA", key, root, rootkey, now - DAY,
	    now + 365 * DAY, "CA:TRUE", "keyCertSign,cRLSign");
	fx->chain[1] = root;
	fx->nchain = 2;
	fx->root = root;
	fx->certpem = certs_pem(fx);
	fx->keypem = key_pem(key);
	EVP_PKEY_free(key);
	EVP_PKEY_free(rootkey);
}

static char *
encrypted_pem(void)
{
	EVP_PKEY	*key;
	BIO		*bio;

	key = gen_key(EVP_PKEY_EC, NID_X9_62_prime256v1);
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(),
	    NULL, 0, NULL, (void *)"secret"))
		abort();
	EVP_PKEY_free(key);
	return (tc_bio_text(bio));
}

static char *
concat(const char *a, const char *b, const char *c)
{
	char	*s;

	if (asprintf(&s, "%s%s%s", a, b, c) == -1)
		abort();
	return (s);
}

static void
setup_fixtures(void)
{
	EVP_PKEY	*other;
	char		*a, *b, *c;

	now = time(NULL);
	make_ca(&fx_rsa, gen_key(EVP_PKEY_RSA, 2048), now - DAY,
	    now + 365 * DAY, bc_ca, ku_ca);
	/* Like `openssl req -x509`: CA:TRUE, no keyUsage at all. */
	make_ca(&fx_ec, gen_key(EVP_PKEY_EC, NID_X9_62_prime256v1),
	    now - DAY, now + 3650 * DAY, bc_ca, NULL);
	make_ca(&fx_p384, gen_key(EVP_PKEY_EC, NID_secp384r1), now - DAY,
	    now + 365 * DAY, bc_ca, ku_ca);
	make_chain(&fx_chain);
	/* Young and about to expire: both ends of a leaf get clamped. */
	make_ca(&fx_short, gen_key(EVP_PKEY_EC, NID_X9_62_prime256v1),
	    now - 60, now + 10 * DAY, bc_ca, ku_ca);

	make_ca(&fx_rsa1024, gen_key(EVP_PKEY_RSA, 1024), now - DAY,
	    now + DAY, bc_ca, ku_ca);
	make_ca(&fx_k1, gen_key(EVP_PKEY_EC, NID_secp256k1), now - DAY,
	    now + DAY, bc_ca, ku_ca);
	make_ca(&fx_ed, gen_key(EVP_PKEY_ED25519, 0), now - DAY, now + DAY,
	    bc_ca, ku_ca);
	make_ca(&fx_noca, gen_key(EVP_PKEY_EC, NID_X9_62_prime256v1),
	    now - DAY, now + DAY, NULL, NULL);
	make_ca(&fx_cafalse, gen_key(EVP_PKEY_EC, NID_X9_62_prime256v1),
	    now - DAY, now + DAY, "critical,CA:FALSE", NULL);
	make_ca(&fx_nocertsign, gen_key(EVP_PKEY_EC, NID_X9_62_prime256v1),
	    now - DAY, now + DAY, bc_ca, "critical,digitalSignature,cRLSign");
	make_ca(&fx_expired, gen_key(EVP_PKEY_EC, NID_X9_62_prime256v1),
	    EXPIRED_AT - 365 * DAY, EXPIRED_AT, bc_ca, ku_ca);
	make_ca(&fx_notyet, gen_key(EVP_PKEY_EC, NID_X9_62_prime256v1),
	    now + DAY, now + 2 * DAY, bc_ca, ku_ca);

	other = gen_key(EVP_PKEY_EC, NID_X9_62_prime256v1);
	pem_mismatch = key_pem(other);
	EVP_PKEY_free(other);
	pem_encrypted = encrypted_pem();
	/* `openssl ecparam -genkey` writes the parameters first. */
	pem_ecparams = concat("-----BEGIN EC PARAMETERS-----\n"
	    "BggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n", fx_ec.keypem,
	    "");
	/* The chain with chatter and a private key between the certs. */
	fx_noise = fx_chain;
	a = cert_pem(fx_chain.chain[0]);
	b = cert_pem(fx_chain.chain[1]);
	c = concat("subject=CN = AI Proxy CA\n", a, fx_chain.keypem);
	fx_noise.certpem = concat(c, "\nissuer=CN = Upstream Root CA\n", b);
	free(a);
	free(b);
	free(c);

	leaf_ec = gen_key(EVP_PKEY_EC, NID_X9_62_prime256v1);
	leaf_ec2 = gen_key(EVP_PKEY_EC, NID_X9_62_prime256v1);
	leaf_p384 = gen_key(EVP_PKEY_EC, NID_secp384r1);
	leaf_rsa = gen_key(EVP_PKEY_RSA, 2048);
	leaf_rsa1024 = gen_key(EVP_PKEY_RSA, 1024);
	leaf_k1 = gen_key(EVP_PKEY_EC, NID_secp256k1);
	leaf_ed = gen_key(EVP_PKEY_ED25519, 0);
}

static size_t
spki(EVP_PKEY *key, uint8_t *buf, size_t len)
{
	unsigned char	*p = buf;
	int		 n;

	if ((n = i2d_PUBKEY(key, NULL)) <= 0 || (size_t)n > len ||
	    i2d_PUBKEY(key, &p) != n)
		abort();
	return ((size_t)n);
}

static struct ca *
load(struct fixture *fx, const char *keypem)
{
	struct ca	*ca;
	char		 err[AIB_REASON_MAX];

	ca = ca_load((const uint8_t *)fx->certpem, strlen(fx->certpem),
	    (const uint8_t *)keypem, strlen(keypem), now, err, sizeof(err));
	ck_assert_msg(ca != NULL, "ca_load: %s", err);
	ck_assert_int_eq(ca_allow(ca, HOST, err, sizeof(err)), 0);
	ck_assert_int_eq(ca_allow(ca, HOST2, err, sizeof(err)), 0);
	return (ca);
}

/* Loading. */

struct load_case {
	const char	*name;
	char		**cert;
	char		**key;
	time_t		 at;		/* 0: now */
	const char	*err;		/* NULL: must load */
};

static char	*s_empty = "";
static char	*s_garbage = "this is not PEM\n";
static char	*s_badcert = "-----BEGIN CERTIFICATE-----\nMIIBAA==\n"
		    "-----END CERTIFICATE-----\n";
static char	*s_badb64 = "-----BEGIN CERTIFICATE-----\n@@@@\n"
		    "-----END CERTIFICATE-----\n";
static char	*s_badkey = "-----BEGIN PRIVATE KEY-----\nMIIBAA==\n"
		    "-----END PRIVATE KEY-----\n";

static const struct load_case load_cases[] = {
	{ "rsa", &fx_rsa.certpem, &fx_rsa.keypem, 0, NULL },
	{ "ec, no keyUsage", &fx_ec.certpem, &fx_ec.keypem, 0, NULL },
	{ "p384", &fx_p384.certpem, &fx_p384.keypem, 0, NULL },
	{ "chain", &fx_chain.certpem, &fx_chain.keypem, 0, NULL },
	{ "bundle with noise", &fx_noise.certpem, &fx_chain.keypem, 0, NULL },
	{ "ec parameters first", &fx_ec.certpem, &pem_ecparams, 0, NULL },
	{ "expired", &fx_expired.certpem, &fx_expired.keypem, 0,
	    "CA certificate expired on 2026-01-01 00:00:00 UTC" },
	{ "expired now", &fx_ec.certpem, &fx_ec.keypem, -1, NULL },
	{ "rsa1024", &fx_rsa1024.certpem, &fx_rsa1024.keypem, 0,
	    "CA key: RSA key of 1024 bits is too weak (at least 2048)" },
	{ "secp256k1", &fx_k1.certpem, &fx_k1.keypem, 0,
	    "CA key: EC curve secp256k1 is not allowed (P-256 or P-384 "
	    "only)" },
	{ "ed25519", &fx_ed.certpem, &fx_ed.keypem, 0,
	    "CA key: ED25519 keys are not allowed (RSA or EC P-256/P-384 "
	    "only)" },
	{ "not a CA", &fx_noca.certpem, &fx_noca.keypem, 0,
	    "CA certificate is not a CA (basicConstraints CA:TRUE missing)" },
	{ "CA:FALSE", &fx_cafalse.certpem, &fx_cafalse.keypem, 0,
	    "CA certificate is not a CA (basicConstraints CA:TRUE missing)" },
	{ "no keyCertSign", &fx_nocertsign.certpem, &fx_nocertsign.keypem, 0,
	    "CA certificate keyUsage lacks keyCertSign" },
	{ "wrong key", &fx_ec.certpem, &pem_mismatch, 0,
	    "CA key does not match the CA certificate" },
	{ "key of the root", &fx_chain.certpem, &fx_rsa.keypem, 0,
	    "CA key does not match the CA certificate" },
	{ "encrypted key", &fx_ec.certpem, &pem_encrypted, 0,
	    "CA key is encrypted (signerd needs it without a passphrase)" },
	{ "empty key", &fx_ec.certpem, &s_empty, 0,
	    "CA key file holds no private key" },
	{ "garbage key", &fx_ec.certpem, &s_garbage, 0,
	    "CA key file holds no private key" },
	{ "cert as key", &fx_ec.certpem, &fx_ec.certpem, 0,
	    "CA key file holds no private key" },
	{ "bad key", &fx_ec.certpem, &s_badkey, 0, "CA key does not parse" },
	{ "empty cert", &s_empty, &fx_ec.keypem, 0,
	    "CA certificate file holds no certificate" },
	{ "garbage cert", &s_garbage, &fx_ec.keypem, 0,
	    "CA certificate file holds no certificate" },
	{ "key as cert", &fx_ec.keypem, &fx_ec.keypem, 0,
	    "CA certificate file holds no certificate" },
	{ "bad cert", &s_badcert, &fx_ec.keypem, 0,
	    "CA certificate 1 in the file does not parse" },
	{ "bad base64", &s_badb64, &fx_ec.keypem, 0,
	    "CA certificate file is not valid PEM" },
};

START_TEST(test_load)
{
	const struct load_case	*c = &load_cases[_i];
	struct ca		*ca;
	char			 err[AIB_REASON_MAX];
	time_t			 at;
	char			 want[AIB_REASON_MAX], when[64];

	at = c->at == 0 ? now : now + 3651 * DAY;
	strlcpy(err, "untouched", sizeof(err));
	ca = ca_load((const uint8_t *)*c->cert, strlen(*c->cert),
	    (const uint8_t *)*c->key, strlen(*c->key), at, err, sizeof(err));
	if (c->at == -1) {
		/* fx_ec expires 3650 days from now. */
		ck_assert_ptr_null(ca);
		ca_timestr(now + 3650 * DAY, when, sizeof(when));
		snprintf(want, sizeof(want), "CA certificate expired on %s",
		    when);
		ck_assert_str_eq(err, want);
	} else if (c->err == NULL) {
		ck_assert_msg(ca != NULL, "%s: %s", c->name, err);
		ca_free(ca);
	} else {
		ck_assert_msg(ca == NULL, "%s: loaded", c->name);
		ck_assert_str_eq(err, c->err);
	}
	ck_assert_int_eq(ERR_peek_error(), 0);
}
END_TEST

START_TEST(test_load_notyet)
{
	char	 err[AIB_REASON_MAX], want[AIB_REASON_MAX], when[64];

	ck_assert_ptr_null(ca_load((const uint8_t *)fx_notyet.certpem,
	    strlen(fx_notyet.certpem), (const uint8_t *)fx_notyet.keypem,
	    strlen(fx_notyet.keypem), now, err, sizeof(err)));
	ca_timestr(now + DAY, when, sizeof(when));
	snprintf(want, sizeof(want), "CA certificate is not valid before %s",
	    when);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_timestr)
{
	char	 buf[64];

	ca_timestr(EXPIRED_AT, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-01-01 00:00:00 UTC");
	ca_timestr(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1970-01-01 00:00:00 UTC");
}
END_TEST

START_TEST(test_allow)
{
	struct ca	*ca;
	char		 err[AIB_REASON_MAX];

	ca = load(&fx_ec, fx_ec.keypem);
	ck_assert_uint_eq(ca_nhosts(ca), 2);
	ck_assert_int_eq(ca_allow(ca, HOST, err, sizeof(err)), 0);
	ck_assert_uint_eq(ca_nhosts(ca), 2);
	ck_assert_int_eq(ca_allow(ca, "API.example.com", err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "provider host API.example.com is not canonical");
	ck_assert_int_eq(ca_allow(ca, "example.com.", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "provider host example.com. is not canonical");
	ck_assert_int_eq(ca_allow(ca, "10.0.0.1", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "provider host: IP address literal");
	ck_assert_int_eq(ca_allow(ca, "*.example.com", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "provider host: invalid character");
	ck_assert_uint_eq(ca_nhosts(ca), 2);
	ca_free(ca);
}
END_TEST

/* Issuance: what a client will see. */

static STACK_OF(X509) *
read_pem_chain(const char *pem, size_t len)
{
	STACK_OF(X509)	*sk;
	BIO		*bio;
	X509		*x;

	ck_assert_uint_eq(strlen(pem), len);
	if ((sk = sk_X509_new_null()) == NULL ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		abort();
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	ERR_clear_error();
	BIO_free(bio);
	return (sk);
}

static time_t
asn1_time(const ASN1_TIME *at)
{
	struct tm	 tm;

	memset(&tm, 0, sizeof(tm));
	ck_assert_int_eq(ASN1_TIME_to_tm(at, &tm), 1);
	return (timegm(&tm));
}

static void
check_names(X509 *leaf, const char *host, int want_cn)
{
	GENERAL_NAMES		*gens;
	GENERAL_NAME		*gen;
	X509_NAME		*subj;
	ASN1_STRING		*s;
	int			 crit, idx;

	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, &crit, NULL);
	ck_assert_ptr_nonnull(gens);
	ck_assert_int_eq(crit, !want_cn);
	ck_assert_int_eq(sk_GENERAL_NAME_num(gens), 1);
	gen = sk_GENERAL_NAME_value(gens, 0);
	ck_assert_int_eq(gen->type, GEN_DNS);
	ck_assert_int_eq(ASN1_STRING_length(gen->d.dNSName),
	    (int)strlen(host));
	ck_assert(memcmp(ASN1_STRING_get0_data(gen->d.dNSName), host,
	    strlen(host)) == 0);
	GENERAL_NAMES_free(gens);
	/* Exactly one SAN extension. */
	idx = X509_get_ext_by_NID(leaf, NID_subject_alt_name, -1);
	ck_assert_int_ge(idx, 0);
	ck_assert_int_eq(X509_get_ext_by_NID(leaf, NID_subject_alt_name, idx),
	    -1);

	subj = X509_get_subject_name(leaf);
	if (!want_cn) {
		ck_assert_int_eq(X509_NAME_entry_count(subj), 0);
		return;
	}
	ck_assert_int_eq(X509_NAME_entry_count(subj), 1);
	idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	ck_assert_int_eq(idx, 0);
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
	ck_assert_int_eq(ASN1_STRING_length(s), (int)strlen(host));
	ck_assert(memcmp(ASN1_STRING_get0_data(s), host, strlen(host)) == 0);
}

static void
check_usage(X509 *leaf, int rsa)
{
	BASIC_CONSTRAINTS	*bc;
	ASN1_BIT_STRING		*ku;
	EXTENDED_KEY_USAGE	*eku;
	int			 crit;

	bc = X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, NULL);
	ck_assert_ptr_nonnull(bc);
	ck_assert_int_eq(crit, 1);
	ck_assert_int_eq(bc->ca, 0);
	ck_assert_ptr_null(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);

	ku = X509_get_ext_d2i(leaf, NID_key_usage, &crit, NULL);
	ck_assert_ptr_nonnull(ku);
	ck_assert_int_eq(crit, 1);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 0), 1);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 2), rsa);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 5), 0);	/* certSign */
	ASN1_BIT_STRING_free(ku);
	ck_assert_uint_eq(X509_get_key_usage(leaf), rsa ?
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT : KU_DIGITAL_SIGNATURE);

	eku = X509_get_ext_d2i(leaf, NID_ext_key_usage, &crit, NULL);
	ck_assert_ptr_nonnull(eku);
	ck_assert_int_eq(crit, 0);
	ck_assert_int_eq(sk_ASN1_OBJECT_num(eku), 1);
	ck_assert_int_eq(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)),
	    NID_server_auth);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	ck_assert_int_eq(X509_check_ca(leaf), 0);
}

static void
check_keyids(X509 *leaf, X509 *cacert)
{
	ASN1_OCTET_STRING	*ski, *caski;
	AUTHORITY_KEYID		*akid;

	ski = X509_get_ext_d2i(leaf, NID_subject_key_identifier, NULL, NULL);
	ck_assert_ptr_nonnull(ski);
	ASN1_OCTET_STRING_free(ski);
	akid = X509_get_ext_d2i(leaf, NID_authority_key_identifier, NULL,
	    NULL);
	caski = X509_get_ext_d2i(cacert, NID_subject_key_identifier, NULL,
	    NULL);
	ck_assert_ptr_nonnull(akid);
	ck_assert_ptr_nonnull(caski);
	ck_assert_ptr_nonnull(akid->keyid);
	ck_assert_int_eq(ASN1_OCTET_STRING_cmp(akid->keyid, caski), 0);
	AUTHORITY_KEYID_free(akid);
	ASN1_OCTET_STRING_free(caski);
}

static void
check_serial(X509 *leaf, const char *hex)
{
	BIGNUM	*bn;
	char	*s;

	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
	ck_assert_ptr_nonnull(bn);
	ck_assert(!BN_is_negative(bn));
	ck_assert(!BN_is_zero(bn));
	ck_assert_int_le(BN_num_bits(bn), 127);
	s = BN_bn2hex(bn);
	ck_assert_str_eq(s, hex);
	OPENSSL_free(s);
	BN_free(bn);
}

/* What a TLS client does: chain to the root, check purpose and name. */
static void
check_verify(STACK_OF(X509) *sk, struct fixture *fx, const char *host)
{
	X509_STORE	*store;
	X509_STORE_CTX	*ctx;
	X509_VERIFY_PARAM *param;
	int		 ok;

	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	ck_assert(store != NULL && ctx != NULL);
	ck_assert_int_eq(X509_STORE_add_cert(store, fx->root), 1);
	ck_assert_int_eq(X509_STORE_CTX_init(ctx, store, sk_X509_value(sk, 0),
	    sk), 1);
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, now);
	X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
	X509_VERIFY_PARAM_set1_host(param, host, 0);
	ok = X509_verify_cert(ctx);
	ck_assert_msg(ok == 1, "verify: %s", X509_verify_cert_error_string(
	    X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
}

/* SHA-384 under a P-384 CA, SHA-256 otherwise. */
static int
sig_nid(X509 *cacert)
{
	EVP_PKEY	*key = X509_get0_pubkey(cacert);

	if (EVP_PKEY_base_id(key) == EVP_PKEY_RSA)
		return (NID_sha256WithRSAEncryption);
	return (EVP_PKEY_bits(key) == 384 ? NID_ecdsa_with_SHA384 :
	    NID_ecdsa_with_SHA256);
}

static void
check_leaf(struct fixture *fx, const struct ca_leaf *leaf, EVP_PKEY *key,
    const char *host, time_t notbefore, time_t notafter)
{
	STACK_OF(X509)	*sk;
	X509		*x;
	uint8_t		 a[AIB_SPKI_MAX], b[AIB_SPKI_MAX];
	size_t		 alen;
	unsigned char	*p = b;
	int		 i, rsa;

	/* Only certificates are served, never another block of the file. */
	ck_assert_ptr_null(strstr(leaf->cl_pem, "PRIVATE"));
	ck_assert_ptr_null(strstr(leaf->cl_pem, "subject="));
	sk = read_pem_chain(leaf->cl_pem, leaf->cl_pemlen);
	ck_assert_int_eq(sk_X509_num(sk), 1 + fx->nchain);
	for (i = 0; i < fx->nchain; i++)
		ck_assert_int_eq(X509_cmp(sk_X509_value(sk, i + 1),
		    fx->chain[i]), 0);
	x = sk_X509_value(sk, 0);

	ck_assert_int_eq(X509_get_version(x), 2);
	ck_assert_str_eq(leaf->cl_host, host);
	check_names(x, host, strlen(host) <= 64);
	rsa = EVP_PKEY_base_id(key) == EVP_PKEY_RSA;
	check_usage(x, rsa);
	check_keyids(x, fx->chain[0]);
	check_serial(x, leaf->cl_serial);
	ck_assert_int_eq(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(fx->chain[0])), 0);
	ck_assert_int_eq(asn1_time(X509_get0_notBefore(x)), notbefore);
	ck_assert_int_eq(asn1_time(X509_get0_notAfter(x)), notafter);
	ck_assert_int_eq(leaf->cl_notafter, notafter);

	/* The key it certifies is the one asked for. */
	alen = spki(key, a, sizeof(a));
	ck_assert_int_eq(i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &p),
	    (int)alen);
	ck_assert(memcmp(a, b, alen) == 0);

	ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(fx->chain[0])), 1);
	ck_assert_int_eq(X509_get_signature_nid(x), sig_nid(fx->chain[0]));
	check_verify(sk, fx, host);
	sk_X509_pop_free(sk, X509_free);
}

struct issue_case {
	struct fixture	*fx;
	EVP_PKEY	**key;
	const char	*host;		/* as the worker sends it */
	const char	*canon;
};

static const struct issue_case issue_cases[] = {
	{ &fx_rsa, &leaf_ec, HOST, HOST },
	{ &fx_rsa, &leaf_rsa, HOST2, HOST2 },
	{ &fx_ec, &leaf_ec, HOST, HOST },
	{ &fx_ec, &leaf_rsa, HOST, HOST },
	{ &fx_ec, &leaf_p384, HOST, HOST },
	{ &fx_p384, &leaf_ec, HOST, HOST },
	{ &fx_p384, &leaf_rsa, HOST2, HOST2 },
	{ &fx_chain, &leaf_ec, HOST, HOST },
	{ &fx_chain, &leaf_rsa, HOST, HOST },
	{ &fx_noise, &leaf_ec, HOST, HOST },
	{ &fx_ec, &leaf_ec, "API.Anthropic.COM.", HOST },
	{ &fx_ec, &leaf_ec, "api.openai.com.", HOST2 },
	{ &fx_chain, &leaf_p384, "Api.OpenAI.com", HOST2 },
};

START_TEST(test_issue)
{
	const struct issue_case	*c = &issue_cases[_i];
	struct ca		*ca;
	struct ca_leaf		 leaf;
	uint8_t			 buf[AIB_SPKI_MAX];
	size_t			 len;
	char			 why[AIB_REASON_MAX];

	ca = load(c->fx, c->fx->keypem);
	len = spki(*c->key, buf, sizeof(buf));
	ck_assert_msg(ca_request(ca, c->host, buf, len, LIFETIME, now, &leaf,
	    why, sizeof(why)) == 0, "refused: %s", why);
	ck_assert_int_eq(leaf.cl_cached, 0);
	check_leaf(c->fx, &leaf, *c->key, c->canon, now - 3600,
	    now + LIFETIME);
	ca_leaf_clear(&leaf);
	ck_assert_ptr_null(leaf.cl_pem);
	ca_free(ca);
	ck_assert_int_eq(ERR_peek_error(), 0);
}
END_TEST

START_TEST(test_issue_clamped)
{
	struct ca	*ca;
	struct ca_leaf	 leaf;
	uint8_t		 buf[AIB_SPKI_MAX];
	size_t		 len;
	char		 why[AIB_REASON_MAX];

	ca = load(&fx_short, fx_short.keypem);
	len = spki(leaf_ec, buf, sizeof(buf));
	ck_assert_int_eq(ca_request(ca, HOST, buf, len, LIFETIME, now, &leaf,
	    why, sizeof(why)), 0);
	/* notBefore no earlier than the CA's, notAfter no later. */
	check_leaf(&fx_short, &leaf, leaf_ec, HOST, now - 60, now + 10 * DAY);
	ca_leaf_clear(&leaf);

	/* A lifetime inside the CA's is kept as asked (another key). */
	len = spki(leaf_ec2, buf, sizeof(buf));
	ck_assert_int_eq(ca_request(ca, HOST, buf, len, 9 * DAY, now + 1,
	    &leaf, why, sizeof(why)), 0);
	ck_assert_int_eq(leaf.cl_cached, 0);
	ck_assert_int_eq(leaf.cl_notafter, now + 1 + 9 * DAY);
	ca_leaf_clear(&leaf);
	ca_free(ca);
}
END_TEST

START_TEST(test_issue_longhost)
{
	struct ca	*ca;
	struct ca_leaf	 leaf;
	uint8_t		 buf[AIB_SPKI_MAX];
	size_t		 len;
	char		 why[AIB_REASON_MAX];

	ck_assert_uint_gt(strlen(LONGHOST), 64);
	ca = load(&fx_ec, fx_ec.keypem);
	ck_assert_int_eq(ca_allow(ca, LONGHOST, why, sizeof(why)), 0);
	len = spki(leaf_ec, buf, sizeof(buf));
	ck_assert_msg(ca_request(ca, LONGHOST, buf, len, LIFETIME, now, &leaf,
	    why, sizeof(why)) == 0, "refused: %s", why);
	/* No CN (ub-common-name is 64), so the SAN is critical. */
	check_leaf(&fx_ec, &leaf, leaf_ec, LONGHOST, now - 3600,
	    now + LIFETIME);
	ca_leaf_clear(&leaf);
	ca_free(ca);
}
END_TEST

START_TEST(test_serials)
{
	struct ca	*ca;
	struct ca_leaf	 a, b, c, d;
	uint8_t		 k1[AIB_SPKI_MAX], k2[AIB_SPKI_MAX];
	size_t		 l1, l2;
	char		 why[AIB_REASON_MAX];

	ca = load(&fx_ec, fx_ec.keypem);
	l1 = spki(leaf_ec, k1, sizeof(k1));
	l2 = spki(leaf_ec2, k2, sizeof(k2));
	ck_assert_int_eq(ca_request(ca, HOST, k1, l1, LIFETIME, now, &a, why,
	    sizeof(why)), 0);
	ck_assert_int_eq(ca_request(ca, HOST, k2, l2, LIFETIME, now, &b, why,
	    sizeof(why)), 0);
	ck_assert_int_eq(b.cl_cached, 0);
	ck_assert_str_ne(a.cl_serial, b.cl_serial);

	/* Same host and key: the same certificate, until half its life. */
	ck_assert_int_eq(ca_request(ca, HOST, k1, l1, LIFETIME,
	    now + 15 * DAY - 1, &c, why, sizeof(why)), 0);
	ck_assert_int_eq(c.cl_cached, 1);
	ck_assert_str_eq(c.cl_serial, a.cl_serial);
	ck_assert_int_eq(c.cl_notafter, a.cl_notafter);
	ck_assert_uint_eq(c.cl_pemlen, a.cl_pemlen);
	ck_assert(memcmp(c.cl_pem, a.cl_pem, a.cl_pemlen) == 0);
	ca_leaf_clear(&c);
	ck_assert_int_eq(ca_request(ca, HOST, k1, l1, LIFETIME, now + 15 * DAY,
	    &d, why, sizeof(why)), 0);
	ck_assert_int_eq(d.cl_cached, 0);
	ck_assert_str_ne(d.cl_serial, a.cl_serial);
	ck_assert_int_eq(d.cl_notafter, now + 15 * DAY + LIFETIME);
	ca_leaf_clear(&d);

	/* Another host with the same key is another certificate. */
	ck_assert_int_eq(ca_request(ca, HOST2, k1, l1, LIFETIME, now, &c, why,
	    sizeof(why)), 0);
	ck_assert_int_eq(c.cl_cached, 0);
	ck_assert_str_ne(c.cl_serial, a.cl_serial);
	ca_leaf_clear(&c);
	ca_leaf_clear(&a);
	ca_leaf_clear(&b);
	ca_free(ca);
}
END_TEST

/* Refusals. */

enum spki_kind {
	SPKI_EC,
	SPKI_RSA1024,
	SPKI_K1,
	SPKI_ED,
	SPKI_GARBAGE,
	SPKI_TRAILING,
	SPKI_TRUNCATED,
	SPKI_EMPTY,
	SPKI_TOOBIG
};

struct refuse_case {
	const char	*host;
	enum spki_kind	 kind;
	const char	*why;
};

static const struct refuse_case refuse_cases[] = {
	{ "bank.example", SPKI_EC, "not a configured provider host" },
	{ "anthropic.com", SPKI_EC, "not a configured provider host" },
	{ "evil.api.anthropic.com", SPKI_EC,
	    "not a configured provider host" },
	{ "api.anthropic.com.evil", SPKI_EC,
	    "not a configured provider host" },
	{ "api.anthropic.co", SPKI_EC, "not a configured provider host" },
	{ "xn--pi-anthropic-com.example", SPKI_EC,
	    "not a configured provider host" },
	{ "127.0.0.1", SPKI_EC,
	    "not a valid host name (IP address literal)" },
	{ "::1", SPKI_EC, "not a valid host name (IP address literal)" },
	{ "[::1]", SPKI_EC, "not a valid host name (IP address literal)" },
	{ "1.2.3", SPKI_EC, "not a valid host name (IP address literal)" },
	{ "a.example,DNS:b.example", SPKI_EC,
	    "not a valid host name (invalid character)" },
	{ "api.anthropic.com,DNS:bank.example", SPKI_EC,
	    "not a valid host name (invalid character)" },
	{ "*.anthropic.com", SPKI_EC,
	    "not a valid host name (invalid character)" },
	{ "api.anthropic.com..", SPKI_EC,
	    "not a valid host name (empty label)" },
	{ "api.anthropic.com/", SPKI_EC,
	    "not a valid host name (invalid character)" },
	{ "", SPKI_EC, "not a valid host name (empty name)" },
	{ HOST, SPKI_RSA1024,
	    "RSA key of 1024 bits is too weak (at least 2048)" },
	{ HOST, SPKI_K1,
	    "EC curve secp256k1 is not allowed (P-256 or P-384 only)" },
	{ HOST, SPKI_ED,
	    "ED25519 keys are not allowed (RSA or EC P-256/P-384 only)" },
	{ HOST, SPKI_GARBAGE, "public key does not parse" },
	{ HOST, SPKI_TRAILING, "public key has trailing bytes" },
	{ HOST, SPKI_TRUNCATED, "public key does not parse" },
	{ HOST, SPKI_EMPTY, "public key does not parse" },
	{ HOST, SPKI_TOOBIG, "public key does not parse" },
};

static size_t
make_spki(enum spki_kind kind, uint8_t *buf, size_t len)
{
	size_t	 n;

	switch (kind) {
	case SPKI_EC:
		return (spki(leaf_ec, buf, len));
	case SPKI_RSA1024:
		return (spki(leaf_rsa1024, buf, len));
	case SPKI_K1:
		return (spki(leaf_k1, buf, len));
	case SPKI_ED:
		return (spki(leaf_ed, buf, len));
	case SPKI_GARBAGE:
		memset(buf, 0x41, 91);
		return (91);
	case SPKI_TRAILING:
		n = spki(leaf_ec, buf, len);
		buf[n] = 0;
		return (n + 1);
	case SPKI_TRUNCATED:
		return (spki(leaf_ec, buf, len) - 1);
	case SPKI_EMPTY:
		return (0);
	case SPKI_TOOBIG:
		memset(buf, 0, len);
		return (AIB_SPKI_MAX + 1);
	}
	abort();
}

START_TEST(test_refuse)
{
	const struct refuse_case	*c = &refuse_cases[_i];
	struct ca			*ca;
	struct ca_leaf			 leaf;
	uint8_t				 buf[AIB_SPKI_MAX + 8];
	size_t				 len;
	char				 why[AIB_REASON_MAX];

	ca = load(&fx_ec, fx_ec.keypem);
	len = make_spki(c->kind, buf, sizeof(buf));
	ck_assert_int_eq(ca_request(ca, c->host, buf, len, LIFETIME, now,
	    &leaf, why, sizeof(why)), -1);
	ck_assert_str_eq(why, c->why);
	ck_assert_ptr_null(leaf.cl_pem);
	ca_free(ca);
	ck_assert_int_eq(ERR_peek_error(), 0);
}
END_TEST

START_TEST(test_refuse_expired)
{
	struct ca	*ca;
	struct ca_leaf	 leaf;
	uint8_t		 buf[AIB_SPKI_MAX];
	size_t		 len;
	char		 why[AIB_REASON_MAX], want[AIB_REASON_MAX], when[64];

	/* Loaded while valid, asked once it expired: a long-lived signerd. */
	ca = load(&fx_short, fx_short.keypem);
	len = spki(leaf_ec, buf, sizeof(buf));
	ck_assert_int_eq(ca_request(ca, HOST, buf, len, LIFETIME, now, &leaf,
	    why, sizeof(why)), 0);
	ca_leaf_clear(&leaf);
	ck_assert_int_eq(ca_request(ca, HOST, buf, len, LIFETIME,
	    now + 10 * DAY + 1, &leaf, why, sizeof(why)), -1);
	ca_timestr(now + 10 * DAY, when, sizeof(when));
	snprintf(want, sizeof(want), "CA certificate expired on %s", when);
	ck_assert_str_eq(why, want);
	ck_assert_int_eq(ca_request(ca, HOST, buf, len, 0, now, &leaf, why,
	    sizeof(why)), -1);
	ck_assert_str_eq(why, "leaf lifetime is zero");
	ca_free(ca);
}
END_TEST

START_TEST(test_refuse_nohosts)
{
	struct ca	*ca;
	struct ca_leaf	 leaf;
	uint8_t		 buf[AIB_SPKI_MAX];
	size_t		 len;
	char		 err[AIB_REASON_MAX];

	ca = ca_load((const uint8_t *)fx_ec.certpem, strlen(fx_ec.certpem),
	    (const uint8_t *)fx_ec.keypem, strlen(fx_ec.keypem), now, err,
	    sizeof(err));
	ck_assert_ptr_nonnull(ca);
	ck_assert_uint_eq(ca_nhosts(ca), 0);
	len = spki(leaf_ec, buf, sizeof(buf));
	ck_assert_int_eq(ca_request(ca, HOST, buf, len, LIFETIME, now, &leaf,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "not a configured provider host");
	ca_free(ca);
}
END_TEST

static Suite *
signer_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("signer");

	tc = tcase_create("load");
	tcase_add_loop_test(tc, test_load, 0, (int)nitems(load_cases));
	tcase_add_test(tc, test_load_notyet);
	tcase_add_test(tc, test_timestr);
	tcase_add_test(tc, test_allow);
	suite_add_tcase(s, tc);

	tc = tcase_create("issue");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_issue, 0, (int)nitems(issue_cases));
	tcase_add_test(tc, test_issue_clamped);
	tcase_add_test(tc, test_issue_longhost);
	tcase_add_test(tc, test_serials);
	suite_add_tcase(s, tc);

	tc = tcase_create("refuse");
	tcase_add_loop_test(tc, test_refuse, 0, (int)nitems(refuse_cases));
	tcase_add_test(tc, test_refuse_expired);
	tcase_add_test(tc, test_refuse_nohosts);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	int	 failed;

	setup_fixtures();
	failed = unit_run(signer_suite());
	return (failed != 0);
}
