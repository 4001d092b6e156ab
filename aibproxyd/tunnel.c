/*
 * Tunnels and forwarded plain HTTP requests (see tunnel.h).  The
 * dialer checks every address it connects to against the policy; here
 * the bytes are relayed, through splice(2) pipes when both sides are
 * plain sockets, with half-close and an idle timeout.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "dial.h"
#include "log.h"
#include "pipes.h"
#include "session.h"
#include "tunnel.h"
#include "upstream.h"

#define RELAY_ROUNDS	16	/* steps per wake-up, for fairness */
#define SPLICE_CHUNK	(1024 * 1024)
/*
 * A splice that moved less than this emptied the socket: asking again
 * before the next readiness event only returns EAGAIN.
 */
#define SPLICE_SHORT	(16 * 1024)

enum tunnel_state {
	T_DIAL,			/* the dialer is at work */
	T_RELAY			/* bytes both ways */
};

struct tunnel {
	struct session		*s;
	enum tunnel_state	 st;
	int			 forward;	/* a plain HTTP request */
	struct dial		 dial;
	struct endpoint		*server;	/* once connected */
	struct buf		 obuf;		/* forward: head to send */
	struct http_body	 fwdbody;	/* forward: request framing */
	size_t			 fwdready;	/* forward: body to send */
	struct splice_pipe	*pipes[2];	/* in use: up, down */
	int			 spliced;	/* fast path chosen */
	const char		*outcome;	/* for the audit line */
};

static void	tunnel_server_io(struct ev_loop *, ev_io *, int);
static void	tunnel_relay(struct tunnel *, struct endpoint *, int);

static void
tunnel_close(struct session *s)
{
	struct tunnel	*t = s->kind;
	struct audit	 au;
	int		 i;

	/* Who it was, when credentials were given: egress has an owner. */
	if (t->outcome != NULL) {
		memset(&au, 0, sizeof(au));
		au.au_event = t->forward ? AUDIT_FORWARD : AUDIT_TUNNEL;
		au.au_client = s->peer;
		au.au_user = s->user;
		au.au_token_id = s->tokenid;
		au.au_host = s->host;
		au.au_port = s->port;
		au.au_up = t->server != NULL ? t->server->wbytes : 0;
		au.au_down = s->client.wbytes;
		au.au_seconds = ev_now(s->px->loop) - s->started;
		au.au_outcome = t->outcome;
		log_audit(&au);
	}
	for (i = 0; i < 2; i++)
		if (t->pipes[i] != NULL)
			pipe_put(s->px->pipes, t->pipes[i]);
	dial_clear(&t->dial);
	buf_free(&t->obuf);
	free(t);
}

static void
tunnel_fail(struct tunnel *t, int status, const char *outcome)
{
	t->outcome = outcome;
	session_reply(t->s, status, NULL, NULL);
}

static void
tunnel_timeout(struct session *s)
{
	struct tunnel	*t = s->kind;

	if (t->st == T_DIAL) {
		log_warnx("conn %llu %s: timed out connecting to %s:%d",
		    (unsigned long long)s->id, s->peer, s->host, s->port);
		tunnel_fail(t, 504, "connect timed out");
		return;
	}
	t->outcome = "idle timeout";
	session_free(s, "idle timeout");
}

static void
tunnel_io(struct session *s, int revents)
{
	struct tunnel	*t = s->kind;

	if (t->st == T_RELAY)
		tunnel_relay(t, &s->client, revents);
	else	/* early bytes wait for the destination */
		endpoint_arm(s->px->loop, &s->client, 0, 0);
}

static const struct session_ops tunnel_ops = {
	.name = "tunnel",
	.io = tunnel_io,
	.timeout = tunnel_timeout,
	.close = tunnel_close,
};

