#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pem.h"
#include "unit.h"

#define C1	"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
#define C2	"-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n"
#define KEY	"-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n"

static const struct {
	const char	*name;
	const char	*in;
	const char	*anchor;	/* NULL: none */
	const char	*certs;		/* NULL: none */
} cases[] = {
	{ "single", C1, C1, C1 },
	{ "chain: the root is what to trust", C1 C2, C2, C1 C2 },
	{ "cert and key", C1 KEY, C1, C1 },
	{ "key first", KEY C1, C1, C1 },
	{ "key between", C1 KEY C2, C2, C1 C2 },
	{ "text around", "subject=x\n" C1 "trailer\n", C1, C1 },
	{ "no final newline",
	    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
	    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
	    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" },
	{ "key only", KEY, NULL, NULL },
	{ "empty", "", NULL, NULL },
	{ "unterminated", "-----BEGIN CERTIFICATE-----\nAAAA\n", NULL, NULL },
	{ "BEGIN not at line start",
	    "x-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	    NULL, NULL },
};

START_TEST(test_anchor)
{
	const char	*out;
	size_t		 len;
	int		 r;

	r = pem_trust_anchor(cases[_i].in, strlen(cases[_i].in), &out, &len);
	if (cases[_i].anchor == NULL) {
		ck_assert_msg(r == -1, "%s: found an anchor", cases[_i].name);
		return;
	}
	ck_assert_msg(r == 0, "%s: no anchor", cases[_i].name);
	ck_assert_uint_eq(len, strlen(cases[_i].anchor));
	ck_assert_mem_eq(out, cases[_i].anchor, len);
}
END_TEST

START_TEST(test_certificates)
{
	char	 out[512];
	long	 n;

	n = pem_certificates(cases[_i].in, strlen(cases[_i].in), out,
	    sizeof(out));
	if (cases[_i].certs == NULL) {
		ck_assert_msg(n == -1, "%s: found certificates",
		    cases[_i].name);
		return;
	}
	ck_assert_msg(n == (long)strlen(cases[_i].certs), "%s: length %ld",
	    cases[_i].name, n);
	ck_assert_str_eq(out, cases[_i].certs);
	ck_assert_ptr_null(strstr(out, "PRIVATE KEY"));
}
END_TEST

START_TEST(test_certificates_too_small)
{
	char	 out[sizeof(C1)];

	/* C1 fits with its NUL; C1 C2 does not, and is refused whole. */
	ck_assert_int_eq(pem_certificates(C1, strlen(C1), out, sizeof(out)),
	    (long)strlen(C1));
	ck_assert_int_eq(pem_certificates(C1 C2, strlen(C1 C2), out,
	    sizeof(out)), -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("pem");
	TCase	*tc = tcase_create("pem");
	int	 failed;

	tcase_add_loop_test(tc, test_anchor, 0, sizeof(cases) /
	    sizeof(cases[0]));
	tcase_add_loop_test(tc, test_certificates, 0, sizeof(cases) /
	    sizeof(cases[0]));
	tcase_add_test(tc, test_certificates_too_small);
	suite_add_tcase(s, tc);
	failed = unit_run(s);
	return (failed != 0);
}
