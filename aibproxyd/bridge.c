#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "dns.h"
#include "log.h"
#include "proxy.h"
#include "upstream.h"

#define BRIDGE_IDLE_MAX		64	/* pooled connections per worker */
#define BRIDGE_IDLE_TIMEOUT	60.	/* seconds an idle one is kept */

enum bconn_state {
	B_RESOLVE,
	B_CONNECT,
	B_UPSTREAM,
	B_HANDSHAKE,
	B_OWNED,
	B_IDLE
};

struct bconn {
	TAILQ_ENTRY(bconn)	 entry;
	enum bconn_state	 st;
	struct endpoint		 ep;		/* the socket's */
	struct endpoint		 inner;		/* bridge TLS inside ep's */
	struct upconnect	 up;
	uint32_t		 gen;
	uint32_t		 dnsid;
	struct dns_res		 addrs;
	int			 addri;
	ev_timer		 idle;
	bridge_cb		 cb;
	void			*arg;
};
TAILQ_HEAD(bconn_list, bconn);

static struct {
	struct bconn_list	 idle;
	int			 nidle;
	uint32_t		 gen;
	struct tls_config	*tlscfg;
	struct bridge_config	 bc;
	struct upstream_config	 uc;
	int			 via;		/* through the upstream */
	unsigned long long	 made;
	unsigned long long	 reused;
} bp = { .idle = TAILQ_HEAD_INITIALIZER(bp.idle) };

static void	bridge_io_cb(struct ev_loop *, ev_io *, int);
static void	bridge_connect_next(struct bconn *);

/* Where requests go: the inner TLS session if there is one. */
static struct endpoint *
bridge_ep(struct bconn *b)
{
	return (b->inner.outer != NULL ? &b->inner : &b->ep);
}

static void
bridge_free(struct bconn *b)
{
	if (b->st == B_IDLE) {
		TAILQ_REMOVE(&bp.idle, b, entry);
		bp.nidle--;
	}
	ev_timer_stop(proxy_env.loop, &b->idle);
	if (b->dnsid != 0)
		dns_cancel(b->dnsid);
	upstream_clear(&b->up);
	endpoint_close(proxy_env.loop, &b->inner);
	endpoint_close(proxy_env.loop, &b->ep);
	free(b);
}

static void
bridge_flush_idle(void)
{
	struct bconn	*b;

	while ((b = TAILQ_FIRST(&bp.idle)) != NULL)
		bridge_free(b);
}

int
bridge_configure(struct proxy_conf *pc, char *why, size_t len)
{
	struct tls_config	*cfg;

	uint8_t			*ca = NULL;
	size_t			 calen = pc->bridge_calen;
	int			 rv;

	if ((cfg = tls_config_new()) == NULL)
		return (snprintf(why, len, "out of memory"), -1);
	/*
	 * Through a TLS-bumping upstream (seed 001) the bridge hop shows
	 * the upstream's certificate: trust upstream.ca there as well.
	 */
	if (upstream_for_bridge(pc) && pc->upstream_ca != NULL) {
		calen += pc->upstream_calen + 1;
		if ((ca = malloc(calen)) == NULL)
			fatal("%s", __func__);
		memcpy(ca, pc->bridge_ca, pc->bridge_calen);
		ca[pc->bridge_calen] = '\n';
		memcpy(ca + pc->bridge_calen + 1, pc->upstream_ca,
		    pc->upstream_calen);
	}
	rv = tls_config_set_ca_mem(cfg, ca ? ca : pc->bridge_ca, calen);
	free(ca);
	if (rv == -1 || tls_config_set_alpn(cfg, "http/1.1") == -1) {
		snprintf(why, len, "bridge.ca: %s", tls_config_error(cfg));
		tls_config_free(cfg);
		return (-1);
	}
	/* Connections in use keep their own reference to the old one. */
	tls_config_free(bp.tlscfg);
	bp.tlscfg = cfg;
	bp.bc = pc->bridge;
	bp.uc = pc->upstream;
	bp.via = upstream_for_bridge(pc);
	bp.gen++;
	bridge_flush_idle();
	return (0);
}

static void
bridge_done(struct bconn *b, const char *why)
{
	bridge_cb	 cb = b->cb;
	void		*arg = b->arg;

	ev_timer_stop(proxy_env.loop, &b->idle);
	if (why != NULL) {
		log_warnx("bridge %s:%d: %s", bp.bc.bc_host, bp.bc.bc_port,
		    why);
		bridge_free(b);
		cb(arg, NULL, why);
		return;
	}
	b->st = B_OWNED;
	bp.made++;
	cb(arg, b, NULL);
}

