/*
 * The session lifecycle: creation on accept, the timer, hand-over from
 * one kind to the next, our own answers and the close.  Nothing here
 * knows what a tunnel or an interception is.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "heapdecay.h"
#include "http.h"
#include "log.h"
#include "session.h"

static void	session_io_cb(struct ev_loop *, ev_io *, int);
static void	session_timer_cb(struct ev_loop *, ev_timer *, int);

double
session_ms(uint32_t ms)
{
	return (ms / 1000.0);
}

/*
 * ::ffff:a.b.c.d is the IPv4 client a.b.c.d (RFC 4291 2.5.5.2), from a
 * PROXY header (v1 TCP6, v2 AF_INET6) or a dual-stack socket: written
 * as the IPv4 address, so that it is one client in the logs, the audit
 * and the throttle, however it came.
 */
static const struct sockaddr_storage *
session_unmap(const struct sockaddr_storage *ss, struct sockaddr_storage *v4)
{
	const struct sockaddr_in6	*s6 = (const void *)ss;
	struct sockaddr_in		*s4 = (void *)v4;

	if (ss->ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return (ss);
	memset(v4, 0, sizeof(*v4));
	s4->sin_family = AF_INET;
	s4->sin_port = s6->sin6_port;
	memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12],
	    sizeof(s4->sin_addr));
	return (v4);
}

void
session_addr_text(const struct sockaddr_storage *ss, char *peer,
    size_t peerlen, char *addr, size_t addrlen)
{
	struct sockaddr_storage	 v4;
	char			 a[INET6_ADDRSTRLEN];

	ss = session_unmap(ss, &v4);
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(peer, peerlen, "[%s]:%d", a, ntohs(s6->sin6_port));
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(peer, peerlen, "%s:%d", a, ntohs(s4->sin_port));
	} else {
		strlcpy(a, "local", sizeof(a));
		strlcpy(peer, a, peerlen);
	}
	if (addr != NULL)
		strlcpy(addr, a, addrlen);
}

/* The host of a session that has none yet, so logs can always print it. */
static char	 session_nohost[1];

int
session_set_host(struct session *s, const char *host)
{
	char	*h;

	if ((h = strdup(host)) == NULL)
		return (-1);
	if (s->host != session_nohost)
		free(s->host);
	s->host = h;
	return (0);
}

void
session_set_peer(struct session *s, const struct sockaddr_storage *ss)
{
	session_addr_text(ss, s->peer, sizeof(s->peer), s->addr,
	    sizeof(s->addr));
}

struct session *
session_new(struct proxy *px, struct plistener *l, int fd,
    const struct sockaddr_storage *ss)
{
	struct session	*s;
	size_t		 hb = l->conf->gc.gc_header_bytes;

	/* fd has TCP_NODELAY from its listener (parent_sock.c). */
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->px = px;
	s->id = ++px->nextid;
	s->conf = l->conf;
	s->metrics = l->lc.lc_metrics;
	s->host = session_nohost;
	proxy_conf_ref(s->conf);
	endpoint_init(&s->client, fd, session_io_cb, s);
	/*
	 * A client speaks once accepted, seldom in the same instant: its
	 * first read waits for readiness rather than fail with EAGAIN.
	 * Where the listener defers the accept until the client has
	 * spoken (parent_sock.c), its first bytes are here already: read
	 * them at once, without a watcher and a wake-up.
	 */
	s->client.dry = !compat_defer_accepts();
	/*
	 * One byte over limits.header_bytes must fit, or an oversize head
	 * (431 from a client, 502 from the bridge) would wait for a
	 * timeout instead of being refused at once.
	 */
	buf_init(&s->cbuf, hb + 1 > SESSION_BUF_SIZE ? hb + 1 :
	    SESSION_BUF_SIZE);
	buf_init(&s->sbuf, hb + 1 > SESSION_BUF_SIZE ? hb + 1 :
	    SESSION_BUF_SIZE);
	session_set_peer(s, ss);
	s->started = s->active = ev_now(px->loop);
	ev_init(&s->timer, session_timer_cb);
	s->timer.data = s;
	TAILQ_INSERT_TAIL(&px->sessions, s, entry);
	px->nsessions++;
	heapdecay_busy(px);
	return (s);
}

/* Release the kind's state (and so write its audit line) once. */
static void
session_close_kind(struct session *s)
{
	const struct session_ops	*ops = s->ops;

	s->ops = NULL;
	if (ops != NULL && ops->close != NULL)
		ops->close(s);
	s->kind = NULL;
}

