/*
 * Unit tests for a CA key in a PKCS#11 token: the RFC 7512 URI parser
 * (common/pkcs11_uri.c) by tables of good and bad URIs, and the
 * configuration's ca.key URI and ca.pkcs11 keys with the exact
 * file:line errors; and the CA's check of a key it can only use, not
 * read (ca_load_pkey), with keys held in memory in a token's place.
 */
#include <sys/types.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../signerd/ca.h"
#include "config.h"
#include "pkcs11_uri.h"
#include "unit.h"

static char	 tmpdir[] = "/tmp/test_pkcs11.XXXXXX";
static char	 cert[256], module[256], pin[256];

static const struct {
	const char	*uri;
	const char	*token;
	const char	*object;	/* NULL: none */
	const char	*id;		/* hex, NULL: none */
} good[] = {
	{ "pkcs11:token=aibproxyd;object=mitm-ca", "aibproxyd", "mitm-ca",
	    NULL },
	{ "pkcs11:object=mitm-ca;token=aibproxyd", "aibproxyd", "mitm-ca",
	    NULL },
	{ "pkcs11:token=aib;id=%01%a2", "aib", NULL, "01a2" },
	{ "pkcs11:token=My%20Token;object=ca%3bkey;type=private",
	    "My Token", "ca;key", NULL },
	{ "pkcs11:token=t;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;"
	    "serial=1234abcd;object=k;id=%ff", "t", "k", "ff" },
	/* The longest label PKCS#11 has room for: 32 bytes. */
	{ "pkcs11:token=0123456789abcdef0123456789abcdef;object=k",
	    "0123456789abcdef0123456789abcdef", "k", NULL }
};

START_TEST(test_good)
{
	struct pkcs11_uri	 u;
	const char		*why;
	char			 hex[2 * PKCS11_ID_MAX + 1];
	size_t			 i;

	why = pkcs11_uri_parse(good[_i].uri, &u);
	ck_assert_msg(why == NULL, "%s: %s", good[_i].uri, why);
	ck_assert_str_eq(u.pu_token, good[_i].token);
	ck_assert_int_eq(u.pu_has_object, good[_i].object != NULL);
	if (good[_i].object != NULL)
		ck_assert_str_eq(u.pu_object, good[_i].object);
	ck_assert_int_eq(u.pu_has_id, good[_i].id != NULL);
	if (good[_i].id != NULL) {
		for (i = 0; i < u.pu_idlen; i++)
			snprintf(hex + 2 * i, 3, "%02x", u.pu_id[i]);
		hex[2 * u.pu_idlen] = '\0';
		ck_assert_str_eq(hex, good[_i].id);
	}
}
END_TEST

#define TWICE	"an attribute appears twice (RFC 7512 2.3)"
#define BADCHAR	"bad character or percent escape in a value"

static const struct {
	const char	*uri;
	const char	*why;
} bad[] = {
	{ "pkcs12:token=a;object=b", "does not start with pkcs11:" },
	{ "pkcs11:", "names no token (token=)" },
	{ "pkcs11:object=b", "names no token (token=)" },
	{ "pkcs11:token=a", "names no key (object= or id=)" },
	{ "pkcs11:token=a;token=b;object=c", TWICE },
	{ "pkcs11:token=a;object=b;object=c", TWICE },
	{ "pkcs11:token=a;id=%01;id=%02", TWICE },
	{ "pkcs11:token=a;;object=b", "has an empty attribute" },
	{ "pkcs11:token=a;object=b;", "has an empty attribute" },
	{ "pkcs11:token;object=b", "an attribute is not name=value" },
	{ "pkcs11:=a;object=b", "an attribute is not name=value" },
	{ "pkcs11:token=;object=b", "an attribute has an empty value" },
	{ "pkcs11:token=a b;object=c", BADCHAR },
	{ "pkcs11:token=a;object=%4", BADCHAR },
	{ "pkcs11:token=a;object=%zz", BADCHAR },
	{ "pkcs11:token=a%00b;object=c", BADCHAR },
	{ "pkcs11:token=a;object=b/c", BADCHAR },
	{ "pkcs11:token=0123456789abcdef0123456789abcdefX;object=k",
	    "a value is longer than PKCS#11 allows" },
	{ "pkcs11:token=a;object=b;type=public",
	    "type must be private: the CA key" },
	{ "pkcs11:token=a;object=b;slot-id=1",
	    "unknown or unsupported attribute (token, manufacturer, model, "
	    "serial, object, id and type are)" },
	{ "pkcs11:token=a;object=b?pin-value=1234",
	    "has a query (?...): give the PIN in ca.pkcs11.pin_file and the "
	    "module in ca.pkcs11.module" },
	{ "pkcs11:token=a;object=b?module-path=/x.so",
	    "has a query (?...): give the PIN in ca.pkcs11.pin_file and the "
	    "module in ca.pkcs11.module" }
};

