#include <check.h>
#include <string.h>

#include "stats.h"
#include "unit.h"

START_TEST(test_provider_added_once)
{
	static struct proxy_stats	 st;
	struct stats_provider		*a, *b;

	memset(&st, 0, sizeof(st));
	a = stats_provider(&st, "anthropic");
	b = stats_provider(&st, "anthropic");
	ck_assert_ptr_eq(a, b);
	ck_assert_int_eq(st.st_nproviders, 1);
	ck_assert_str_eq(a->sp_name, "anthropic");
}
END_TEST

START_TEST(test_provider_full)
{
	static struct proxy_stats	 st;
	char				 name[16];
	int				 i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < STATS_PROVIDERS_MAX; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		ck_assert_ptr_nonnull(stats_provider(&st, name));
	}
	ck_assert_ptr_null(stats_provider(&st, "one-too-many"));
	ck_assert_int_eq(st.st_nproviders, STATS_PROVIDERS_MAX);
}
END_TEST

/* Each duration lands in the first bucket whose bound holds it. */
static const struct {
	double	 secs;
	int	 bucket;	/* -1: beyond the last bound (+Inf only) */
} durations[] = {
	{ 0.0, 0 }, { 0.005, 0 }, { 0.0051, 1 }, { 0.1, 4 }, { 0.3, 6 },
	{ 299.0, STATS_BUCKETS - 1 }, { 300.0, STATS_BUCKETS - 1 },
	{ 301.0, -1 },
};

START_TEST(test_response_buckets)
{
	static struct proxy_stats	 st;
	struct stats_provider		*sp;
	uint64_t			 total = 0;
	int				 i;

	memset(&st, 0, sizeof(st));
	sp = stats_provider(&st, "x");
	stats_response(sp, 200, durations[_i].secs);
	for (i = 0; i < STATS_BUCKETS; i++) {
		total += sp->sp_buckets[i];
		ck_assert_uint_eq(sp->sp_buckets[i], i == durations[_i].bucket);
	}
	ck_assert_uint_eq(total, durations[_i].bucket >= 0);
	ck_assert_uint_eq(sp->sp_count, 1);
	ck_assert_int_eq(sp->sp_codes[0].sc_code, 200);
	ck_assert_uint_eq(sp->sp_codes[0].sc_count, 1);
}
END_TEST

START_TEST(test_no_code_for_no_response)
{
	static struct proxy_stats	 st;
	struct stats_provider		*sp;

	memset(&st, 0, sizeof(st));
	sp = stats_provider(&st, "x");
	stats_response(sp, 0, 0.01);
	ck_assert_int_eq(sp->sp_codes[0].sc_code, 0);
	ck_assert_uint_eq(sp->sp_count, 1);
	stats_response(NULL, 200, 0.01);	/* a full table: ignored */
}
END_TEST

/* Workers list providers in any order; the sum merges them by name. */
START_TEST(test_add_merges_by_name)
{
	static struct proxy_stats	 a, b, sum;
	struct stats_provider		*sp;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&sum, 0, sizeof(sum));
	a.st_sessions_mitm = 3;
	b.st_sessions_mitm = 4;
	a.st_open_connections = 2;
	b.st_open_connections = 5;
	sp = stats_provider(&a, "anthropic");
	sp->sp_requests = 2;
	stats_response(sp, 200, 0.01);
	stats_response(sp, 502, 0.5);
	stats_provider(&a, "openai")->sp_requests = 1;
	sp = stats_provider(&b, "openai");
	sp->sp_requests = 7;
	stats_response(sp, 200, 0.01);
	sp = stats_provider(&b, "anthropic");
	sp->sp_requests = 1;
	stats_response(sp, 200, 0.02);
	stats_add(&sum, &a);
	stats_add(&sum, &b);
	ck_assert_uint_eq(sum.st_sessions_mitm, 7);
	ck_assert_int_eq(sum.st_open_connections, 7);
	ck_assert_int_eq(sum.st_nproviders, 2);
	sp = stats_provider(&sum, "anthropic");
	ck_assert_uint_eq(sp->sp_requests, 3);
	ck_assert_uint_eq(sp->sp_count, 3);
	ck_assert_int_eq(sp->sp_codes[0].sc_code, 200);
	ck_assert_uint_eq(sp->sp_codes[0].sc_count, 2);
	ck_assert_int_eq(sp->sp_codes[1].sc_code, 502);
	ck_assert_uint_eq(sp->sp_codes[1].sc_count, 1);
	ck_assert_uint_eq(stats_provider(&sum, "openai")->sp_requests, 8);
}
END_TEST

