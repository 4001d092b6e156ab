/*
 * Tunnels (CONNECT to any host that is not a provider) and forwarded
 * plain HTTP requests: policy, resolution through the resolver, the
 * address check on the address actually connected, connect, and the
 * byte relay with half-close and an idle timeout.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "dns.h"
#include "log.h"
#include "policy.h"
#include "proxy.h"
#include "upstream.h"

#define RELAY_ROUNDS	16	/* steps per wake-up, for fairness */
#define SPLICE_CHUNK	(1024 * 1024)
/*
 * A splice that moved less than this emptied the socket: asking again
 * before the next readiness event only returns EAGAIN.
 */
#define SPLICE_SHORT	(16 * 1024)

/*
 * Pipes for splice(2) are lent to a tunnel direction only while bytes
 * are in flight and come back once drained: an idle tunnel holds none,
 * and the kernel's per-user pipe budget goes to the busy ones.
 */
struct splice_pipe {
	TAILQ_ENTRY(splice_pipe) entry;
	int		 fd[2];
	size_t		 len;		/* bytes in the pipe */
	int		 full;		/* it took no more: wait for the reader */
};
#define PIPE_POOL_MAX	64

static TAILQ_HEAD(, splice_pipe) pipe_pool = TAILQ_HEAD_INITIALIZER(pipe_pool);
static int	 pipe_npool;

static struct splice_pipe *
pipe_get(void)
{
	struct splice_pipe	*p;

	if ((p = TAILQ_FIRST(&pipe_pool)) != NULL) {
		TAILQ_REMOVE(&pipe_pool, p, entry);
		pipe_npool--;
		return (p);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	if (compat_pipe(p->fd) == -1) {
		free(p);
		return (NULL);
	}
	return (p);
}

static void
pipe_close(struct splice_pipe *p)
{
	close(p->fd[0]);
	close(p->fd[1]);
	free(p);
}

/* Back to the pool if empty; a pipe still holding bytes is closed. */
static void
pipe_put(struct splice_pipe *p)
{
	if (p->len != 0 || pipe_npool >= PIPE_POOL_MAX) {
		pipe_close(p);
		return;
	}
	p->full = 0;
	TAILQ_INSERT_HEAD(&pipe_pool, p, entry);
	pipe_npool++;
}

static void	tunnel_connect_next(struct conn *);
static void	tunnel_established(struct conn *);
static void	tunnel_upstream_begin(struct conn *);

static const char *
tunnel_addr_text(const struct dns_addr *a, char *buf, size_t len)
{
	return (inet_ntop(a->da_af, a->da_addr, buf, len));
}

void
tunnel_free(struct conn *c)
{
	int	 i;

	if (c->kind == KIND_TUNNEL || c->kind == KIND_FORWARD) {
		if (c->outcome != NULL)
			log_info("%s %s -> %s:%d: %s, %llu bytes up, %llu "
			    "down, %.3fs", c->kind == KIND_TUNNEL ? "tunnel" :
			    "forward", c->peer, c->host, c->port, c->outcome,
			    (unsigned long long)c->server.wbytes,
			    (unsigned long long)c->client.wbytes,
			    ev_now(proxy_env.loop) - c->started);
		c->kind = KIND_NONE;
	}
	if (c->up != NULL) {
		upstream_clear(c->up);
		free(c->up);
		c->up = NULL;
	}
	for (i = 0; i < 2; i++) {
		if (c->pipes[i] != NULL)
			pipe_put(c->pipes[i]);
		c->pipes[i] = NULL;
	}
}

static void
tunnel_fail(struct conn *c, int status, const char *outcome)
{
	c->outcome = outcome;
	conn_reply(c, status, NULL, NULL);
}

static void
tunnel_upstream_resolved(void *arg, int error, const struct dns_res *res)
{
	struct conn	*c = arg;

	c->dnsid = 0;
	if (error != 0) {
		log_warnx("conn %llu %s: cannot resolve the upstream %s: %s",
		    (unsigned long long)c->id, c->peer,
		    c->conf->upstream.uc_host, gai_strerror(error));
		tunnel_fail(c, 502, "upstream unresolvable");
		return;
	}
	*c->addrs = *res;
	c->addri = 0;
	tunnel_connect_next(c);
}

/* The destination passed the policy: now find the upstream. */
static void
tunnel_lookup_upstream(struct conn *c)
{
	struct dns_res	 lit;

	if (dns_literal(c->conf->upstream.uc_host, &lit) == 0) {
		tunnel_upstream_resolved(c, 0, &lit);
		return;
	}
	if ((c->dnsid = dns_lookup(c->conf->upstream.uc_host,
	    tunnel_upstream_resolved, c)) == 0)
		tunnel_fail(c, 502, "lookup failed");
}

static void
tunnel_resolved(void *arg, int error, const struct dns_res *res)
{
	struct conn	*c = arg;
	char		 a[INET6_ADDRSTRLEN];
	const char	*range = NULL;
	int		 i;

	c->dnsid = 0;
	if (error != 0) {
		log_warnx("conn %llu %s: cannot resolve %s: %s",
		    (unsigned long long)c->id, c->peer, c->host,
		    gai_strerror(error));
		tunnel_fail(c, 502, "unresolvable");
		return;
	}
	if ((c->addrs = calloc(1, sizeof(*c->addrs))) == NULL) {
		tunnel_fail(c, 502, "out of memory");
		return;
	}
	/* Keep only what policy allows: we connect to exactly these. */
	for (i = 0; i < res->dn_naddrs; i++) {
		const struct dns_addr	*da = &res->dn_addrs[i];

		if (policy_addr_blocked(da->da_af, da->da_addr,
		    c->conf->cidrs, c->conf->ncidrs, &range)) {
			log_warnx("conn %llu %s: blocking %s:%d (%s): "
			    "destination is in %s", (unsigned long long)c->id,
			    c->peer, c->host, c->port,
			    tunnel_addr_text(da, a, sizeof(a)), range);
			continue;
		}
		c->addrs->dn_addrs[c->addrs->dn_naddrs++] = *da;
	}
	if (c->addrs->dn_naddrs == 0 || (c->via_upstream &&
	    c->addrs->dn_naddrs < res->dn_naddrs)) {
		/* The upstream resolves again: any blocked address refuses. */
		tunnel_fail(c, 403, "blocked");
		return;
	}
	if (c->via_upstream) {
		tunnel_lookup_upstream(c);
		return;
	}
	c->addri = 0;
	tunnel_connect_next(c);
}

void
tunnel_start(struct conn *c, int forward)
{
	struct dns_res	 lit;

	c->kind = forward ? KIND_FORWARD : KIND_TUNNEL;
	if (!forward)
		pstats.st_sessions_tunneled++;
	c->via_upstream = upstream_for_tunnels(c->conf);
	c->state = CONN_RESOLVE;
	conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_connect));
	/* No reading from the client until the destination answers. */
	endpoint_arm(proxy_env.loop, &c->client, 0, 0);
	if (dns_literal(c->host, &lit) == 0) {
		tunnel_resolved(c, 0, &lit);
		return;
	}
	if ((c->dnsid = dns_lookup(c->host, tunnel_resolved, c)) == 0)
		tunnel_fail(c, 502, "lookup failed");
}


