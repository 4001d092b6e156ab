/*
 * signerd/ca_names.c: a provider host against the name constraints
 * (RFC 5280 4.2.1.10) of every certificate in the CA file, through
 * ca_allow() as signerd and signerd -n call it.  Each CA is made here
 * with libcrypto; the constraint is written as openssl.cnf writes it.
 */
#include <sys/types.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../signerd/ca.h"
#include "proto.h"
#include "testcrypto.h"
#include "unit.h"

#define DAY	(24 * 60 * 60)
#define REFUSE	": clients would refuse its certificates"

/*
 * A directoryName subtree, which openssl.cnf writes only through a
 * section of its own: "permitted;dirName:CN=x" or "excluded;dirName:"
 * (an empty name) here, at most one attribute, built by hand.
 */
static int
nc_dirname(X509 *x, const char *nc)
{
	NAME_CONSTRAINTS	*ncs;
	GENERAL_SUBTREE		*st;
	X509_NAME		*name;
	const char		*dn, *eq;
	char			 attr[16];
	int			 excluded;

	if ((dn = strstr(nc, ";dirName:")) == NULL)
		return (0);
	excluded = strncmp(nc, "excluded;", 9) == 0;
	dn += strlen(";dirName:");
	if ((name = X509_NAME_new()) == NULL)
		abort();
	if ((eq = strchr(dn, '=')) != NULL) {
		if ((size_t)(eq - dn) >= sizeof(attr))
			abort();
		memcpy(attr, dn, eq - dn);
		attr[eq - dn] = '\0';
		if (!X509_NAME_add_entry_by_txt(name, attr, MBSTRING_ASC,
		    (const unsigned char *)eq + 1, -1, -1, 0))
			abort();
	}
	if ((ncs = NAME_CONSTRAINTS_new()) == NULL ||
	    (st = GENERAL_SUBTREE_new()) == NULL)
		abort();
	st->base->type = GEN_DIRNAME;
	st->base->d.directoryName = name;
	if (excluded)
		ncs->excludedSubtrees = sk_GENERAL_SUBTREE_new_null();
	else
		ncs->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
	if (!sk_GENERAL_SUBTREE_push(excluded ? ncs->excludedSubtrees :
	    ncs->permittedSubtrees, st) ||
	    !X509_add1_ext_i2d(x, NID_name_constraints, ncs, 1, 0))
		abort();
	NAME_CONSTRAINTS_free(ncs);
	return (1);
}

/* A self-signed CA certificate for key, with nc its name constraints. */
static X509 *
nc_cert(const char *cn, EVP_PKEY *key, const char *nc)
{
	X509	*x;
	time_t	 now = time(NULL);

	if ((x = X509_new()) == NULL || !X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), now - DAY) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), now + DAY) == NULL ||
	    !X509_set_pubkey(x, key))
		abort();
	tc_ext(x, NID_basic_constraints, "critical,CA:TRUE");
	tc_ext(x, NID_key_usage, "critical,keyCertSign");
	if (nc != NULL && !nc_dirname(x, nc))
		tc_ext(x, NID_name_constraints, nc);
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		abort();
	return (x);
}

static void
pem_cert(BIO *bio, X509 *x)
{
	if (!PEM_write_bio_X509(bio, x))
		abort();
	X509_free(x);
}

/*
 * The CA file: the signing CA with nc, then, when root is not NULL, a
 * second certificate with root as its constraints (a chain's root).
 */
static struct ca *
nc_ca(const char *nc, const char *root)
{
	EVP_PKEY	*key = tc_p256(), *rkey;
	BIO		*cb, *kb;
	struct ca	*ca;
	char		*certpem, *keypem, err[AIB_REASON_MAX];

	if ((cb = BIO_new(BIO_s_mem())) == NULL ||
	    (kb = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL))
		abort();
	pem_cert(cb, nc_cert("AI Proxy CA", key, nc));
	if (root != NULL) {
		rkey = tc_p256();
		pem_cert(cb, nc_cert("Corporate Root", rkey, root));
		EVP_PKEY_free(rkey);
	}
	certpem = tc_bio_text(cb);
	keypem = tc_bio_text(kb);
	ca = ca_load((uint8_t *)certpem, strlen(certpem), (uint8_t *)keypem,
	    strlen(keypem), time(NULL), err, sizeof(err));
	ck_assert_msg(ca != NULL, "ca_load: %s", err);
	free(certpem);
	free(keypem);
	EVP_PKEY_free(key);
	return (ca);
}

