/*
 * The read side of the imsg channel fed a hostile byte stream over a
 * real socketpair, as a child or the parent would receive it.  Input:
 * byte 0 picks the channel (bits 0-1 maxsize, bit 2 fdpass) and
 * whether one write carries a descriptor (bit 3; bits 4-7 say which
 * write); byte 1 picks the size of the writes; the rest is the stream.
 *
 * Every message that comes out must be the next hdr.len bytes of the
 * stream, within maxsize, with a descriptor exactly when its header
 * says so; a refused header must really be bad, and stays refused; what
 * is left over is an incomplete message; and no descriptor leaks.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "imsg.h"

#define HDR	IMSG_HDR_SIZE

static const size_t	 maxsizes[] = { 64, 1024, IMSG_MAXSIZE_DEFAULT,
			    HDR + 1 };
static const size_t	 steps[] = { 1, 3, 19, 20, 21, 64, 512, 4096 };

static int	 sv[2] = { -1, -1 };	/* sv[0] writes, sv[1] is the channel */
static int	 passfd = -1;		/* what a write may carry */
static int	 lowfd = -1;		/* lowest free descriptor at rest */

struct stream {
	const uint8_t	*buf;
	size_t		 len;
	size_t		 written;	/* bytes sent to the channel */
	size_t		 framed;	/* bytes taken out as messages */
	int		 fdsent;	/* a descriptor went with a write */
	int		 broken;	/* the channel refused the stream */
};

static void	 check_message(struct imsgchan *, struct stream *,
		    struct imsg *);
static void	 check_refusal(struct imsgchan *, const struct stream *);
static int	 take(struct imsgchan *, struct stream *);
static void	 send_piece(struct stream *, size_t, int);
static void	 drain(void);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int	 p[2], i;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 || pipe(p) == -1)
		abort();
	for (i = 0; i < 2; i++)
		if (fcntl(sv[i], F_SETFL, O_NONBLOCK) == -1)
			abort();
	close(p[1]);
	passfd = p[0];
	if ((lowfd = dup(passfd)) == -1)
		abort();
	close(lowfd);
	return (0);
}

static void
check_message(struct imsgchan *chan, struct stream *s, struct imsg *m)
{
	uint8_t		*copy;
	char		*str;
	const uint8_t	*at = s->buf + s->framed;
	const char	*nul;
	int		 want;

	FUZZ_ASSERT(m->hdr.len >= HDR && m->hdr.len <= chan->maxsize);
	FUZZ_ASSERT(m->datalen == m->hdr.len - HDR);
	FUZZ_ASSERT(s->framed + m->hdr.len <= s->written);
	FUZZ_ASSERT(memcmp(&m->hdr, at, HDR) == 0);
	FUZZ_ASSERT((m->datalen == 0) == (m->data == NULL));
	if (m->datalen > 0)
		FUZZ_ASSERT(memcmp(m->data, at + HDR, m->datalen) == 0);
	FUZZ_ASSERT((m->hdr.flags & ~IMSG_FLAG_FD) == 0);
	if (m->hdr.flags & IMSG_FLAG_FD) {
		FUZZ_ASSERT(chan->fdpass && s->fdsent);
		FUZZ_ASSERT(m->fd != -1 && fcntl(m->fd, F_GETFD) != -1);
	} else
		FUZZ_ASSERT(m->fd == -1);

	/* The exact-length accessors, one byte either side. */
	if ((copy = malloc(m->datalen + 1)) == NULL ||
	    (str = malloc(m->datalen + 1)) == NULL)
		abort();
	FUZZ_ASSERT(imsg_get_data(m, copy, m->datalen) == 0);
	errno = 0;
	FUZZ_ASSERT(imsg_get_data(m, copy, m->datalen + 1) == -1 &&
	    errno == EBADMSG);
	if (m->datalen > 0)
		FUZZ_ASSERT(imsg_get_data(m, copy, m->datalen - 1) == -1);
	/* A string fills the payload and ends at its only NUL. */
	nul = m->datalen > 0 ? memchr(m->data, '\0', m->datalen) : NULL;
	want = nul != NULL && (size_t)(nul - (char *)m->data) ==
	    m->datalen - 1;
	FUZZ_ASSERT((imsg_get_string(m, str, m->datalen + 1) == 0) == want);
	if (want) {
		FUZZ_ASSERT(strcmp(str, m->data) == 0);
		FUZZ_ASSERT(imsg_get_string(m, str, m->datalen - 1) == -1);
	}
	free(str);
	free(copy);
	s->framed += m->hdr.len;
}

