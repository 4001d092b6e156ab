#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "endpoint.h"
#include "log.h"

/*
 * OpenSSL keeps a read and a write buffer of a whole record (about
 * 17 KiB each) for the life of a connection, busy or idle, unless
 * SSL_MODE_RELEASE_BUFFERS is set (SSL_CTX_set_mode(3)): then each is
 * freed as soon as it is empty, and taken again for the next record.
 * libtls sets no such mode and gives no access to its SSL objects, but
 * each of them passes through the ex_data constructors
 * (CRYPTO_get_ex_new_index(3)) once its mode has been copied from the
 * context: the mode is added there.  LibreSSL's constructor still
 * returns int, OpenSSL's has returned void since 1.1.0.
 */
#ifdef LIBRESSL_VERSION_NUMBER
static int
#else
static void
#endif
endpoint_ssl_new(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	if (parent != NULL)
		SSL_set_mode(parent, SSL_MODE_RELEASE_BUFFERS);
#ifdef LIBRESSL_VERSION_NUMBER
	return (1);
#endif
}

int
endpoint_tls_lean(void)
{
	static int	 idx = -1;

	if (idx == -1)
		idx = SSL_get_ex_new_index(0, NULL, endpoint_ssl_new, NULL,
		    NULL);
	return (idx == -1 ? -1 : 0);
}

void
endpoint_init(struct endpoint *ep, int fd, ev_io_cb cb, void *data)
{
	memset(ep, 0, sizeof(*ep));
	ep->fd = fd;
	buf_init(&ep->pre, 0);
	ev_io_init(&ep->io, cb, fd, 0);
	ep->io.data = data;
}

void
endpoint_close(struct ev_loop *loop, struct endpoint *ep)
{
	ev_io_stop(loop, &ep->io);
	ep->events = 0;
	if (ep->tls != NULL) {
		tls_free(ep->tls);
		ep->tls = NULL;
	}
	buf_free(&ep->pre);
	if (ep->fd != -1 && ep->outer == NULL)
		close(ep->fd);
	ep->fd = -1;
}

static void
endpoint_watch(struct ev_loop *loop, struct endpoint *ep, int events)
{
	if (ep->fd == -1)
		return;
	/* Through an outer TLS session the outer socket is what we wait on. */
	if (events == ep->events)
		return;
	ev_io_stop(loop, &ep->io);
	ep->events = events;
	if (events != 0) {
		ev_io_set(&ep->io, ep->fd, events);
		ev_io_start(loop, &ep->io);
	}
}

void
endpoint_arm(struct ev_loop *loop, struct endpoint *ep, int rd, int wr)
{
	struct endpoint	*e;
	int		 events = 0;

	if (rd)
		events |= ep->rwant ? ep->rwant : EV_READ;
	if (wr)
		events |= ep->wwant ? ep->wwant : EV_WRITE;
	/*
	 * Back to the loop watching for input: readiness speaks for the
	 * socket again.  Not watched, a dry socket stays dry: nothing
	 * would say when bytes come, and reading to find out costs a
	 * system call that mostly fails (a client waiting for its answer).
	 */
	if (events & EV_READ)
		for (e = ep; e != NULL; e = e->outer)
			e->dry = 0;
	ep->linger = 0;
	endpoint_watch(loop, ep, events);
}

void
endpoint_arm_quiet(struct ev_loop *loop, struct endpoint *ep, int wr)
{
	int	 events = EV_READ;

	if (ep->linger || !(ep->events & EV_READ) || ep->fd == -1) {
		endpoint_arm(loop, ep, 0, wr);
		return;
	}
	/* Still watched, yet not armed to read: dry stays as it is. */
	ep->linger = 1;
	if (wr)
		events |= ep->wwant ? ep->wwant : EV_WRITE;
	endpoint_watch(loop, ep, events);
}

#define TLS_READAHEAD	(17 * 1024)	/* a TLS record and its header */

