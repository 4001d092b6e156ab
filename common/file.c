#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "file.h"

int
file_read_fd(int fd, size_t max, uint8_t **bufp, size_t *lenp)
{
	uint8_t	*buf = NULL, *nbuf;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 saved;

	for (;;) {
		if (cap - len < 4096) {
			if (cap >= max + 1) {
				errno = EFBIG;
				goto fail;
			}
			/* recallocarray wipes what it frees: keys pass here */
			if ((nbuf = recallocarray(buf, cap, cap + 65536, 1)) ==
			    NULL)
				goto fail;
			buf = nbuf;
			cap += 65536;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		len += n;
		if (len > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return (0);
 fail:
	saved = errno;
	close(fd);
	freezero(buf, cap);
	errno = saved;
	return (-1);
}
