/*
 * The worker's pool of connections to the AI Bridge (see bridge.h).
 * New ones come from the dialer; idle ones wait for the next request
 * and are closed when the bridge closes them or after a minute.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "dial.h"
#include "log.h"
#include "upstream.h"
#include "worker.h"

#define BRIDGE_IDLE_MAX		64	/* pooled connections per worker */
#define BRIDGE_IDLE_TIMEOUT	60.	/* seconds an idle one is kept */
#define BRIDGE_TAIL_READS	16	/* reads that count stray bytes */
#define BRIDGE_TAIL_LOG_EVERY	10	/* seconds between warnings */

enum bconn_state {
	B_DIAL,
	B_OWNED,
	B_IDLE
};

struct bconn {
	TAILQ_ENTRY(bconn)	 entry;
	struct bridge_pool	*pool;
	enum bconn_state	 st;
	struct dial		 dial;
	struct endpoint		*ep;		/* once connected */
	uint32_t		 gen;
	ev_timer		 idle;
	bridge_cb		 cb;
	void			*arg;
};
TAILQ_HEAD(bconn_list, bconn);

struct bridge_pool {
	struct proxy		*px;
	struct proxy_conf	*conf;		/* bridge settings */
	struct bconn_list	 idle;
	int			 nidle;
	uint32_t		 gen;
	struct tls_config	*tlscfg;
};

static void	bridge_idle_io(struct ev_loop *, ev_io *, int);

static struct log_limit	bridge_tail_ll =
    LOG_LIMIT_INITIALIZER(BRIDGE_TAIL_LOG_EVERY);

struct bridge_pool *
bridge_pool_new(struct proxy *px)
{
	struct bridge_pool	*bp;

	if ((bp = calloc(1, sizeof(*bp))) == NULL)
		fatal("%s", __func__);
	bp->px = px;
	TAILQ_INIT(&bp->idle);
	return (bp);
}

static void
bridge_free(struct bconn *b)
{
	struct bridge_pool	*bp = b->pool;

	if (b->st == B_IDLE) {
		TAILQ_REMOVE(&bp->idle, b, entry);
		bp->nidle--;
	}
	ev_timer_stop(bp->px->loop, &b->idle);
	dial_clear(&b->dial);
	free(b);
}

static void
bridge_flush_idle(struct bridge_pool *bp)
{
	struct bconn	*b;

	while ((b = TAILQ_FIRST(&bp->idle)) != NULL)
		bridge_free(b);
}

/* The trust store, with upstream.ca through a TLS-bumping upstream. */
static struct tls_config *
bridge_tls_config(const struct proxy_conf *pc, char *why, size_t len)
{
	struct tls_config	*cfg;
	uint8_t			*ca = NULL;
	size_t			 calen = pc->bridge_calen;
	int			 rv;

	if ((cfg = tls_config_new()) == NULL)
		return (snprintf(why, len, "out of memory"), NULL);
	/* Through a TLS-bumping upstream the bridge hop shows its CA. */
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
		return (NULL);
	}
	return (cfg);
}

int
bridge_configure(struct bridge_pool *bp, struct proxy_conf *pc, char *why,
    size_t len)
{
	struct tls_config	*cfg;

	if ((cfg = bridge_tls_config(pc, why, len)) == NULL)
		return (-1);
	/* Connections in use keep their own reference to the old one. */
	tls_config_free(bp->tlscfg);
	bp->tlscfg = cfg;
	proxy_conf_ref(pc);
	if (bp->conf != NULL)
		proxy_conf_unref(bp->conf);
	bp->conf = pc;
	bp->gen++;
	bridge_flush_idle(bp);
	return (0);
}

static void
bridge_dialed(void *arg, struct dial *d, int status, const char *why)
{
	struct bconn		*b = arg;
	const struct bridge_config *bc = &b->pool->conf->bridge;
	bridge_cb		 cb = b->cb;
	void			*cbarg = b->arg;

	if (status == 0 && buf_len(&d->extra) > 0) {
		status = 502;
		why = "the upstream sent bytes before the request";
	}
	if (status != 0) {
		char	 msg[400];

		snprintf(msg, sizeof(msg), "bridge %s:%d: %s", bc->bc_host,
		    bc->bc_port, why);
		/* The dialer logged a 503 (out of resources), rate-limited. */
		if (status != 503)
			log_warnx("%s", msg);
		bridge_free(b);
		cb(cbarg, NULL, status, msg);
		return;
	}
	b->st = B_OWNED;
	b->ep = dial_endpoint(d, bridge_idle_io, b);
	cb(cbarg, b, 0, NULL);
}

int
bridge_get(struct bridge_pool *bp, bridge_cb cb, void *arg,
    struct bconn **got)
{
	const struct bridge_config	*bc;
	struct dial_spec		 spec;
	struct bconn			*b;

