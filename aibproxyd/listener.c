/*
 * Accepting clients.  Two limits apply: limits.connections (this
 * worker's share of it, from the parent), answered with 503 on a plain
 * listener and with a close on the others, and the process's
 * descriptor limit.  At EMFILE or ENFILE the pending client
 * stays in the kernel's backlog, so a level-triggered watcher would
 * fire again at once: accepting pauses for a short back-off instead,
 * then resumes by itself.  Where each worker accepts from a socket of
 * its own (parent_sock.c), the clients the kernel queued on this one
 * wait out the back-off: no other worker takes them.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "listener.h"
#include "log.h"
#include "proxyhdr.h"
#include "request.h"
#include "session.h"

#define ACCEPT_BURST	64
#define ACCEPT_BACKOFF	0.25	/* seconds paused at EMFILE */
#define OVERLOAD_SINK	8192	/* a request head's worth */

static void	listener_accept_cb(struct ev_loop *, ev_io *, int);

static void
listener_backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct proxy	*px = w->data;

	if (px->conf != NULL && !px->draining)
		listener_enable(px, px->conf, 1);
}

void
listener_enable(struct proxy *px, struct proxy_conf *pc, int on)
{
	struct plistener	*l;
	int			 i;

	if (!on)
		ev_timer_stop(px->loop, &px->backoff);
	else if (ev_is_active(&px->backoff))
		return;		/* the back-off's end starts them */
	for (i = 0; i < pc->nlisteners; i++) {
		l = &pc->listeners[i];
		if (!on) {
			ev_io_stop(px->loop, &l->io);
			continue;
		}
		if (ev_is_active(&l->io))
			continue;
		ev_io_init(&l->io, listener_accept_cb, l->fd, EV_READ);
		l->io.data = l;
		l->px = px;
		ev_io_start(px->loop, &l->io);
	}
}

/*
 * A configuration a reload replaced: its listeners stop, and their
 * sockets close now, not with the last session that still holds the
 * configuration (a tunnel may last hours).  For an address the reload
 * kept, the new configuration has its own descriptor of the same
 * socket.  For one it dropped, ours was the last: left open, the
 * socket would go on queueing clients that no one accepts, and would
 * hold the address, so that adding it back failed with "Address
 * already in use" (parent_sock.c).
 */
void
listener_retire(struct proxy *px, struct proxy_conf *pc)
{
	struct plistener	*l;
	int			 i;

	listener_enable(px, pc, 0);
	for (i = 0; i < pc->nlisteners; i++) {
		l = &pc->listeners[i];
		if (l->fd != -1) {
			close(l->fd);
			l->fd = -1;
		}
	}
}

/* Out of descriptors: stop every listener for a while. */
static void
listener_pause(struct proxy *px, int error)
{
	static struct log_limit	 ll = LOG_LIMIT_INITIALIZER(10);

	log_limited(&ll, "accept: %s; not accepting for %.0f ms",
	    strerror(error), ACCEPT_BACKOFF * 1000);
	listener_enable(px, px->conf, 0);
	ev_timer_init(&px->backoff, listener_backoff_cb, ACCEPT_BACKOFF, 0.);
	px->backoff.data = px;
	ev_timer_start(px->loop, &px->backoff);
}

/*
 * Over limits.connections: say so on the fresh socket and close it.
 * Only a plain listener's client reads HTTP first.  Behind
 * proxy_protocol the peer is the balancer, and an answer would reach
 * whichever client it forwards (proxyhdr.c); a TLS client would read
 * plaintext where it wants a ServerHello.  Both get the close alone.
 */
static void
listener_overload(const struct plistener *l, int fd)
{
	struct buf	 b;
	char		 sink[OVERLOAD_SINK];

	if (l->lc.lc_proxy_protocol || l->tls != NULL) {
		close(fd);
		return;
	}
	/*
	 * The request is already here (TCP_DEFER_ACCEPT waits for it).
	 * Closing a socket with unread bytes sends a reset instead of a
	 * FIN (RFC 2525, 2.17), and a reset may make the client's stack
	 * drop the answer before it is read: read what came first.
	 */
	(void)recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
	buf_init(&b, 256);
	/* Best effort on a fresh socket: its send buffer is empty. */
	if (http_answer(&b, 503, NULL, NULL, 1) == 0)
		(void)send(fd, buf_rptr(&b), buf_len(&b),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	buf_free(&b);
	close(fd);
}

static void
listener_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	static struct log_limit	 ll = LOG_LIMIT_INITIALIZER(10);
	struct plistener	*l = w->data;
	struct proxy		*px = l->px;
	struct sockaddr_storage	 ss;
	struct session		*s;
	socklen_t		 len;
	int			 fd, i;

	for (i = 0; i < ACCEPT_BURST; i++) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				listener_pause(px, errno);
			else if (errno != EAGAIN && errno != ECONNABORTED &&
			    errno != EINTR)
				log_limited(&ll, "accept on %s: %s",
				    l->lc.lc_name, strerror(errno));
			return;
		}
		if (!proxyhdr_allowed(px, l, &ss)) {
			close(fd);
			continue;
		}
		if (px->nsessions >= l->conf->gc.gc_max_connections) {
			log_limited(&ll, "%u connections, refusing more: this "
			    "worker's share of limits.connections",
			    px->nsessions);
			listener_overload(l, fd);
			continue;
		}
		if ((s = session_new(px, l, fd, &ss)) == NULL) {
			log_limited(&ll, "accept on %s: out of memory",
			    l->lc.lc_name);
			close(fd);
			continue;
		}
		request_start(s, l);
	}
}
