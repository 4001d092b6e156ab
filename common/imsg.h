/*
 * A framed message channel over a socketpair(2), in the spirit of
 * OpenBSD's imsg(3) but written for this project.
 *
 * Every message is a fixed header followed by hdr.len - IMSG_HDR_SIZE
 * payload bytes.  Reads and writes are non-blocking and may be partial;
 * the channel buffers both directions.  A message may carry one file
 * descriptor (SCM_RIGHTS); that is allowed only on channels created
 * with fdpass set, and a descriptor arriving on any other channel is a
 * protocol error.
 */
#ifndef AIB_IMSG_H
#define AIB_IMSG_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"

#define IMSG_HDR_SIZE		sizeof(struct imsg_hdr)
#define IMSG_MAXSIZE_DEFAULT	(256 * 1024)	/* header included */
#define IMSG_FLAG_FD		0x1		/* a descriptor rides along */

struct imsg_hdr {
	uint32_t	type;
	uint32_t	len;		/* header + payload */
	uint32_t	flags;
	uint32_t	peerid;
	uint32_t	pid;
};

struct imsg {
	struct imsg_hdr	 hdr;
	int		 fd;		/* -1 when none */
	void		*data;		/* NULL when no payload */
	size_t		 datalen;
};

struct imsg_out;
struct imsg_fd;

struct imsgchan {
	int			 fd;
	int			 fdpass;
	size_t			 maxsize;
	pid_t			 pid;		/* stamped on outgoing headers */
	uint8_t			*rbuf;		/* bytes read, not yet framed */
	size_t			 rlen;
	size_t			 rcap;
	TAILQ_HEAD(, imsg_fd)	 rfds;		/* descriptors received */
	TAILQ_HEAD(, imsg_out)	 wq;		/* messages to write */
	size_t			 wqlen;		/* bytes queued */
};

/*
 * Set up a channel on a connected, non-blocking socket.  maxsize caps a
 * whole message (header included) in both directions.
 */
int	 imsgchan_init(struct imsgchan *, int, size_t, int);
/* Free buffers and close queued descriptors; does not close chan->fd. */
void	 imsgchan_clear(struct imsgchan *);

/*
 * Queue a message.  fd is -1 or a descriptor whose ownership passes to
 * the channel (closed once sent, or by imsgchan_clear()).  Returns -1
 * with errno EMSGSIZE if it would exceed maxsize, EBADF if an fd is
 * given on a channel without fdpass.
 */
int	 imsgchan_compose(struct imsgchan *, uint32_t, uint32_t, int,
	    const void *, size_t);
/* The same with the payload gathered from two buffers (header + tail). */
int	 imsgchan_compose2(struct imsgchan *, uint32_t, uint32_t, int,
	    const void *, size_t, const void *, size_t);

/*
 * Write as much of the queue as the socket takes.  Returns 0 (check
 * imsgchan_queued() for the rest), or -1 with errno set; EAGAIN is not
 * an error and returns 0.
 */
int	 imsgchan_write(struct imsgchan *);
/* Write everything, waiting with poll(2): start-up and shut-down only. */
int	 imsgchan_flush(struct imsgchan *);
size_t	 imsgchan_queued(const struct imsgchan *);

/*
 * Read what the socket has.  Returns the number of bytes read, 0 on
 * EOF, or -1 with errno set (EAGAIN included: nothing to read).
 * Receiving a descriptor on a channel without fdpass is an error
 * (EBADMSG) and the descriptor is closed.
 */
ssize_t	 imsgchan_read(struct imsgchan *);

/*
 * Take the next complete message.  Returns 1 and fills *imsg, 0 when
 * more bytes are needed, or -1 with errno EBADMSG for a header that
 * lies (len < header, len > maxsize, fd flag without a descriptor).
 * The caller must imsg_free() every message it got.
 */
int	 imsgchan_get(struct imsgchan *, struct imsg *);
void	 imsg_free(struct imsg *);

/* Exact-length accessors: -1 with errno EBADMSG on any mismatch. */
int	 imsg_get_data(const struct imsg *, void *, size_t);
/* Payload must be a NUL-terminated string filling the payload exactly. */
int	 imsg_get_string(const struct imsg *, char *, size_t);
/* Take the descriptor (the message no longer owns it); -1 if none. */
int	 imsg_get_fd(struct imsg *);

#endif /* AIB_IMSG_H */
