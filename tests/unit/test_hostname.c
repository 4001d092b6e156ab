/*
 * common/hostname.c: the names both the proxy and signerd agree on.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostname.h"
#include "unit.h"

#define L10	"abcdefghij"
#define L63	L10 L10 L10 L10 L10 L10 "abc"
#define L64	L63 "d"
/* 4 x 63 + 3 dots = 255; trimmed below to 253 and 254. */
#define N253	L63 "." L63 "." L63 "." L10 L10 L10 L10 L10 L10 "a"
#define N254	N253 "b"

struct canon_case {
	const char	*in;
	const char	*out;		/* NULL: must be refused */
	const char	*why;		/* reason when refused */
};

static const struct canon_case canon_cases[] = {
	{ "api.anthropic.com", "api.anthropic.com", NULL },
	{ "API.Anthropic.COM.", "api.anthropic.com", NULL },
	{ "api.openai.com.", "api.openai.com", NULL },
	{ "localhost", "localhost", NULL },
	{ "a", "a", NULL },
	{ "a-b.c-d.example", "a-b.c-d.example", NULL },
	{ "xn--bcher-kva.example", "xn--bcher-kva.example", NULL },
	{ "XN--BCHER-KVA.Example", "xn--bcher-kva.example", NULL },
	{ "123.example.com", "123.example.com", NULL },
	{ "1a.2b", "1a.2b", NULL },
	{ L63 ".example", L63 ".example", NULL },
	{ N253, N253, NULL },
	{ N253 ".", N253, NULL },
	{ "", NULL, "empty name" },
	{ ".", NULL, "empty label" },
	{ "..", NULL, "empty label" },
	{ "a..", NULL, "empty label" },
	{ "a..b", NULL, "empty label" },
	{ ".a", NULL, "empty label" },
	{ "a.example..", NULL, "empty label" },
	{ L64 ".example", NULL, "label longer than 63 octets" },
	{ N254, NULL, "name longer than 253 octets" },
	{ N254 ".", NULL, "name longer than 253 octets" },
	{ "a.example,DNS:b.example", NULL, "invalid character" },
	{ "a.example, b.example", NULL, "invalid character" },
	{ "*.example.com", NULL, "invalid character" },
	{ "under_score.example", NULL, "invalid character" },
	{ "sp ace.example", NULL, "invalid character" },
	{ "host:443", NULL, "invalid character" },
	{ "a/b.example", NULL, "invalid character" },
	{ "a\nb.example", NULL, "invalid character" },
	{ "b\xc3\xbc" "cher.example", NULL, "invalid character" },
	{ "caf\xc3\xa9.example", NULL, "invalid character" },
	{ "-a.example", NULL, "label starts or ends with '-'" },
	{ "a-.example", NULL, "label starts or ends with '-'" },
	{ "a.example-", NULL, "label starts or ends with '-'" },
	{ "127.0.0.1", NULL, "IP address literal" },
	{ "127.0.0.1.", NULL, "IP address literal" },
	{ "10.1.2.3", NULL, "IP address literal" },
	{ "1.2.3", NULL, "IP address literal" },
	{ "127.1", NULL, "IP address literal" },
	{ "2130706433", NULL, "IP address literal" },
	{ "0x7f.1", NULL, "IP address literal" },
	{ "example.0X1F", NULL, "IP address literal" },
	{ "::1", NULL, "IP address literal" },
	{ "[::1]", NULL, "IP address literal" },
	{ "2001:db8::1", NULL, "IP address literal" },
	{ "[2001:db8::1]", NULL, "IP address literal" },
	{ "::ffff:127.0.0.1", NULL, "IP address literal" },
	{ "[::1", NULL, "invalid character" },
	{ "[a.example]", NULL, "invalid character" },
};

START_TEST(test_canon)
{
	const struct canon_case	*c = &canon_cases[_i];
	char			 out[AIB_HOSTNAME_MAX + 1];
	const char		*why = NULL;
	int			 rv;

	memset(out, 'X', sizeof(out));
	rv = host_canon(c->in, out, sizeof(out), &why);
	if (c->out != NULL) {
		ck_assert_msg(rv == 0, "\"%s\" refused: %s", c->in,
		    why ? why : "(null)");
		ck_assert_str_eq(out, c->out);
	} else {
		ck_assert_msg(rv == -1, "\"%s\" accepted as \"%s\"", c->in,
		    out);
		ck_assert_ptr_nonnull(why);
		ck_assert_str_eq(why, c->why);
	}
}
END_TEST

START_TEST(test_canon_buffer)
{
	char		 out[18];
	const char	*why = NULL;

	/* "api.anthropic.com" is 17 bytes plus the NUL: exactly fits. */
	ck_assert_int_eq(host_canon("API.anthropic.com.", out, sizeof(out),
	    &why), 0);
	ck_assert_str_eq(out, "api.anthropic.com");
	ck_assert_int_eq(host_canon("api.anthropic.com", out,
	    sizeof(out) - 1, &why), -1);
	ck_assert_str_eq(why, "name too long for the buffer");
	ck_assert_int_eq(host_canon("a", out, 0, &why), -1);
	/* why may be NULL. */
	ck_assert_int_eq(host_canon("a..b", out, sizeof(out), NULL), -1);
	ck_assert_int_eq(host_canon(NULL, out, sizeof(out), &why), -1);
	ck_assert_str_eq(why, "empty name");
}
END_TEST