static void
tunnel_connect_next(struct conn *c)
{
	int	 fd;

	endpoint_close(proxy_env.loop, &c->server);
	fd = addr_connect(c->addrs, &c->addri, c->via_upstream ?
	    c->conf->upstream.uc_port : c->port);
	if (fd != -1) {
		endpoint_init(&c->server, fd, c->client.io.cb, c);
		c->state = CONN_CONNECT;
		endpoint_arm(proxy_env.loop, &c->server, 0, 1);
		return;
	}
	if (c->via_upstream)
		log_warnx("conn %llu %s: cannot connect to the upstream "
		    "%s:%d", (unsigned long long)c->id, c->peer,
		    c->conf->upstream.uc_host, c->conf->upstream.uc_port);
	else
		log_warnx("conn %llu %s: cannot connect to %s:%d",
		    (unsigned long long)c->id, c->peer, c->host, c->port);
	tunnel_fail(c, 502, "connect failed");
}

static void
tunnel_connected(struct conn *c)
{
	int	 error;

	if ((error = addr_connected(c->server.fd)) == EINPROGRESS) {
		endpoint_arm(proxy_env.loop, &c->server, 0, 1);
		return;
	}
	if (error != 0) {
		log_debug("conn %llu: connect %s:%d: %s",
		    (unsigned long long)c->id, c->host, c->port,
		    strerror(error));
		c->addri++;
		tunnel_connect_next(c);
		return;
	}
	free(c->addrs);
	c->addrs = NULL;
	if (c->via_upstream) {
		tunnel_upstream_begin(c);
		return;
	}
	tunnel_established(c);
}

static void
tunnel_established(struct conn *c)
{
	if (c->kind == KIND_TUNNEL) {
		buf_addstr(&c->sbuf, "HTTP/1.1 200 Connection established"
		    "\r\n\r\n");
		c->state = CONN_TUNNEL;
	} else
		c->state = CONN_FORWARD;
	/* Bytes the upstream sent past its answer are the origin's. */
	if (c->up != NULL) {
		if (buf_add(&c->sbuf, buf_rptr(&c->up->in),
		    buf_len(&c->up->in)) == -1) {
			tunnel_fail(c, 502, "upstream sent too much");
			return;
		}
		upstream_clear(c->up);
		free(c->up);
		c->up = NULL;
	}
	c->outcome = "closed";
	conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_idle));
	tunnel_run(c, 0);
}

