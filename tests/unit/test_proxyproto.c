/*
 * common/proxyproto.c: PROXY protocol headers, versions 1 and 2, good
 * and bad, each also cut short at every byte.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "proxyproto.h"
#include "unit.h"

/* A literal with its length: version 2 headers hold NUL bytes. */
#define R(s)		s, sizeof(s) - 1

/* Version 2: the signature, then version and command, family, length. */
#define SIG		"\r\n\r\n\0\r\nQUIT\n"
#define V2_LOCAL	SIG "\x20"
#define V2_PROXY	SIG "\x21"
/* 192.0.2.1:56324 -> 198.51.100.2:443 */
#define A4		"\xc0\x00\x02\x01" "\xc6\x33\x64\x02" "\xdc\x04\x01\xbb"
/* [2001:db8::1]:1 -> [2001:db8::2]:65535 */
#define A6		"\x20\x01\x0d\xb8" "\0\0\0\0\0\0\0\0\0\0\0\x01"	\
			"\x20\x01\x0d\xb8" "\0\0\0\0\0\0\0\0\0\0\0\x02"	\
			"\x00\x01\xff\xff"
#define Z8		"\0\0\0\0\0\0\0\0"
#define Z72		Z8 Z8 Z8 Z8 Z8 Z8 Z8 Z8 Z8
#define AUNIX		Z72 Z72 Z72	/* two 108-byte paths */
#define F6		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
#define V1_4		"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"

struct pp_case {
	const char	*in;
	size_t		 len;
	int		 result;	/* enum proxyproto_result */
	size_t		 size;		/* DONE: header bytes */
	int		 local;
	const char	*src;		/* DONE, not local: as printed */
	const char	*dst;
	const char	*why;		/* BAD */
};

#define GOOD(in, size, src, dst)					\
	{ R(in), PROXYPROTO_DONE, size, 0, src, dst, NULL }
#define LOCAL(in, size)							\
	{ R(in), PROXYPROTO_DONE, size, 1, NULL, NULL, NULL }
#define BAD(in, why)							\
	{ R(in), PROXYPROTO_BAD, 0, 0, NULL, NULL, why }