void
session_free(struct session *s, const char *why)
{
	struct proxy	*px = s->px;

	if (why != NULL)
		log_debug("conn %llu %s: closed: %s", (unsigned long long)s->id,
		    s->peer, why);
	session_close_kind(s);
	/* A scrape is no client. */
	if (!s->metrics) {
		px->stats.st_bytes_from_clients += s->client.rbytes;
		px->stats.st_bytes_to_clients += s->client.wbytes;
	}
	ev_timer_stop(px->loop, &s->timer);
	endpoint_close(px->loop, &s->client);
	buf_free(&s->cbuf);
	buf_free(&s->sbuf);
	if (s->host != session_nohost)
		free(s->host);
	TAILQ_REMOVE(&px->sessions, s, entry);
	px->nsessions--;
	proxy_conf_unref(s->conf);
	free(s);
	heapdecay_busy(px);
	if (px->draining && px->nsessions == 0) {
		log_debug("drained, exiting");
		ev_break(px->loop, EVBREAK_ALL);
	}
}

void
session_become(struct session *s, const struct session_ops *ops, void *kind)
{
	/* The kind before hands over: its state goes now. */
	session_close_kind(s);
	s->ops = ops;
	s->kind = kind;
	/* The client's watcher now serves the new kind. */
	ev_set_cb(&s->client.io, session_io_cb);
	s->client.io.data = s;
}

void
session_touch(struct session *s)
{
	s->active = ev_now(s->px->loop);
}

static void
session_timer_arm(struct session *s, double secs)
{
	ev_timer_stop(s->px->loop, &s->timer);
	if (secs > 0) {
		ev_timer_set(&s->timer, secs, 0.);
		ev_timer_start(s->px->loop, &s->timer);
	}
}

void
session_set_timeout(struct session *s, double secs)
{
	s->timeout = secs;
	s->deadline = 0;
	session_touch(s);
	session_timer_arm(s, secs);
}

void
session_set_deadline(struct session *s, ev_tstamp from, double secs)
{
	double	 left;

	s->timeout = secs;
	s->deadline = from + secs;
	left = s->deadline - ev_now(s->px->loop);
	/* One already past fires on the loop's next turn. */
	session_timer_arm(s, left > 0 ? left : 1e-6);
}

static void
session_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session	*s = w->data;
	double		 left;

	/* Activity only moves a timestamp; the timer catches up here. */
	if (s->deadline != 0)
		left = s->deadline - ev_now(loop);
	else
		left = s->active + s->timeout - ev_now(loop);
	if (left > 0.001) {
		ev_timer_set(w, left, 0.);
		ev_timer_start(loop, w);
		return;
	}
	if (s->ops == NULL || s->ops->timeout == NULL) {
		session_free(s, "timed out");
		return;
	}
	s->ops->timeout(s);
}

static void
session_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct session	*s = w->data;

	if (s->ops != NULL && s->ops->io != NULL)
		s->ops->io(s, revents);
}

/* Our answer is written: let the client read it before the FIN. */
static void
reply_io(struct session *s, int revents)
{
	ssize_t	 n;

	n = endpoint_flush(&s->client, &s->sbuf);
	if (n == -1 || buf_len(&s->sbuf) == 0) {
		endpoint_shutdown(&s->client);
		session_free(s, n == -1 ? "write failed" : "answered");
		return;
	}
	endpoint_arm(s->px->loop, &s->client, 0, 1);
}

static void
reply_timeout(struct session *s)
{
	session_free(s, "timed out writing the answer");
}

static const struct session_ops reply_ops = {
	.name = "reply",
	.io = reply_io,
	.timeout = reply_timeout,
};

void
session_send(struct session *s)
{
	/* Whatever state the kind had goes with its audit line now. */
	session_become(s, &reply_ops, NULL);
	session_set_timeout(s, session_ms(s->conf->gc.gc_timeout_idle));
	/* Written from the loop: the caller may still use the session. */
	endpoint_arm(s->px->loop, &s->client, 0, 1);
}

void
session_reply(struct session *s, int status, const char *headers,
    const char *body)
{
	/* Whatever was queued for the client is superseded. */
	buf_free(&s->sbuf);
	buf_init(&s->sbuf, SESSION_BUF_SIZE);
	if (http_answer(&s->sbuf, status, headers, body, 1) == -1) {
		/* A fixed page that cannot fit: a bug, not a peer's fault. */
		log_warnx("conn %llu %s: answer %d does not fit",
		    (unsigned long long)s->id, s->peer, status);
		buf_free(&s->sbuf);
		buf_init(&s->sbuf, SESSION_BUF_SIZE);
		(void)http_answer(&s->sbuf, 500, NULL, NULL, 1);
	}
	log_debug("conn %llu %s: answering %d", (unsigned long long)s->id,
	    s->peer, status);
	session_send(s);
}

void
session_drain_all(struct proxy *px)
{
	struct session	*s, *next;

	TAILQ_FOREACH_SAFE(s, &px->sessions, entry, next) {
		if (s->ops != NULL && s->ops->idle != NULL &&
		    s->ops->idle(s)) {
			session_free(s, "stopping");
			continue;
		}
		if (s->ops != NULL && s->ops->drain != NULL)
			s->ops->drain(s);
	}
}