static void
tunnel_upstream_run(struct conn *c)
{
	char	 why[256];
	int	 r, rd, wr;

	if ((r = upstream_step(c->up, &c->server, why, sizeof(why))) == 0) {
		upstream_interest(c->up, &rd, &wr);
		endpoint_arm(proxy_env.loop, &c->server, rd, wr);
		return;
	}
	if (r == -1) {
		log_warnx("conn %llu %s: upstream %s:%d, CONNECT %s:%d: %s",
		    (unsigned long long)c->id, c->peer,
		    c->conf->upstream.uc_host, c->conf->upstream.uc_port,
		    c->host, c->port, why);
		tunnel_fail(c, 502, "upstream refused");
		return;
	}
	tunnel_established(c);
}

static void
tunnel_upstream_begin(struct conn *c)
{
	char	 why[256];

	if ((c->up = calloc(1, sizeof(*c->up))) == NULL ||
	    upstream_begin(c->up, &c->server, &c->conf->upstream,
	    c->kind == KIND_TUNNEL ? c->host : NULL, c->port, why,
	    sizeof(why)) == -1) {
		log_warnx("conn %llu %s: upstream %s:%d: %s",
		    (unsigned long long)c->id, c->peer,
		    c->conf->upstream.uc_host, c->conf->upstream.uc_port,
		    c->up != NULL ? why : "out of memory");
		tunnel_fail(c, 502, "upstream failed");
		return;
	}
	c->state = CONN_UPSTREAM;
	tunnel_upstream_run(c);
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
		else if (errno == EAGAIN)
			p->full = p->len > 0;	/* else the socket is dry */
		else
			return (-1);
	}
	src->rwant = EV_READ;
	if (p->len > 0) {
		n = compat_splice(p->fd[0], dst->fd, p->len);
		if (n > 0) {
			p->len -= n;
			dst->wbytes += n;
			p->full = 0;
			*moved = 1;
		} else if (n == -1 && errno != EAGAIN)
			return (-1);
	}
	dst->wwant = EV_WRITE;
	return (0);
}

/* Plain sockets on both sides, nothing buffered: splice from now on. */
static int
tunnel_can_splice(struct conn *c)
{
	if (!c->spliced && c->state == CONN_TUNNEL && c->client.tls == NULL &&
	    c->server.tls == NULL && buf_len(&c->obuf) == 0)
		c->spliced = 1;
	return (c->spliced);
}

/*
 * One direction: through a borrowed pipe when we may and nothing is
 * buffered (bytes must not overtake each other), else through the
 * buffer.  The pipe goes back as soon as it is empty.
 */
static int
relay_dir(struct conn *c, int d, struct endpoint *src, struct endpoint *dst,
    struct buf *b, int reading, int *moved)
{
	struct splice_pipe	**pp = &c->pipes[d];
	int			 r;

	if (c->spliced && buf_len(b) == 0 && reading &&
	    (*pp != NULL || (*pp = pipe_get()) != NULL)) {
		r = relay_splice(src, dst, *pp, moved);
		if ((*pp)->len == 0) {
			pipe_put(*pp);
			*pp = NULL;
		}
		return (r);
	}
	return (relay_buffered(src, dst, b, reading, moved));
}

/* Forwarding: only the request's own body goes to the server. */
static int
relay_forward_up(struct conn *c, int *moved)
{
	const char	*why;
	ssize_t		 n;

	if (buf_len(&c->obuf) > 0) {
		if ((n = endpoint_flush(&c->server, &c->obuf)) == -1)
			return (-1);
		if (n > 0)
			*moved = 1;
		if (buf_len(&c->obuf) > 0)
			return (0);
	}
	if (!c->fwdbody.done && c->fwdready == buf_len(&c->cbuf) &&
	    !c->client.eof && c->cbuf.len < c->cbuf.cap) {
		if ((n = endpoint_fill(&c->client, &c->cbuf)) == -1)
			return (-1);
		if (n > 0)
			*moved = 1;
	}
	if (!c->fwdbody.done && c->fwdready < buf_len(&c->cbuf)) {
		n = http_body_feed(&c->fwdbody, buf_rptr(&c->cbuf) +
		    c->fwdready, buf_len(&c->cbuf) - c->fwdready, &why);
		if (n == -1) {
			log_info("conn %llu %s: bad request body: %s",
			    (unsigned long long)c->id, c->peer, why);
			return (-1);
		}
		c->fwdready += n;
	}
	while (c->fwdready > 0) {
		n = endpoint_write(&c->server, buf_rptr(&c->cbuf),
		    c->fwdready);
		if (n == -1)
			return (-1);
		if (n <= 0)
			break;
		buf_consume(&c->cbuf, n);
		c->fwdready -= n;
		*moved = 1;
	}
	return (0);
}