static const struct {
	const char	*nc;		/* the CA's; NULL: none */
	const char	*root;		/* a second certificate's */
	const char	*host;
	const char	*err;		/* NULL: allowed */
} cases[] = {
	{ NULL, NULL, "api.openai.com", NULL },
	{ "permitted;DNS:anthropic.com", NULL, "api.anthropic.com", NULL },
	{ "permitted;DNS:anthropic.com", NULL, "anthropic.com", NULL },
	{ "permitted;DNS:ANTHROPIC.com", NULL, "api.anthropic.com", NULL },
	{ "permitted;DNS:anthropic.com", NULL, "api.openai.com",
	    "provider host api.openai.com is outside the name constraints of "
	    "the CA certificate (permitted DNS: anthropic.com)" REFUSE },
	/* A label boundary, not a string suffix. */
	{ "permitted;DNS:anthropic.com", NULL, "xanthropic.com",
	    "provider host xanthropic.com is outside the name constraints of "
	    "the CA certificate (permitted DNS: anthropic.com)" REFUSE },
	/* A leading dot: below it only, as OpenSSL reads it. */
	{ "permitted;DNS:.anthropic.com", NULL, "api.anthropic.com", NULL },
	{ "permitted;DNS:.anthropic.com", NULL, "anthropic.com",
	    "provider host anthropic.com is outside the name constraints of "
	    "the CA certificate (permitted DNS: .anthropic.com)" REFUSE },
	/*
	 * A final dot: OpenSSL matches no host to it, Go and webpki
	 * refuse to parse it; the CA file is refused whichever list.
	 */
	{ "permitted;DNS:anthropic.com.", NULL, "api.anthropic.com",
	    "name constraints of the CA certificate hold a DNS name that "
	    "is not one" },
	{ "excluded;DNS:openai.com.", NULL, "api.anthropic.com",
	    "name constraints of the CA certificate hold a DNS name that "
	    "is not one" },
	{ "permitted;DNS:anthropic.com,permitted;DNS:openai.com", NULL,
	    "api.openai.com", NULL },
	{ "permitted;DNS:anthropic.com,permitted;DNS:openai.com", NULL,
	    "openrouter.ai",
	    "provider host openrouter.ai is outside the name constraints of "
	    "the CA certificate (permitted DNS: anthropic.com, openai.com)"
	    REFUSE },
	{ "excluded;DNS:openai.com", NULL, "api.anthropic.com", NULL },
	{ "excluded;DNS:openai.com", NULL, "api.openai.com",
	    "provider host api.openai.com is excluded by the name constraints "
	    "of the CA certificate (excluded DNS: openai.com)" REFUSE },
	{ "permitted;DNS:anthropic.com,excluded;DNS:eu.anthropic.com", NULL,
	    "api.eu.anthropic.com",
	    "provider host api.eu.anthropic.com is excluded by the name "
	    "constraints of the CA certificate (excluded DNS: "
	    "eu.anthropic.com)" REFUSE },
	/* Constraints on other name types leave DNS names free. */
	{ "permitted;IP:10.0.0.0/255.0.0.0", NULL, "api.openai.com", NULL },
	{ "permitted;email:example.com", NULL, "api.openai.com", NULL },
	/*
	 * A directoryName subtree holds the leaf's subject, CN=host, only
	 * when it is empty or that very name (openssl verify says
	 * "permitted subtree violation" for an O=Example one); a host too
	 * long for a CN leaves the subject empty, which none touches.
	 */
	{ "permitted;dirName:O=Example", NULL, "api.anthropic.com",
	    "provider host api.anthropic.com is outside the name constraints "
	    "of the CA certificate (permitted directory names: /O=Example)"
	    REFUSE },
	{ "permitted;dirName:CN=api.anthropic.com", NULL,
	    "api.anthropic.com", NULL },
	{ "permitted;dirName:CN=API.Anthropic.com", NULL,
	    "api.anthropic.com", NULL },
	{ "permitted;dirName:", NULL, "api.anthropic.com", NULL },
	{ "permitted;dirName:O=Example", NULL, "a-host-name-that-is-longer-"
	    "than-a-common-name-may-be.anthropic.com", NULL },
	{ "excluded;dirName:O=Example", NULL, "api.anthropic.com", NULL },
	{ "excluded;dirName:CN=api.anthropic.com", NULL, "api.anthropic.com",
	    "provider host api.anthropic.com is excluded by the name "
	    "constraints of the CA certificate (excluded directory names: "
	    "/CN=api.anthropic.com)" REFUSE },
	/* Every certificate of the file: a client checks the chain. */
	{ NULL, "permitted;DNS:anthropic.com", "api.anthropic.com", NULL },
	{ NULL, "permitted;DNS:anthropic.com", "api.openai.com",
	    "provider host api.openai.com is outside the name constraints of "
	    "certificate 2 of the CA file (permitted DNS: anthropic.com)"
	    REFUSE },
};

START_TEST(test_names)
{
	struct ca	*ca;
	char		 err[AIB_REASON_MAX];
	int		 r;

	ca = nc_ca(cases[_i].nc, cases[_i].root);
	err[0] = '\0';
	r = ca_allow(ca, cases[_i].host, err, sizeof(err));
	if (cases[_i].err == NULL)
		ck_assert_msg(r == 0, "%s refused: %s", cases[_i].host, err);
	else {
		ck_assert_int_eq(r, -1);
		ck_assert_str_eq(err, cases[_i].err);
	}
	ca_free(ca);
}
END_TEST

/* A long list of subtrees is cut, never overruns the message. */
START_TEST(test_names_long)
{
	struct ca	*ca;
	char		 nc[2048], err[AIB_REASON_MAX];
	size_t		 n = 0;
	int		 i;

	for (i = 0; i < 40; i++)
		n += snprintf(nc + n, sizeof(nc) - n, "%spermitted;DNS:"
		    "subtree-number-%02d.example.com", i ? "," : "", i);
	ca = nc_ca(nc, NULL);
	ck_assert_int_eq(ca_allow(ca, "api.openai.com", err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "subtree-number-00.example.com, "));
	ck_assert_ptr_nonnull(strstr(err, "...)" REFUSE));
	ca_free(ca);
}
END_TEST

static Suite *
names_suite(void)
{
	Suite	*s = suite_create("names");
	TCase	*tc = tcase_create("names");

	tcase_add_loop_test(tc, test_names, 0, (int)nitems(cases));
	tcase_add_test(tc, test_names_long);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (unit_run(names_suite()) == 0 ? 0 : 1);
}
