/*
 * log.dump_dir: each intercepted request and its response written to
 * <dir>/<provider>/<request id>.req.txt and .resp.txt, mode 0600 in
 * 0700 directories, with every credential header fully masked.  The
 * parent opens the directory; a chrooted worker writes through its
 * descriptor.  Bodies are capped so a dump cannot fill the disk.
 */
#ifndef AIB_DUMP_H
#define AIB_DUMP_H

#include <stddef.h>
#include <stdint.h>

#define DUMP_BODY_MAX	(16 * 1024 * 1024)

struct dump {
	int		 fd;		/* -1: not dumping */
	size_t		 body;		/* body bytes written */
};

/* Open "<provider>/<id>.<suffix>" under dirfd; d->fd stays -1 on error. */
void	 dump_open(struct dump *, int, const char *, const char *,
	    const char *);
/* A message head, credentials masked. */
void	 dump_head(struct dump *, const char *, size_t);
void	 dump_body(struct dump *, const uint8_t *, size_t);
void	 dump_close(struct dump *);

#endif /* AIB_DUMP_H */
