/*
 * common/failtab.c: failures counted per address in windows, with time
 * passed in; eviction when full; another process's word; the rules a
 * reload compares.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failtab.h"
#include "unit.h"

#define T0	1000.		/* any start, in seconds */
#define WIN	60.		/* failures.window */

/* A window opens at the first failure and counts until it ends. */
START_TEST(test_window)
{
	struct failtab	*ft;
	double		 end = 0.;
	uint32_t	 i;

	ck_assert_ptr_nonnull(ft = failtab_new(8));
	ck_assert_uint_eq(failtab_count(ft, "192.0.2.1", T0, &end), 0);
	for (i = 1; i <= 20; i++)
		ck_assert_uint_eq(failtab_add(ft, "192.0.2.1", T0 + i, WIN,
		    &end), i);
	/* Opened by the first failure, at T0 + 1: later ones do not move it. */
	ck_assert(end == T0 + 1 + WIN);
	ck_assert_uint_eq(failtab_count(ft, "192.0.2.1", T0 + WIN, NULL), 20);
	ck_assert_uint_eq(failtab_count(ft, "192.0.2.1", T0 + WIN + 1, NULL),
	    0);
	/* Another address counts apart. */
	ck_assert_uint_eq(failtab_count(ft, "192.0.2.10", T0 + 2, NULL), 0);
	ck_assert_uint_eq(failtab_add(ft, "192.0.2.10", T0 + 2, WIN, NULL), 1);
	/* The next failure after the end opens a new window from 1. */
	ck_assert_uint_eq(failtab_add(ft, "192.0.2.1", T0 + WIN + 1, WIN,
	    &end), 1);
	ck_assert(end == T0 + WIN + 1 + WIN);
	ck_assert_uint_eq(failtab_size(ft), 2);
	failtab_free(ft);
}
END_TEST

/* Full: the address whose window opened longest ago goes first. */
START_TEST(test_evict)
{
	struct failtab	*ft;
	char		 a[AIB_ADDR_MAX];
	int		 i;

	ck_assert_ptr_nonnull(ft = failtab_new(4));
	for (i = 0; i < 4; i++) {
		snprintf(a, sizeof(a), "2001:db8::%d", i);
		ck_assert_uint_eq(failtab_add(ft, a, T0 + i, WIN, NULL), 1);
	}
	/* ::0 opens a new window after the others: now the youngest. */
	ck_assert_uint_eq(failtab_add(ft, "2001:db8::0", T0 + WIN + 0.5, WIN,
	    NULL), 1);
	/* ::1 ended at T0 + 1 + WIN and goes; ::2 and ::3 stay open. */
	ck_assert_uint_eq(failtab_add(ft, "2001:db8::9", T0 + WIN + 1.5, WIN,
	    NULL), 1);
	ck_assert_uint_eq(failtab_size(ft), 4);
	ck_assert_uint_eq(failtab_count(ft, "2001:db8::1", T0 + WIN + 1.5,
	    NULL), 0);
	/* Full of open windows: the oldest open one, ::2, is evicted. */
	ck_assert_uint_eq(failtab_add(ft, "2001:db8::a", T0 + WIN + 1.5, WIN,
	    NULL), 1);
	ck_assert_uint_eq(failtab_size(ft), 4);
	ck_assert_uint_eq(failtab_count(ft, "2001:db8::2", T0 + WIN + 1.5,
	    NULL), 0);
	ck_assert_uint_eq(failtab_count(ft, "2001:db8::3", T0 + WIN + 1.5,
	    NULL), 1);
	ck_assert_uint_eq(failtab_count(ft, "2001:db8::0", T0 + WIN + 1.5,
	    NULL), 1);
	ck_assert_uint_eq(failtab_count(ft, "2001:db8::9", T0 + WIN + 1.5,
	    NULL), 1);
	failtab_clear(ft);
	ck_assert_uint_eq(failtab_size(ft), 0);
	ck_assert_uint_eq(failtab_count(ft, "2001:db8::3", T0 + WIN + 1.5,
	    NULL), 0);
	failtab_free(ft);
}
END_TEST

/* Windows that ended are dropped as new addresses come: no build-up. */
START_TEST(test_expired_go)
{
	struct failtab	*ft;
	char		 a[AIB_ADDR_MAX];
	int		 i;

	ck_assert_ptr_nonnull(ft = failtab_new(FAILTAB_MAX));
	for (i = 0; i < 1000; i++) {
		snprintf(a, sizeof(a), "198.51.100.%d", i);
		ck_assert_uint_eq(failtab_add(ft, a, T0, WIN, NULL), 1);
	}
	ck_assert_uint_eq(failtab_size(ft), 1000);
	ck_assert_uint_eq(failtab_add(ft, "203.0.113.1", T0 + WIN, WIN, NULL),
	    1);
	ck_assert_uint_eq(failtab_size(ft), 1);
	failtab_free(ft);
}
END_TEST