START_TEST(test_bad)
{
	struct pkcs11_uri	 u;
	const char		*why;

	why = pkcs11_uri_parse(bad[_i].uri, &u);
	ck_assert_msg(why != NULL, "%s: accepted", bad[_i].uri);
	ck_assert_str_eq(why, bad[_i].why);
}
END_TEST

START_TEST(test_is)
{
	ck_assert(pkcs11_uri_is("pkcs11:token=a"));
	ck_assert(!pkcs11_uri_is("/etc/aibproxyd/ca.key"));
	ck_assert(!pkcs11_uri_is("PKCS11:token=a"));
}
END_TEST

/* A configuration around the ca: block given, lines 1-4 before it. */
static struct aib_config *
load_ca(const char *ca, struct config_errors *errs)
{
	struct aib_config	*conf;
	char			 text[4096];

	(void)snprintf(text, sizeof(text),
	    "listen:\n  - address: 127.0.0.1:8888\n"
	    "bridge: { url: \"https://coder.example.com\" }\n"
	    "providers: []\n"
	    "ca:\n  cert: %s\n%s", cert, ca);
	TAILQ_INIT(errs);
	conf = config_load_mem("x.yaml", text, strlen(text), errs);
	return (conf);
}

START_TEST(test_config_good)
{
	struct config_errors	 errs;
	struct aib_config	*conf;
	char			 ca[1024];

	(void)snprintf(ca, sizeof(ca), "  key: \"pkcs11:token=aib;object=k\"\n"
	    "  pkcs11:\n    module: %s\n    pin_file: %s\n", module, pin);
	conf = load_ca(ca, &errs);
	ck_assert_ptr_nonnull(conf);
	ck_assert_str_eq(conf->ca_key_uri, "pkcs11:token=aib;object=k");
	ck_assert_str_eq(conf->ca_key.path, "");
	ck_assert_str_eq(conf->ca_pkcs11_module.path, module);
	ck_assert_str_eq(conf->ca_pkcs11_pin.path, pin);
	config_free(conf);
}
END_TEST

/* %1$s the module, %2$s the pin file, %3$s the directory. */
static const struct {
	const char	*name;
	const char	*ca;
	const char	*err;
} config_bad[] = {
	{ "URI without ca.pkcs11",
	    "  key: \"pkcs11:token=aib;object=k\"\n",
	    "x.yaml:7: ca.key: a PKCS#11 URI needs ca.pkcs11 (module and "
	    "pin_file)" },
	{ "junk URI",
	    "  key: \"pkcs11:token=aib\"\n",
	    "x.yaml:7: ca.key: PKCS#11 URI names no key (object= or id=)" },
	{ "PIN in the URI",
	    "  key: \"pkcs11:token=a;object=k?pin-value=0000\"\n",
	    "x.yaml:7: ca.key: PKCS#11 URI has a query (?...): give the PIN in "
	    "ca.pkcs11.pin_file and the module in ca.pkcs11.module" },
	{ "module missing",
	    "  key: \"pkcs11:token=a;object=k\"\n"
	    "  pkcs11:\n    pin_file: %2$s\n",
	    "x.yaml:8: ca.pkcs11.module: missing" },
	{ "module not absolute",
	    "  key: \"pkcs11:token=a;object=k\"\n"
	    "  pkcs11:\n    module: libsofthsm2.so\n    pin_file: %2$s\n",
	    "x.yaml:9: ca.pkcs11.module: \"libsofthsm2.so\" is not an absolute "
	    "path" },
	{ "module not there",
	    "  key: \"pkcs11:token=a;object=k\"\n"
	    "  pkcs11:\n    module: %3$s/nope.so\n    pin_file: %2$s\n",
	    "x.yaml:9: ca.pkcs11.module: %3$s/nope.so: No such file or "
	    "directory" },
	{ "pin file not there",
	    "  key: \"pkcs11:token=a;object=k\"\n"
	    "  pkcs11:\n    module: %1$s\n    pin_file: %3$s/nope\n",
	    "x.yaml:10: ca.pkcs11.pin_file: %3$s/nope: No such file or "
	    "directory" },
	{ "ca.pkcs11 with a key file",
	    "  key: %2$s\n"
	    "  pkcs11:\n    module: %1$s\n    pin_file: %2$s\n",
	    "x.yaml:9: ca.pkcs11: is only for a ca.key that is a pkcs11: URI" }
};