static void
tunnel_established(struct tunnel *t)
{
	struct session	*s = t->s;

	if (!t->forward && buf_addstr(&s->sbuf, HTTP_CONNECT_OK) == -1) {
		tunnel_fail(t, 502, "no room for the answer");
		return;
	}
	/* Bytes the upstream sent past its answer are the origin's. */
	if (buf_add(&s->sbuf, buf_rptr(&t->dial.extra),
	    buf_len(&t->dial.extra)) == -1) {
		tunnel_fail(t, 502, "upstream sent too much");
		return;
	}
	buf_free(&t->dial.extra);
	/* Established: refused and failed CONNECTs are not sessions. */
	if (!t->forward)
		s->px->stats.st_sessions_tunneled++;
	t->server = dial_endpoint(&t->dial, tunnel_server_io, t);
	t->st = T_RELAY;
	t->outcome = "closed";
	session_set_timeout(s, session_ms(s->conf->gc.gc_timeout_idle));
	/*
	 * Neither side has spoken through the tunnel yet: a client waits
	 * for the 200 (bytes it sent early are in cbuf), a server for the
	 * client.  Readiness will say when either does.
	 */
	s->client.drained = t->server->drained = 1;
	t->server->dry = 1;
	tunnel_relay(t, NULL, 0);
}

static void
tunnel_dialed(void *arg, struct dial *d, int status, const char *why)
{
	struct tunnel	*t = arg;
	struct session	*s = t->s;

	if (status == 0) {
		tunnel_established(t);
		return;
	}
	/* The dialer logged a 503 (out of resources), rate-limited. */
	if (status != 503)
		log_warnx("conn %llu %s: %s %s:%d: %s",
		    (unsigned long long)s->id, s->peer, t->forward ?
		    "forward" : "tunnel", s->host, s->port, why);
	/* The dialer answers 403 for private addresses only (dial.c). */
	if (status == 403)
		s->px->stats.st_refused[REFUSED_PRIVATE]++;
	tunnel_fail(t, status, status == 403 ? "blocked" :
	    status == 503 ? "out of resources" : "connect failed");
}

void
tunnel_start(struct session *s, struct tunnel_forward *fw)
{
	struct tunnel		*t;
	struct dial_spec	 spec;
	char			 label[96];

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		if (fw != NULL)
			buf_free(&fw->head);
		session_reply(s, 503, NULL, NULL);
		return;
	}
	t->s = s;
	t->forward = fw != NULL;
	dial_init(&t->dial);
	if (fw != NULL) {
		t->obuf = fw->head;
		t->fwdbody = fw->body;
	}
	session_become(s, &tunnel_ops, t);
	session_set_timeout(s, session_ms(s->conf->gc.gc_timeout_connect));
	/*
	 * No reading from the client until the destination answers.  Its
	 * watcher stays as it is: a client waits for the 200, and
	 * stopping and starting it again would cost two epoll changes;
	 * one that sends early is stopped by tunnel_io().
	 */
	memset(&spec, 0, sizeof(spec));
	(void)snprintf(label, sizeof(label), "conn %llu %s",
	    (unsigned long long)s->id, s->peer);
	spec.label = label;
	spec.host = s->host;
	spec.port = s->port;
	spec.check = 1;
	spec.via_upstream = upstream_for_tunnels(s->conf);
	/* A forwarded request goes to the upstream as it is. */
	spec.up_connect = !t->forward;
	dial_start(&t->dial, s->px, s->conf, &spec, tunnel_dialed, t);
}

/* Plain buffers: read what fits, write what is there. */
static int
relay_buffered(struct endpoint *src, struct endpoint *dst, struct buf *b,
    int reading, int *moved)
{
	ssize_t	 n;

	if (reading && !src->eof && b->len < b->cap) {
		n = endpoint_fill(src, b);
		if (n == -1)
			return (-1);
		if (n > 0)
			*moved = 1;
	}
	if (buf_len(b) > 0) {
		n = endpoint_flush(dst, b);
		if (n == -1)
			return (-1);
		if (n > 0)
			*moved = 1;
	}
	return (0);
}

/* Through a pipe, never copying to user space. */
static int
relay_splice(struct endpoint *src, struct endpoint *dst,
    struct splice_pipe *p, int *moved)
{
	ssize_t	 n;

