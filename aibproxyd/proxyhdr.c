/*
 * A listener with proxy_protocol sits behind a load balancer (HAProxy
 * send-proxy or send-proxy-v2, a cloud TCP balancer): the connection
 * comes from the balancer and opens with a PROXY protocol header that
 * names the client.  This first phase reads that header and nothing
 * past it that it does not hand on: on a plain listener the bytes
 * after it stay in cbuf for the request head, on a TLS listener they
 * go to the handshake (endpoint_unread()).  The client's address then
 * replaces the balancer's in the session (session_set_peer()), so the
 * logs, the audit lines, the auth failure throttle and the metrics
 * see the client.  A v2 LOCAL header (the balancer's own health
 * check) or a v1 UNKNOWN keeps the balancer's address.
 *
 * A connection without a valid header is closed without an answer:
 * the peer is a balancer, and an HTTP error would go to whichever
 * client it forwards.  The phase runs under timeouts.header from the
 * accept; on a plain listener the same deadline then runs on to the end
 * of the request head (request_accepted()), so a client that sends the
 * header late has that much less time for the head, as aibproxyd.yaml(5)
 * says: timeouts.header counts from the accept for the first request.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <string.h>

#include "log.h"
#include "policy.h"
#include "proxyhdr.h"
#include "proxyproto.h"
#include "request.h"
#include "session.h"

#define PROXYHDR_LOG_EVERY	10	/* seconds between refusal lines */

/* One limit per reason: a flood of one kind hides no other. */
static struct log_limit	 proxyhdr_ll[PPERR_MAX] = {
	LOG_LIMIT_INITIALIZER(PROXYHDR_LOG_EVERY),
	LOG_LIMIT_INITIALIZER(PROXYHDR_LOG_EVERY),
	LOG_LIMIT_INITIALIZER(PROXYHDR_LOG_EVERY),
	LOG_LIMIT_INITIALIZER(PROXYHDR_LOG_EVERY),
	LOG_LIMIT_INITIALIZER(PROXYHDR_LOG_EVERY),
};

int
proxyhdr_allowed(struct proxy *px, const struct plistener *l,
    const struct sockaddr_storage *ss)
{
	const struct listen_config	*lc = &l->lc;
	const uint8_t			*addr;
	char				 peer[64];
	int				 i, af = ss->ss_family;

	if (!lc->lc_proxy_protocol || lc->lc_nproxy_from == 0)
		return (1);
	if (af == AF_INET)
		addr = (const uint8_t *)&((const struct sockaddr_in *)ss)->
		    sin_addr;
	else if (af == AF_INET6)
		addr = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
	else
		addr = NULL;
	for (i = 0; addr != NULL && i < lc->lc_nproxy_from; i++)
		if (policy_cidr_match(&lc->lc_proxy_from[i], af, addr))
			return (1);
	px->stats.st_proxyproto[PPERR_PEER]++;
	session_addr_text(ss, peer, sizeof(peer), NULL, 0);
	log_limited(&proxyhdr_ll[PPERR_PEER], "listen %s: refusing %s: not "
	    "in proxy_from", lc->lc_name, peer);
	return (0);
}

/* Closed without an answer, counted and logged with the reason. */
static void
proxyhdr_refuse(struct session *s, int reason, const char *why)
{
	s->px->stats.st_proxyproto[reason]++;
	log_limited(&proxyhdr_ll[reason], "conn %llu %s: closing: PROXY "
	    "protocol header: %s", (unsigned long long)s->id, s->peer, why);
	session_free(s, NULL);
}

static void
proxyhdr_done(struct session *s, struct plistener *l,
    const struct proxyproto *pp)
{
	char	 via[sizeof(s->peer)];

	buf_consume(&s->cbuf, pp->pp_size);
	if (!pp->pp_local) {
		strlcpy(via, s->peer, sizeof(via));
		session_set_peer(s, &pp->pp_src);
		log_debug("conn %llu %s: PROXY v%d header from %s",
		    (unsigned long long)s->id, s->peer, pp->pp_version, via);
	} else
		log_debug("conn %llu %s: PROXY v%d header without a client "
		    "address", (unsigned long long)s->id, s->peer,
		    pp->pp_version);
	/* Whatever came with the header is the handshake's. */
	if (l->tls != NULL && endpoint_unread(&s->client, &s->cbuf) == -1) {
		log_warnx("conn %llu %s: out of memory", (unsigned long long)
		    s->id, s->peer);
		session_free(s, NULL);
		return;
	}
	request_accepted(s, l);
}

static void
proxyhdr_read(struct session *s)
{
	struct plistener	*l = s->kind;
	struct proxyproto	 pp;
	ssize_t			 n;

	for (;;) {
		switch (proxyproto_parse(buf_rptr(&s->cbuf),
		    buf_len(&s->cbuf), &pp)) {
		case PROXYPROTO_DONE:
			proxyhdr_done(s, l, &pp);
			return;
		case PROXYPROTO_BAD:
			proxyhdr_refuse(s, pp.pp_missing ? PPERR_MISSING :
			    PPERR_MALFORMED, pp.pp_why);
			return;
		case PROXYPROTO_MORE:
			break;
		}
		n = endpoint_fill(&s->client, &s->cbuf);
		if (n == EP_AGAIN) {
			endpoint_arm(s->px->loop, &s->client, 1, 0);
			return;
		}
		if (n == 0 && buf_len(&s->cbuf) == 0) {
			/*
			 * A balancer's plain TCP check: connect, then
			 * close.  No error, so no count: a debug line.
			 */
			session_free(s, "closed before a PROXY header");
			return;
		}
		if (n <= 0) {
			proxyhdr_refuse(s, PPERR_CLOSED, n == 0 ?
			    "closed before it was whole" : "read error");
			return;
		}
		session_touch(s);
	}
}

static void
proxyhdr_io(struct session *s, int revents)
{
	proxyhdr_read(s);
}

static void
proxyhdr_timeout(struct session *s)
{
	proxyhdr_refuse(s, PPERR_TIMEOUT, "not whole within timeouts.header");
}

static int
proxyhdr_idle(const struct session *s)
{
	return (buf_len(&s->cbuf) == 0);
}

static const struct session_ops proxyhdr_ops = {
	.name = "PROXY header",
	.io = proxyhdr_io,
	.timeout = proxyhdr_timeout,
	.idle = proxyhdr_idle,
};

void
proxyhdr_start(struct session *s, struct plistener *l)
{
	/* The kind's state is the listener: nothing to allocate. */
	session_become(s, &proxyhdr_ops, l);
	session_set_deadline(s, s->started,
	    session_ms(s->conf->gc.gc_timeout_header));
	proxyhdr_read(s);
}
