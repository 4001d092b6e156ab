/*
 * Reading a descriptor to its end, for the CA files the parent passes.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob.h"
#include "ca.h"
#include "compat.h"

#define BLOB_READ_CHUNK	8192

void
blob_free(struct blob *b)
{
	if (b->data != NULL)
		freezero(b->data, b->size);
	memset(b, 0, sizeof(*b));
}

/*
 * Read a descriptor to its end.  recallocarray() wipes what it moves,
 * so no copy of a key is left behind in freed memory.
 */
int
blob_read(int fd, struct blob *b, const char *what, char *err,
    size_t errlen)
{
	struct stat	 st;
	uint8_t		*p;
	size_t		 nsize;
	ssize_t		 n;

	memset(b, 0, sizeof(*b));
	if (fstat(fd, &st) == -1)
		goto fail;
	b->size = BLOB_READ_CHUNK;
	if (S_ISREG(st.st_mode) && st.st_size >= 0 &&
	    st.st_size < CA_FILE_MAX)
		b->size = (size_t)st.st_size + 1;
	if ((b->data = malloc(b->size)) == NULL)
		goto fail;
	for (;;) {
		if (b->len == b->size) {
			if (b->size > CA_FILE_MAX) {
				(void)snprintf(err, errlen, "%s file is larger "
				    "than %d bytes", what, CA_FILE_MAX);
				blob_free(b);
				return (-1);
			}
			nsize = b->size * 2;
			if (nsize > CA_FILE_MAX + 1)
				nsize = CA_FILE_MAX + 1;
			if ((p = recallocarray(b->data, b->size, nsize,
			    1)) == NULL)
				goto fail;
			b->data = p;
			b->size = nsize;
		}
		if ((n = read(fd, b->data + b->len, b->size - b->len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
	}
	return (0);
 fail:
	(void)snprintf(err, errlen, "%s: %s", what, strerror(errno));
	blob_free(b);
	return (-1);
}
