/*
 * A byte buffer with a fixed capacity, allocated on first use and freed
 * when drained, so that an idle session holds no buffer memory.  Data
 * lives in [off, off + len); writers fill from off + len.
 */
#ifndef AIB_BUF_H
#define AIB_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t		*data;
	size_t		 cap;		/* capacity once allocated */
	size_t		 off;
	size_t		 len;
	size_t		 hw;		/* bytes ever written: what to wipe */
};

void	 buf_init(struct buf *, size_t);
void	 buf_free(struct buf *);
/* Bytes waiting to be read. */
static inline size_t
buf_len(const struct buf *b)
{
	return (b->len);
}
static inline const uint8_t *
buf_rptr(const struct buf *b)
{
	return (b->data + b->off);
}
/* Room left for writing (compacting first); 0 when full. */
size_t	 buf_space(struct buf *);
/* Where to write buf_space() bytes; NULL if memory ran out. */
uint8_t	*buf_wptr(struct buf *);
void	 buf_produced(struct buf *, size_t);
/* Drop n bytes from the front; the memory goes when it empties. */
void	 buf_consume(struct buf *, size_t);
/* Append or fail (-1) without writing anything if it does not fit. */
int	 buf_add(struct buf *, const void *, size_t);
int	 buf_addstr(struct buf *, const char *);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));

#endif /* AIB_BUF_H */
