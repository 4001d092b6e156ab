/*
 * http_body_feed(), chunked above all.  Input: byte 0 picks the
 * framing, byte 1 the size of the pieces the body arrives in, bytes 2-3
 * a Content-Length (big-endian); the rest is the byte stream after the
 * head.  The decoder must never take more than it is given, must take
 * fewer only at the end of the message or before a bad byte (and then
 * say -1 next), must give the same answer however the stream is cut
 * (reads split it anywhere), and must end a chunked body on its last
 * byte, where a plain reading of RFC 9112 7.1 ends it too, with the
 * same data as http_chunked_decode() takes out of it.
 */
#include <sys/types.h>

#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "http.h"

/* Room for the data of any body up to that size (-max_len 65536). */
#define DECODE_MAX	(64 * 1024)

/* Piece sizes: single bytes, odd cuts, and about a socket read. */
static const size_t	 steps[] = { 1, 2, 3, 5, 7, 16, 64, 4096 };

struct outcome {
	size_t		 taken;		/* bytes the message owns, or the
					   valid ones before a bad byte */
	int		 done;
	int		 failed;	/* malformed */
};

static void	 body_start(struct http_body *, enum http_framing, uint64_t);
static void	 feed(enum http_framing, uint64_t, const uint8_t *, size_t,
		    size_t, struct outcome *);
static void	 check_chunked_end(const uint8_t *, const struct outcome *);
static size_t	 line_end(const uint8_t *, size_t, size_t);
static size_t	 naive_chunked(const uint8_t *, size_t, struct buf *);
static void	 check_chunked(const uint8_t *, size_t, const struct outcome *);

static void
body_start(struct http_body *b, enum http_framing framing, uint64_t length)
{
	struct http_head	 h;

	memset(&h, 0, sizeof(h));
	h.framing = framing;
	h.length = length;
	http_body_init(b, &h);
}

/* Feed buf in pieces of step bytes, as the proxy does read by read. */
static void
feed(enum http_framing framing, uint64_t length, const uint8_t *buf,
    size_t len, size_t step, struct outcome *o)
{
	struct http_body	 b;
	const char		*why;
	ssize_t			 n;
	size_t			 off = 0, piece;

	memset(o, 0, sizeof(*o));
	body_start(&b, framing, length);
	while (off < len) {
		piece = len - off < step ? len - off : step;
		why = NULL;
		n = http_body_feed(&b, buf + off, piece, &why);
		if (n == -1) {
			FUZZ_ASSERT(framing == HTTP_BODY_CHUNKED);
			FUZZ_ASSERT(why != NULL);
			/* A broken body stays broken. */
			FUZZ_ASSERT(http_body_feed(&b, buf, len, NULL) == -1);
			o->taken = off;
			o->failed = 1;
			return;
		}
		FUZZ_ASSERT(n >= 0 && (size_t)n <= piece);
		off += (size_t)n;
		if (b.done)
			break;
		/* Short of the end, short only before a bad byte. */
		if ((size_t)n < piece) {
			FUZZ_ASSERT(framing == HTTP_BODY_CHUNKED && n > 0);
			FUZZ_ASSERT(http_body_feed(&b, buf + off, len - off,
			    NULL) == -1);
			o->taken = off;
			o->failed = 1;
			return;
		}
	}
	o->taken = off;
	o->done = b.done;
	/* After the end, nothing more belongs to this message. */
	if (b.done && off < len)
		FUZZ_ASSERT(http_body_feed(&b, buf + off, len - off, NULL) == 0);
}

/* Offset just past the next CRLF at or after off, or 0 if none. */
static size_t
line_end(const uint8_t *buf, size_t len, size_t off)
{
	for (; off + 1 < len; off++)
		if (buf[off] == '\r' && buf[off + 1] == '\n')
			return (off + 2);
	return (0);
}

/*
 * Where a chunked body ends (0: not within len), read the lenient way
 * of RFC 9112 7.1 and nothing more: hex size, the rest of its line,
 * data (appended to data), CRLF; after the last chunk, lines up to an
 * empty one.  On a body the strict decoder accepted, both must find
 * the same end.
 */