START_TEST(test_config_bad)
{
	struct config_errors	 errs;
	struct config_error	*e;
	struct aib_config	*conf;
	char			 ca[2048], want[2048];

	(void)snprintf(ca, sizeof(ca), config_bad[_i].ca, module, pin,
	    tmpdir);
	(void)snprintf(want, sizeof(want), config_bad[_i].err, module, pin,
	    tmpdir);
	conf = load_ca(ca, &errs);
	ck_assert_msg(conf == NULL, "%s: accepted", config_bad[_i].name);
	e = TAILQ_FIRST(&errs);
	ck_assert_ptr_nonnull(e);
	ck_assert_msg(strcmp(e->msg, want) == 0, "%s:\n got  %s\n want %s",
	    config_bad[_i].name, e->msg, want);
	ck_assert_ptr_null(TAILQ_NEXT(e, entry));
	/* Nothing the URI held is repeated: it may carry a PIN. */
	ck_assert_ptr_null(strstr(e->msg, "0000"));
	config_errors_clear(&errs);
}
END_TEST

static EVP_PKEY *
gen_p256(void)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");

	ck_assert_ptr_nonnull(k);
	return (k);
}

/* A self-signed CA for key, as PEM text. */
static char *
ca_pem(EVP_PKEY *key)
{
	X509		*x;
	X509V3_CTX	 v3;
	X509_EXTENSION	*ext;
	BIO		*bio;
	char		*p, *out;
	long		 n;

	ck_assert_ptr_nonnull(x = X509_new());
	ck_assert(X509_set_version(x, 2));
	ck_assert(ASN1_INTEGER_set(X509_get_serialNumber(x), 1));
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	ck_assert(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"Token CA", -1, -1, 0));
	ck_assert(X509_set_issuer_name(x, X509_get_subject_name(x)));
	ck_assert(X509_set_pubkey(x, key));
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    "critical,CA:TRUE");
	ck_assert_ptr_nonnull(ext);
	ck_assert(X509_add_ext(x, ext, -1));
	X509_EXTENSION_free(ext);
	ck_assert(X509_sign(x, key, EVP_sha256()) > 0);
	ck_assert_ptr_nonnull(bio = BIO_new(BIO_s_mem()));
	ck_assert(PEM_write_bio_X509(bio, x));
	n = BIO_get_mem_data(bio, &p);
	ck_assert_ptr_nonnull(out = strndup(p, (size_t)n));
	BIO_free(bio);
	X509_free(x);
	return (out);
}

/* The key in place of a token's: it must sign what the cert verifies. */
START_TEST(test_ca_pkey)
{
	EVP_PKEY	*key, *other;
	struct ca	*ca;
	char		*pem, err[AIB_REASON_MAX];

	key = gen_p256();
	other = gen_p256();
	pem = ca_pem(key);
	ca = ca_load_pkey((const uint8_t *)pem, strlen(pem), key, time(NULL),
	    err, sizeof(err));
	ck_assert_msg(ca != NULL, "ca_load_pkey: %s", err);
	ca_free(ca);
	/* The CA took its own reference: the caller's is still good. */
	ck_assert_int_eq(EVP_PKEY_get_bits(key), 256);
	ca = ca_load_pkey((const uint8_t *)pem, strlen(pem), other,
	    time(NULL), err, sizeof(err));
	ck_assert_ptr_null(ca);
	ck_assert_str_eq(err, "CA key does not match the CA certificate");
	free(pem);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}
END_TEST

static void
make_file(char *path, size_t len, const char *name)
{
	int	 fd;

	(void)snprintf(path, len, "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static Suite *
pkcs11_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("pkcs11");
	tc = tcase_create("uri");
	tcase_add_loop_test(tc, test_good, 0, nitems(good));
	tcase_add_loop_test(tc, test_bad, 0, nitems(bad));
	tcase_add_test(tc, test_is);
	suite_add_tcase(s, tc);
	tc = tcase_create("config");
	tcase_add_test(tc, test_config_good);
	tcase_add_loop_test(tc, test_config_bad, 0, nitems(config_bad));
	suite_add_tcase(s, tc);
	tc = tcase_create("ca");
	tcase_add_test(tc, test_ca_pkey);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	int	 failed;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	make_file(cert, sizeof(cert), "ca.crt");
	make_file(module, sizeof(module), "module.so");
	make_file(pin, sizeof(pin), "hsm.pin");
	failed = unit_run(pkcs11_suite());
	unlink(cert);
	unlink(module);
	unlink(pin);
	rmdir(tmpdir);
	return (failed != 0);
}
