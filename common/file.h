#ifndef AIB_FILE_H
#define AIB_FILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read a whole file from a descriptor the parent opened (children never
 * open files).  The buffer is NUL-terminated one past *len and must be
 * released with freezero(buf, len + 1): it may hold a key.  Closes fd.
 * Returns -1 with errno set (EFBIG past max).
 */
int	 file_read_fd(int, size_t, uint8_t **, size_t *);

#endif /* AIB_FILE_H */
