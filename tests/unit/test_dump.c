#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../aibproxyd/dump.h"
#include "unit.h"

static char	 dir[] = "/tmp/aib-dump.XXXXXX";

static char *
slurp(const char *path)
{
	static char	 buf[65536];
	int		 fd;
	ssize_t		 n;

	ck_assert_int_ne(fd = open(path, O_RDONLY), -1);
	n = read(fd, buf, sizeof(buf) - 1);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	close(fd);
	return (buf);
}

static int
opendir_fd(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return (open(dir, O_RDONLY | O_DIRECTORY));
}

static const char head[] =
    "POST /api/v2/aibridge/anthropic/v1/messages HTTP/1.1\r\n"
    "Host: coder.example.com\r\n"
    "authorization: Bearer abcdefghij-SECRETSECRETSECRETSECRE\r\n"
    "X-Api-Key: sk-ant-SECRET\r\n"
    "X-Coder-AI-Governance-Token: abcdefghij-SECRET\r\n"
    "Proxy-Authorization: Basic U0VDUkVU\r\n"
    "Cookie: s=SECRET\r\n"
    "X-Api-Keyring: public\r\n"
    "Content-Length: 2\r\n\r\n";

START_TEST(test_masks_every_credential)
{
	struct dump	 d;
	char		 path[256], *out;
	struct stat	 st;
	int		 dfd = opendir_fd();

	dump_open(&d, dfd, "anthropic", "id-1", "req");
	ck_assert_int_ne(d.fd, -1);
	dump_head(&d, head, sizeof(head) - 1);
	dump_body(&d, (const uint8_t *)"{}", 2);
	dump_close(&d);
	snprintf(path, sizeof(path), "%s/anthropic/id-1.req.txt", dir);
	out = slurp(path);
	ck_assert_ptr_null(strstr(out, "SECRET"));
	ck_assert_ptr_nonnull(strstr(out, "authorization: [masked]\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "X-Api-Key: [masked]\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "Cookie: [masked]\r\n"));
	/* A longer name that only starts like a secret one is kept. */
	ck_assert_ptr_nonnull(strstr(out, "X-Api-Keyring: public\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "Host: coder.example.com\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "\r\n\r\n{}"));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/anthropic", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
}
END_TEST

START_TEST(test_never_overwrites)
{
	struct dump	 d;
	int		 dfd = opendir_fd();

	dump_open(&d, dfd, "p", "same", "req");
	ck_assert_int_ne(d.fd, -1);
	dump_close(&d);
	dump_open(&d, dfd, "p", "same", "req");
	ck_assert_int_eq(d.fd, -1);
}
END_TEST

START_TEST(test_body_cap)
{
	struct dump	 d;
	char		 path[256];
	struct stat	 st;
	static uint8_t	 chunk[1024 * 1024];
	int		 i, dfd = opendir_fd();

	dump_open(&d, dfd, "p", "big", "resp");
	for (i = 0; i < 20; i++)
		dump_body(&d, chunk, sizeof(chunk));
	ck_assert_int_eq(d.fd, -1);	/* closed at the cap */
	snprintf(path, sizeof(path), "%s/p/big.resp.txt", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, DUMP_BODY_MAX + 18);
}
END_TEST

START_TEST(test_off)
{
	struct dump	 d;

	dump_open(&d, -1, "p", "x", "req");
	ck_assert_int_eq(d.fd, -1);
	dump_head(&d, head, sizeof(head) - 1);	/* no-ops */
	dump_body(&d, (const uint8_t *)"x", 1);
	dump_close(&d);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("dump");
	TCase	*tc = tcase_create("dump");
	int	 failed;

	tcase_add_test(tc, test_masks_every_credential);
	tcase_add_test(tc, test_never_overwrites);
	tcase_add_test(tc, test_body_cap);
	tcase_add_test(tc, test_off);
	suite_add_tcase(s, tc);
	failed = unit_run(s);
	return (failed != 0);
}