	if ((b = TAILQ_FIRST(&bp->idle)) != NULL) {
		TAILQ_REMOVE(&bp->idle, b, entry);
		bp->nidle--;
		ev_timer_stop(bp->px->loop, &b->idle);
		b->st = B_OWNED;
		*got = b;
		return (0);
	}
	if (bp->conf == NULL || (b = calloc(1, sizeof(*b))) == NULL)
		return (-1);
	bc = &bp->conf->bridge;
	b->pool = bp;
	b->gen = bp->gen;
	b->cb = cb;
	b->arg = arg;
	b->st = B_DIAL;
	ev_init(&b->idle, NULL);
	b->idle.data = b;
	memset(&spec, 0, sizeof(spec));
	spec.label = "bridge";
	spec.host = bc->bc_host;
	spec.port = bc->bc_port;
	spec.via_upstream = upstream_for_bridge(bp->conf);
	spec.up_connect = 1;
	spec.tls = bc->bc_tls ? bp->tlscfg : NULL;
	dial_start(&b->dial, bp->px, bp->conf, &spec, bridge_dialed, b);
	*got = b;
	return (1);
}

void
bridge_cancel(struct bconn *b)
{
	if (b != NULL)
		bridge_free(b);
}

/* An idle connection that becomes readable was closed by the bridge. */
static void
bridge_idle_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct bconn	*b = w->data;
	uint8_t		 junk[256];
	ssize_t		 n;

	if (b->st != B_IDLE)
		return;
	n = endpoint_read(b->ep, junk, sizeof(junk));
	if (n == EP_AGAIN) {
		endpoint_arm(loop, b->ep, 1, 0);
		return;
	}
	log_debug("bridge: pooled connection %s", n == 0 ? "closed by the "
	    "bridge" : "got unexpected bytes");
	bridge_free(b);
}

static void
bridge_idle_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	bridge_free(w->data);
}

/*
 * Bytes after a complete response answer no request (RFC 9112 section
 * 9.5): on a pooled connection the next request, maybe another user's,
 * would take them for the start of its own answer.  They may be in the
 * caller's buffer (extra), in the endpoint's read-ahead or inside TLS,
 * where the socket no longer signals them: only a read that would block
 * says there are none.  After a short read of a drained socket that
 * read costs no system call (endpoint_read's dry and tlsquiet).
 * 0: clean; -1: close it (logged).
 */
static int
bridge_clean(struct bconn *b, size_t extra)
{
	const struct bridge_config	*bc = &b->pool->conf->bridge;
	uint8_t				 junk[4096];
	size_t				 stray = extra;
	ssize_t				 n = EP_AGAIN;
	int				 i;

	for (i = 0; i < BRIDGE_TAIL_READS; i++) {
		if ((n = endpoint_read(b->ep, junk, sizeof(junk))) <= 0)
			break;
		stray += n;
	}
	if (stray > 0) {
		log_limited(&bridge_tail_ll, "bridge %s:%d: %s%zu bytes after "
		    "a complete response: connection closed, not reused",
		    bc->bc_host, bc->bc_port, n > 0 ? "at least " : "", stray);
		return (-1);
	}
	if (n == EP_AGAIN)
		return (0);
	log_debug("bridge: connection %s after a response", n == 0 ?
	    "closed by the bridge" : "failed");
	return (-1);
}

void
bridge_put(struct bconn *b, int reusable, size_t extra)
{
	struct bridge_pool	*bp = b->pool;
	struct endpoint		*ep = b->ep;

	if (!reusable || b->st != B_OWNED || b->gen != bp->gen ||
	    bp->nidle >= BRIDGE_IDLE_MAX || ep->eof || ep->fd == -1 ||
	    bridge_clean(b, extra) == -1) {
		bridge_free(b);
		return;
	}
	b->st = B_IDLE;
	ev_set_cb(&ep->io, bridge_idle_io);
	ep->io.data = b;
	/* The most recently used first: one client keeps one connection. */
	TAILQ_INSERT_HEAD(&bp->idle, b, entry);
	bp->nidle++;
	endpoint_arm(bp->px->loop, ep, 1, 0);
	ev_timer_init(&b->idle, bridge_idle_timer, BRIDGE_IDLE_TIMEOUT, 0.);
	b->idle.data = b;
	ev_timer_start(bp->px->loop, &b->idle);
}

/*
 * The bridge has nothing to say before it is sent a request: the first
 * read waits for readiness rather than fail with EAGAIN right after the
 * write.  A pooled socket that closed meanwhile is still readable, so
 * level-triggered epoll reports it all the same.
 */
struct endpoint *
bridge_endpoint(struct bconn *b, ev_io_cb cb, void *data)
{
	ev_set_cb(&b->ep->io, cb);
	b->ep->io.data = data;
	b->ep->dry = 1;
	return (b->ep);
}