	if (!src->eof && !p->full && !src->drained) {
		n = compat_splice(src->fd, p->fd[1], SPLICE_CHUNK);
		if (n > 0) {
			p->len += n;
			src->rbytes += n;
			src->drained = n < SPLICE_SHORT;
			*moved = 1;
		} else if (n == 0)
			src->eof = 1;
		else if (errno != EAGAIN) {
			src->error = errno;	/* for endpoint_error() */
			return (-1);
		} else if (p->len > 0)
			p->full = 1;
		else
			src->drained = 1;	/* dry until it signals */
	}
	src->rwant = EV_READ;
	if (p->len > 0) {
		n = compat_splice(p->fd[0], dst->fd, p->len);
		if (n > 0) {
			p->len -= n;
			dst->wbytes += n;
			p->full = 0;
			*moved = 1;
		} else if (n == -1 && errno != EAGAIN) {
			dst->error = errno;
			return (-1);
		}
	}
	dst->wwant = EV_WRITE;
	return (0);
}

/*
 * One direction: through a borrowed pipe when both sides are plain
 * sockets and nothing is buffered (bytes must not overtake each other),
 * else through the buffer.  The pipe goes back as soon as it is empty.
 */
static int
relay_dir(struct tunnel *t, int d, struct endpoint *src,
    struct endpoint *dst, struct buf *b, int *moved)
{
	struct splice_pipe	**pp = &t->pipes[d];
	int			 r;

	if (t->spliced && buf_len(b) == 0 &&
	    (*pp != NULL || (*pp = pipe_get(t->s->px->pipes)) != NULL)) {
		r = relay_splice(src, dst, *pp, moved);
		if ((*pp)->len == 0) {
			pipe_put(t->s->px->pipes, *pp);
			*pp = NULL;
		}
		return (r);
	}
	return (relay_buffered(src, dst, b, 1, moved));
}

/* Forwarding: the head, then only the request's own body. */
static int
relay_forward_up(struct tunnel *t, int *moved)
{
	struct session	*s = t->s;
	const char	*why;
	ssize_t		 n;

	if (buf_len(&t->obuf) > 0) {
		if ((n = endpoint_flush(t->server, &t->obuf)) == -1)
			return (-1);
		if (n > 0)
			*moved = 1;
		if (buf_len(&t->obuf) > 0)
			return (0);
	}
	if (!t->fwdbody.done && t->fwdready == buf_len(&s->cbuf) &&
	    !s->client.eof && s->cbuf.len < s->cbuf.cap) {
		if ((n = endpoint_fill(&s->client, &s->cbuf)) == -1)
			return (-1);
		if (n > 0)
			*moved = 1;
	}
	if (!t->fwdbody.done && t->fwdready < buf_len(&s->cbuf)) {
		n = http_body_feed(&t->fwdbody, buf_rptr(&s->cbuf) +
		    t->fwdready, buf_len(&s->cbuf) - t->fwdready, &why);
		if (n == -1) {
			log_info("conn %llu %s: bad request body: %s",
			    (unsigned long long)s->id, s->peer, why);
			return (-1);
		}
		t->fwdready += n;
	}
	while (t->fwdready > 0) {
		n = endpoint_write(t->server, buf_rptr(&s->cbuf),
		    t->fwdready);
		if (n == -1)
			return (-1);
		if (n <= 0)
			break;
		buf_consume(&s->cbuf, n);
		t->fwdready -= n;
		*moved = 1;
	}
	return (0);
}

static int
tunnel_step(struct tunnel *t, int *moved)
{
	struct session	*s = t->s;

	if (!t->spliced && !t->forward && s->client.tls == NULL &&
	    t->server->tls == NULL)
		t->spliced = 1;
	if (t->forward) {
		if (relay_forward_up(t, moved) == -1)
			return (-1);
	} else if (relay_dir(t, 0, &s->client, t->server, &s->cbuf,
	    moved) == -1)
		return (-1);
	return (relay_dir(t, 1, t->server, &s->client, &s->sbuf, moved));
}

static int
tunnel_pending(const struct tunnel *t, int dir)
{
	if (t->pipes[dir] != NULL && t->pipes[dir]->len > 0)
		return (1);
	return (dir == 0 ? buf_len(&t->s->cbuf) > 0 || buf_len(&t->obuf) > 0 :
	    buf_len(&t->s->sbuf) > 0);
}