/* The transport under TLS: read-ahead first, then the outer layer. */
static ssize_t
endpoint_lower_read(struct endpoint *ep, void *p, size_t len, int *want)
{
	ssize_t	 n;
	size_t	 asked;
	int	 saved;

	if (buf_len(&ep->pre) > 0) {
		n = len < buf_len(&ep->pre) ? len : buf_len(&ep->pre);
		memcpy(p, buf_rptr(&ep->pre), n);
		buf_consume(&ep->pre, n);
		return (n);
	}
	if (ep->outer != NULL) {
		n = endpoint_read(ep->outer, p, len);
		if (n == EP_AGAIN)
			*want = ep->outer->rwant;
		return (n);
	}
	/*
	 * A read that got less than it asked for emptied the socket: the
	 * next one would only fail with EAGAIN, so wait for readiness
	 * (epoll is level-triggered: bytes that came since are not missed).
	 */
	if (ep->dry) {
		*want = EV_READ;
		return (EP_AGAIN);
	}
	/*
	 * Under TLS, OpenSSL asks for a record header, then the rest: read
	 * ahead so a record costs one system call, not two.
	 */
	if (ep->tls != NULL && len < TLS_READAHEAD && buf_wptr(&ep->pre) !=
	    NULL && buf_space(&ep->pre) >= TLS_READAHEAD) {
		asked = buf_space(&ep->pre);
		n = read(ep->fd, buf_wptr(&ep->pre), asked);
		if (n > 0) {
			ep->dry = (size_t)n < asked;
			buf_produced(&ep->pre, n);
			return (endpoint_lower_read(ep, p, len, want));
		}
		saved = errno;
		buf_free(&ep->pre);
		errno = saved;
	} else if ((n = read(ep->fd, p, len)) > 0)
		ep->dry = (size_t)n < len;
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		/* Empty: the next read waits for readiness too. */
		ep->dry = errno == EAGAIN;
		*want = EV_READ;
		return (EP_AGAIN);
	}
	if (n == -1)
		ep->error = errno;
	return (n);
}

static ssize_t
endpoint_lower_write(struct endpoint *ep, const void *p, size_t len,
    int *want)
{
	ssize_t	 n;

	if (ep->outer != NULL) {
		n = endpoint_write(ep->outer, p, len);
		if (n == EP_AGAIN)
			*want = ep->outer->wwant;
		return (n);
	}
	n = send(ep->fd, p, len, MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		*want = EV_WRITE;
		return (EP_AGAIN);
	}
	if (n == -1)
		ep->error = errno;
	return (n);
}

static ssize_t
endpoint_tls_read_cb(struct tls *ctx, void *p, size_t len, void *arg)
{
	struct endpoint	*ep = arg;
	ssize_t		 n;
	int		 want = 0;

	n = endpoint_lower_read(ep, p, len, &want);
	if (n == EP_AGAIN)
		return (want == EV_WRITE ? TLS_WANT_POLLOUT : TLS_WANT_POLLIN);
	if (n > 0)
		ep->lowerread = 1;
	if (n == 0)
		return (0);
	return (n < 0 ? -1 : n);
}

/*
 * libtls does not let OpenSSL retry on its own: a read that consumed
 * only a session ticket says "want input" although more input may
 * already sit below, decrypted in an outer TLS session the socket will
 * never signal again.  Retry while the layer below gave bytes.
 */
#define TLS_RETRIES	64

static int
endpoint_tls_retry(struct endpoint *ep, ssize_t r)
{
	return ((r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) &&
	    ep->lowerread);
}

static ssize_t
endpoint_tls_write_cb(struct tls *ctx, const void *p, size_t len,
    void *arg)
{
	struct endpoint	*ep = arg;
	ssize_t		 n;
	int		 want = 0;

	n = endpoint_lower_write(ep, p, len, &want);
	if (n == EP_AGAIN)
		return (want == EV_READ ? TLS_WANT_POLLIN : TLS_WANT_POLLOUT);
	return (n < 0 ? -1 : n);
}

static int
endpoint_tls_want(ssize_t r)
{
	return (r == TLS_WANT_POLLOUT ? EV_WRITE : EV_READ);
}

/*
 * Can a TLS read only fail for want of input, which the socket has not
 * got?  That is so when the last read came back short or wanting
 * input: without read-ahead (SSL_CTX_set_read_ahead(3), which libtls
 * leaves off) OpenSSL takes from below one record at a time, so a
 * short read left it no plaintext and no bytes of a next record.  If
 * then nothing is read ahead here and the socket is dry, SSL_read(3)
 * would find nothing: its error queue clearing, state checks and
 * record buffer taken and given back cost some 2,000 instructions,
 * once or twice for each intercepted request.
 */
static int
endpoint_tls_idle(const struct endpoint *ep)
{
	return (ep->tlsquiet && ep->dry && ep->outer == NULL &&
	    buf_len(&ep->pre) == 0);
}

ssize_t
endpoint_read(struct endpoint *ep, void *p, size_t len)
{
	ssize_t	 n;
	int	 want = 0;

	ep->rwant = 0;
	if (ep->tls == NULL) {
		n = endpoint_lower_read(ep, p, len, &want);
		if (n == EP_AGAIN)
			ep->rwant = want;
	} else if (endpoint_tls_idle(ep)) {
		ep->rwant = EV_READ;
		n = EP_AGAIN;
	} else {
		int	 tries = 0;

		do {
			ep->lowerread = 0;
			n = tls_read(ep->tls, p, len);
		} while (endpoint_tls_retry(ep, n) && ++tries < TLS_RETRIES);
		ep->tlsquiet = n == TLS_WANT_POLLIN || (n > 0 && (size_t)n < len);
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
			ep->rwant = endpoint_tls_want(n);
			n = EP_AGAIN;
		}
	}
	if (n > 0)
		ep->rbytes += n;
	else if (n == 0)
		ep->eof = 1;
	return (n);
}

