#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dump.h"
#include "log.h"

/* Never written out, not even in part. */
static const char	*dump_secret[] = { "Authorization",
    "Proxy-Authorization", "X-Api-Key", "X-Coder-AI-Governance-Token",
    "Cookie", "Set-Cookie" };

static void
dump_write(struct dump *d, const void *p, size_t len)
{
	ssize_t	 n;

	while (d->fd != -1 && len > 0) {
		if ((n = write(d->fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("%s", __func__);
			dump_close(d);
			return;
		}
		p = (const char *)p + n;
		len -= n;
	}
}

void
dump_open(struct dump *d, int dirfd, const char *provider, const char *id,
    const char *suffix)
{
	char	 path[256];

	d->fd = -1;
	d->body = 0;
	if (dirfd == -1)
		return;
	if (mkdirat(dirfd, provider, 0700) == -1 && errno != EEXIST) {
		log_warn("%s: mkdir %s", __func__, provider);
		return;
	}
	if (snprintf(path, sizeof(path), "%s/%s.%s.txt", provider, id,
	    suffix) >= (int)sizeof(path))
		return;
	if ((d->fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		log_warn("%s: %s", __func__, path);
}

static int
dump_is_secret(const char *line, size_t len)
{
	size_t	 i, n;

	for (i = 0; i < nitems(dump_secret); i++) {
		n = strlen(dump_secret[i]);
		if (len > n && line[n] == ':' &&
		    strncasecmp(line, dump_secret[i], n) == 0)
			return ((int)n);
	}
	return (0);
}

void
dump_head(struct dump *d, const char *head, size_t len)
{
	const char	*p = head, *end = head + len, *eol;
	int		 n;

	while (d->fd != -1 && p < end) {
		if ((eol = memchr(p, '\n', end - p)) == NULL)
			eol = end - 1;
		if ((n = dump_is_secret(p, eol - p)) > 0) {
			dump_write(d, p, n);
			dump_write(d, ": [masked]\r\n", 12);
		} else
			dump_write(d, p, eol - p + 1);
		p = eol + 1;
	}
}

void
dump_body(struct dump *d, const uint8_t *p, size_t len)
{
	static const char	 cut[] = "\n[dump truncated]\n";

	if (d->fd == -1)
		return;
	if (d->body + len > DUMP_BODY_MAX) {
		dump_write(d, p, DUMP_BODY_MAX - d->body);
		dump_write(d, cut, sizeof(cut) - 1);
		dump_close(d);
		return;
	}
	d->body += len;
	dump_write(d, p, len);
}

void
dump_close(struct dump *d)
{
	if (d->fd != -1)
		close(d->fd);
	d->fd = -1;
}
