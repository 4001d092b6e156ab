/*
 * common/http.c: heads (good, bad, incomplete at every split, over the
 * limit), the smuggling classics, response framing, and body framing
 * fed whole, in two parts at every cut, and byte by byte.
 */
#include <sys/types.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "unit.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
/* A literal and its length: some cases hold a NUL. */
#define R(s)		s, sizeof(s) - 1
#define BIG		(1024 * 1024)

#define NONE		HTTP_BODY_NONE
#define LEN		HTTP_BODY_LENGTH
#define CHUNKED		HTTP_BODY_CHUNKED
#define CLOSE		HTTP_BODY_CLOSE

#define RL		"GET / HTTP/1.1\r\n"
#define HOST		"Host: a\r\n"
#define POST		"POST / HTTP/1.1\r\nHost: a\r\n"

struct req_good {
	const char		*raw;
	size_t			 len;
	size_t			 body;		/* bytes after the head */
	const char		*method;
	const char		*target;
	int			 minor;
	enum http_framing	 framing;
	uint64_t		 length;
	int			 close;
	int			 upgrade;
	int			 expect;
};

static const struct req_good req_good[] = {
	{ R(RL HOST "\r\n"), 0, "GET", "/", 1, NONE, 0, 0, 0, 0 },
	{ R("GET /p?q=1&r=%20 HTTP/1.0\r\n\r\n"), 0, "GET", "/p?q=1&r=%20",
	    0, NONE, 0, 1, 0, 0 },
	{ R("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0,
	    "GET", "/", 0, NONE, 0, 0, 0, 0 },
	{ R("GET / HTTP/1.0\r\nConnection: foo, Keep-Alive\r\n\r\n"), 0,
	    "GET", "/", 0, NONE, 0, 0, 0, 0 },
	{ R("GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive, close\r\n"
	    "\r\n"), 0, "GET", "/", 0, NONE, 0, 1, 0, 0 },
	{ R(RL HOST "Connection: foo,close\r\n\r\n"), 0, "GET", "/", 1,
	    NONE, 0, 1, 0, 0 },
	{ R(RL "Connection: foo\r\n" HOST "connection: CLOSE\r\n\r\n"), 0,
	    "GET", "/", 1, NONE, 0, 1, 0, 0 },
	{ R(RL HOST "Connection: closed\r\n\r\n"), 0, "GET", "/", 1, NONE,
	    0, 0, 0, 0 },
	{ R(POST "Content-Length: 5\r\n\r\nhello"), 5, "POST", "/", 1, LEN,
	    5, 0, 0, 0 },
	{ R(POST "Content-Length: 0\r\n\r\n"), 0, "POST", "/", 1, LEN, 0, 0,
	    0, 0 },
	{ R(POST "Content-Length: 007\r\n\r\n"), 0, "POST", "/", 1, LEN, 7,
	    0, 0, 0 },
	{ R(POST "Content-Length:    12\r\n\r\n"), 0, "POST", "/", 1, LEN,
	    12, 0, 0, 0 },
	{ R(POST "Content-Length: 9223372036854775807\r\n\r\n"), 0, "POST",
	    "/", 1, LEN, INT64_MAX, 0, 0, 0 },
	/* The body is not the head's business, whatever it holds. */
	{ R(POST "Content-Length: 4\r\n\r\n\0\n\r\x80"), 4, "POST", "/", 1,
	    LEN, 4, 0, 0, 0 },
	{ R(POST "Transfer-Encoding: chunked\r\n\r\n"), 0, "POST", "/", 1,
	    CHUNKED, 0, 0, 0, 0 },
	{ R(POST "transfer-encoding: CHUNKED\r\n\r\n"), 0, "POST", "/", 1,
	    CHUNKED, 0, 0, 0, 0 },
	{ R(POST "Transfer-Encoding:chunked\r\n\r\n"), 0, "POST", "/", 1,
	    CHUNKED, 0, 0, 0, 0 },
	{ R(POST "Transfer-Encoding:   Chunked\r\n\r\n5\r\nhello"), 8,
	    "POST", "/", 1, CHUNKED, 0, 0, 0, 0 },
	{ R("GET http://example.com/x?y HTTP/1.1\r\nHost: example.com\r\n"
	    "\r\n"), 0, "GET", "http://example.com/x?y", 1, NONE, 0, 0, 0,
	    0 },
	{ R("GET HTTPS://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n"),
	    0, "GET", "HTTPS://example.com", 1, NONE, 0, 0, 0, 0 },
	{ R("CONNECT api.anthropic.com:443 HTTP/1.1\r\n"
	    "Host: api.anthropic.com:443\r\n\r\n"), 0, "CONNECT",
	    "api.anthropic.com:443", 1, NONE, 0, 0, 0, 0 },
	{ R("CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n"), 0,
	    "CONNECT", "[::1]:8443", 1, NONE, 0, 0, 0, 0 },
	{ R("OPTIONS * HTTP/1.1\r\n" HOST "\r\n"), 0, "OPTIONS", "*", 1,
	    NONE, 0, 0, 0, 0 },
	{ R("X-Custom_1~ /a/b/../c HTTP/1.1\r\n" HOST "\r\n"), 0,
	    "X-Custom_1~", "/a/b/../c", 1, NONE, 0, 0, 0, 0 },
	{ R("GET /ws HTTP/1.1\r\n" HOST "Connection: Upgrade\r\n"
	    "Upgrade: websocket\r\n\r\n"), 0, "GET", "/ws", 1, NONE, 0, 0, 1,
	    0 },
	{ R(POST "Expect: 100-Continue\r\nContent-Length: 3\r\n\r\n"), 0,
	    "POST", "/", 1, LEN, 3, 0, 0, 1 },
	{ R(POST "Expect: 100-continue, foo\r\n\r\n"), 0, "POST", "/", 1,
	    NONE, 0, 0, 0, 0 },
	{ R(POST "X-Expect: 100-continue\r\n\r\n"), 0, "POST", "/", 1,
	    NONE, 0, 0, 0, 0 },
	{ R("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3"
	    "\r\n\r\nabc"), 3, "POST", "/", 0, LEN, 3, 1, 0, 0 },
	{ R(RL HOST "X-Name: caf\xc3\xa9\r\nX-Tab:\tone\t two \t\r\n"
	    "X-Empty:\r\nX-Sp:   \r\n\r\n"), 0, "GET", "/", 1, NONE, 0, 0, 0,
	    0 },
	{ R(RL "Host:\r\n\r\n"), 0, "GET", "/", 1, NONE, 0, 0, 0, 0 },
};

START_TEST(test_req_good)
{
	const struct req_good	*c = &req_good[_i];
	struct http_head	 h;
	struct http_error	 err = { 0, NULL };
	enum http_result	 r;

	r = http_parse_request(c->raw, c->len, BIG, &h, &err);
	ck_assert_msg(r == HTTP_COMPLETE, "case %d: %d %s", _i, err.status,
	    err.why ? err.why : "");
	ck_assert_uint_eq(h.size, c->len - c->body);
	ck_assert_str_eq(h.method, c->method);
	ck_assert_str_eq(h.target, c->target);
	ck_assert_int_eq(h.minor, c->minor);
	ck_assert_int_eq(h.framing, c->framing);
	ck_assert_uint_eq(h.length, c->length);
	ck_assert_int_eq(h.close, c->close);
	ck_assert_int_eq(h.upgrade, c->upgrade);
	ck_assert_int_eq(h.expect_continue, c->expect);
	http_head_free(&h);
	ck_assert_ptr_null(h.text);
}
END_TEST

/* Every proper prefix of a head is incomplete; the whole is complete. */
START_TEST(test_req_incomplete)
{
	const struct req_good	*c = &req_good[_i];
	struct http_head	 h;
	struct http_error	 err;
	size_t			 head, k;

	head = c->len - c->body;
	for (k = 0; k < head; k++) {
		ck_assert_msg(http_parse_request(c->raw, k, BIG, &h, &err) ==
		    HTTP_INCOMPLETE, "case %d cut at %zu", _i, k);
		ck_assert_ptr_null(h.text);
	}
	ck_assert_int_eq(http_parse_request(c->raw, head, BIG, &h, &err),
	    HTTP_COMPLETE);
	ck_assert_uint_eq(h.size, head);
	http_head_free(&h);
}
END_TEST

struct req_bad {
	const char	*raw;
	size_t		 len;
	int		 status;
	const char	*why;
};

#define BOTH		"both Transfer-Encoding and Content-Length"
#define CODING		"unsupported transfer coding"
#define BADCL		"invalid Content-Length"
#define FRAMEWS		"whitespace in framing header"
#define BADNAME		"invalid header name"
#define CTL		"control character in header value"
#define BADTARGET	"invalid request target"
#define BADCONNECT	"CONNECT target is not host:port"
#define BADVERSION	"malformed HTTP version"

static const struct req_bad req_bad[] = {
	/* Framing conflicts. */
	{ R(POST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    400, BOTH },
	{ R(POST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
	    400, BOTH },
	{ R(POST "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"),
	    400, BOTH },
	{ R(POST "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"), 400,
	    "repeated Content-Length" },
	{ R(POST "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"), 400,
	    "repeated Content-Length" },
	{ R(POST "Content-Length: 5, 5\r\n\r\n"), 400, BADCL },
	{ R(POST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n"), 400, "repeated Transfer-Encoding" },
	{ R("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400,
	    "Transfer-Encoding in HTTP/1.0" },
	/* Transfer-Encoding spelled so that someone reads it otherwise. */
	{ R(POST "Transfer-Encoding:\r\n chunked\r\n\r\n"), 400,
	    "obs-fold line" },
	{ R(POST "Transfer-Encoding: x\r\n\tchunked\r\n\r\n"), 400,
	    "obs-fold line" },
	{ R(POST "Transfer-Encoding : chunked\r\n\r\n"), 400,
	    "whitespace before colon" },
	{ R(POST "Transfer-Encoding\t: chunked\r\n\r\n"), 400,
	    "whitespace before colon" },
	{ R(POST "Transfer-Encoding:\x0b" "chunked\r\n\r\n"), 400, CTL },
	{ R(POST "Transfer-Encoding: chunked\x0b\r\n\r\n"), 400, CTL },
	{ R(POST "Transfer-Encoding\x0b: chunked\r\n\r\n"), 400, BADNAME },
	{ R(POST "Transfer-Encoding: chunked\t\r\n\r\n"), 400, FRAMEWS },
	{ R(POST "Transfer-Encoding: chunked \r\n\r\n"), 400, FRAMEWS },
	{ R(POST "Transfer-Encoding:\tchunked\r\n\r\n"), 400, FRAMEWS },
	{ R(POST "Transfer-Encoding: xchunked\r\n\r\n"), 501, CODING },
	{ R(POST "Transfer-Encoding: chunkedx\r\n\r\n"), 501, CODING },
	{ R(POST "Transfer-Encoding: chunked, identity\r\n\r\n"), 501,
	    CODING },
	{ R(POST "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501, CODING },
	{ R(POST "Transfer-Encoding: chunked,chunked\r\n\r\n"), 501, CODING },
	{ R(POST "Transfer-Encoding: identity\r\n\r\n"), 501, CODING },
	{ R(POST "Transfer-Encoding: chunked;x\r\n\r\n"), 501, CODING },
	{ R(POST "Transfer-Encoding: \"chunked\"\r\n\r\n"), 501, CODING },
	{ R(POST "Transfer-Encoding:\r\n\r\n"), 501, CODING },
	/* Content-Length that is not 1*DIGIT, or too big. */
	{ R(POST "Content-Length: +5\r\n\r\n"), 400, BADCL },
	{ R(POST "Content-Length: -1\r\n\r\n"), 400, BADCL },
	{ R(POST "Content-Length: 0x10\r\n\r\n"), 400, BADCL },
	{ R(POST "Content-Length: 5 5\r\n\r\n"), 400, BADCL },
	{ R(POST "Content-Length: 5.0\r\n\r\n"), 400, BADCL },
	{ R(POST "Content-Length:\r\n\r\n"), 400, BADCL },
	{ R(POST "Content-Length: 5 \r\n\r\n"), 400, FRAMEWS },
	{ R(POST "Content-Length: 5\t\r\n\r\n"), 400, FRAMEWS },
	{ R(POST "Content-Length: 9223372036854775808\r\n\r\n"), 400,
	    "Content-Length too large" },
	{ R(POST "Content-Length: 18446744073709551621\r\n\r\n"), 400,
	    "Content-Length too large" },
	{ R(POST "Content-Length: 99999999999999999999999999\r\n\r\n"), 400,
	    "Content-Length too large" },
	/* Bytes that split lines differently for different parsers. */
	{ R(RL HOST "X: a\0b\r\n\r\n"), 400, "NUL in head" },
	{ R(RL HOST "X\0: a\r\n\r\n"), 400, "NUL in head" },
	{ R(RL HOST "X: a\rb\r\n\r\n"), 400, "CR without LF in head" },
	{ R(RL HOST "X: a\r\r\n\r\n"), 400, "CR without LF in head" },
	{ R("GET / HTTP/1.1\n" HOST "\r\n"), 400, "LF without CR in head" },
	{ R(RL HOST "X: a\n\r\n"), 400, "LF without CR in head" },
	{ R(RL HOST "\n"), 400, "LF without CR in head" },
	/* Field names and values. */
	{ R(RL HOST "Bad Name: x\r\n\r\n"), 400, "whitespace before colon" },
	{ R(RL HOST "X(: x\r\n\r\n"), 400, BADNAME },
	{ R(RL HOST "X\"y: x\r\n\r\n"), 400, BADNAME },
	{ R(RL HOST "X/y: x\r\n\r\n"), 400, BADNAME },
	{ R(RL HOST "caf\xc3\xa9: x\r\n\r\n"), 400, BADNAME },
	{ R(RL HOST ": x\r\n\r\n"), 400, "empty header name" },
	{ R(RL HOST "X\r\n\r\n"), 400, "header line without colon" },
	{ R(RL HOST "X: a\r\n b\r\n\r\n"), 400, "obs-fold line" },
	{ R(RL " Host: a\r\n\r\n"), 400, "obs-fold line" },
	{ R(RL HOST "X: a\x01" "b\r\n\r\n"), 400, CTL },
	{ R(RL HOST "X: a\x7f\r\n\r\n"), 400, CTL },
	{ R(RL HOST "X: \x1b[31m\r\n\r\n"), 400, CTL },
	/* Host. */
	{ R(RL "\r\n"), 400, "missing Host" },
	{ R(RL HOST "Host: b\r\n\r\n"), 400, "repeated Host" },
	{ R(RL HOST "host: a\r\n\r\n"), 400, "repeated Host" },
	{ R("GET / HTTP/1.0\r\n" HOST HOST "\r\n"), 400, "repeated Host" },
	/* Request line. */
	{ R("\r\n" RL HOST "\r\n"), 400, "empty line before request line" },
	{ R("\r\n\r\n"), 400, "empty line before request line" },
	{ R("GET  / HTTP/1.1\r\n" HOST "\r\n"), 400, "empty request target" },
	{ R("GET /  HTTP/1.1\r\n" HOST "\r\n"), 400, BADVERSION },
	{ R("GET / HTTP/1.1 \r\n" HOST "\r\n"), 400, BADVERSION },
	{ R("GET /a b HTTP/1.1\r\n" HOST "\r\n"), 400, BADVERSION },
	{ R("GET\t/ HTTP/1.1\r\n" HOST "\r\n"), 400, "malformed request line" },
	{ R("GET /\r\n" HOST "\r\n"), 400, "malformed request line" },
	{ R(" / HTTP/1.1\r\n" HOST "\r\n"), 400, "invalid method" },
	{ R("G(T / HTTP/1.1\r\n" HOST "\r\n"), 400, "invalid method" },
	{ R("GET / http/1.1\r\n" HOST "\r\n"), 400, BADVERSION },
	{ R("GET / HTTP/1.10\r\n" HOST "\r\n"), 400, BADVERSION },
	{ R("GET / HTTP/1\r\n" HOST "\r\n"), 400, BADVERSION },
	{ R("GET / HTTP/2.0\r\n" HOST "\r\n"), 505,
	    "unsupported HTTP version" },
	{ R("GET / HTTP/1.2\r\n" HOST "\r\n"), 505,
	    "unsupported HTTP version" },
	{ R("GET / HTTP/0.9\r\n" HOST "\r\n"), 505,
	    "unsupported HTTP version" },
	/* Request targets: bytes, and the form for the method. */
	{ R("GET /caf\xc3\xa9 HTTP/1.1\r\n" HOST "\r\n"), 400,
	    "invalid character in request target" },
	{ R("GET /\x01 HTTP/1.1\r\n" HOST "\r\n"), 400,
	    "invalid character in request target" },
	{ R("GET /\x7f HTTP/1.1\r\n" HOST "\r\n"), 400,
	    "invalid character in request target" },
	{ R("GET http://a/\x80 HTTP/1.1\r\n" HOST "\r\n"), 400,
	    "invalid character in request target" },
	{ R("GET /a#b HTTP/1.1\r\n" HOST "\r\n"), 400,
	    "fragment in request target" },
	{ R("GET a/b HTTP/1.1\r\n" HOST "\r\n"), 400, BADTARGET },
	{ R("GET example.com:80 HTTP/1.1\r\n" HOST "\r\n"), 400, BADTARGET },
	{ R("GET http:/a HTTP/1.1\r\n" HOST "\r\n"), 400, BADTARGET },
	{ R("GET 1http://a/ HTTP/1.1\r\n" HOST "\r\n"), 400, BADTARGET },
	{ R("GET ht_tp://a/ HTTP/1.1\r\n" HOST "\r\n"), 400, BADTARGET },
	{ R("GET * HTTP/1.1\r\n" HOST "\r\n"), 400, BADTARGET },
	{ R("CONNECT / HTTP/1.1\r\n" HOST "\r\n"), 400, BADCONNECT },
	{ R("CONNECT example.com HTTP/1.1\r\n" HOST "\r\n"), 400, BADCONNECT },
	{ R("CONNECT http://example.com:443/ HTTP/1.1\r\n" HOST "\r\n"), 400,
	    BADCONNECT },
	{ R("CONNECT u@example.com:443 HTTP/1.1\r\n" HOST "\r\n"), 400,
	    BADCONNECT },
	{ R("CONNECT example.com:443?x HTTP/1.1\r\n" HOST "\r\n"), 400,
	    BADCONNECT },
};

START_TEST(test_req_bad)
{
	const struct req_bad	*c = &req_bad[_i];
	struct http_head	 h;
	struct http_error	 err = { 0, NULL };
	enum http_result	 r;

	r = http_parse_request(c->raw, c->len, BIG, &h, &err);
	ck_assert_msg(r == HTTP_ERROR, "case %d accepted (%d)", _i, r);
	ck_assert_int_eq(err.status, c->status);
	ck_assert_ptr_nonnull(err.why);
	ck_assert_str_eq(err.why, c->why);
	ck_assert_ptr_null(h.text);
	http_head_free(&h);
}
END_TEST

/* The head limit counts the terminating CRLF CRLF. */
START_TEST(test_req_limit)
{
	const char		*raw = RL HOST "X: 0123456789\r\n\r\n";
	char			 junk[10000];
	struct http_head	 h;
	struct http_error	 err;
	size_t			 len;

	len = strlen(raw);
	ck_assert_int_eq(http_parse_request(raw, len, len, &h, &err),
	    HTTP_COMPLETE);
	http_head_free(&h);
	ck_assert_int_eq(http_parse_request(raw, len, len - 1, &h, &err),
	    HTTP_ERROR);
	ck_assert_int_eq(err.status, 431);
	ck_assert_str_eq(err.why, "head too large");
	/* Up to the limit, it may still end; one byte more, it cannot. */
	ck_assert_int_eq(http_parse_request(raw, len - 1, len - 1, &h, &err),
	    HTTP_INCOMPLETE);
	ck_assert_int_eq(http_parse_request(raw, len - 1, len - 2, &h, &err),
	    HTTP_ERROR);
	ck_assert_int_eq(err.status, 431);
	memset(junk, 'a', sizeof(junk));
	ck_assert_int_eq(http_parse_request(junk, sizeof(junk), 8192, &h,
	    &err), HTTP_ERROR);
	ck_assert_int_eq(err.status, 431);
	ck_assert_int_eq(http_parse_request(junk, 8192, 8192, &h, &err),
	    HTTP_INCOMPLETE);
	ck_assert_ptr_null(h.text);
	/* err may be NULL. */
	ck_assert_int_eq(http_parse_request(raw, len, 10, &h, NULL),
	    HTTP_ERROR);
}
END_TEST

/* n headers after the start line, the first one Host. */
static char *
many_headers(const char *start, int n)
{
	char	*buf, *p;
	size_t	 size;
	int	 i;

	size = strlen(start) + (size_t)n * 16 + 3;
	ck_assert_ptr_nonnull(buf = malloc(size));
	p = buf + snprintf(buf, size, "%sHost: a\r\n", start);
	for (i = 1; i < n; i++)
		p += snprintf(p, size - (size_t)(p - buf), "X-%d: v\r\n", i);
	snprintf(p, size - (size_t)(p - buf), "\r\n");
	return (buf);
}

START_TEST(test_too_many_headers)
{
	struct http_head	 h;
	struct http_error	 err;
	char			*raw;

	raw = many_headers(RL, HTTP_HEADERS_MAX);
	ck_assert_int_eq(http_parse_request(raw, strlen(raw), BIG, &h, &err),
	    HTTP_COMPLETE);
	ck_assert_int_eq(h.nheaders, HTTP_HEADERS_MAX);
	http_head_free(&h);
	free(raw);
	raw = many_headers(RL, HTTP_HEADERS_MAX + 1);
	ck_assert_int_eq(http_parse_request(raw, strlen(raw), BIG, &h, &err),
	    HTTP_ERROR);
	ck_assert_int_eq(err.status, 431);
	ck_assert_str_eq(err.why, "too many headers");
	free(raw);
	raw = many_headers("HTTP/1.1 200 OK\r\n", HTTP_HEADERS_MAX + 1);
	ck_assert_int_eq(http_parse_response(raw, strlen(raw), BIG, 0, 0, &h,
	    &err), HTTP_ERROR);
	ck_assert_int_eq(err.status, 502);
	ck_assert_str_eq(err.why, "too many headers");
	free(raw);
}
END_TEST

/* A status line, by hand for three digits, as printf would write it. */
START_TEST(test_status_line)
{
	static const int	 st[] = { 100, 200, 204, 404, 599, 999, 99, 1000 };
	struct buf		 b;
	char			 want[64];
	size_t			 i;

	for (i = 0; i < NITEMS(st); i++) {
		buf_init(&b, 64);
		ck_assert_int_eq(http_status_line(&b, st[i], "Some Reason"), 0);
		snprintf(want, sizeof(want), "HTTP/1.1 %d Some Reason\r\n",
		    st[i]);
		ck_assert_uint_eq(buf_len(&b), strlen(want));
		ck_assert_mem_eq(buf_rptr(&b), want, strlen(want));
		buf_free(&b);
	}
	buf_init(&b, 10);
	ck_assert_int_eq(http_status_line(&b, 200, "OK"), -1);
	buf_free(&b);
}
END_TEST

/*
 * Fields are recognised in any case, by their whole name only; the
 * hop-by-hop ones are the fixed list and whatever Connection names.
 */
START_TEST(test_header_fields)
{
	const char		*raw = RL "hOsT: a\r\nCONNECTION: x-drop\r\n"
				    "Connectiox: 1\r\nTE: trailers\r\n"
				    "X-Drop: 2\r\nContent-Length: 0\r\n"
				    "proxy-authorization: Basic eA==\r\n"
				    "Proxy-Authorizatio: 3\r\n"
				    "AUTHORIZATION: Bearer b\r\nx-api-KEY: k\r\n"
				    "X-Api-Keys: 4\r\n"
				    "x-coder-ai-governance-token: t\r\n"
				    "X-CODER-AI-GOVERNANCE-REQUEST-ID: r\r\n"
				    "X-Coder-AI-Governance-Request: 5\r\n\r\n";
	struct http_head	 h;
	struct http_error	 err;

	ck_assert_int_eq(http_parse_request(raw, strlen(raw), BIG, &h, &err),
	    HTTP_COMPLETE);
	ck_assert_int_eq(h.nheaders, 14);
	ck_assert_int_eq(h.headers[0].field, HF_HOST);
	ck_assert_int_eq(h.headers[1].field, HF_CONNECTION);
	ck_assert_int_eq(h.headers[2].field, HF_OTHER);
	ck_assert_int_eq(h.headers[3].field, HF_TE);
	ck_assert_int_eq(h.headers[4].field, HF_OTHER);
	ck_assert_int_eq(h.headers[6].field, HF_PROXY_AUTHORIZATION);
	ck_assert_int_eq(h.headers[7].field, HF_OTHER);
	ck_assert_int_eq(h.headers[8].field, HF_AUTHORIZATION);
	ck_assert_int_eq(h.headers[9].field, HF_X_API_KEY);
	ck_assert_int_eq(h.headers[10].field, HF_OTHER);
	ck_assert_int_eq(h.headers[11].field, HF_X_GOV_TOKEN);
	ck_assert_int_eq(h.headers[12].field, HF_X_GOV_REQUEST_ID);
	ck_assert_int_eq(h.headers[13].field, HF_OTHER);
	ck_assert_int_eq(h.nfield[HF_HOST], 1);
	ck_assert_int_eq(h.nfield[HF_UPGRADE], 0);
	ck_assert_str_eq(http_field_value(&h, HF_PROXY_AUTHORIZATION),
	    "Basic eA==");
	ck_assert_ptr_null(http_field_value(&h, HF_EXPECT));
	ck_assert_int_eq(http_hop_header(&h, 0), 0);
	ck_assert_int_eq(http_hop_header(&h, 1), 1);
	ck_assert_int_eq(http_hop_header(&h, 2), 0);
	ck_assert_int_eq(http_hop_header(&h, 3), 1);
	ck_assert_int_eq(http_hop_header(&h, 4), 1);
	ck_assert_int_eq(http_hop_header(&h, 5), 0);
	ck_assert_int_eq(http_hop_header(&h, 6), 1);
	ck_assert_int_eq(http_hop_header(&h, 7), 0);
	http_head_free(&h);
}
END_TEST

START_TEST(test_header_access)
{
	const char		*raw = RL "host: a\r\nX-A:  one \r\n"
				    "x-a:\ttwo\t\r\nX-Empty:\r\n"
				    "X-Bin: \xff\xfe\r\n\r\n";
	struct http_head	 h;
	struct http_error	 err;

	ck_assert_int_eq(http_parse_request(raw, strlen(raw), BIG, &h, &err),
	    HTTP_COMPLETE);
	ck_assert_int_eq(h.nheaders, 5);
	ck_assert_str_eq(h.headers[1].name, "X-A");
	ck_assert_str_eq(h.headers[2].name, "x-a");
	ck_assert_str_eq(http_header(&h, "HOST"), "a");
	ck_assert_str_eq(http_header(&h, "x-A"), "one");
	ck_assert_str_eq(h.headers[2].value, "two");
	ck_assert_str_eq(http_header(&h, "X-Empty"), "");
	ck_assert_str_eq(http_header(&h, "X-Bin"), "\xff\xfe");
	ck_assert_ptr_null(http_header(&h, "X"));
	ck_assert_ptr_null(http_header(&h, "X-A-"));
	ck_assert_int_eq(http_header_count(&h, "X-A"), 2);
	ck_assert_int_eq(http_header_count(&h, "host"), 1);
	ck_assert_int_eq(http_header_count(&h, "Nope"), 0);
	http_head_free(&h);
	http_head_free(&h);
	http_head_free(NULL);
}
END_TEST

struct token_case {
	const char	*value;
	const char	*tok;
	int		 in;
};

static const struct token_case token_cases[] = {
	{ "close", "close", 1 },
	{ "Close", "close", 1 },
	{ "keep-alive, close", "close", 1 },
	{ " keep-alive ,\tCLOSE\t", "close", 1 },
	{ ",,close,", "close", 1 },
	{ "upgrade,close", "Upgrade", 1 },
	{ "a , b , c", "b", 1 },
	{ "closed", "close", 0 },
	{ "xclose", "close", 0 },
	{ "clo se", "close", 0 },
	{ "close;x", "close", 0 },
	{ "\"close\"", "close", 0 },
	{ "", "close", 0 },
	{ ",", "close", 0 },
	{ NULL, "close", 0 },
	{ "keep-alive", "keep", 0 },
};

START_TEST(test_token_in)
{
	const struct token_case	*c = &token_cases[_i];

	ck_assert_msg(http_token_in(c->value, c->tok) == c->in,
	    "\"%s\" in \"%s\" != %d", c->tok, c->value ? c->value : "NULL",
	    c->in);
}
END_TEST

struct resp_good {
	const char		*raw;
	size_t			 len;
	size_t			 body;
	int			 head;		/* answer to HEAD */
	int			 connect;	/* answer to CONNECT */
	int			 status;
	const char		*reason;
	int			 minor;
	enum http_framing	 framing;
	uint64_t		 length;
	int			 close;
	int			 upgrade;
};

#define OK200		"HTTP/1.1 200 OK\r\n"

static const struct resp_good resp_good[] = {
	{ R(OK200 "Content-Length: 5\r\n\r\nhello"), 5, 0, 0, 200, "OK", 1,
	    LEN, 5, 0, 0 },
	{ R(OK200 "Transfer-Encoding: chunked\r\n\r\n"), 0, 0, 0, 200, "OK",
	    1, CHUNKED, 0, 0, 0 },
	{ R(OK200 "Content-Type: text/event-stream\r\n\r\n"), 0, 0, 0, 200,
	    "OK", 1, CLOSE, 0, 1, 0 },
	{ R("HTTP/1.1 204 No Content\r\n\r\n"), 0, 0, 0, 204, "No Content",
	    1, NONE, 0, 0, 0 },
	{ R("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"), 0,
	    0, 0, 304, "Not Modified", 1, NONE, 0, 0, 0 },
	{ R(OK200 "Content-Length: 100\r\n\r\n"), 0, 1, 0, 200, "OK", 1,
	    NONE, 0, 0, 0 },
	{ R(OK200 "Transfer-Encoding: chunked\r\n\r\n"), 0, 1, 0, 200, "OK",
	    1, NONE, 0, 0, 0 },
	{ R("HTTP/1.1 404 Not Found\r\n\r\n"), 0, 1, 0, 404, "Not Found", 1,
	    NONE, 0, 0, 0 },
	{ R("HTTP/1.1 100 Continue\r\n\r\n"), 0, 0, 0, 100, "Continue", 1,
	    NONE, 0, 0, 0 },
	{ R("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"), 0, 0, 0, 103,
	    "Early Hints", 1, NONE, 0, 0, 0 },
	{ R("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n\r\n"), 0, 0, 0, 101,
	    "Switching Protocols", 1, NONE, 0, 0, 1 },
	{ R("HTTP/1.1 200 Connection established\r\n\r\n"), 0, 0, 1, 200,
	    "Connection established", 1, NONE, 0, 0, 0 },
	{ R("HTTP/1.1 407 Proxy Auth\r\nContent-Length: 0\r\n\r\n"), 0, 0, 1,
	    407, "Proxy Auth", 1, LEN, 0, 0, 0 },
	{ R("HTTP/1.1 502 Bad\r\n\r\n"), 0, 0, 1, 502, "Bad", 1, CLOSE, 0, 1,
	    0 },
	{ R("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"), 0, 0, 0, 200, "",
	    1, LEN, 0, 0, 0 },
	{ R("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), 0, 0, 0, 200, "",
	    1, LEN, 0, 0, 0 },
	{ R("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"), 2, 0, 0, 200,
	    "OK", 0, LEN, 2, 1, 0 },
	{ R("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2"
	    "\r\n\r\n"), 0, 0, 0, 200, "OK", 0, LEN, 2, 0, 0 },
	{ R(OK200 "Connection: close\r\nContent-Length: 2\r\n\r\n"), 0, 0, 0,
	    200, "OK", 1, LEN, 2, 1, 0 },
	{ R("HTTP/1.1 404 Nicht\tgefunden \xc3\xa4\r\n\r\n"), 0, 0, 0, 404,
	    "Nicht\tgefunden \xc3\xa4", 1, CLOSE, 0, 1, 0 },
	{ R("HTTP/1.1 599  x \r\nContent-Length: 0\r\n\r\n"), 0, 0, 0, 599,
	    " x ", 1, LEN, 0, 0, 0 },
};

START_TEST(test_resp_good)
{
	const struct resp_good	*c = &resp_good[_i];
	struct http_head	 h;
	struct http_error	 err = { 0, NULL };
	enum http_result	 r;

	r = http_parse_response(c->raw, c->len, BIG, c->head, c->connect, &h,
	    &err);
	ck_assert_msg(r == HTTP_COMPLETE, "case %d: %d %s", _i, err.status,
	    err.why ? err.why : "");
	ck_assert_uint_eq(h.size, c->len - c->body);
	ck_assert_int_eq(h.status, c->status);
	ck_assert_str_eq(h.reason, c->reason);
	ck_assert_int_eq(h.minor, c->minor);
	ck_assert_int_eq(h.framing, c->framing);
	ck_assert_uint_eq(h.length, c->length);
	ck_assert_int_eq(h.close, c->close);
	ck_assert_int_eq(h.upgrade, c->upgrade);
	http_head_free(&h);
}
END_TEST

START_TEST(test_resp_incomplete)
{
	const struct resp_good	*c = &resp_good[_i];
	struct http_head	 h;
	struct http_error	 err;
	size_t			 head, k;

	head = c->len - c->body;
	for (k = 0; k < head; k++)
		ck_assert_msg(http_parse_response(c->raw, k, BIG, c->head,
		    c->connect, &h, &err) == HTTP_INCOMPLETE,
		    "case %d cut at %zu", _i, k);
	ck_assert_int_eq(http_parse_response(c->raw, head, BIG, c->head,
	    c->connect, &h, &err), HTTP_COMPLETE);
	http_head_free(&h);
	/* One byte short of the limit: 502, not 431. */
	ck_assert_int_eq(http_parse_response(c->raw, head, head - 1, c->head,
	    c->connect, &h, &err), HTTP_ERROR);
	ck_assert_int_eq(err.status, 502);
	ck_assert_str_eq(err.why, "head too large");
}
END_TEST

struct resp_bad {
	const char	*raw;
	size_t		 len;
	int		 head;
	int		 connect;
	const char	*why;
};

#define BADSTATUS	"malformed status line"

static const struct resp_bad resp_bad[] = {
	{ R(OK200 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    0, 0, BOTH },
	{ R(OK200 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"), 0, 0,
	    "repeated Content-Length" },
	{ R(OK200 "Content-Length: 5\r\nContent-Length: 7\r\n\r\n"), 0, 0,
	    "repeated Content-Length" },
	{ R(OK200 "Content-Length: -1\r\n\r\n"), 0, 0, BADCL },
	{ R(OK200 "Content-Length: 1,1\r\n\r\n"), 0, 0, BADCL },
	{ R(OK200 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n"), 0, 0, "repeated Transfer-Encoding" },
	{ R(OK200 "Transfer-Encoding: gzip\r\n\r\n"), 0, 0, CODING },
	{ R(OK200 "Transfer-Encoding: gzip, chunked\r\n\r\n"), 0, 0, CODING },
	{ R(OK200 "Transfer-Encoding: chunked\t\r\n\r\n"), 0, 0, FRAMEWS },
	{ R("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), 0, 0,
	    "Transfer-Encoding in HTTP/1.0" },
	{ R(OK200 "X : y\r\n\r\n"), 0, 0, "whitespace before colon" },
	{ R(OK200 "X: y\r\n z\r\n\r\n"), 0, 0, "obs-fold line" },
	{ R(OK200 "X: \0\r\n\r\n"), 0, 0, "NUL in head" },
	{ R("HTTP/1.1 200 OK\n\n"), 0, 0, "LF without CR in head" },
	{ R("HTTP/1.1 200 OK\rX\r\n\r\n"), 0, 0, "CR without LF in head" },
	{ R("HTTP/1.1 600 X\r\n\r\n"), 0, 0, "status code out of range" },
	{ R("HTTP/1.1 099 X\r\n\r\n"), 0, 0, "status code out of range" },
	{ R("HTTP/1.1 2x0 OK\r\n\r\n"), 0, 0, "malformed status code" },
	{ R("HTTP/1.1 -20 OK\r\n\r\n"), 0, 0, "malformed status code" },
	{ R("HTTP/1.1 20 OK\r\n\r\n"), 0, 0, BADSTATUS },
	{ R("HTTP/1.1 2000 OK\r\n\r\n"), 0, 0, BADSTATUS },
	{ R("HTTP/1.1  200 OK\r\n\r\n"), 0, 0, BADSTATUS },
	{ R("HTTP/1.1\t200 OK\r\n\r\n"), 0, 0, BADSTATUS },
	{ R("http/1.1 200 OK\r\n\r\n"), 0, 0, BADSTATUS },
	{ R("HTTP/1.1 20\r\n\r\n"), 0, 0, BADSTATUS },
	{ R("\r\n" OK200 "\r\n"), 0, 0, BADSTATUS },
	{ R("HTTP/2.0 200 OK\r\n\r\n"), 0, 0, "unsupported HTTP version" },
	{ R("HTTP/1.1 200 O\x01K\r\n\r\n"), 0, 0,
	    "control character in reason phrase" },
};

START_TEST(test_resp_bad)
{
	const struct resp_bad	*c = &resp_bad[_i];
	struct http_head	 h;
	struct http_error	 err = { 0, NULL };
	enum http_result	 r;

	r = http_parse_response(c->raw, c->len, BIG, c->head, c->connect, &h,
	    &err);
	ck_assert_msg(r == HTTP_ERROR, "case %d accepted (%d)", _i, r);
	ck_assert_int_eq(err.status, 502);
	ck_assert_ptr_nonnull(err.why);
	ck_assert_str_eq(err.why, c->why);
	ck_assert_ptr_null(h.text);
}
END_TEST

/*
 * Chunked bodies.  consumed is what the message owns (-1: malformed);
 * done says whether it ended within the input.
 */
struct chunk_case {
	const char	*raw;
	size_t		 len;
	ssize_t		 consumed;
	int		 done;
	const char	*why;
};

#define BADSIZE		"invalid chunk size"
#define BADEXT		"invalid chunk extension"
#define BARELF		"LF without CR in chunked body"
#define BARECR		"CR without LF in chunked body"
#define NOCRLF		"missing CRLF after chunk data"
#define BADTRAILER	"invalid trailer field"

static const struct chunk_case chunk_cases[] = {
	{ R("0\r\n\r\n"), 5, 1, NULL },
	{ R("5\r\nhello\r\n0\r\n\r\n"), 15, 1, NULL },
	{ R("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n"), 15, 1, NULL },
	{ R("5\r\nhello\r\n0\r\n\r\n0\r\n\r\n"), 15, 1, NULL },
	{ R("A\r\n0123456789\r\nf\r\n0123456789abcde\r\n0\r\n\r\n"), 40, 1,
	    NULL },
	{ R("a\r\n0123456789\r\nF\r\n0123456789abcde\r\n0\r\n\r\n"), 40, 1,
	    NULL },
	{ R("0005\r\nhello\r\n000\r\n\r\n"), 20, 1, NULL },
	{ R("0000000000000005\r\nhello\r\n0\r\n\r\n"), 30, 1, NULL },
	/* Data is opaque: CRLF, bare LF, NUL and a fake last chunk. */
	{ R("4\r\n\r\n\r\n\r\n0\r\n\r\n"), 14, 1, NULL },
	{ R("3\r\na\nb\r\n0\r\n\r\n"), 13, 1, NULL },
	{ R("5\r\n0\r\n\r\n\r\n0\r\n\r\n"), 15, 1, NULL },
	{ R("2\r\n\0\r\r\n0\r\n\r\n"), 12, 1, NULL },
	{ R("5;name=val\r\nhello\r\n0;last\r\n\r\n"), 29, 1, NULL },
	{ R("5;a;b=c;d=\"q; \\\"x\t\"\r\nhello\r\n0\r\n\r\n"), 33, 1, NULL },
	{ R("1;a=\"\"\r\nx\r\n0\r\n\r\n"), 16, 1, NULL },
	{ R("0\r\nX-Sum: abc\r\nY:\r\n\r\n"), 21, 1, NULL },
	{ R("0\r\nX: \xc3\xa9\t\r\n\r\nrest"), 13, 1, NULL },
	/* Incomplete: all of it belongs to the message so far. */
	{ R(""), 0, 0, NULL },
	{ R("5\r\nhel"), 6, 0, NULL },
	{ R("5\r\nhello\r"), 9, 0, NULL },
	{ R("0\r\nX: y\r\n"), 9, 0, NULL },
	{ R("0\r\n\r"), 4, 0, NULL },
	{ R("7fffffffffffffff\r\n"), 18, 0, NULL },
	{ R("7FFFFFFFFFFFFFFF;x=\"y\"\r\nabc"), 27, 0, NULL },
	/* Sizes. */
	{ R("g\r\n"), -1, 0, BADSIZE },
	{ R("0x10\r\n"), -1, 0, BADSIZE },
	{ R("-1\r\n"), -1, 0, BADSIZE },
	{ R("+1\r\n"), -1, 0, BADSIZE },
	{ R(" 1\r\n"), -1, 0, BADSIZE },
	{ R("1 \r\n"), -1, 0, BADSIZE },
	{ R("1\t\r\n"), -1, 0, BADSIZE },
	{ R("\r\n"), -1, 0, BADSIZE },
	{ R(";a\r\n"), -1, 0, BADSIZE },
	{ R("5 ;a\r\n"), -1, 0, BADSIZE },
	{ R("10000000000000000\r\n"), -1, 0, "chunk size too long" },
	{ R("00000000000000001\r\n"), -1, 0, "chunk size too long" },
	{ R("8000000000000000\r\n"), -1, 0, "chunk size too large" },
	{ R("ffffffffffffffff\r\n"), -1, 0, "chunk size too large" },
	/* Line ends. */
	{ R("5\nhello\n0\n\n"), -1, 0, BARELF },
	{ R("5\r\nhello\n0\r\n\r\n"), -1, 0, BARELF },
	{ R("0\r\n\n"), -1, 0, BARELF },
	{ R("0\r\nX: y\n\r\n"), -1, 0, BARELF },
	{ R("5\r\r\n"), -1, 0, BARECR },
	{ R("5;a\rb"), -1, 0, BARECR },
	{ R("0\r\n\rX"), -1, 0, BARECR },
	{ R("0\r\nX: y\r\r\n"), -1, 0, BARECR },
	{ R("5\r\nhelloX\r\n0\r\n\r\n"), -1, 0, NOCRLF },
	{ R("5\r\nhello\rX"), -1, 0, NOCRLF },
	{ R("5\r\nhello0\r\n\r\n"), -1, 0, NOCRLF },
	/* "hell\r" is the data; its LF is then bare. */
	{ R("5\r\nhell\r\n0\r\n\r\n"), -1, 0, BARELF },
	/* Extensions. */
	{ R("5;\r\n"), -1, 0, BADEXT },
	{ R("5;;a\r\n"), -1, 0, BADEXT },
	{ R("5; a\r\n"), -1, 0, BADEXT },
	{ R("5;a =b\r\n"), -1, 0, BADEXT },
	{ R("5;a= b\r\n"), -1, 0, BADEXT },
	{ R("5;a=\r\n"), -1, 0, BADEXT },
	{ R("5;a=b=c\r\n"), -1, 0, BADEXT },
	{ R("5;a=b c\r\n"), -1, 0, BADEXT },
	{ R("5;a=\"b\r\n"), -1, 0, BADEXT },
	{ R("5;a=\"b\"c\r\n"), -1, 0, BADEXT },
	{ R("5;a=\"\x01\"\r\n"), -1, 0, BADEXT },
	{ R("5;a\x80\r\n"), -1, 0, BADEXT },
	/* Trailers. */
	{ R("0\r\n X: y\r\n\r\n"), -1, 0, "obs-fold in trailer" },
	{ R("0\r\n\tX: y\r\n\r\n"), -1, 0, "obs-fold in trailer" },
	{ R("0\r\nX : y\r\n\r\n"), -1, 0, BADTRAILER },
	{ R("0\r\nX\r\n\r\n"), -1, 0, BADTRAILER },
	{ R("0\r\n: y\r\n\r\n"), -1, 0, BADTRAILER },
	{ R("0\r\nX(: y\r\n\r\n"), -1, 0, BADTRAILER },
	{ R("0\r\nX: a\x01\r\n\r\n"), -1, 0, BADTRAILER },
	{ R("0\r\nX: a\0\r\n\r\n"), -1, 0, BADTRAILER },
	{ R("0\r\nhello\r\n\r\n"), -1, 0, BADTRAILER },
};

static void
chunked_body(struct http_body *b)
{
	struct http_head	 h;

	memset(&h, 0, sizeof(h));
	h.framing = HTTP_BODY_CHUNKED;
	http_body_init(b, &h);
	ck_assert_int_eq(b->done, 0);
}

/*
 * Feed raw in pieces of step bytes after a first piece of first bytes;
 * return what the message took, or -1.
 */
static ssize_t
feed_pieces(const char *raw, size_t len, size_t first, size_t step,
    int *done, const char **why)
{
	struct http_body	 b;
	size_t			 off, n, total = 0;
	ssize_t			 r;
	int			 piece;

	chunked_body(&b);
	for (off = 0, piece = 0; off < len && !b.done; off += n, piece++) {
		n = piece == 0 ? first : step;
		if (n > len - off)
			n = len - off;
		if ((r = http_body_feed(&b, (const uint8_t *)raw + off, n,
		    why)) == -1) {
			/* Errors stick. */
			ck_assert_int_eq(http_body_feed(&b,
			    (const uint8_t *)"0", 1, NULL), -1);
			return (-1);
		}
		ck_assert_int_le(r, n);
		if (r < (ssize_t)n && !b.done) {
			/* A valid prefix: the bad byte comes next and fails. */
			ck_assert_int_eq(http_body_feed(&b,
			    (const uint8_t *)raw + off + r, n - r, why), -1);
			ck_assert_int_eq(http_body_feed(&b,
			    (const uint8_t *)"0", 1, NULL), -1);
			return (-1);
		}
		total += (size_t)r;
	}
	if (b.done)
		ck_assert_int_eq(http_body_feed(&b, (const uint8_t *)"x", 1,
		    why), 0);
	*done = b.done;
	return ((ssize_t)total);
}

static void
check_chunked(const struct chunk_case *c, size_t first, size_t step)
{
	const char	*why = NULL;
	ssize_t		 r;
	int		 done = 0;

	r = feed_pieces(c->raw, c->len, first, step, &done, &why);
	ck_assert_msg(r == c->consumed, "\"%.40s\" (%zu+%zu): %zd, not %zd "
	    "(%s)", c->raw, first, step, r, c->consumed, why ? why : "");
	if (r == -1) {
		ck_assert_ptr_nonnull(why);
		ck_assert_str_eq(why, c->why);
	} else
		ck_assert_int_eq(done, c->done);
}

START_TEST(test_chunked_whole)
{
	const struct chunk_case	*c = &chunk_cases[_i];

	check_chunked(c, c->len, c->len);
}
END_TEST

START_TEST(test_chunked_bytes)
{
	const struct chunk_case	*c = &chunk_cases[_i];

	check_chunked(c, 1, 1);
}
END_TEST

START_TEST(test_chunked_cuts)
{
	const struct chunk_case	*c = &chunk_cases[_i];
	size_t			 k;

	for (k = 0; k <= c->len; k++)
		check_chunked(c, k, c->len);
}
END_TEST

/* chunk-size line: 4096 bytes with its CRLF is the most we take. */
static char *
long_size_line(size_t linelen, size_t *len)
{
	const char	*rest = "x\r\n0\r\n\r\n";
	char		*buf;

	*len = linelen + strlen(rest);
	ck_assert_ptr_nonnull(buf = malloc(*len + 1));
	memcpy(buf, "1;", 2);
	memset(buf + 2, 'a', linelen - 4);
	memcpy(buf + linelen - 2, "\r\n", 2);
	memcpy(buf + linelen, rest, strlen(rest) + 1);
	return (buf);
}

/* A trailer section of total bytes, final CRLF included. */
static char *
long_trailer(size_t total, size_t *len)
{
	char	*buf;

	*len = 3 + total;
	ck_assert_ptr_nonnull(buf = malloc(*len + 1));
	memcpy(buf, "0\r\nX: ", 6);
	memset(buf + 6, 'a', total - 7);
	memcpy(buf + *len - 4, "\r\n\r\n", 5);
	return (buf);
}

START_TEST(test_chunked_limits)
{
	struct chunk_case	 c;
	char			*buf;
	size_t			 len;

	buf = long_size_line(4096, &len);
	c = (struct chunk_case){ buf, len, (ssize_t)len, 1, NULL };
	check_chunked(&c, c.len, c.len);
	check_chunked(&c, 1, 1);
	free(buf);
	buf = long_size_line(4097, &len);
	c = (struct chunk_case){ buf, len, -1, 0,
	    "chunk size line too long" };
	check_chunked(&c, c.len, c.len);
	check_chunked(&c, 1, 1);
	free(buf);
	buf = long_trailer(64 * 1024, &len);
	c = (struct chunk_case){ buf, len, (ssize_t)len, 1, NULL };
	check_chunked(&c, c.len, c.len);
	check_chunked(&c, 7, 1);
	free(buf);
	buf = long_trailer(64 * 1024 + 1, &len);
	c = (struct chunk_case){ buf, len, -1, 0,
	    "trailer section too large" };
	check_chunked(&c, c.len, c.len);
	check_chunked(&c, 1, 1);
	free(buf);
}
END_TEST

START_TEST(test_body_simple)
{
	struct http_head	 h;
	struct http_body	 b;
	const uint8_t		*p = (const uint8_t *)"0123456789";

	memset(&h, 0, sizeof(h));
	h.framing = HTTP_BODY_LENGTH;
	h.length = 7;
	http_body_init(&b, &h);
	ck_assert_int_eq(http_body_feed(&b, p, 3, NULL), 3);
	ck_assert_int_eq(b.done, 0);
	ck_assert_int_eq(http_body_feed(&b, p, 0, NULL), 0);
	ck_assert_int_eq(http_body_feed(&b, p, 10, NULL), 4);
	ck_assert_int_eq(b.done, 1);
	ck_assert_int_eq(http_body_feed(&b, p, 10, NULL), 0);
	h.length = 0;
	http_body_init(&b, &h);
	ck_assert_int_eq(b.done, 1);
	ck_assert_int_eq(http_body_feed(&b, p, 10, NULL), 0);
	h.framing = HTTP_BODY_NONE;
	http_body_init(&b, &h);
	ck_assert_int_eq(http_body_feed(&b, p, 10, NULL), 0);
	ck_assert_int_eq(b.done, 1);
	h.framing = HTTP_BODY_CLOSE;
	http_body_init(&b, &h);
	ck_assert_int_eq(http_body_feed(&b, p, 10, NULL), 10);
	ck_assert_int_eq(http_body_feed(&b, p, 1, NULL), 1);
	ck_assert_int_eq(http_body_feed(&b, p, 0, NULL), 0);
	ck_assert_int_eq(b.done, 0);
}
END_TEST

struct pipe_case {
	const char	*first;		/* head and body */
	size_t		 bodylen;
};

static const struct pipe_case pipe_cases[] = {
	{ POST "Content-Length: 5\r\n\r\nhello", 5 },
	{ POST "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	    15 },
	{ POST "Transfer-Encoding: chunked\r\n\r\n"
	    "3;x=1\r\nabc\r\n0\r\nT: 1\r\n\r\n", 23 },
	{ RL HOST "\r\n", 0 },
};

/* What follows a message stays for the next one. */
START_TEST(test_pipeline)
{
	const char		*next = "GET /2 HTTP/1.1\r\nHost: b\r\n\r\n";
	struct http_head	 h;
	struct http_body	 b;
	struct http_error	 err;
	char			 buf[512];
	size_t			 len, off;
	ssize_t			 r;

	len = (size_t)snprintf(buf, sizeof(buf), "%s%s",
	    pipe_cases[_i].first, next);
	ck_assert_int_eq(http_parse_request(buf, len, BIG, &h, &err),
	    HTTP_COMPLETE);
	off = h.size;
	http_body_init(&b, &h);
	http_head_free(&h);
	r = http_body_feed(&b, (const uint8_t *)buf + off, len - off, NULL);
	ck_assert_int_eq(r, pipe_cases[_i].bodylen);
	ck_assert_int_eq(b.done, 1);
	ck_assert_int_lt(r, len - off);
	off += (size_t)r;
	ck_assert_int_eq(http_parse_request(buf + off, len - off, BIG, &h,
	    &err), HTTP_COMPLETE);
	ck_assert_str_eq(h.target, "/2");
	ck_assert_uint_eq(off + h.size, len);
	http_head_free(&h);
}
END_TEST

/* A chunked body framed as valid decodes to its data alone. */
START_TEST(test_chunked_decode)
{
	static const struct {
		const char	*raw;
		const char	*data;
		int		 rv;
	} c[] = {
		{ "5\r\nhello\r\n0\r\n\r\n", "hello", 0 },
		{ "3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n", "abcde",
		    0 },
		{ "A\r\n{\"u\":\"al\"}\r\n0\r\n\r\n", "{\"u\":\"al\"}", 0 },
		{ "0\r\n\r\n", "", 0 },
		{ "5\r\nhel", NULL, -1 },		/* cut short */
		{ "ffffffffffffffffff\r\n", NULL, -1 },	/* overflow */
	};
	struct buf	 out;
	size_t		 i;

	for (i = 0; i < NITEMS(c); i++) {
		buf_init(&out, 1024);
		ck_assert_int_eq(http_chunked_decode((const uint8_t *)c[i].raw,
		    strlen(c[i].raw), &out), c[i].rv);
		if (c[i].rv == 0) {
			ck_assert_uint_eq(buf_len(&out), strlen(c[i].data));
			ck_assert(buf_len(&out) == 0 || memcmp(buf_rptr(&out),
			    c[i].data, buf_len(&out)) == 0);
		}
		buf_free(&out);
	}
	/* It never writes past what the output may hold. */
	buf_init(&out, 3);
	ck_assert_int_eq(http_chunked_decode((const uint8_t *)
	    "5\r\nhello\r\n0\r\n\r\n", 15, &out), -1);
	buf_free(&out);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("http");
	tc = tcase_create("request");
	tcase_add_loop_test(tc, test_req_good, 0, NITEMS(req_good));
	tcase_add_loop_test(tc, test_req_incomplete, 0, NITEMS(req_good));
	tcase_add_loop_test(tc, test_req_bad, 0, NITEMS(req_bad));
	tcase_add_test(tc, test_req_limit);
	tcase_add_test(tc, test_too_many_headers);
	tcase_add_test(tc, test_header_fields);
	tcase_add_test(tc, test_status_line);
	tcase_add_test(tc, test_header_access);
	tcase_add_loop_test(tc, test_token_in, 0, NITEMS(token_cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("response");
	tcase_add_loop_test(tc, test_resp_good, 0, NITEMS(resp_good));
	tcase_add_loop_test(tc, test_resp_incomplete, 0, NITEMS(resp_good));
	tcase_add_loop_test(tc, test_resp_bad, 0, NITEMS(resp_bad));
	suite_add_tcase(s, tc);
	tc = tcase_create("body");
	tcase_add_loop_test(tc, test_chunked_whole, 0, NITEMS(chunk_cases));
	tcase_add_loop_test(tc, test_chunked_bytes, 0, NITEMS(chunk_cases));
	tcase_add_loop_test(tc, test_chunked_cuts, 0, NITEMS(chunk_cases));
	tcase_add_test(tc, test_chunked_limits);
	tcase_add_test(tc, test_body_simple);
	tcase_add_test(tc, test_chunked_decode);
	tcase_add_loop_test(tc, test_pipeline, 0, NITEMS(pipe_cases));
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	int	 failed;

	failed = unit_run(http_suite());
	return (failed != 0);
}