static size_t
naive_chunked(const uint8_t *buf, size_t len, struct buf *data)
{
	uint64_t	 size;
	size_t		 off = 0, next;
	int		 x;

	for (;;) {
		for (size = 0; off < len && (x = http_hexdigit(buf[off])) != -1;
		    off++) {
			if (size > (UINT64_MAX >> 4))
				return (0);
			size = size << 4 | (uint64_t)x;
		}
		if ((off = line_end(buf, len, off)) == 0)
			return (0);
		if (size == 0)
			break;
		if (size > len - off || len - off - size < 2)
			return (0);
		FUZZ_ASSERT(buf_add(data, buf + off, size) == 0);
		off += size;
		if (buf[off] != '\r' || buf[off + 1] != '\n')
			return (0);
		off += 2;
	}
	while ((next = line_end(buf, len, off)) != 0) {
		if (next == off + 2)
			return (next);
		off = next;
	}
	return (0);
}

/*
 * A chunked body ends with the CRLF of its last line, and a decoder
 * that saw all but that byte has not ended and has not failed.
 */
static void
check_chunked_end(const uint8_t *buf, const struct outcome *o)
{
	struct outcome	 o2;

	FUZZ_ASSERT(o->taken >= 5);
	FUZZ_ASSERT(memcmp(buf + o->taken - 2, "\r\n", 2) == 0);
	feed(HTTP_BODY_CHUNKED, 0, buf, o->taken - 1, SIZE_MAX, &o2);
	FUZZ_ASSERT(!o2.failed && !o2.done && o2.taken == o->taken - 1);
}

static void
check_chunked(const uint8_t *data, size_t size, const struct outcome *o)
{
	struct buf	 naive, dec, any;

	/* Decoding is for framed bodies, but must survive any bytes. */
	buf_init(&any, DECODE_MAX);
	(void)http_chunked_decode(data, size, &any);
	buf_free(&any);
	if (o->failed || size > DECODE_MAX)
		return;
	/* Until the end, every byte offered is the message's. */
	if (!o->done)
		FUZZ_ASSERT(o->taken == size);
	else
		check_chunked_end(data, o);
	buf_init(&naive, DECODE_MAX);
	buf_init(&dec, DECODE_MAX);
	FUZZ_ASSERT(naive_chunked(data, size, &naive) ==
	    (o->done ? o->taken : 0));
	if (o->done) {
		FUZZ_ASSERT(http_chunked_decode(data, o->taken, &dec) == 0);
		FUZZ_ASSERT(buf_len(&dec) == buf_len(&naive));
		if (buf_len(&dec) > 0)
			FUZZ_ASSERT(memcmp(buf_rptr(&dec), buf_rptr(&naive),
			    buf_len(&dec)) == 0);
	}
	buf_free(&naive);
	buf_free(&dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum http_framing framings[] = {
		HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED,
		HTTP_BODY_CLOSE
	};
	enum http_framing	 framing;
	struct outcome		 whole, cut;
	uint64_t		 length;
	size_t			 step;

	if (size < 4)
		return (0);
	framing = framings[data[0] % 4];
	step = steps[data[1] % (sizeof(steps) / sizeof(steps[0]))];
	length = (uint64_t)data[2] << 8 | data[3];
	data += 4;
	size -= 4;

	feed(framing, length, data, size, SIZE_MAX, &whole);
	feed(framing, length, data, size, step, &cut);
	/* The same verdict, and a bad byte at the same place. */
	FUZZ_ASSERT(whole.failed == cut.failed);
	FUZZ_ASSERT(whole.taken == cut.taken && whole.done == cut.done);
	switch (framing) {
	case HTTP_BODY_NONE:
		FUZZ_ASSERT(whole.taken == 0 && whole.done);
		break;
	case HTTP_BODY_LENGTH:
		FUZZ_ASSERT(whole.taken == (size < length ? size : length));
		FUZZ_ASSERT(whole.done == (size >= length));
		break;
	case HTTP_BODY_CLOSE:
		FUZZ_ASSERT(whole.taken == size && !whole.done);
		break;
	case HTTP_BODY_CHUNKED:
		check_chunked(data, size, &whole);
		break;
	}
	return (0);
}
