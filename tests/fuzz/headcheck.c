/*
 * Invariants of a parsed HTTP head, written from the header comment of
 * common/http.h and RFC 9110/9112 rather than from the parser's code,
 * so that a harness catches the parser disagreeing with its contract.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "headcheck.h"

static int	 is_tchar(unsigned char);
static int	 is_token(const char *);
static int	 is_field_value(const char *);
static int	 in_text(const struct http_head *, const char *);
static uint64_t	 decimal(const char *);
static int	 str_same(const char *, const char *);

static int
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return (1);
	return (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
is_token(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (!is_tchar((unsigned char)*s))
			return (0);
	return (1);
}

/* field-vchar, SP, HTAB, obs-text; no OWS at either end once trimmed. */
static int
is_field_value(const char *s)
{
	size_t	 i, n = strlen(s);

	for (i = 0; i < n; i++)
		if (!(s[i] == '\t' || ((unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] != 0x7f)))
			return (0);
	if (n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' ||
	    s[n - 1] == '\t'))
		return (0);
	return (1);
}

/* Every string of a head points into its own private copy. */
static int
in_text(const struct http_head *h, const char *s)
{
	return (s >= h->text && s < h->text + h->size);
}

/* 1*DIGIT, as RFC 9110 8.6 writes Content-Length; UINT64_MAX if not. */
static uint64_t
decimal(const char *s)
{
	uint64_t	 v = 0;

	if (*s == '\0')
		return (UINT64_MAX);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return (UINT64_MAX);
		v = v * 10 + (uint64_t)(*s - '0');
	}
	return (v);
}

void
head_check(const struct http_head *h, const char *buf, size_t len)
{
	size_t	 i;
	int	 n;

	FUZZ_ASSERT(h->text != NULL);
	/* A complete head never claims more than it was given. */
	FUZZ_ASSERT(h->size >= 4 && h->size <= len);
	FUZZ_ASSERT(memcmp(buf + h->size - 4, "\r\n\r\n", 4) == 0);
	/* Only CRLF line ends and no NUL before the end of the head. */
	for (i = 0; i < h->size; i++) {
		FUZZ_ASSERT(buf[i] != '\0');
		if (buf[i] == '\r')
			FUZZ_ASSERT(buf[i + 1] == '\n');
		if (buf[i] == '\n')
			FUZZ_ASSERT(i > 0 && buf[i - 1] == '\r');
	}
	/* And the first blank line is the one that ends it. */
	FUZZ_ASSERT(memmem(buf, h->size, "\r\n\r\n", 4) ==
	    buf + h->size - 4);
	FUZZ_ASSERT(h->minor == 0 || h->minor == 1);
	FUZZ_ASSERT(h->nheaders >= 0 && h->nheaders <= HTTP_HEADERS_MAX);
	for (n = 0; n < h->nheaders; n++) {
		FUZZ_ASSERT(in_text(h, h->headers[n].name));
		FUZZ_ASSERT(in_text(h, h->headers[n].value));
		FUZZ_ASSERT(is_token(h->headers[n].name));
		FUZZ_ASSERT(is_field_value(h->headers[n].value));
	}
	switch (h->framing) {
	case HTTP_BODY_NONE:
	case HTTP_BODY_CLOSE:
		break;
	case HTTP_BODY_LENGTH:
		FUZZ_ASSERT(http_header_count(h, "Content-Length") == 1);
		FUZZ_ASSERT(http_header_count(h, "Transfer-Encoding") == 0);
		FUZZ_ASSERT(h->length <= (uint64_t)INT64_MAX);
		FUZZ_ASSERT(decimal(http_header(h, "Content-Length")) ==
		    h->length);
		break;
	case HTTP_BODY_CHUNKED:
		FUZZ_ASSERT(h->minor == 1);
		FUZZ_ASSERT(http_header_count(h, "Transfer-Encoding") == 1);
		FUZZ_ASSERT(http_header_count(h, "Content-Length") == 0);
		FUZZ_ASSERT(strcasecmp(http_header(h, "Transfer-Encoding"),
		    "chunked") == 0);
		break;
	default:
		FUZZ_ASSERT(!"unknown framing");
	}
	if (h->framing != HTTP_BODY_LENGTH)
		FUZZ_ASSERT(h->length == 0);
	if (h->framing == HTTP_BODY_CLOSE)
		FUZZ_ASSERT(h->close);
	FUZZ_ASSERT(h->upgrade == (http_header(h, "Upgrade") != NULL));
	if (h->expect_continue)
		FUZZ_ASSERT(h->minor == 1);
}

char *
head_write(const struct http_head *h, int request, size_t *lenp)
{
	FILE	*f;
	char	*out = NULL;
	size_t	 len = 0;
	int	 i;

	if ((f = open_memstream(&out, &len)) == NULL)
		abort();
	if (request)
		fprintf(f, "%s %s HTTP/1.%d\r\n", h->method, h->target,
		    h->minor);
	else
		fprintf(f, "HTTP/1.%d %03d %s\r\n", h->minor, h->status,
		    h->reason);
	/* "Name:" alone for an empty value: no trailing space to trim. */
	for (i = 0; i < h->nheaders; i++)
		fprintf(f, "%s:%s%s\r\n", h->headers[i].name,
		    *h->headers[i].value != '\0' ? " " : "",
		    h->headers[i].value);
	fputs("\r\n", f);
	if (fclose(f) != 0)
		abort();
	*lenp = len;
	return (out);
}

static int
str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

int
head_same(const struct http_head *a, const struct http_head *b)
{
	int	 i;

	if (!str_same(a->method, b->method) ||
	    !str_same(a->target, b->target) || a->status != b->status ||
	    !str_same(a->reason, b->reason) || a->minor != b->minor ||
	    a->nheaders != b->nheaders || a->framing != b->framing ||
	    a->length != b->length || a->close != b->close ||
	    a->upgrade != b->upgrade ||
	    a->expect_continue != b->expect_continue)
		return (0);
	for (i = 0; i < a->nheaders; i++)
		if (strcmp(a->headers[i].name, b->headers[i].name) != 0 ||
		    strcmp(a->headers[i].value, b->headers[i].value) != 0)
			return (0);
	return (1);
}