static void
bridge_resolved(void *arg, int error, const struct dns_res *res)
{
	struct bconn	*b = arg;
	char		 why[256];

	b->dnsid = 0;
	if (error != 0) {
		snprintf(why, sizeof(why), "cannot resolve: %s",
		    gai_strerror(error));
		bridge_done(b, why);
		return;
	}
	b->addrs = *res;
	b->addri = 0;
	bridge_connect_next(b);
}


static void
bridge_connect_next(struct bconn *b)
{
	int	 fd;

	endpoint_close(proxy_env.loop, &b->ep);
	fd = addr_connect(&b->addrs, &b->addri, bp.via ? bp.uc.uc_port :
	    bp.bc.bc_port);
	if (fd != -1) {
		endpoint_init(&b->ep, fd, bridge_io_cb, b);
		b->st = B_CONNECT;
		endpoint_arm(proxy_env.loop, &b->ep, 0, 1);
		return;
	}
	bridge_done(b, "cannot connect");
}

static void
bridge_handshake(struct bconn *b)
{
	char	 why[512];
	int	 r;

	struct endpoint	*ep = bridge_ep(b);

	if ((r = endpoint_handshake(ep)) == EP_AGAIN) {
		endpoint_arm(proxy_env.loop, ep, 1, 0);
		return;
	}
	if (r == -1) {
		snprintf(why, sizeof(why), "TLS handshake: %s",
		    endpoint_error(ep));
		bridge_done(b, why);
		return;
	}
	endpoint_arm(proxy_env.loop, ep, 0, 0);
	bridge_done(b, NULL);
}

static void
bridge_start_tls(struct bconn *b)
{
	struct tls	*ctx;
	char		 why[512];

	if ((ctx = tls_client()) == NULL) {
		bridge_done(b, "out of memory");
		return;
	}
	if (tls_configure(ctx, bp.tlscfg) == -1 ||
	    endpoint_tls_connect(bridge_ep(b), ctx, bp.bc.bc_host) == -1) {
		snprintf(why, sizeof(why), "TLS: %s", tls_error(ctx));
		if (bridge_ep(b)->tls != ctx)
			tls_free(ctx);
		bridge_done(b, why);
		return;
	}
	b->st = B_HANDSHAKE;
	bridge_handshake(b);
}

/* The socket (or the upstream's tunnel) leads to the bridge now. */
static void
bridge_tunnel_ready(struct bconn *b)
{
	if (bp.bc.bc_tls) {
		bridge_start_tls(b);
		return;
	}
	endpoint_arm(proxy_env.loop, &b->ep, 0, 0);
	bridge_done(b, NULL);
}

static void
bridge_upstream_run(struct bconn *b)
{
	char		 why[300];
	struct endpoint	*to;
	int		 r, rd, wr;

	if ((r = upstream_step(&b->up, &b->ep, why, sizeof(why))) == 0) {
		upstream_interest(&b->up, &rd, &wr);
		endpoint_arm(proxy_env.loop, &b->ep, rd, wr);
		return;
	}
	if (r == -1) {
		char	 msg[700];

		snprintf(msg, sizeof(msg), "through the upstream %s:%d: %s",
		    bp.uc.uc_host, bp.uc.uc_port, why);
		bridge_done(b, msg);
		return;
	}
	/* TLS inside the upstream's TLS runs over its own endpoint. */
	if (bp.uc.uc_tls && bp.bc.bc_tls) {
		endpoint_arm(proxy_env.loop, &b->ep, 0, 0);
		endpoint_init(&b->inner, b->ep.fd, bridge_io_cb, b);
		b->inner.outer = &b->ep;
	}
	to = bridge_ep(b);
	if (buf_len(&b->up.in) > 0) {
		if (to == &b->ep && b->ep.tls != NULL) {
			bridge_done(b, "the upstream sent bytes before the "
			    "request");
			return;
		}
		to->pre = b->up.in;
		buf_init(&b->up.in, 0);
	}
	upstream_clear(&b->up);
	bridge_tunnel_ready(b);
}

