#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "file.h"
#include "unit.h"

/* A pipe stands in for the descriptor the parent passes. */
static int
feed(const char *data, size_t len)
{
	int	 p[2];

	ck_assert_int_eq(pipe(p), 0);
	if (fork() == 0) {
		close(p[0]);
		while (len > 0) {
			ssize_t	 n = write(p[1], data, len > 4096 ? 4096 : len);

			if (n <= 0)
				_exit(1);
			data += n;
			len -= n;
		}
		_exit(0);
	}
	close(p[1]);
	return (p[0]);
}

START_TEST(test_reads_whole_and_terminates)
{
	uint8_t	*buf;
	size_t	 len;

	ck_assert_int_eq(file_read_fd(feed("hello\n", 6), 1024, &buf, &len),
	    0);
	ck_assert_uint_eq(len, 6);
	ck_assert_str_eq((char *)buf, "hello\n");
	freezero(buf, len + 1);
}
END_TEST

START_TEST(test_large_file_across_reads)
{
	size_t	 n = 300 * 1024, len;
	char	*big = malloc(n);
	uint8_t	*buf;

	memset(big, 'k', n);
	ck_assert_int_eq(file_read_fd(feed(big, n), n, &buf, &len), 0);
	ck_assert_uint_eq(len, n);
	ck_assert_int_eq(memcmp(buf, big, n), 0);
	ck_assert_int_eq(buf[n], '\0');
	freezero(buf, len + 1);
	free(big);
}
END_TEST

START_TEST(test_over_the_cap)
{
	size_t	 n = 100 * 1024, len = 0;
	char	*big = malloc(n);
	uint8_t	*buf = NULL;

	memset(big, 'k', n);
	errno = 0;
	ck_assert_int_eq(file_read_fd(feed(big, n), n - 1, &buf, &len), -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_ptr_null(buf);
	free(big);
}
END_TEST

START_TEST(test_empty)
{
	uint8_t	*buf;
	size_t	 len;

	ck_assert_int_eq(file_read_fd(feed("", 0), 16, &buf, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(buf[0], '\0');
	freezero(buf, len + 1);
}
END_TEST

START_TEST(test_bad_descriptor)
{
	uint8_t	*buf = NULL;
	size_t	 len;

	ck_assert_int_eq(file_read_fd(-1, 16, &buf, &len), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("file");
	TCase	*tc = tcase_create("file");
	int	 failed;

	tcase_add_test(tc, test_reads_whole_and_terminates);
	tcase_add_test(tc, test_large_file_across_reads);
	tcase_add_test(tc, test_over_the_cap);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_bad_descriptor);
	suite_add_tcase(s, tc);
	failed = unit_run(s);
	return (failed != 0);
}
