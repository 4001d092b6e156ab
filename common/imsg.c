/*
 * The framed message channel between our processes; see imsg.h.
 *
 * Both directions are buffered so that neither side ever blocks: the
 * read side keeps the bytes of an incomplete message until the rest
 * arrives, the write side keeps a queue of whole messages and how far
 * the first one got.  A descriptor always travels in the sendmsg()
 * that starts its message, so the receiver has it by the time the
 * message is complete and can match descriptors to messages in order.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

#define IMSG_RBUF_MIN	4096	/* first read buffer */
#define IMSG_RBUF_SLACK	4096	/* room past one full message */
#define IMSG_RECV_FDS	8	/* descriptors one recvmsg() can take */
#define IMSG_IOV_MAX	32	/* messages gathered per write */

struct imsg_out {
	TAILQ_ENTRY(imsg_out)	 entry;
	int			 fd;	/* -1: none, or already sent */
	size_t			 len;
	size_t			 off;	/* bytes already written */
	uint8_t			 buf[];
};

struct imsg_fd {
	TAILQ_ENTRY(imsg_fd)	 entry;
	int			 fd;
};

static int	 imsg_rbuf_reserve(struct imsgchan *);
static int	 imsg_recv_fds(struct imsgchan *, struct msghdr *);
static int	 imsg_push_fds(struct imsgchan *, int *, size_t);
static int	 imsg_gather(struct imsgchan *, struct iovec *, int *);
static ssize_t	 imsg_send(struct imsgchan *, struct iovec *, int, int);
static void	 imsg_advance(struct imsgchan *, size_t);
static int	 imsg_stray_fd(struct imsgchan *, const struct imsg_hdr *);
static void	 imsg_close_fds(int *, size_t);

int
imsgchan_init(struct imsgchan *chan, int fd, size_t maxsize, int fdpass)
{
	if (fd < 0) {
		errno = EBADF;
		return (-1);
	}
	/* hdr.len is 32 bits, and the read buffer must fit in a size_t. */
	if (maxsize < IMSG_HDR_SIZE || maxsize > UINT32_MAX - IMSG_RBUF_SLACK) {
		errno = EINVAL;
		return (-1);
	}
	memset(chan, 0, sizeof(*chan));
	chan->fd = fd;
	chan->fdpass = fdpass != 0;
	chan->maxsize = maxsize;
	chan->pid = getpid();
	TAILQ_INIT(&chan->rfds);
	TAILQ_INIT(&chan->wq);
	return (0);
}

void
imsgchan_clear(struct imsgchan *chan)
{
	struct imsg_out	*out;
	struct imsg_fd	*rfd;

	while ((out = TAILQ_FIRST(&chan->wq)) != NULL) {
		TAILQ_REMOVE(&chan->wq, out, entry);
		if (out->fd != -1)
			close(out->fd);
		freezero(out, sizeof(*out) + out->len);
	}
	while ((rfd = TAILQ_FIRST(&chan->rfds)) != NULL) {
		TAILQ_REMOVE(&chan->rfds, rfd, entry);
		close(rfd->fd);
		free(rfd);
	}
	free(chan->rbuf);
	chan->rbuf = NULL;
	chan->rlen = chan->rcap = 0;
	chan->wqlen = 0;
}

int
imsgchan_compose(struct imsgchan *chan, uint32_t type, uint32_t peerid,
    int fd, const void *data, size_t len)
{
	return (imsgchan_compose2(chan, type, peerid, fd, data, len, NULL, 0));
}

