/*
 * http_parse_response() on arbitrary bytes.  The first input byte says
 * what the request was (bit 0: HEAD, bit 1: CONNECT); the rest is what
 * the bridge or upstream sent.  Besides the head invariants, the body
 * framing must follow RFC 9112 6.3 in its order: no body after HEAD,
 * 1xx, 204, 304 or a 2xx to CONNECT; otherwise a length, chunked, or
 * read until close, which also ends the connection.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "headcheck.h"
#include "http.h"

#define HEAD_MAX	(1024 * 1024)

static void	 check_response(const struct http_head *, const char *,
		    size_t, int, int);
static void	 check_again(const struct http_head *, const char *, size_t,
		    int, int);

static void
check_response(const struct http_head *h, const char *buf, size_t len,
    int head, int connect)
{
	const char	*s;
	int		 nobody;

	head_check(h, buf, len);
	FUZZ_ASSERT(h->method == NULL && h->target == NULL);
	FUZZ_ASSERT(h->status >= 100 && h->status <= 599);
	FUZZ_ASSERT(h->reason != NULL);
	for (s = h->reason; *s != '\0'; s++)
		FUZZ_ASSERT(*s == '\t' || ((unsigned char)*s >= 0x20 &&
		    (unsigned char)*s != 0x7f));
	/* The status line is the input's first line. */
	FUZZ_ASSERT(memcmp(buf, "HTTP/1.", 7) == 0);
	FUZZ_ASSERT(buf[7] == '0' + h->minor && buf[8] == ' ');
	FUZZ_ASSERT(buf[9] == '0' + h->status / 100 &&
	    buf[10] == '0' + h->status / 10 % 10 &&
	    buf[11] == '0' + h->status % 10);
	nobody = head || h->status < 200 || h->status == 204 ||
	    h->status == 304 || (connect && h->status < 300);
	if (nobody)
		FUZZ_ASSERT(h->framing == HTTP_BODY_NONE);
	else
		FUZZ_ASSERT(h->framing != HTTP_BODY_NONE);
	FUZZ_ASSERT(!h->expect_continue);
}

/* Limits, prefixes and the head written back out, as for requests. */
static void
check_again(const struct http_head *h, const char *buf, size_t len,
    int head, int connect)
{
	struct http_head	 h2;
	struct http_error	 err;
	enum http_result	 r;
	char			*out;
	size_t			 outlen;

	r = http_parse_response(buf, len, h->size - 1, head, connect, &h2,
	    &err);
	FUZZ_ASSERT(r == HTTP_ERROR && err.status == 502 && h2.text == NULL);
	r = http_parse_response(buf, h->size - 1, HEAD_MAX, head, connect,
	    &h2, &err);
	FUZZ_ASSERT(r == HTTP_INCOMPLETE && h2.text == NULL);
	r = http_parse_response(buf, h->size, h->size, head, connect, &h2,
	    &err);
	FUZZ_ASSERT(r == HTTP_COMPLETE && head_same(h, &h2));
	http_head_free(&h2);

	out = head_write(h, 0, &outlen);
	r = http_parse_response(out, outlen, HEAD_MAX, head, connect, &h2,
	    &err);
	FUZZ_ASSERT(r == HTTP_COMPLETE);
	FUZZ_ASSERT(h2.size == outlen);
	FUZZ_ASSERT(head_same(h, &h2));
	http_head_free(&h2);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*buf;
	struct http_head	 h;
	struct http_error	 err;
	int			 head, connect;

	if (size < 1)
		return (0);
	head = data[0] & 1;
	connect = (data[0] >> 1) & 1;
	buf = (const char *)data + 1;
	size--;
	memset(&err, 0, sizeof(err));
	switch (http_parse_response(buf, size, HEAD_MAX, head, connect, &h,
	    &err)) {
	case HTTP_INCOMPLETE:
		FUZZ_ASSERT(h.text == NULL);
		FUZZ_ASSERT(memmem(buf, size, "\r\n\r\n", 4) == NULL);
		break;
	case HTTP_ERROR:
		FUZZ_ASSERT(h.text == NULL);
		FUZZ_ASSERT(err.why != NULL);
		/* Whatever the bridge got wrong, the client sees 502. */
		FUZZ_ASSERT(err.status == 502 || err.status == 500);
		break;
	case HTTP_COMPLETE:
		check_response(&h, buf, size, head, connect);
		check_again(&h, buf, size, head, connect);
		http_head_free(&h);
		break;
	default:
		FUZZ_ASSERT(!"unknown result");
	}
	return (0);
}
