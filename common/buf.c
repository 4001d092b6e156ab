#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "compat.h"

void
buf_init(struct buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}

void
buf_free(struct buf *b)
{
	/*
	 * Intercepted plaintext passes through here: wipe it, but only
	 * the bytes ever written (a drained 64 KiB buffer that held a small
	 * request costs a small wipe).
	 */
	if (b->data != NULL) {
		explicit_bzero(b->data, b->hw);
		free(b->data);
	}
	b->data = NULL;
	b->off = b->len = b->hw = 0;
}

static int
buf_alloc(struct buf *b)
{
	if (b->data == NULL && (b->data = malloc(b->cap)) == NULL)
		return (-1);
	return (0);
}

size_t
buf_space(struct buf *b)
{
	if (b->off > 0 && b->off + b->len == b->cap) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	return (b->cap - b->off - b->len);
}

uint8_t *
buf_wptr(struct buf *b)
{
	if (buf_alloc(b) == -1)
		return (NULL);
	(void)buf_space(b);
	return (b->data + b->off + b->len);
}

static void
buf_mark(struct buf *b)
{
	if (b->off + b->len > b->hw)
		b->hw = b->off + b->len;
}

void
buf_produced(struct buf *b, size_t n)
{
	b->len += n;
	buf_mark(b);
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		buf_free(b);
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	uint8_t	*w;

	if (n == 0)
		return (0);
	if ((w = buf_wptr(b)) == NULL)
		return (-1);
	if (b->off > 0 && b->cap - b->off - b->len < n) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
		w = b->data + b->len;
	}
	if (b->cap - b->off - b->len < n)
		return (-1);
	memcpy(w, p, n);
	b->len += n;
	buf_mark(b);
	return (0);
}

int
buf_addstr(struct buf *b, const char *s)
{
	return (buf_add(b, s, strlen(s)));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	char	 tmp[1024];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return (-1);
	return (buf_add(b, tmp, n));
}