static void
bridge_upstream_begin(struct bconn *b)
{
	char	 why[300];

	if (upstream_begin(&b->up, &b->ep, &bp.uc, bp.bc.bc_host,
	    bp.bc.bc_port, why, sizeof(why)) == -1) {
		bridge_done(b, why);
		return;
	}
	b->st = B_UPSTREAM;
	bridge_upstream_run(b);
}

static void
bridge_connected(struct bconn *b)
{
	int	 error;

	if ((error = addr_connected(b->ep.fd)) == EINPROGRESS)
		return;
	if (error != 0) {
		log_debug("bridge connect: %s", strerror(error));
		b->addri++;
		bridge_connect_next(b);
		return;
	}
	if (bp.via) {
		bridge_upstream_begin(b);
		return;
	}
	bridge_tunnel_ready(b);
}

/* An idle connection that becomes readable was closed by the bridge. */
static void
bridge_idle_event(struct bconn *b)
{
	uint8_t	 junk[256];
	ssize_t	 n;

	n = endpoint_read(bridge_ep(b), junk, sizeof(junk));
	if (n == EP_AGAIN) {
		endpoint_arm(proxy_env.loop, bridge_ep(b), 1, 0);
		return;
	}
	log_debug("bridge: pooled connection %s", n == 0 ? "closed by the "
	    "bridge" : "got unexpected bytes");
	bridge_free(b);
}

static void
bridge_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct bconn	*b = w->data;

	switch (b->st) {
	case B_CONNECT:
		bridge_connected(b);
		break;
	case B_UPSTREAM:
		bridge_upstream_run(b);
		break;
	case B_HANDSHAKE:
		bridge_handshake(b);
		break;
	case B_IDLE:
		bridge_idle_event(b);
		break;
	default:
		break;
	}
}

static void
bridge_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	bridge_free(w->data);
}

struct bconn *
bridge_get(bridge_cb cb, void *arg, struct bconn **pending)
{
	struct bconn	*b;
	const char	*host;

	*pending = NULL;
	while ((b = TAILQ_FIRST(&bp.idle)) != NULL) {
		TAILQ_REMOVE(&bp.idle, b, entry);
		bp.nidle--;
		ev_timer_stop(proxy_env.loop, &b->idle);
		b->st = B_OWNED;
		bp.reused++;
		return (b);
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		cb(arg, NULL, "out of memory");
		return (NULL);
	}
	endpoint_init(&b->ep, -1, bridge_io_cb, b);
	endpoint_init(&b->inner, -1, bridge_io_cb, b);
	ev_init(&b->idle, bridge_idle_cb);
	b->idle.data = b;
	b->gen = bp.gen;
	b->cb = cb;
	b->arg = arg;
	b->st = B_RESOLVE;
	*pending = b;
	/* Through the upstream, only the upstream's name is ours to find. */
	host = bp.via ? bp.uc.uc_host : bp.bc.bc_host;
	if (dns_literal(host, &b->addrs) == 0)
		bridge_connect_next(b);
	else if ((b->dnsid = dns_lookup(host, bridge_resolved, b)) == 0)
		bridge_done(b, "lookup failed");
	return (NULL);
}

void
bridge_cancel(struct bconn *b)
{
	if (b != NULL)
		bridge_free(b);
}

void
bridge_put(struct bconn *b, int reusable)
{
	struct endpoint	*ep = bridge_ep(b);

	if (!reusable || b->gen != bp.gen || bp.nidle >= BRIDGE_IDLE_MAX ||
	    ep->eof || ep->fd == -1) {
		bridge_free(b);
		return;
	}
	b->st = B_IDLE;
	ev_set_cb(&ep->io, bridge_io_cb);
	ep->io.data = b;
	/* The most recently used first: one client keeps one connection. */
	TAILQ_INSERT_HEAD(&bp.idle, b, entry);
	bp.nidle++;
	endpoint_arm(proxy_env.loop, ep, 1, 0);
	ev_timer_set(&b->idle, BRIDGE_IDLE_TIMEOUT, 0.);
	ev_timer_start(proxy_env.loop, &b->idle);
}

struct endpoint *
bridge_endpoint(struct bconn *b, ev_io_cb cb, void *data)
{
	struct endpoint	*ep = bridge_ep(b);

	ev_set_cb(&ep->io, cb);
	ep->io.data = data;
	return (ep);
}

void
bridge_stats(unsigned long long *made, unsigned long long *reused)
{
	*made = bp.made;
	*reused = bp.reused;
}
