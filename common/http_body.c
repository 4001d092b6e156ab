/*
 * Message bodies (RFC 9112 6 and 7): how many of the bytes that follow
 * a head belong to its message.  Bodies are never copied or buffered;
 * chunked stays chunked, and a malformed chunk stops the message.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "http.h"

#define CHUNK_LINE_MAX		4096		/* size line with extensions */
#define CHUNK_DIGITS_MAX	16
#define CHUNK_TRAILERS_MAX	(64 * 1024)

/*
 * Chunked body states.  CH_SIZE must be 0: http_body_init() zeroes the
 * state.
 */
enum chunk_state {
	CH_SIZE,		/* chunk-size hex digits */
	CH_EXT_NAME0,		/* first byte of a chunk-ext-name */
	CH_EXT_NAME,
	CH_EXT_VAL0,		/* first byte of a chunk-ext-val */
	CH_EXT_TOKEN,
	CH_EXT_QUOTED,
	CH_EXT_QPAIR,		/* the byte after a backslash */
	CH_EXT_QEND,		/* after the closing quote */
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER,		/* a trailer line or the final CRLF */
	CH_TRAILER_NAME,
	CH_TRAILER_VALUE,
	CH_TRAILER_LF,
	CH_END_LF,
	CH_ERROR
};

static int	chunk_fail(struct http_body *, const char **, const char *);
static int	chunk_size_byte(struct http_body *, unsigned char,
		    const char **);
static int	chunk_ext_end(struct http_body *, unsigned char,
		    const char **);
static int	chunk_ext_byte(struct http_body *, unsigned char,
		    const char **);
static int	chunk_line_byte(struct http_body *, unsigned char,
		    const char **);
static int	chunk_data_byte(struct http_body *, unsigned char,
		    const char **);
static int	chunk_trailer_byte(struct http_body *, unsigned char,
		    const char **);
static int	chunk_lf_expected(int);
static int	chunk_byte(struct http_body *, unsigned char, const char **);
static ssize_t	chunked_feed(struct http_body *, const uint8_t *, size_t,
		    const char **);

void
http_body_init(struct http_body *b, const struct http_head *h)
{
	memset(b, 0, sizeof(*b));
	b->framing = h->framing;
	b->state = CH_SIZE;
	if (h->framing == HTTP_BODY_LENGTH)
		b->left = h->length;
	if (h->framing == HTTP_BODY_NONE ||
	    (h->framing == HTTP_BODY_LENGTH && h->length == 0))
		b->done = 1;
}

int
http_hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

int
http_pct_byte(const char *s, size_t left)
{
	int	 hi, lo;

	if (left < 3 || s[0] != '%' || (hi = http_hexdigit(s[1])) == -1 ||
	    (lo = http_hexdigit(s[2])) == -1)
		return (-1);
	return (hi << 4 | lo);
}

static int
chunk_fail(struct http_body *b, const char **why, const char *reason)
{
	b->state = CH_ERROR;
	b->error = reason;
	*why = reason;
	return (-1);
}

/*
 * At most 16 digits, and at most INT64_MAX: a back end that reads the
 * size as signed must not see a negative number.
 */
static int
chunk_size_byte(struct http_body *b, unsigned char c, const char **why)
{
	int	 x;

	if ((x = http_hexdigit(c)) != -1) {
		if (b->linelen > CHUNK_DIGITS_MAX)
			return (chunk_fail(b, why, "chunk size too long"));
		if (b->chunk > ((uint64_t)INT64_MAX - (uint64_t)x) / 16)
			return (chunk_fail(b, why, "chunk size too large"));
		b->chunk = b->chunk * 16 + (uint64_t)x;
		return (0);
	}
	if (b->linelen == 1)
		return (chunk_fail(b, why, "invalid chunk size"));
	if (c == ';')
		b->state = CH_EXT_NAME0;
	else if (c == '\r')
		b->state = CH_SIZE_LF;
	else
		return (chunk_fail(b, why, "invalid chunk size"));
	return (0);
}