static int
tunnel_step(struct conn *c, int *moved)
{
	(void)tunnel_can_splice(c);
	if (c->state == CONN_FORWARD) {
		if (relay_forward_up(c, moved) == -1)
			return (-1);
	} else if (relay_dir(c, 0, &c->client, &c->server, &c->cbuf, 1,
	    moved) == -1)
		return (-1);
	return (relay_dir(c, 1, &c->server, &c->client, &c->sbuf,
	    c->state == CONN_TUNNEL || c->state == CONN_FORWARD, moved));
}

static int
tunnel_pending(const struct conn *c, int dir)
{
	if (c->pipes[dir] != NULL && c->pipes[dir]->len > 0)
		return (1);
	return (dir == 0 ? buf_len(&c->cbuf) > 0 || buf_len(&c->obuf) > 0 :
	    buf_len(&c->sbuf) > 0);
}

/* Is there room to read into this direction? */
static int
tunnel_room(const struct conn *c, int dir)
{
	const struct buf	*b = dir == 0 ? &c->cbuf : &c->sbuf;

	if (c->pipes[dir] != NULL)
		return (!c->pipes[dir]->full);
	return (b->len < b->cap);
}

/* EOF travels on once everything before it was delivered. */
static int
tunnel_halfclose(struct conn *c)
{
	int	 up_done, down_done;

	up_done = c->client.eof && !tunnel_pending(c, 0);
	if (c->state == CONN_FORWARD)
		up_done = c->fwdbody.done && c->fwdready == 0 &&
		    buf_len(&c->obuf) == 0;
	down_done = c->server.eof && !tunnel_pending(c, 1);
	if (up_done && !c->server.shut && c->state == CONN_TUNNEL)
		endpoint_shutdown(&c->server);
	if (down_done && !c->client.shut)
		endpoint_shutdown(&c->client);
	if (down_done && (up_done || c->client.eof))
		return (1);
	/* The client gave up on a forwarded request. */
	return (c->state == CONN_FORWARD && c->client.eof && !up_done);
}

static void
tunnel_arm(struct conn *c)
{
	int	 rd_c, rd_s, wr_c, wr_s;

	if (c->state == CONN_FORWARD)
		rd_c = !c->fwdbody.done && !c->client.eof &&
		    c->fwdready == buf_len(&c->cbuf) &&
		    c->cbuf.len < c->cbuf.cap;
	else
		rd_c = !c->client.eof && tunnel_room(c, 0);
	rd_s = !c->server.eof && tunnel_room(c, 1);
	wr_s = tunnel_pending(c, 0) || c->fwdready > 0;
	wr_c = tunnel_pending(c, 1);
	endpoint_arm(proxy_env.loop, &c->client, rd_c, wr_c);
	endpoint_arm(proxy_env.loop, &c->server, rd_s, wr_s);
}

static void
tunnel_timeout(struct conn *c)
{
	switch (c->state) {
	case CONN_RESOLVE:
	case CONN_CONNECT:
	case CONN_UPSTREAM:
		log_warnx("conn %llu %s: timed out connecting to %s:%d",
		    (unsigned long long)c->id, c->peer, c->host, c->port);
		tunnel_fail(c, 504, "connect timed out");
		break;
	default:
		c->outcome = "idle timeout";
		conn_free(c, "idle timeout");
		break;
	}
}

void
tunnel_run(struct conn *c, int revents)
{
	int	 i, moved;

	if (revents == -1) {
		tunnel_timeout(c);
		return;
	}
	if (c->state == CONN_CONNECT) {
		tunnel_connected(c);
		return;
	}
	if (c->state == CONN_UPSTREAM) {
		tunnel_upstream_run(c);
		return;
	}
	/* A new wake-up: the sockets may have more now. */
	c->client.drained = c->server.drained = 0;
	for (i = 0; i < RELAY_ROUNDS; i++) {
		moved = 0;
		if (tunnel_step(c, &moved) == -1) {
			c->outcome = "connection error";
			conn_free(c, "relay error");
			return;
		}
		if (tunnel_halfclose(c)) {
			conn_free(c, "both sides closed");
			return;
		}
		if (!moved)
			break;
		conn_touch(c);
	}
	tunnel_arm(c);
}
