/*
 * The contents of a descriptor read to its end: a CA certificate or
 * key passed by the parent, so the buffer is wiped when freed.
 */
#ifndef AIB_SIGNERD_BLOB_H
#define AIB_SIGNERD_BLOB_H

#include <stddef.h>
#include <stdint.h>

struct blob {
	uint8_t			*data;
	size_t			 len;
	size_t			 size;
};

void	blob_free(struct blob *);
/* 0, or -1 with "WHAT: reason" in err.  At most CA_FILE_MAX bytes. */
int	blob_read(int, struct blob *, const char *, char *, size_t);

#endif /* AIB_SIGNERD_BLOB_H */