/* On failure nothing is queued and the caller still owns fd. */
int
imsgchan_compose2(struct imsgchan *chan, uint32_t type, uint32_t peerid,
    int fd, const void *d1, size_t l1, const void *d2, size_t l2)
{
	struct imsg_hdr	 hdr;
	struct imsg_out	*out;
	size_t		 room;

	if (fd < -1 || (fd != -1 && !chan->fdpass)) {
		errno = EBADF;
		return (-1);
	}
	if ((l1 > 0 && d1 == NULL) || (l2 > 0 && d2 == NULL)) {
		errno = EINVAL;
		return (-1);
	}
	/* Compare piecewise so that huge lengths cannot wrap the sum. */
	room = chan->maxsize - IMSG_HDR_SIZE;
	if (l1 > room || l2 > room - l1) {
		errno = EMSGSIZE;
		return (-1);
	}
	if ((out = malloc(sizeof(*out) + IMSG_HDR_SIZE + l1 + l2)) == NULL)
		return (-1);
	out->fd = fd;
	out->len = IMSG_HDR_SIZE + l1 + l2;
	out->off = 0;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = (uint32_t)out->len;
	hdr.flags = fd != -1 ? IMSG_FLAG_FD : 0;
	hdr.peerid = peerid;
	hdr.pid = (uint32_t)chan->pid;
	memcpy(out->buf, &hdr, sizeof(hdr));
	if (l1 > 0)
		memcpy(out->buf + IMSG_HDR_SIZE, d1, l1);
	if (l2 > 0)
		memcpy(out->buf + IMSG_HDR_SIZE + l1, d2, l2);

	TAILQ_INSERT_TAIL(&chan->wq, out, entry);
	chan->wqlen += out->len;
	return (0);
}

/*
 * Point iov at the head of the queue, up to the next message that has
 * a descriptor: that one must open its own sendmsg().  *fdp is the
 * descriptor of the first message, if it has one.
 */
static int
imsg_gather(struct imsgchan *chan, struct iovec *iov, int *fdp)
{
	struct imsg_out	*out;
	int		 n = 0;

	*fdp = -1;
	TAILQ_FOREACH(out, &chan->wq, entry) {
		if (n == IMSG_IOV_MAX)
			break;
		if (out->fd != -1) {
			if (n > 0)
				break;
			*fdp = out->fd;
		}
		iov[n].iov_base = out->buf + out->off;
		iov[n].iov_len = out->len - out->off;
		n++;
	}
	return (n);
}

