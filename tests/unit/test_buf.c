#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "unit.h"

START_TEST(test_lazy_alloc_and_free)
{
	struct buf	 b;

	buf_init(&b, 16);
	ck_assert_ptr_null(b.data);
	ck_assert_int_eq(buf_add(&b, "abc", 3), 0);
	ck_assert_ptr_nonnull(b.data);
	ck_assert_uint_eq(buf_len(&b), 3);
	ck_assert_mem_eq(buf_rptr(&b), "abc", 3);
	buf_consume(&b, 3);
	/* An emptied buffer holds no memory: idle sessions stay small. */
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(buf_len(&b), 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_full_refuses_without_writing)
{
	struct buf	 b;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_add(&b, "12345678", 8), 0);
	ck_assert_uint_eq(buf_space(&b), 0);
	ck_assert_int_eq(buf_add(&b, "9", 1), -1);
	ck_assert_uint_eq(buf_len(&b), 8);
	ck_assert_mem_eq(buf_rptr(&b), "12345678", 8);
	buf_free(&b);
}
END_TEST

START_TEST(test_compaction)
{
	struct buf	 b;
	uint8_t		*w;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_add(&b, "abcdefgh", 8), 0);
	buf_consume(&b, 6);
	ck_assert_uint_eq(buf_len(&b), 2);
	/* Space at the front is reclaimed for writers. */
	ck_assert_uint_eq(buf_space(&b), 6);
	w = buf_wptr(&b);
	memcpy(w, "XYZ", 3);
	buf_produced(&b, 3);
	ck_assert_mem_eq(buf_rptr(&b), "ghXYZ", 5);
	ck_assert_int_eq(buf_add(&b, "123", 3), 0);
	ck_assert_mem_eq(buf_rptr(&b), "ghXYZ123", 8);
	ck_assert_int_eq(buf_add(&b, "4", 1), -1);
	buf_free(&b);
}
END_TEST

START_TEST(test_add_compacts_when_needed)
{
	struct buf	 b;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_add(&b, "abcdef", 6), 0);
	buf_consume(&b, 4);
	/* 2 left at offset 4: 5 more only fit after moving them. */
	ck_assert_int_eq(buf_add(&b, "12345", 5), 0);
	ck_assert_mem_eq(buf_rptr(&b), "ef12345", 7);
	buf_free(&b);
}
END_TEST

START_TEST(test_printf)
{
	struct buf	 b;

	buf_init(&b, 32);
	ck_assert_int_eq(buf_printf(&b, "%d %s", 42, "x"), 0);
	ck_assert_uint_eq(buf_len(&b), 4);
	ck_assert_mem_eq(buf_rptr(&b), "42 x", 4);
	ck_assert_int_eq(buf_printf(&b, "%040d", 1), -1);
	ck_assert_uint_eq(buf_len(&b), 4);
	ck_assert_int_eq(buf_addstr(&b, "yz"), 0);
	ck_assert_mem_eq(buf_rptr(&b), "42 xyz", 6);
	buf_free(&b);
}
END_TEST

START_TEST(test_consume_more_than_len)
{
	struct buf	 b;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_add(&b, "ab", 2), 0);
	buf_consume(&b, 100);
	ck_assert_uint_eq(buf_len(&b), 0);
	ck_assert_ptr_null(b.data);
	buf_free(&b);
}
END_TEST

/* The wipe on free covers every byte ever written, and only those. */
START_TEST(test_high_water)
{
	struct buf	 b;

	buf_init(&b, 64);
	ck_assert_int_eq(buf_add(&b, "0123456789", 10), 0);
	ck_assert_uint_eq(b.hw, 10);
	buf_consume(&b, 8);
	ck_assert_uint_eq(b.hw, 10);
	/* Compaction moves the rest down; the old extent still counts. */
	ck_assert_int_eq(buf_add(&b, "abc", 3), 0);
	ck_assert_uint_ge(b.hw, 13);
	buf_produced(&b, 0);
	buf_consume(&b, 5);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.hw, 0);
	buf_free(&b);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("buf");
	TCase	*tc = tcase_create("buf");
	int	 failed;

	tcase_add_test(tc, test_lazy_alloc_and_free);
	tcase_add_test(tc, test_full_refuses_without_writing);
	tcase_add_test(tc, test_compaction);
	tcase_add_test(tc, test_add_compacts_when_needed);
	tcase_add_test(tc, test_printf);
	tcase_add_test(tc, test_consume_more_than_len);
	tcase_add_test(tc, test_high_water);
	suite_add_tcase(s, tc);
	failed = unit_run(s);
	return (failed != 0);
}