/* Refusals are summed reason by reason. */
START_TEST(test_add_refused)
{
	static struct proxy_stats	 a, b, sum;
	int				 i;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < REFUSED_MAX; i++) {
		a.st_refused[i] = i + 1;
		b.st_refused[i] = 10 * (i + 1);
	}
	stats_add(&sum, &a);
	stats_add(&sum, &b);
	for (i = 0; i < REFUSED_MAX; i++)
		ck_assert_uint_eq(sum.st_refused[i], 11 * (i + 1));
}
END_TEST

/* Handshake failures and 407s are summed cell by cell. */
START_TEST(test_add_tls_407)
{
	static struct proxy_stats	 a, b, sum;
	int				 i, j;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < TLSSTAGE_MAX; i++)
		for (j = 0; j < TLSFAIL_MAX; j++) {
			a.st_tls_fail[i][j] = 1 + i * TLSFAIL_MAX + j;
			b.st_tls_fail[i][j] = 100;
		}
	for (i = 0; i < AUTH407_MAX; i++) {
		a.st_407[i] = i + 1;
		b.st_407[i] = 10 * (i + 1);
	}
	stats_add(&sum, &a);
	stats_add(&sum, &b);
	for (i = 0; i < TLSSTAGE_MAX; i++)
		for (j = 0; j < TLSFAIL_MAX; j++)
			ck_assert_uint_eq(sum.st_tls_fail[i][j],
			    101 + i * TLSFAIL_MAX + j);
	for (i = 0; i < AUTH407_MAX; i++)
		ck_assert_uint_eq(sum.st_407[i], 11 * (i + 1));
}
END_TEST

/*
 * libtls's texts for failed server handshakes (OpenSSL 3 reasons as
 * LibreTLS prints them; the first ones as seen from curl, openssl
 * s_client and Python clients), and the reason each is counted under.
 */
static const struct {
	const char		*err;
	enum stats_tls_fail	 want;
} tls_texts[] = {
	{ "handshake failed: error:0A000418:SSL routines::tlsv1 alert "
	    "unknown ca", TLSFAIL_UNTRUSTED },
	{ "handshake failed: error:0A000412:SSL routines::sslv3 alert bad "
	    "certificate", TLSFAIL_UNTRUSTED },
	{ "handshake failed: error:0A000416:SSL routines::sslv3 alert "
	    "certificate unknown", TLSFAIL_UNTRUSTED },
	{ "handshake failed: error:0A00042E:SSL routines::tlsv1 alert "
	    "protocol version", TLSFAIL_PROTOCOL },
	{ "handshake failed: error:0A000102:SSL routines::unsupported "
	    "protocol", TLSFAIL_PROTOCOL },
	{ "handshake failed: error:0A0000C1:SSL routines::no shared cipher",
	    TLSFAIL_PROTOCOL },
	{ "handshake failed: error:0A00010B:SSL routines::wrong version "
	    "number", TLSFAIL_PROTOCOL },
	{ "handshake failed: error:0A00009C:SSL routines::http request",
	    TLSFAIL_PROTOCOL },
	{ "handshake failed: error:0A000126:SSL routines::unexpected eof "
	    "while reading", TLSFAIL_CLOSED },
	{ "handshake failed: Connection reset by peer", TLSFAIL_CLOSED },
	{ "handshake failed: error:0A000438:SSL routines::tlsv1 alert "
	    "internal error", TLSFAIL_OTHER },
	{ "", TLSFAIL_OTHER },
	{ NULL, TLSFAIL_OTHER },
};

START_TEST(test_tls_reason)
{
	ck_assert_int_eq(stats_tls_reason(tls_texts[_i].err),
	    tls_texts[_i].want);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("stats");
	TCase	*tc = tcase_create("stats");
	int	 failed;

	tcase_add_test(tc, test_provider_added_once);
	tcase_add_test(tc, test_provider_full);
	tcase_add_loop_test(tc, test_response_buckets, 0,
	    sizeof(durations) / sizeof(durations[0]));
	tcase_add_test(tc, test_no_code_for_no_response);
	tcase_add_test(tc, test_add_merges_by_name);
	tcase_add_test(tc, test_add_refused);
	tcase_add_test(tc, test_add_tls_407);
	tcase_add_loop_test(tc, test_tls_reason, 0, nitems(tls_texts));
	suite_add_tcase(s, tc);
	failed = unit_run(s);
	return (failed != 0);
}