static const struct pp_case pp_cases[] = {
	/* Version 1 */
	GOOD(V1_4, 45, "192.0.2.1:56324", "198.51.100.2:443"),
	GOOD(V1_4 "GET / HTTP/1.1\r\n\r\n", 45, "192.0.2.1:56324",
	    "198.51.100.2:443"),
	GOOD(V1_4 "\x16\x03\x01", 45, "192.0.2.1:56324",
	    "198.51.100.2:443"),
	GOOD("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", 44,
	    "0.0.0.0:0", "255.255.255.255:65535"),
	GOOD("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", 44,
	    "[2001:db8::1]:1", "[2001:db8::2]:65535"),
	GOOD("PROXY TCP6 ::ffff:192.0.2.1 ::1 80 443\r\n", 40,
	    "[::ffff:192.0.2.1]:80", "[::1]:443"),
	GOOD("PROXY TCP6 " F6 " " F6 " 65535 65535\r\n", 104,
	    "[" F6 "]:65535", "[" F6 "]:65535"),
	LOCAL("PROXY UNKNOWN\r\n", 15),
	LOCAL("PROXY UNKNOWN\r\nGET /", 15),
	LOCAL("PROXY UNKNOWN 192.0.2.1 198.51.100.2 56324 443\r\n", 48),
	/* The longest line the spec allows: 107 bytes. */
	LOCAL("PROXY UNKNOWN " F6 " " F6 " 65535 65535\r\n", 107),
	BAD("PROXY UNKNOWN " F6 " " F6 " 65535 655350\r\n",
	    "v1: no CRLF within 107 bytes"),
	BAD("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "no PROXY header"),
	BAD("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "no PROXY header"),
	BAD("PROXY\r\n", "no PROXY header"),
	BAD("proxy TCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
	    "no PROXY header"),
	BAD("PROXY  TCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
	    "v1: protocol not TCP4, TCP6 or UNKNOWN"),
	BAD("PROXY TCP5 192.0.2.1 198.51.100.2 56324 443\r\n",
	    "v1: protocol not TCP4, TCP6 or UNKNOWN"),
	BAD("PROXY tcp4 192.0.2.1 198.51.100.2 56324 443\r\n",
	    "v1: protocol not TCP4, TCP6 or UNKNOWN"),
	BAD("PROXY TCP 192.0.2.1 198.51.100.2 56324 443\r\n",
	    "v1: protocol not TCP4, TCP6 or UNKNOWN"),
	BAD("PROXY TCP44 192.0.2.1 198.51.100.2 56324 443\r\n",
	    "v1: protocol not TCP4, TCP6 or UNKNOWN"),
	BAD("PROXY UNKNOWNX\r\n", "v1: protocol not TCP4, TCP6 or UNKNOWN"),
	BAD("PROXY TCP4\r\n", "v1: not six fields apart by single spaces"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n",
	    "v1: not six fields apart by single spaces"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 1\r\n",
	    "v1: not six fields apart by single spaces"),
	BAD("PROXY TCP4 192.0.2.1  198.51.100.2 56324 443\r\n",
	    "v1: not six fields apart by single spaces"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 \r\n",
	    "v1: not six fields apart by single spaces"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n",
	    "v1: LF without CR"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\r\n",
	    "v1: CR not followed by LF"),
	BAD("PROXY TCP4 192.0.2.1\r198.51.100.2 56324 443\r\n",
	    "v1: CR not followed by LF"),
	BAD("PROXY TCP4 192.0.2.1\t198.51.100.2 56324 443\r\n",
	    "v1: a byte that is not printable ASCII"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\0\r\n",
	    "v1: a byte that is not printable ASCII"),
	BAD("PROXY TCP4 192.0.2.\xc3\xa9 198.51.100.2 56324 443\r\n",
	    "v1: a byte that is not printable ASCII"),
	BAD("PROXY TCP4 192.0.2.256 198.51.100.2 56324 443\r\n",
	    "v1: bad source address or port"),
	BAD("PROXY TCP4 192.0.2 198.51.100.2 56324 443\r\n",
	    "v1: bad source address or port"),
	BAD("PROXY TCP4 192.0.2.01 198.51.100.2 56324 443\r\n",
	    "v1: bad source address or port"),
	BAD("PROXY TCP4 2001:db8::1 198.51.100.2 56324 443\r\n",
	    "v1: bad source address or port"),
	BAD("PROXY TCP6 192.0.2.1 2001:db8::2 56324 443\r\n",
	    "v1: bad source address or port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n",
	    "v1: bad source address or port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 056324 443\r\n",
	    "v1: bad source address or port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 00 443\r\n",
	    "v1: bad source address or port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 -1 443\r\n",
	    "v1: bad source address or port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 +80 443\r\n",
	    "v1: bad source address or port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 8a 443\r\n",
	    "v1: bad source address or port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 999999 443\r\n",
	    "v1: bad source address or port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.x 56324 443\r\n",
	    "v1: bad destination address or port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 70000\r\n",
	    "v1: bad destination address or port"),
	BAD("PROXY TCP6 2001:db8::1 2001:db8::2::3 1 2\r\n",
	    "v1: bad destination address or port"),

	/* Version 2 */
	LOCAL(V2_LOCAL "\x00\x00\x00", 16),
	LOCAL(V2_LOCAL "\x00\x00\x00" "GET /healthz HTTP/1.1\r\n\r\n", 16),
	LOCAL(V2_LOCAL "\x11\x00\x0c" A4, 28),
	/* LOCAL ignores the family, a datagram one too (2.2). */
	LOCAL(V2_LOCAL "\x12\x00\x0c" A4, 28),
	/* ... and what follows it, TLVs that do not add up included. */
	LOCAL(V2_LOCAL "\x00\x00\x02" "\x01\x00", 18),
	GOOD(V2_PROXY "\x11\x00\x0c" A4, 28, "192.0.2.1:56324",
	    "198.51.100.2:443"),
	GOOD(V2_PROXY "\x11\x00\x0c" A4 "\x16\x03\x01", 28,
	    "192.0.2.1:56324", "198.51.100.2:443"),
	GOOD(V2_PROXY "\x21\x00\x24" A6, 52, "[2001:db8::1]:1",
	    "[2001:db8::2]:65535"),
	/* TLVs: ALPN "h2", an empty NOOP. */
	GOOD(V2_PROXY "\x11\x00\x14" A4 "\x01\x00\x02" "h2" "\x04\x00\x00",
	    36, "192.0.2.1:56324", "198.51.100.2:443"),
	/* An INET6 block longer than its addresses: the rest is TLVs. */
	GOOD(V2_PROXY "\x21\x00\x28" A6 "\x04\x00\x01" "x", 56,
	    "[2001:db8::1]:1", "[2001:db8::2]:65535"),
	/* UNSPEC and UNIX say nothing usable of the client. */
	LOCAL(V2_PROXY "\x00\x00\x00", 16),
	LOCAL(V2_PROXY "\x00\x00\x03" "abc", 19),
	LOCAL(V2_PROXY "\x31\x00\xd8" AUNIX, 232),
	LOCAL(V2_PROXY "\x32\x00\xd8" AUNIX, 232),
	BAD(SIG "\x11\x11\x00\x0c" A4, "v2: version not 2"),
	BAD(SIG "\x31\x11\x00\x0c" A4, "v2: version not 2"),
	BAD(SIG "\x01", "v2: version not 2"),
	BAD(SIG "\x22\x11\x00\x0c" A4, "v2: command not LOCAL or PROXY"),
	BAD(SIG "\x2f", "v2: command not LOCAL or PROXY"),
	BAD(V2_PROXY "\x10\x00\x0c" A4,
	    "v2: unknown address family or transport"),
	BAD(V2_PROXY "\x13\x00\x0c" A4,
	    "v2: unknown address family or transport"),
	BAD(V2_PROXY "\x41\x00\x0c" A4,
	    "v2: unknown address family or transport"),
	BAD(V2_LOCAL "\x01\x00\x00",
	    "v2: unknown address family or transport"),
	BAD(V2_PROXY "\x12\x00\x0c" A4, "v2: a datagram address on a stream"),
	BAD(V2_PROXY "\x22\x00\x24" A6, "v2: a datagram address on a stream"),
	BAD(V2_PROXY "\x11\x00\x0b" A4, "v2: too short for its addresses"),
	BAD(V2_PROXY "\x11\x00\x00", "v2: too short for its addresses"),
	BAD(V2_PROXY "\x21\x00\x0c" A4, "v2: too short for its addresses"),
	BAD(V2_PROXY "\x31\x00\x24" A6, "v2: too short for its addresses"),
	BAD(V2_PROXY "\x11\x10\x01",
	    "v2: longer than 4096 bytes after the fixed part"),
	BAD(V2_LOCAL "\x00\xff\xff",
	    "v2: longer than 4096 bytes after the fixed part"),
	BAD(V2_PROXY "\x11\x00\x0e" A4 "\x04\x00",
	    "v2: a TLV runs past the header"),
	BAD(V2_PROXY "\x11\x00\x0f" A4 "\x04\x00\x01",
	    "v2: a TLV runs past the header"),
	BAD(V2_PROXY "\x11\x00\x14" A4 "\x01\x00\x02" "h2" "\x04\x00\x01",
	    "v2: a TLV runs past the header"),
	BAD("\r\n\r\n\0\r\nQUIX\n\x21\x11\x00\x0c" A4, "no PROXY header"),
	BAD("\r\n\r\nGET", "no PROXY header"),
};

static void
pp_print(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char	 a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(out, len, "%s:%u", a, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(out, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else
		snprintf(out, len, "family %d", ss->ss_family);
}

START_TEST(test_whole)
{
	const struct pp_case	*c = &pp_cases[_i];
	struct proxyproto	 pp;
	char			 src[128], dst[128];
	int			 r;

	r = proxyproto_parse((const uint8_t *)c->in, c->len, &pp);
	ck_assert_msg(r == c->result, "case %d: result %d, want %d (%s)", _i,
	    r, c->result, pp.pp_why ? pp.pp_why : "");
	if (r == PROXYPROTO_BAD) {
		ck_assert_str_eq(pp.pp_why, c->why);
		ck_assert_int_eq(pp.pp_missing,
		    strcmp(c->why, "no PROXY header") == 0);
		return;
	}
	ck_assert_uint_eq(pp.pp_size, c->size);
	ck_assert_int_eq(pp.pp_version, c->in[0] == 'P' ? 1 : 2);
	ck_assert_int_eq(pp.pp_local, c->local);
	if (c->local)
		return;
	pp_print(&pp.pp_src, src, sizeof(src));
	pp_print(&pp.pp_dst, dst, sizeof(dst));
	ck_assert_str_eq(src, c->src);
	ck_assert_str_eq(dst, c->dst);
}
END_TEST

/*
 * Cut short at every byte: a header so far asks for more, never
 * answers early; a bad one is either still open or bad for the same
 * reason.  The input is copied so that a read past the cut is one
 * the sanitizers and valgrind see.
 */
START_TEST(test_truncated)
{
	const struct pp_case	*c = &pp_cases[_i];
	struct proxyproto	 pp;
	uint8_t			*p;
	size_t			 n, end;
	int			 r;

	end = c->result == PROXYPROTO_DONE ? c->size : c->len;
	for (n = 0; n < end; n++) {
		if ((p = malloc(n + 1)) == NULL)
			abort();
		memcpy(p, c->in, n);
		r = proxyproto_parse(p, n, &pp);
		free(p);
		if (c->result == PROXYPROTO_DONE) {
			ck_assert_msg(r == PROXYPROTO_MORE, "case %d cut at "
			    "%zu: %d (%s)", _i, n, r, pp.pp_why ? pp.pp_why :
			    "");
			continue;
		}
		ck_assert_msg(r == PROXYPROTO_MORE || (r == PROXYPROTO_BAD &&
		    strcmp(pp.pp_why, c->why) == 0), "case %d cut at %zu: "
		    "%d (%s)", _i, n, r, pp.pp_why ? pp.pp_why : "");
	}
}
END_TEST

/* The bound on version 2: 4096 bytes after the fixed part, not one more. */
START_TEST(test_v2_bound)
{
	struct proxyproto	 pp;
	uint8_t			 b[PROXYPROTO_V2_HEAD + 4097];
	size_t			 body = 4096;

	memset(b, 0, sizeof(b));
	memcpy(b, SIG "\x21\x11", 14);
	memcpy(b + 16, A4, 12);
	/* One NOOP TLV fills the rest. */
	b[28] = 0x04;
	b[29] = (body - 12 - 3) >> 8;
	b[30] = (body - 12 - 3) & 0xff;
	b[14] = body >> 8;
	b[15] = body & 0xff;
	ck_assert_int_eq(proxyproto_parse(b, 16 + body - 1, &pp),
	    PROXYPROTO_MORE);
	ck_assert_int_eq(proxyproto_parse(b, 16 + body, &pp),
	    PROXYPROTO_DONE);
	ck_assert_uint_eq(pp.pp_size, 16 + body);
	body++;
	b[14] = body >> 8;
	b[15] = body & 0xff;
	ck_assert_int_eq(proxyproto_parse(b, 16, &pp), PROXYPROTO_BAD);
}
END_TEST

START_TEST(test_empty)
{
	struct proxyproto	 pp;

	ck_assert_int_eq(proxyproto_parse((const uint8_t *)"", 0, &pp),
	    PROXYPROTO_MORE);
}
END_TEST

static Suite *
proxyproto_suite(void)
{
	Suite	*s = suite_create("proxyproto");
	TCase	*tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_whole, 0, nitems(pp_cases));
	tcase_add_loop_test(tc, test_truncated, 0, nitems(pp_cases));
	tcase_add_test(tc, test_v2_bound);
	tcase_add_test(tc, test_empty);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (unit_run(proxyproto_suite()) ? 1 : 0);
}