/* After a complete extension: another one, or the end of the line. */
static int
chunk_ext_end(struct http_body *b, unsigned char c, const char **why)
{
	if (c == ';')
		b->state = CH_EXT_NAME0;
	else if (c == '\r')
		b->state = CH_SIZE_LF;
	else
		return (chunk_fail(b, why, "invalid chunk extension"));
	return (0);
}

/* ;name[=token|quoted-string], without the BWS nobody sends. */
static int
chunk_ext_byte(struct http_body *b, unsigned char c, const char **why)
{
	switch (b->state) {
	case CH_EXT_NAME0:
		if (!http_tchar(c))
			return (chunk_fail(b, why, "invalid chunk extension"));
		b->state = CH_EXT_NAME;
		return (0);
	case CH_EXT_NAME:
	case CH_EXT_TOKEN:
		if (http_tchar(c))
			return (0);
		if (c == '=' && b->state == CH_EXT_NAME) {
			b->state = CH_EXT_VAL0;
			return (0);
		}
		return (chunk_ext_end(b, c, why));
	case CH_EXT_VAL0:
		if (c == '"')
			b->state = CH_EXT_QUOTED;
		else if (http_tchar(c))
			b->state = CH_EXT_TOKEN;
		else
			return (chunk_fail(b, why, "invalid chunk extension"));
		return (0);
	case CH_EXT_QUOTED:
		if (c == '"')
			b->state = CH_EXT_QEND;
		else if (c == '\\')
			b->state = CH_EXT_QPAIR;
		else if (!http_field_byte(c))
			return (chunk_fail(b, why, "invalid chunk extension"));
		return (0);
	case CH_EXT_QPAIR:
		if (!http_field_byte(c))
			return (chunk_fail(b, why, "invalid chunk extension"));
		b->state = CH_EXT_QUOTED;
		return (0);
	default:
		return (chunk_ext_end(b, c, why));
	}
}

/* chunk-size [ chunk-ext ] CRLF, at most CHUNK_LINE_MAX bytes. */
static int
chunk_line_byte(struct http_body *b, unsigned char c, const char **why)
{
	if (++b->linelen > CHUNK_LINE_MAX)
		return (chunk_fail(b, why, "chunk size line too long"));
	if (b->state == CH_SIZE)
		return (chunk_size_byte(b, c, why));
	if (b->state != CH_SIZE_LF)
		return (chunk_ext_byte(b, c, why));
	if (c != '\n')
		return (chunk_fail(b, why, "CR without LF in chunked body"));
	b->linelen = 0;
	b->state = b->chunk == 0 ? CH_TRAILER : CH_DATA;
	return (0);
}

/* The CRLF that must follow chunk-data. */
static int
chunk_data_byte(struct http_body *b, unsigned char c, const char **why)
{
	if (b->state == CH_DATA_CR && c == '\r') {
		b->state = CH_DATA_LF;
		return (0);
	}
	if (b->state == CH_DATA_LF && c == '\n') {
		b->state = CH_SIZE;
		b->chunk = 0;
		return (0);
	}
	return (chunk_fail(b, why, "missing CRLF after chunk data"));
}

/* trailer-section CRLF: field lines as strict as the head's. */
static int
chunk_trailer_byte(struct http_body *b, unsigned char c, const char **why)
{
	if (++b->trailers > CHUNK_TRAILERS_MAX)
		return (chunk_fail(b, why, "trailer section too large"));
	switch (b->state) {
	case CH_TRAILER:
		if (c == ' ' || c == '\t')
			return (chunk_fail(b, why, "obs-fold in trailer"));
		if (c == '\r')
			b->state = CH_END_LF;
		else if (http_tchar(c))
			b->state = CH_TRAILER_NAME;
		else
			return (chunk_fail(b, why, "invalid trailer field"));
		return (0);
	case CH_TRAILER_NAME:
		if (c == ':')
			b->state = CH_TRAILER_VALUE;
		else if (!http_tchar(c))
			return (chunk_fail(b, why, "invalid trailer field"));
		return (0);
	case CH_TRAILER_VALUE:
		if (c == '\r')
			b->state = CH_TRAILER_LF;
		else if (!http_field_byte(c))
			return (chunk_fail(b, why, "invalid trailer field"));
		return (0);
	default:		/* CH_TRAILER_LF, CH_END_LF */
		if (c != '\n')
			return (chunk_fail(b, why,
			    "CR without LF in chunked body"));
		if (b->state == CH_END_LF)
			b->done = 1;
		b->state = CH_TRAILER;
		return (0);
	}
}