/* MSG_NOSIGNAL: a dead peer is EPIPE for the caller, not SIGPIPE. */
static ssize_t
imsg_send(struct imsgchan *chan, struct iovec *iov, int iovcnt, int fd)
{
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	ssize_t		 n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = iovcnt;
	if (fd != -1) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	do {
		n = sendmsg(chan->fd, &msg, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	return (n);
}

/* Drop n written bytes from the head of the queue. */
static void
imsg_advance(struct imsgchan *chan, size_t n)
{
	struct imsg_out	*out;
	size_t		 left;

	chan->wqlen -= n;
	while (n > 0 && (out = TAILQ_FIRST(&chan->wq)) != NULL) {
		/* It went out with the message's first byte; ours can go. */
		if (out->fd != -1) {
			close(out->fd);
			out->fd = -1;
		}
		left = out->len - out->off;
		if (n < left) {
			out->off += n;
			return;
		}
		n -= left;
		TAILQ_REMOVE(&chan->wq, out, entry);
		/* Messages may carry a PIN (IMSG_CFG_PKCS11): leave no copy. */
		freezero(out, sizeof(*out) + out->len);
	}
}

int
imsgchan_write(struct imsgchan *chan)
{
	struct iovec	 iov[IMSG_IOV_MAX];
	ssize_t		 n;
	int		 cnt, fd;

	while (!TAILQ_EMPTY(&chan->wq)) {
		cnt = imsg_gather(chan, iov, &fd);
		if ((n = imsg_send(chan, iov, cnt, fd)) == -1) {
			if (errno == EAGAIN)
				return (0);
			return (-1);
		}
		if (n == 0)
			return (0);
		imsg_advance(chan, (size_t)n);
	}
	return (0);
}

int
imsgchan_flush(struct imsgchan *chan)
{
	struct pollfd	 pfd;

	pfd.fd = chan->fd;
	pfd.events = POLLOUT;
	for (;;) {
		if (imsgchan_write(chan) == -1)
			return (-1);
		if (TAILQ_EMPTY(&chan->wq))
			return (0);
		pfd.revents = 0;
		if (poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (pfd.revents & POLLNVAL) {
			errno = EBADF;
			return (-1);
		}
	}
}

size_t
imsgchan_queued(const struct imsgchan *chan)
{
	return (chan->wqlen);
}

/*
 * Make room for at least one more byte.  A caller that takes every
 * complete message after each read never has a full message's worth
 * of bytes waiting, so the cap is only hit by a caller that does not.
 */
static int
imsg_rbuf_reserve(struct imsgchan *chan)
{
	uint8_t	*p;
	size_t	 limit, ncap;

	if (chan->rlen < chan->rcap)
		return (0);
	limit = chan->maxsize + IMSG_RBUF_SLACK;
	if (chan->rcap >= limit) {
		errno = ENOBUFS;
		return (-1);
	}
	if (chan->rcap == 0)
		ncap = IMSG_RBUF_MIN;
	else if (chan->rcap > limit / 2)
		ncap = limit;
	else
		ncap = chan->rcap * 2;
	if (ncap > limit)
		ncap = limit;
	if ((p = realloc(chan->rbuf, ncap)) == NULL)
		return (-1);
	chan->rbuf = p;
	chan->rcap = ncap;
	return (0);
}

static void
imsg_close_fds(int *fds, size_t nfds)
{
	size_t	 i;

	for (i = 0; i < nfds; i++)
		close(fds[i]);
}

/* Queue received descriptors in arrival order; all or none. */
static int
imsg_push_fds(struct imsgchan *chan, int *fds, size_t nfds)
{
	struct imsg_fd	*rfd;
	size_t		 i;

	for (i = 0; i < nfds; i++) {
		if ((rfd = malloc(sizeof(*rfd))) == NULL) {
			imsg_close_fds(fds + i, nfds - i);
			return (-1);
		}
		rfd->fd = fds[i];
		TAILQ_INSERT_TAIL(&chan->rfds, rfd, entry);
	}
	return (0);
}

/*
 * Take the descriptors out of a recvmsg() result.  Every descriptor
 * the kernel installed is either queued or closed, whatever happens.
 */
static int
imsg_recv_fds(struct imsgchan *chan, struct msghdr *msg)
{
	struct cmsghdr	*cmsg;
	int		 fds[IMSG_RECV_FDS];
	size_t		 i, cnt, nfds = 0;
	int		 bad = 0;

	if (msg->msg_flags & MSG_CTRUNC)
		bad = 1;
	for (cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS ||
		    cmsg->cmsg_len < CMSG_LEN(0)) {
			bad = 1;
			continue;
		}
		cnt = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < cnt && nfds < nitems(fds); i++)
			memcpy(&fds[nfds++], CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
	}
	if (nfds > 0 && !chan->fdpass)
		bad = 1;
	if (bad) {
		imsg_close_fds(fds, nfds);
		errno = EBADMSG;
		return (-1);
	}
	return (imsg_push_fds(chan, fds, nfds));
}

ssize_t
imsgchan_read(struct imsgchan *chan)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(IMSG_RECV_FDS * sizeof(int))];
	} cmsgbuf;
	ssize_t		 n;

	if (imsg_rbuf_reserve(chan) == -1)
		return (-1);
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = chan->rbuf + chan->rlen;
	iov.iov_len = chan->rcap - chan->rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	/* Even without fdpass, so that unwanted descriptors get closed. */
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	do {
		n = recvmsg(chan->fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return (-1);
	if (imsg_recv_fds(chan, &msg) == -1)
		return (-1);
	chan->rlen += (size_t)n;
	return (n);
}

/*
 * A descriptor arrives no later than the first byte of its message.
 * So once this message leaves the buffer empty, every queued
 * descriptor must have been claimed; one left over came with a message
 * that did not say so, and would be handed to the wrong one later.
 */
static int
imsg_stray_fd(struct imsgchan *chan, const struct imsg_hdr *hdr)
{
	struct imsg_fd	*rfd;

	if (hdr->len != chan->rlen)
		return (0);
	rfd = TAILQ_FIRST(&chan->rfds);
	if (rfd != NULL && (hdr->flags & IMSG_FLAG_FD))
		rfd = TAILQ_NEXT(rfd, entry);
	return (rfd != NULL);
}

int
imsgchan_get(struct imsgchan *chan, struct imsg *imsg)
{
	struct imsg_hdr	 hdr;
	struct imsg_fd	*rfd = NULL;
	void		*data = NULL;
	size_t		 datalen;

	memset(imsg, 0, sizeof(*imsg));
	imsg->fd = -1;
	if (chan->rlen < IMSG_HDR_SIZE)
		return (0);
	memcpy(&hdr, chan->rbuf, sizeof(hdr));
	if (hdr.len < IMSG_HDR_SIZE || hdr.len > chan->maxsize ||
	    (hdr.flags & ~IMSG_FLAG_FD) != 0)
		goto fail;
	if (chan->rlen < hdr.len)
		return (0);
	if ((hdr.flags & IMSG_FLAG_FD) &&
	    (rfd = TAILQ_FIRST(&chan->rfds)) == NULL)
		goto fail;
	if (imsg_stray_fd(chan, &hdr))
		goto fail;

	datalen = hdr.len - IMSG_HDR_SIZE;
	if (datalen > 0) {
		if ((data = malloc(datalen)) == NULL)
			return (-1);
		memcpy(data, chan->rbuf + IMSG_HDR_SIZE, datalen);
	}
	if (rfd != NULL) {
		TAILQ_REMOVE(&chan->rfds, rfd, entry);
		imsg->fd = rfd->fd;
		free(rfd);
	}
	imsg->hdr = hdr;
	imsg->data = data;
	imsg->datalen = datalen;

	chan->rlen -= hdr.len;
	if (chan->rlen > 0)
		memmove(chan->rbuf, chan->rbuf + hdr.len, chan->rlen);
	/* What was read stays nowhere but in imsg (it may be a PIN). */
	explicit_bzero(chan->rbuf + chan->rlen, hdr.len);
	return (1);

fail:
	errno = EBADMSG;
	return (-1);
}

void
imsg_free(struct imsg *imsg)
{
	if (imsg->data != NULL)
		freezero(imsg->data, imsg->datalen);
	imsg->data = NULL;
	imsg->datalen = 0;
	if (imsg->fd != -1) {
		close(imsg->fd);
		imsg->fd = -1;
	}
}

int
imsg_get_data(const struct imsg *imsg, void *buf, size_t len)
{
	if (imsg->datalen != len) {
		errno = EBADMSG;
		return (-1);
	}
	if (len > 0)
		memcpy(buf, imsg->data, len);
	return (0);
}

int
imsg_get_string(const struct imsg *imsg, char *buf, size_t len)
{
	const char	*nul;

	if (imsg->datalen == 0 || imsg->datalen > len) {
		errno = EBADMSG;
		return (-1);
	}
	/* The first NUL must be the last byte: no tail hides behind one. */
	nul = memchr(imsg->data, '\0', imsg->datalen);
	if (nul != (const char *)imsg->data + imsg->datalen - 1) {
		errno = EBADMSG;
		return (-1);
	}
	memcpy(buf, imsg->data, imsg->datalen);
	return (0);
}

int
imsg_get_fd(struct imsg *imsg)
{
	int	 fd = imsg->fd;

	imsg->fd = -1;
	if (fd == -1)
		errno = EBADMSG;
	return (fd);
}
