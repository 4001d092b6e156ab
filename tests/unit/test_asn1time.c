/*
 * asn1_time_epoch(): both encodings RFC 5280 4.1.2.5 allows, read as
 * seconds since the Epoch, and what does not parse refused.
 */
#include <check.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>

#include "asn1time.h"
#include "unit.h"

static const struct {
	const char	*in;
	int		 ok;
	time_t		 t;
} cases[] = {
	{ "700101000000Z",	1, 0 },			/* UTCTime */
	{ "491231235959Z",	1, 2524607999 },	/* 2049, UTCTime */
	{ "20500101000000Z",	1, 2524608000 },	/* GeneralizedTime */
	{ "20260301120000Z",	1, 1772366400 },
	{ "20261341000000Z",	0, 0 },			/* month 13 */
	{ "not a time",		0, 0 }
};

START_TEST(test_epoch)
{
	ASN1_TIME	*at;
	time_t		 t = 42;

	ck_assert_ptr_nonnull(at = ASN1_TIME_new());
	/* Set without the library's checks, as a hostile file could. */
	ck_assert_int_eq(ASN1_STRING_set(at, cases[_i].in,
	    strlen(cases[_i].in)), 1);
	at->type = strlen(cases[_i].in) == 13 ? V_ASN1_UTCTIME :
	    V_ASN1_GENERALIZEDTIME;
	if (cases[_i].ok) {
		ck_assert_int_eq(asn1_time_epoch(at, &t), 0);
		ck_assert_int_eq(t, cases[_i].t);
	} else {
		ck_assert_int_eq(asn1_time_epoch(at, &t), -1);
		ck_assert_int_eq(t, 42);
	}
	ASN1_TIME_free(at);
}
END_TEST

START_TEST(test_null)
{
	time_t	 t = 42;

	ck_assert_int_eq(asn1_time_epoch(NULL, &t), -1);
	ck_assert_int_eq(t, 42);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("asn1time");
	TCase	*tc = tcase_create("asn1time");
	int	 failed;

	tcase_add_loop_test(tc, test_epoch, 0, sizeof(cases) /
	    sizeof(cases[0]));
	tcase_add_test(tc, test_null);
	suite_add_tcase(s, tc);
	failed = unit_run(s);
	return (failed != 0);
}