static int
chunk_lf_expected(int state)
{
	return (state == CH_SIZE_LF || state == CH_DATA_LF ||
	    state == CH_TRAILER_LF || state == CH_END_LF);
}

static int
chunk_byte(struct http_body *b, unsigned char c, const char **why)
{
	if (c == '\n' && !chunk_lf_expected(b->state))
		return (chunk_fail(b, why, "LF without CR in chunked body"));
	switch (b->state) {
	case CH_DATA_CR:
	case CH_DATA_LF:
		return (chunk_data_byte(b, c, why));
	case CH_TRAILER:
	case CH_TRAILER_NAME:
	case CH_TRAILER_VALUE:
	case CH_TRAILER_LF:
	case CH_END_LF:
		return (chunk_trailer_byte(b, c, why));
	case CH_ERROR:
		return (chunk_fail(b, why, b->error != NULL ? b->error :
		    "malformed chunked body"));
	default:
		return (chunk_line_byte(b, c, why));
	}
}

/* Framing bytes one at a time, so any split of the input works. */
static ssize_t
chunked_feed(struct http_body *b, const uint8_t *buf, size_t len,
    const char **why)
{
	size_t		 i, n;

	for (i = 0; i < len && !b->done;) {
		if (b->state == CH_DATA) {
			n = len - i;
			if (n > b->chunk)
				n = (size_t)b->chunk;
			i += n;
			b->chunk -= n;
			if (b->chunk == 0)
				b->state = CH_DATA_CR;
			continue;
		}
		/*
		 * The bytes before the bad one are valid and may go on:
		 * a relay sends them, and the next call says -1.
		 */
		if (chunk_byte(b, buf[i], why) == -1)
			return (i > 0 ? (ssize_t)i : -1);
		i++;
	}
	return ((ssize_t)i);
}

ssize_t
http_body_feed(struct http_body *b, const uint8_t *buf, size_t len,
    const char **why)
{
	const char	*reason;

	if (why == NULL)
		why = &reason;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (b->framing == HTTP_BODY_CHUNKED && b->state == CH_ERROR)
		return (chunk_fail(b, why, b->error != NULL ? b->error :
		    "malformed chunked body"));
	if (b->done)
		return (0);
	switch (b->framing) {
	case HTTP_BODY_NONE:
		b->done = 1;
		return (0);
	case HTTP_BODY_LENGTH:
		if (len > b->left)
			len = (size_t)b->left;
		if ((b->left -= len) == 0)
			b->done = 1;
		return ((ssize_t)len);
	case HTTP_BODY_CLOSE:
		return ((ssize_t)len);
	case HTTP_BODY_CHUNKED:
		return (chunked_feed(b, buf, len, why));
	}
	return (chunk_fail(b, why, "unknown framing"));
}

/*
 * The data of a whole chunked body that http_body_feed() framed as
 * valid, without sizes, extensions or trailers, for a proxy that reads
 * a small answer itself rather than relaying it.
 */
int
http_chunked_decode(const uint8_t *in, size_t len, struct buf *out)
{
	size_t		 i = 0;
	uint64_t	 size;
	int		 d;

	for (;;) {
		size = 0;
		while (i < len && (d = http_hexdigit(in[i])) != -1) {
			if (size > (UINT64_MAX >> 4))
				return (-1);
			size = size * 16 + d;
			i++;
		}
		/* Extensions run to the end of the size line. */
		while (i < len && in[i] != '\n')
			i++;
		if (i++ >= len)
			return (-1);
		if (size == 0)
			return (0);
		if (size > len - i || buf_add(out, in + i, size) == -1)
			return (-1);
		i += size + 2;		/* the data's CRLF */
		if (i > len)
			return (-1);
	}
}