/*
 * imsgchan_get() said EBADMSG: the header must lie (RFC-style: length
 * below the header or above maxsize, unknown flags) or disagree with
 * the descriptors that came, and asking again changes nothing.
 */
static void
check_refusal(struct imsgchan *chan, const struct stream *s)
{
	struct imsg_hdr	 hdr;
	struct imsg	 m;
	size_t		 rlen = chan->rlen;

	FUZZ_ASSERT(s->written - s->framed == rlen && rlen >= HDR);
	memcpy(&hdr, s->buf + s->framed, HDR);
	if (!(hdr.len < HDR || hdr.len > chan->maxsize ||
	    (hdr.flags & ~IMSG_FLAG_FD) != 0))
		FUZZ_ASSERT((hdr.flags & IMSG_FLAG_FD) || s->fdsent);
	FUZZ_ASSERT(imsgchan_get(chan, &m) == -1 && errno == EBADMSG);
	FUZZ_ASSERT(chan->rlen == rlen);
}

/* Take every complete message; -1 once the channel refuses. */
static int
take(struct imsgchan *chan, struct stream *s)
{
	struct imsg	 m;
	int		 r;

	while ((r = imsgchan_get(chan, &m)) == 1) {
		check_message(chan, s, &m);
		imsg_free(&m);
		FUZZ_ASSERT(m.fd == -1 && m.data == NULL);
	}
	if (r == -1) {
		FUZZ_ASSERT(errno == EBADMSG);
		check_refusal(chan, s);
		return (-1);
	}
	return (0);
}

static void
send_piece(struct stream *s, size_t len, int withfd)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	ssize_t		 n;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)(uintptr_t)(s->buf + s->written);
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (withfd) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &passfd, sizeof(int));
		s->fdsent = 1;
	}
	/* Pieces are small and drained at once: the socket never fills. */
	n = sendmsg(sv[0], &msg, 0);
	FUZZ_ASSERT(n == (ssize_t)len);
	s->written += len;
}

/* Whatever the channel did not read, so that inputs do not mix. */
static void
drain(void)
{
	char	 junk[4096];

	while (read(sv[1], junk, sizeof(junk)) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imsgchan	 chan;
	struct stream	 s;
	struct imsg_hdr	 hdr;
	size_t		 step, piece;
	ssize_t		 n;
	int		 fdwrite, k, fd;

	if (size < 2)
		return (0);
	FUZZ_ASSERT(imsgchan_init(&chan, sv[1], maxsizes[data[0] & 3],
	    data[0] & 4) == 0);
	fdwrite = (data[0] & 8) ? data[0] >> 4 : -1;
	step = steps[data[1] % (sizeof(steps) / sizeof(steps[0]))];
	memset(&s, 0, sizeof(s));
	s.buf = data + 2;
	s.len = size - 2;

	for (k = 0; s.written < s.len && !s.broken; k++) {
		piece = s.len - s.written < step ? s.len - s.written : step;
		send_piece(&s, piece, k == fdwrite);
		while ((n = imsgchan_read(&chan)) > 0)
			if (take(&chan, &s) == -1) {
				s.broken = 1;
				break;
			}
		if (n == -1 && errno != EAGAIN) {
			/* Only a descriptor on a channel without fdpass. */
			FUZZ_ASSERT(errno == EBADMSG);
			FUZZ_ASSERT(k == fdwrite && !chan.fdpass);
			s.broken = 1;
		}
		FUZZ_ASSERT(n != 0);
	}
	if (!s.broken) {
		/* What is left is a message still on its way. */
		FUZZ_ASSERT(chan.rlen == s.written - s.framed);
		if (chan.rlen >= HDR) {
			memcpy(&hdr, s.buf + s.framed, HDR);
			FUZZ_ASSERT(hdr.len > chan.rlen);
		}
	}
	imsgchan_clear(&chan);
	drain();
	/* Every descriptor received was closed by the channel or by us. */
	FUZZ_ASSERT((fd = dup(passfd)) == lowfd);
	close(fd);
	return (0);
}
