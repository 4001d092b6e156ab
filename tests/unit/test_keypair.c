/*
 * common/keypair.c: a TLS listener's certificate and key files, as
 * libtls takes them, and which part is wrong when they do not go
 * together.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "keypair.h"
#include "testcrypto.h"
#include "unit.h"

static char	*cert_a, *cert_b, *key_a, *key_b, *key_enc, *chain_ba;

static char *
self_signed(EVP_PKEY *key)
{
	X509	*x;
	BIO	*bio;

	if ((x = X509_new()) == NULL || !X509_set_version(x, 2) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1, 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    !X509_set_pubkey(x, key) || X509_sign(x, key, EVP_sha256()) <= 0 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509(bio, x))
		abort();
	X509_free(x);
	return (tc_bio_text(bio));
}

static char *
key_text(EVP_PKEY *key, const EVP_CIPHER *enc)
{
	BIO	*bio;

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PKCS8PrivateKey(bio, key, enc, NULL, 0, NULL,
	    enc != NULL ? (void *)"secret" : NULL))
		abort();
	return (tc_bio_text(bio));
}

static void
setup(void)
{
	EVP_PKEY	*a = tc_p256(), *b = tc_p256();

	cert_a = self_signed(a);
	cert_b = self_signed(b);
	key_a = key_text(a, NULL);
	key_b = key_text(b, NULL);
	key_enc = key_text(a, EVP_aes_256_cbc());
	if (asprintf(&chain_ba, "%s%s", cert_b, cert_a) == -1)
		abort();
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

static const struct {
	const char		 *name;
	char			**cert;
	char			**key;
	enum keypair_part	  part;
	const char		 *why;		/* NULL: they match */
} cases[] = {
	{ "a pair", &cert_a, &key_a, 0, NULL },
	{ "another pair", &cert_b, &key_b, 0, NULL },
	{ "the other's key", &cert_a, &key_b, KEYPAIR_MISMATCH,
	    "not the private key of the certificate" },
	/* libtls serves the first certificate: the key must be its. */
	{ "the key of the chain's second", &chain_ba, &key_a,
	    KEYPAIR_MISMATCH, "not the private key of the certificate" },
	{ "a key for a certificate", &key_a, &key_a, KEYPAIR_CERT,
	    "no certificate in the file" },
	{ "a certificate for a key", &cert_a, &cert_a, KEYPAIR_KEY,
	    "no private key in the file" },
	{ "an encrypted key", &cert_a, &key_enc, KEYPAIR_KEY,
	    "the key is encrypted (it must be readable without a "
	    "passphrase)" },
};

START_TEST(test_keypair)
{
	enum keypair_part	 part = -1;
	const char		*c = *cases[_i].cert, *k = *cases[_i].key;
	char			 why[128] = "";
	int			 r;

	r = keypair_check((const uint8_t *)c, strlen(c), (const uint8_t *)k,
	    strlen(k), &part, why, sizeof(why));
	if (cases[_i].why == NULL) {
		ck_assert_msg(r == 0, "%s: %s", cases[_i].name, why);
		return;
	}
	ck_assert_msg(r == -1, "%s: accepted", cases[_i].name);
	ck_assert_int_eq(part, cases[_i].part);
	ck_assert_str_eq(why, cases[_i].why);
}
END_TEST

/* A file the worker could not read arrives as nothing at all. */
START_TEST(test_keypair_nothing)
{
	enum keypair_part	 part;
	char			 why[128];

	ck_assert_int_eq(keypair_check(NULL, 0, (const uint8_t *)key_a,
	    strlen(key_a), &part, why, sizeof(why)), -1);
	ck_assert_int_eq(part, KEYPAIR_CERT);
	ck_assert_int_eq(keypair_check((const uint8_t *)cert_a,
	    strlen(cert_a), NULL, 0, &part, why, sizeof(why)), -1);
	ck_assert_int_eq(part, KEYPAIR_KEY);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("keypair");
	TCase	*tc = tcase_create("keypair");

	setup();
	tcase_add_loop_test(tc, test_keypair, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_keypair_nothing);
	suite_add_tcase(s, tc);
	return (unit_run(s) != 0);
}