/* Another process's count: taken with its window's end, never lowered. */
START_TEST(test_raise)
{
	struct failtab	*ft;
	double		 end = 0.;

	ck_assert_ptr_nonnull(ft = failtab_new(8));
	/* Unknown here: remembered with the parent's count and end. */
	failtab_raise(ft, "192.0.2.1", T0, 20, T0 + 30);
	ck_assert_uint_eq(failtab_count(ft, "192.0.2.1", T0, &end), 20);
	ck_assert(end == T0 + 30);
	ck_assert_uint_eq(failtab_count(ft, "192.0.2.1", T0 + 30, NULL), 0);
	/* Counted here already: the higher count, the parent's end. */
	ck_assert_uint_eq(failtab_add(ft, "192.0.2.2", T0, WIN, NULL), 1);
	ck_assert_uint_eq(failtab_add(ft, "192.0.2.2", T0, WIN, NULL), 2);
	failtab_raise(ft, "192.0.2.2", T0 + 1, 1, T0 + 10);
	ck_assert_uint_eq(failtab_count(ft, "192.0.2.2", T0 + 1, &end), 2);
	ck_assert(end == T0 + 10);
	failtab_raise(ft, "192.0.2.2", T0 + 1, 25, T0 + 20);
	ck_assert_uint_eq(failtab_count(ft, "192.0.2.2", T0 + 1, &end), 25);
	ck_assert(end == T0 + 20);
	/* A failure in that window counts on from there. */
	ck_assert_uint_eq(failtab_add(ft, "192.0.2.2", T0 + 2, WIN, &end), 26);
	ck_assert(end == T0 + 20);
	/* An old window's count is not carried into a raise. */
	ck_assert_uint_eq(failtab_add(ft, "192.0.2.3", T0, WIN, NULL), 1);
	ck_assert_uint_eq(failtab_add(ft, "192.0.2.3", T0, WIN, NULL), 2);
	failtab_raise(ft, "192.0.2.3", T0 + WIN, 1, T0 + WIN + 5);
	ck_assert_uint_eq(failtab_count(ft, "192.0.2.3", T0 + WIN, NULL), 1);
	/* Nothing to say: an ended window or no count. */
	failtab_raise(ft, "192.0.2.4", T0, 20, T0);
	failtab_raise(ft, "192.0.2.5", T0, 0, T0 + 5);
	ck_assert_uint_eq(failtab_size(ft), 3);
	failtab_free(ft);
}
END_TEST

/* Keys: any text that fits, compared whole; longer ones are refused. */
START_TEST(test_keys)
{
	struct failtab	*ft;
	char		 a[AIB_ADDR_MAX + 1];

	ck_assert_ptr_null(failtab_new(0));
	ck_assert_ptr_nonnull(ft = failtab_new(8));
	memset(a, 'a', sizeof(a));
	a[AIB_ADDR_MAX - 1] = '\0';
	ck_assert_uint_eq(failtab_add(ft, a, T0, WIN, NULL), 1);
	a[AIB_ADDR_MAX - 1] = 'a';
	a[AIB_ADDR_MAX] = '\0';
	ck_assert_uint_eq(failtab_add(ft, a, T0, WIN, NULL), 0);
	ck_assert_uint_eq(failtab_count(ft, a, T0, NULL), 0);
	failtab_raise(ft, a, T0, 5, T0 + 5);
	ck_assert_uint_eq(failtab_size(ft), 1);
	ck_assert_uint_eq(failtab_add(ft, "local", T0, WIN, NULL), 1);
	ck_assert_uint_eq(failtab_add(ft, "loca", T0, WIN, NULL), 1);
	ck_assert_uint_eq(failtab_add(ft, "::ffff:192.0.2.1", T0, WIN, NULL),
	    1);
	ck_assert_uint_eq(failtab_add(ft, "192.0.2.1", T0, WIN, NULL), 1);
	ck_assert_uint_eq(failtab_size(ft), 5);
	failtab_free(ft);
	failtab_free(NULL);
}
END_TEST

/* A reload that changes limit, window or validate drops the counts. */
START_TEST(test_newrules)
{
	struct auth_config	 a, b;

	memset(&a, 0, sizeof(a));
	a.ac_validate = 1;
	a.ac_fail_limit = 20;
	a.ac_fail_window = 60000;
	a.ac_ttl = 300000;
	b = a;
	ck_assert_int_eq(failtab_newrules(&a, &b), 0);
	b.ac_ttl = 1000;
	b.ac_max_entries = 7;
	(void)strlcpy(b.ac_path, "/other", sizeof(b.ac_path));
	ck_assert_int_eq(failtab_newrules(&a, &b), 0);
	b = a;
	b.ac_fail_limit = 21;
	ck_assert_int_eq(failtab_newrules(&a, &b), 1);
	b = a;
	b.ac_fail_window = 59000;
	ck_assert_int_eq(failtab_newrules(&a, &b), 1);
	b = a;
	b.ac_validate = 0;
	ck_assert_int_eq(failtab_newrules(&a, &b), 1);
}
END_TEST

static Suite *
failtab_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("failtab");
	tc = tcase_create("table");
	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_evict);
	tcase_add_test(tc, test_expired_go);
	tcase_add_test(tc, test_raise);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_newrules);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (unit_run(failtab_suite()) != 0);
}
