/*
 * http_parse_request() on arbitrary bytes.  Besides memory errors, a
 * result must agree with the input and with itself: a complete head
 * ends at its first blank line and never past the input, every shorter
 * prefix is incomplete, a lower limit only ever turns a head into 431,
 * and the head written back out parses to the same fields (a parser
 * that reads its own output otherwise is one a smuggler can split).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "headcheck.h"
#include "http.h"

#define HEAD_MAX	(1024 * 1024)

static void	 check_error(const struct http_error *);
static void	 check_request(const struct http_head *, const char *,
		    size_t);
static void	 check_limit(const struct http_head *, const char *, size_t);
static void	 check_rewrite(const struct http_head *);

static void
check_error(const struct http_error *err)
{
	FUZZ_ASSERT(err->why != NULL);
	FUZZ_ASSERT(err->status == 400 || err->status == 431 ||
	    err->status == 501 || err->status == 505 || err->status == 500);
}

static void
check_request(const struct http_head *h, const char *buf, size_t len)
{
	const char	*s;
	size_t		 mlen, tlen;
	int		 nhost;

	head_check(h, buf, len);
	FUZZ_ASSERT(h->method != NULL && h->target != NULL);
	FUZZ_ASSERT(h->status == 0 && h->reason == NULL);
	/* The request line is the input's first line, single spaces. */
	mlen = strlen(h->method);
	tlen = strlen(h->target);
	FUZZ_ASSERT(mlen + tlen + 12 <= h->size);
	FUZZ_ASSERT(memcmp(buf, h->method, mlen) == 0 && buf[mlen] == ' ');
	FUZZ_ASSERT(memcmp(buf + mlen + 1, h->target, tlen) == 0);
	FUZZ_ASSERT(memcmp(buf + mlen + 1 + tlen, " HTTP/1.", 8) == 0);
	FUZZ_ASSERT(buf[mlen + tlen + 9] == '0' + h->minor);
	FUZZ_ASSERT(memcmp(buf + mlen + tlen + 10, "\r\n", 2) == 0);
	for (s = h->target; *s != '\0'; s++)
		FUZZ_ASSERT((unsigned char)*s > 0x20 &&
		    (unsigned char)*s < 0x7f && *s != '#');
	/* RFC 9112 3.2: one Host, and HTTP/1.1 must send it. */
	nhost = http_header_count(h, "Host");
	FUZZ_ASSERT(nhost <= 1);
	if (h->minor == 1)
		FUZZ_ASSERT(nhost == 1);
	FUZZ_ASSERT(h->framing != HTTP_BODY_CLOSE);
	if (strcmp(h->method, "CONNECT") == 0)
		FUZZ_ASSERT(strchr(h->target, ':') != NULL &&
		    strpbrk(h->target, "/?@") == NULL);
	if (h->minor == 0 && !h->close)
		FUZZ_ASSERT(http_header(h, "Connection") != NULL);
	/* The setup page's choice: only a request that names the type. */
	if (http_accepts(h, "text/html"))
		FUZZ_ASSERT(http_header(h, "Accept") != NULL);
}

/*
 * The limit (limits.header_bytes) decides only whether a head is too
 * large: within it the result is the same, past it the answer is 431.
 */
static void
check_limit(const struct http_head *h, const char *buf, size_t len)
{
	struct http_head	 h2;
	struct http_error	 err;
	enum http_result	 r;
	size_t			 max;

	max = h->size - 1;
	r = http_parse_request(buf, len, max, &h2, &err);
	FUZZ_ASSERT(r == HTTP_ERROR && err.status == 431);
	FUZZ_ASSERT(h2.text == NULL);
	r = http_parse_request(buf, len, h->size, &h2, &err);
	FUZZ_ASSERT(r == HTTP_COMPLETE && head_same(h, &h2));
	http_head_free(&h2);
	/* Cut one byte short, the head is not there yet. */
	r = http_parse_request(buf, h->size - 1, HEAD_MAX, &h2, &err);
	FUZZ_ASSERT(r == HTTP_INCOMPLETE && h2.text == NULL);
	/* And the body that follows is none of the head's business. */
	r = http_parse_request(buf, h->size, HEAD_MAX, &h2, &err);
	FUZZ_ASSERT(r == HTTP_COMPLETE && head_same(h, &h2));
	http_head_free(&h2);
}

static void
check_rewrite(const struct http_head *h)
{
	struct http_head	 h2;
	struct http_error	 err;
	enum http_result	 r;
	char			*out;
	size_t			 len;

	out = head_write(h, 1, &len);
	r = http_parse_request(out, len, HEAD_MAX, &h2, &err);
	FUZZ_ASSERT(r == HTTP_COMPLETE);
	FUZZ_ASSERT(h2.size == len);
	FUZZ_ASSERT(head_same(h, &h2));
	http_head_free(&h2);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*buf = (const char *)data;
	struct http_head	 h;
	struct http_error	 err;

	memset(&err, 0, sizeof(err));
	switch (http_parse_request(buf, size, HEAD_MAX, &h, &err)) {
	case HTTP_INCOMPLETE:
		FUZZ_ASSERT(h.text == NULL);
		FUZZ_ASSERT(memmem(buf, size, "\r\n\r\n", 4) == NULL);
		break;
	case HTTP_ERROR:
		FUZZ_ASSERT(h.text == NULL);
		check_error(&err);
		break;
	case HTTP_COMPLETE:
		check_request(&h, buf, size);
		check_limit(&h, buf, size);
		check_rewrite(&h);
		http_head_free(&h);
		FUZZ_ASSERT(h.text == NULL);
		break;
	default:
		FUZZ_ASSERT(!"unknown result");
	}
	return (0);
}