struct ip_case {
	const char	*in;
	int		 ip;
};

static const struct ip_case ip_cases[] = {
	{ "127.0.0.1", 1 },
	{ "0.0.0.0", 1 },
	{ "1.2.3", 1 },
	{ "1", 1 },
	{ "0x7f000001", 1 },
	{ "::", 1 },
	{ "::1", 1 },
	{ "[::1]", 1 },
	{ "fe80::1", 1 },
	{ "[2001:db8::1]", 1 },
	{ "", 0 },
	{ "[]", 0 },
	{ "[127.0.0.1]", 0 },
	{ "[::1", 0 },
	{ "::1]", 0 },
	{ "example.com", 0 },
	{ "1.2.3.example", 0 },
	{ "1a", 0 },
	{ "0xg1", 0 },
	{ "a.example,DNS:b.example", 0 },
};

START_TEST(test_is_ip)
{
	const struct ip_case	*c = &ip_cases[_i];

	ck_assert_msg(host_is_ip(c->in) == c->ip, "host_is_ip(\"%s\") != %d",
	    c->in, c->ip);
}
END_TEST

struct split_case {
	const char	*in;
	const char	*host;		/* NULL: must be refused */
	int		 port;
};

static const struct split_case split_cases[] = {
	{ "api.anthropic.com:443", "api.anthropic.com", 443 },
	{ "API.Anthropic.COM:443", "API.Anthropic.COM", 443 },
	{ "example.com:1", "example.com", 1 },
	{ "example.com:65535", "example.com", 65535 },
	{ "127.0.0.1:8080", "127.0.0.1", 8080 },
	{ "[::1]:443", "::1", 443 },
	{ "[2001:db8::1]:8443", "2001:db8::1", 8443 },
	{ "example.com:0443", "example.com", 443 },
	{ "example.com", NULL, 0 },
	{ "example.com:", NULL, 0 },
	{ ":443", NULL, 0 },
	{ "example.com:0", NULL, 0 },
	{ "example.com:65536", NULL, 0 },
	{ "example.com:99999", NULL, 0 },
	{ "example.com:100000", NULL, 0 },
	{ "example.com:-1", NULL, 0 },
	{ "example.com:+443", NULL, 0 },
	{ "example.com: 443", NULL, 0 },
	{ "example.com:443 ", NULL, 0 },
	{ "example.com:44a", NULL, 0 },
	{ "example.com:443:1", NULL, 0 },
	{ "example.com::443", NULL, 0 },
	{ "::1:443", NULL, 0 },
	{ "[::1]", NULL, 0 },
	{ "[::1]:", NULL, 0 },
	{ "[::1]443", NULL, 0 },
	{ "[::1]:443:1", NULL, 0 },
	{ "[::1:443", NULL, 0 },
	{ "[]:443", NULL, 0 },
	{ "[example.com]:443", NULL, 0 },
	{ "[127.0.0.1]:443", NULL, 0 },
	{ "ex]ample.com:443", NULL, 0 },
	{ "", NULL, 0 },
};

START_TEST(test_split)
{
	const struct split_case	*c = &split_cases[_i];
	char			 host[AIB_HOSTNAME_MAX + 1];
	int			 port = -7, rv;

	rv = host_split_port(c->in, host, sizeof(host), &port);
	if (c->host != NULL) {
		ck_assert_msg(rv == 0, "\"%s\" refused", c->in);
		ck_assert_str_eq(host, c->host);
		ck_assert_int_eq(port, c->port);
	} else
		ck_assert_msg(rv == -1, "\"%s\" accepted", c->in);
}
END_TEST

START_TEST(test_split_buffer)
{
	char	 host[12];
	int	 port;

	/* "example.com" is 11 bytes plus the NUL. */
	ck_assert_int_eq(host_split_port("example.com:80", host, sizeof(host),
	    &port), 0);
	ck_assert_str_eq(host, "example.com");
	ck_assert_int_eq(port, 80);
	ck_assert_int_eq(host_split_port("example.com:80", host,
	    sizeof(host) - 1, &port), -1);
	ck_assert_int_eq(host_split_port(NULL, host, sizeof(host), &port), -1);
}
END_TEST

static Suite *
hostname_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("hostname");

	tc = tcase_create("canon");
	tcase_add_loop_test(tc, test_canon, 0, (int)nitems(canon_cases));
	tcase_add_test(tc, test_canon_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("is_ip");
	tcase_add_loop_test(tc, test_is_ip, 0, (int)nitems(ip_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("split_port");
	tcase_add_loop_test(tc, test_split, 0, (int)nitems(split_cases));
	tcase_add_test(tc, test_split_buffer);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	int	 failed;

	failed = unit_run(hostname_suite());
	return (failed != 0);
}