ssize_t
endpoint_write(struct endpoint *ep, const void *p, size_t len)
{
	ssize_t	 n;
	int	 want = 0;

	ep->wwant = 0;
	if (ep->tls == NULL) {
		n = endpoint_lower_write(ep, p, len, &want);
		if (n == EP_AGAIN)
			ep->wwant = want;
	} else {
		n = tls_write(ep->tls, p, len);
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
			ep->wwant = endpoint_tls_want(n);
			n = EP_AGAIN;
		}
	}
	if (n > 0)
		ep->wbytes += n;
	return (n);
}

ssize_t
endpoint_flush(struct endpoint *ep, struct buf *b)
{
	ssize_t	 n, total = 0;

	while (buf_len(b) > 0) {
		n = endpoint_write(ep, buf_rptr(b), buf_len(b));
		if (n <= 0)
			return (total > 0 ? total : (n == 0 ? EP_AGAIN : n));
		buf_consume(b, n);
		total += n;
	}
	return (total);
}

ssize_t
endpoint_fill(struct endpoint *ep, struct buf *b)
{
	uint8_t	*w;
	size_t	 room;
	ssize_t	 n;

	if ((room = buf_space(b)) == 0)
		return (EP_AGAIN);
	if ((w = buf_wptr(b)) == NULL)
		return (-1);
	n = endpoint_read(ep, w, room);
	if (n > 0)
		buf_produced(b, n);
	else if (buf_len(b) == 0)
		buf_free(b);	/* an idle session keeps no buffer */
	return (n);
}

/* Room to read ahead under TLS (a bigger buffer may already be here). */
static void
endpoint_readahead(struct endpoint *ep)
{
	if (ep->pre.data == NULL && ep->pre.cap < TLS_READAHEAD)
		buf_init(&ep->pre, TLS_READAHEAD);
}

int
endpoint_unread(struct endpoint *ep, struct buf *b)
{
	size_t	 n = buf_len(b);

	if (n == 0)
		return (0);
	if (buf_len(&ep->pre) != 0)
		return (-1);	/* never twice: the order would be lost */
	buf_free(&ep->pre);
	buf_init(&ep->pre, n > TLS_READAHEAD ? n : TLS_READAHEAD);
	if (buf_add(&ep->pre, buf_rptr(b), n) == -1)
		return (-1);
	buf_consume(b, n);
	return (0);
}

int
endpoint_tls_accept(struct endpoint *ep, struct tls *server)
{
	endpoint_readahead(ep);
	ep->tlsquiet = 0;
	if (tls_accept_cbs(server, &ep->tls, endpoint_tls_read_cb,
	    endpoint_tls_write_cb, ep) == -1)
		return (-1);
	return (0);
}

int
endpoint_tls_connect(struct endpoint *ep, struct tls *client,
    const char *servername)
{
	ep->tls = client;
	ep->tlsquiet = 0;
	endpoint_readahead(ep);
	if (tls_connect_cbs(client, endpoint_tls_read_cb,
	    endpoint_tls_write_cb, ep, servername) == -1)
		return (-1);
	return (0);
}

int
endpoint_handshake(struct endpoint *ep)
{
	int	 r, tries = 0;

	ep->rwant = ep->wwant = 0;
	do {
		ep->lowerread = 0;
		r = tls_handshake(ep->tls);
	} while (endpoint_tls_retry(ep, r) && ++tries < TLS_RETRIES);
	if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) {
		ep->rwant = endpoint_tls_want(r);
		return (EP_AGAIN);
	}
	return (r == 0 ? 0 : -1);
}

const char *
endpoint_error(struct endpoint *ep)
{
	const char	*e;

	if (ep->tls != NULL && (e = tls_error(ep->tls)) != NULL)
		return (e);
	/* Kept when the call failed: what ran since may have reset errno. */
	if (ep->error != 0)
		return (strerror(ep->error));
	return (strerror(errno));
}

int
endpoint_shutdown(struct endpoint *ep)
{
	int	 r;

	if (ep->shut)
		return (0);
	if (ep->tls != NULL) {
		r = tls_close(ep->tls);
		if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) {
			ep->wwant = endpoint_tls_want(r);
			return (EP_AGAIN);
		}
	}
	ep->shut = 1;
	if (ep->outer == NULL && ep->fd != -1)
		return (shutdown(ep->fd, SHUT_WR));
	return (0);
}