/* Is there room to read into this direction? */
static int
tunnel_room(const struct tunnel *t, int dir)
{
	const struct buf	*b = dir == 0 ? &t->s->cbuf : &t->s->sbuf;

	if (t->pipes[dir] != NULL)
		return (!t->pipes[dir]->full);
	return (b->len < b->cap);
}

/* EOF travels on once everything before it was delivered. */
static int
tunnel_halfclose(struct tunnel *t)
{
	struct session	*s = t->s;
	int		 up_done, down_done;

	up_done = s->client.eof && !tunnel_pending(t, 0);
	if (t->forward)
		up_done = t->fwdbody.done && t->fwdready == 0 &&
		    buf_len(&t->obuf) == 0;
	down_done = t->server->eof && !tunnel_pending(t, 1);
	/*
	 * Both ways done: the close that follows sends plain sockets
	 * their FIN; only TLS needs its close_notify written first.
	 */
	if (down_done && (up_done || s->client.eof) &&
	    s->client.tls == NULL && t->server->tls == NULL)
		return (1);
	if (up_done && !t->server->shut && !t->forward)
		endpoint_shutdown(t->server);
	if (down_done && !s->client.shut)
		endpoint_shutdown(&s->client);
	if (down_done && (up_done || s->client.eof))
		return (1);
	/* The client gave up on a forwarded request. */
	return (t->forward && s->client.eof && !up_done);
}

static void
tunnel_arm(struct tunnel *t)
{
	struct session	*s = t->s;
	int		 rd_c, rd_s, wr_c, wr_s;

	if (t->forward)
		rd_c = !t->fwdbody.done && !s->client.eof &&
		    t->fwdready == buf_len(&s->cbuf) &&
		    s->cbuf.len < s->cbuf.cap;
	else
		rd_c = !s->client.eof && tunnel_room(t, 0);
	rd_s = !t->server->eof && tunnel_room(t, 1);
	wr_s = tunnel_pending(t, 0) || t->fwdready > 0;
	wr_c = tunnel_pending(t, 1);
	endpoint_arm(s->px->loop, &s->client, rd_c, wr_c);
	endpoint_arm(s->px->loop, t->server, rd_s, wr_s);
}

/*
 * A wake-up: woke is the endpoint whose watcher fired with revents
 * (EV_CUSTOM: fed after running out of rounds), or NULL when the tunnel
 * starts.  A spliced socket found dry stays so until its own watcher
 * says it is readable (epoll is level-triggered, so none is missed):
 * the other side's wake-up costs no splice that would only fail.
 */
static void
tunnel_relay(struct tunnel *t, struct endpoint *woke, int revents)
{
	struct session	*s = t->s;
	char		 why[160];
	int		 i, moved;

	if (revents & EV_CUSTOM)
		s->client.drained = t->server->drained = 0;
	else if (woke != NULL && (revents & EV_READ))
		woke->drained = 0;
	for (i = 0; i < RELAY_ROUNDS; i++) {
		moved = 0;
		if (tunnel_step(t, &moved) == -1) {
			t->outcome = "connection error";
			(void)snprintf(why, sizeof(why), "relay error: %s",
			    s->client.error != 0 ? endpoint_error(&s->client) :
			    endpoint_error(t->server));
			session_free(s, why);
			return;
		}
		if (tunnel_halfclose(t)) {
			session_free(s, "both sides closed");
			return;
		}
		if (!moved)
			break;
		session_touch(s);
	}
	tunnel_arm(t);
	/*
	 * Out of rounds with bytes still moving: a TLS side may hold
	 * decrypted bytes its socket will never signal, so come back
	 * from the loop rather than wait for readiness.
	 */
	if (i == RELAY_ROUNDS)
		ev_feed_event(s->px->loop, &s->client.io, EV_CUSTOM);
}

static void
tunnel_server_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tunnel	*t = w->data;

	tunnel_relay(t, t->server, revents);
}
