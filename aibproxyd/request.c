/*
 * A client's first request: a PROXY protocol header on a listener
 * behind a balancer (proxyhdr.c), the TLS handshake on a TLS listener,
 * the proxy request head within timeouts.header from accept, and dispatch
 * to a page, the metrics, a tunnel, a forwarded request or an
 * interception, each of which then takes the session over.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admit.h"
#include "auth.h"
#include "hostname.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "pages.h"
#include "policy.h"
#include "proxyhdr.h"
#include "request.h"
#include "session.h"
#include "tunnel.h"
#include "upstream.h"

static void	request_head(struct session *);
static void	request_tls_accept(struct session *);

static void
request_arm(struct session *s)
{
	endpoint_arm(s->px->loop, &s->client, 1, 0);
}

static void
request_tls_io(struct session *s, int revents)
{
	request_tls_accept(s);
}

static void
request_tls_timeout(struct session *s)
{
	s->px->stats.st_tls_fail[TLSSTAGE_LISTENER][TLSFAIL_TIMEOUT]++;
	session_free(s, "TLS handshake timed out");
}

/* A TLS listener's client: the handshake comes first. */
static const struct session_ops request_tls_ops = {
	.name = "TLS accept",
	.io = request_tls_io,
	.timeout = request_tls_timeout,
};

static void
request_head_io(struct session *s, int revents)
{
	request_head(s);
}

static void
request_head_timeout(struct session *s)
{
	if (buf_len(&s->cbuf) == 0) {
		session_free(s, "no request in time");
		return;
	}
	log_info("conn %llu %s: request head not complete within "
	    "timeouts.header", (unsigned long long)s->id, s->peer);
	session_reply(s, 408, NULL, NULL);
}

static int
request_head_idle(const struct session *s)
{
	return (buf_len(&s->cbuf) == 0);
}

/* Reading the proxy request head. */
static const struct session_ops request_head_ops = {
	.name = "request",
	.io = request_head_io,
	.timeout = request_head_timeout,
	.idle = request_head_idle,
};

/*
 * The whole head within timeouts.header of from: a slow sender gains
 * nothing.  aibproxyd.yaml(5): from the accept on a plain listener, a
 * PROXY header's time included; on a TLS listener from the end of the
 * handshake, which has timeouts.handshake of its own.
 */
static void
request_read_head(struct session *s, ev_tstamp from)
{
	session_become(s, &request_head_ops, NULL);
	session_set_deadline(s, from,
	    session_ms(s->conf->gc.gc_timeout_header));
	request_head(s);
}

static void
request_tls_accept(struct session *s)
{
	int	 r;

	if ((r = endpoint_handshake(&s->client)) == EP_AGAIN) {
		request_arm(s);
		return;
	}
	if (r == -1) {
		s->px->stats.st_tls_fail[TLSSTAGE_LISTENER][stats_tls_reason(
		    endpoint_error(&s->client))]++;
		log_info("conn %llu %s: TLS handshake failed: %s",
		    (unsigned long long)s->id, s->peer,
		    endpoint_error(&s->client));
		session_free(s, NULL);
		return;
	}
	request_read_head(s, ev_now(s->px->loop));
}

void
request_accepted(struct session *s, struct plistener *l)
{
	if (l->tls == NULL) {
		request_read_head(s, s->started);
		return;
	}
	session_become(s, &request_tls_ops, NULL);
	if (endpoint_tls_accept(&s->client, l->tls) == -1) {
		/* No session yet: the reason is on the listener's context. */
		log_warnx("conn %llu %s: TLS accept: %s",
		    (unsigned long long)s->id, s->peer, tls_error(l->tls));
		session_free(s, "TLS accept failed");
		return;
	}
	session_set_timeout(s, session_ms(s->conf->gc.gc_timeout_handshake));
	request_tls_accept(s);
}

void
request_start(struct session *s, struct plistener *l)
{
	if (l->lc.lc_proxy_protocol)
		proxyhdr_start(s, l);
	else
		request_accepted(s, l);
}

/* host:port of a CONNECT or of an absolute-form URL's authority. */
static int
request_target(struct session *s, const char *authority)
{
	char		 host[AIB_HOSTNAME_MAX + 1];
	char		 canon[AIB_HOSTNAME_MAX + 1];
	const char	*why;

	if (host_split_port(authority, host, sizeof(host), &s->port) == -1)
		return (-1);
	if (!host_is_ip(host) && host_canon(host, canon, sizeof(canon),
	    &why) == -1)
		return (-1);
	return (session_set_host(s, host_is_ip(host) ? host : canon));
}

/*
 * A 403 for the lists or a provider host: the body says which kind of
 * rule refused, never which rule (that goes to the log only).
 */
static void
request_policy_refuse(struct session *s)
{
	s->px->stats.st_refused[REFUSED_POLICY]++;
	session_reply(s, 403, NULL, "destination not allowed by policy\n");
}

/* tunnel.allow and tunnel.deny, by name, before any lookup. */
static int
request_policy(struct session *s, const struct http_head *h)
{
	const struct egress_config	*hit;

	switch (policy_egress(s->conf->egress, s->conf->negress, s->host,
	    &hit)) {
	case POLICY_PASS:
		return (0);
	case POLICY_DENIED:
		log_warnx("conn %llu %s: refusing %s %s:%d: matches "
		    "tunnel.deny \"%s\"", (unsigned long long)s->id, s->peer,
		    h->method, s->host, s->port, hit->eg_pattern);
		break;
	case POLICY_NOT_ALLOWED:
		log_warnx("conn %llu %s: refusing %s %s:%d: not in "
		    "tunnel.allow", (unsigned long long)s->id, s->peer,
		    h->method, s->host, s->port);
		break;
	}
	request_policy_refuse(s);
	return (-1);
}

/*
 * Port and name policy, then credentials when tunnels need them: 0
 * with *token set (or empty when none are needed), or -1 answered.  A
 * destination that is refused anyway costs no credential check.
 */
static int
request_may_tunnel(struct session *s, const struct http_head *h,
    char *token, size_t len)
{
	token[0] = '\0';
	if (!policy_port_allowed(&s->conf->gc, s->port)) {
		log_warnx("conn %llu %s: refusing %s %s:%d: port not allowed",
		    (unsigned long long)s->id, s->peer, h->method, s->host,
		    s->port);
		s->px->stats.st_refused[REFUSED_PORT]++;
		session_reply(s, 403, NULL, NULL);
		return (-1);
	}
	if (request_policy(s, h) == -1)
		return (-1);
	if (s->conf->gc.gc_tunnel_auth != TUNNEL_AUTH_TOKEN)
		return (0);
	return (admit_credentials(s, h, token, len));
}

static void
request_connect(struct session *s, const struct http_head *h)
{
	const struct provider_config	*pv;
	char				 token[AUTH_TOKEN_MAX];

	if (request_target(s, h->target) == -1) {
		session_reply(s, 400, NULL, NULL);
		return;
	}
	if ((pv = proxy_provider(s->conf, s->host)) != NULL) {
		if (!policy_port_allowed(&s->conf->gc, s->port)) {
			s->px->stats.st_refused[REFUSED_PORT]++;
			session_reply(s, 403, NULL, NULL);
			return;
		}
		if (admit_credentials(s, h, token, sizeof(token)) == 0)
			admit(s, token, pv, NULL);
	} else if (request_may_tunnel(s, h, token, sizeof(token)) == 0)
		admit(s, token[0] != '\0' ? token : NULL, NULL, NULL);
	explicit_bzero(token, sizeof(token));
}

/*
 * The forwarded request head, hop-by-hop fields removed: origin-form
 * to the origin, or absolute-form with our own credentials to the
 * upstream proxy (never the client's).  RFC 9112 3.2.2: with an
 * absolute-form target the authority is the host, whatever Host said.
 */
static int
request_forward_head(struct session *s, const struct http_head *h,
    const char *authority, const char *path, struct buf *out)
{
	const struct upstream_config	*uc = &s->conf->upstream;
	int				 i;

	if (upstream_for_tunnels(s->conf)) {
		if (buf_printf(out, "%s http://%s%s HTTP/1.1\r\n", h->method,
		    authority, path) == -1)
			return (-1);
		if (uc->uc_auth[0] != '\0' && buf_printf(out,
		    "Proxy-Authorization: %s\r\n", uc->uc_auth) == -1)
			return (-1);
	} else if (buf_printf(out, "%s %s HTTP/1.1\r\n", h->method,
	    path) == -1)
		return (-1);
	if (buf_printf(out, "Host: %s\r\n", authority) == -1)
		return (-1);
	for (i = 0; i < h->nheaders; i++) {
		const char	*n = h->headers[i].name;

		if (h->headers[i].field == HF_HOST || http_hop_header(h, i))
			continue;
		if (http_header_line(out, n, h->headers[i].value) == -1)
			return (-1);
	}
	return (buf_addstr(out, "Connection: close\r\n\r\n"));
}

static void
request_forward(struct session *s, const struct http_head *h)
{
	char			 authority[AIB_HOSTNAME_MAX + 8];
	char			 hostport[AIB_HOSTNAME_MAX + 8];
	const char		*p = h->target + 7, *slash;
	struct tunnel_forward	 fw;
	char			 token[AUTH_TOKEN_MAX];
	size_t			 n;

	if ((slash = strchr(p, '/')) == NULL)
		slash = p + strlen(p);
	n = slash - p;
	if (n == 0 || n >= sizeof(authority) || memchr(p, '@', n) != NULL) {
		session_reply(s, 400, NULL, NULL);
		return;
	}
	memcpy(authority, p, n);
	authority[n] = '\0';
	/* No port means 80 for http://. */
	strlcpy(hostport, authority, sizeof(hostport));
	if (strchr(authority, ':') == NULL || (authority[0] == '[' &&
	    authority[n - 1] == ']'))
		strlcat(hostport, ":80", sizeof(hostport));
	if (request_target(s, hostport) == -1) {
		session_reply(s, 400, NULL, NULL);
		return;
	}
	/* Provider hosts are reached only through the bridge. */
	if (proxy_provider(s->conf, s->host) != NULL) {
		log_warnx("conn %llu %s: refusing %s %s:%d: a provider host, "
		    "reached only by CONNECT", (unsigned long long)s->id,
		    s->peer, h->method, s->host, s->port);
		request_policy_refuse(s);
		return;
	}
	if (request_may_tunnel(s, h, token, sizeof(token)) == -1)
		return;
	if (h->upgrade) {
		explicit_bzero(token, sizeof(token));
		session_reply(s, 501, NULL, NULL);
		return;
	}
	buf_init(&fw.head, s->conf->gc.gc_header_bytes + 8192);
	if (request_forward_head(s, h, authority, *slash ? slash : "/",
	    &fw.head) == -1) {
		buf_free(&fw.head);
		explicit_bzero(token, sizeof(token));
		session_reply(s, 431, NULL, NULL);
		return;
	}
	http_body_init(&fw.body, h);
	admit(s, token[0] != '\0' ? token : NULL, NULL, &fw);
	explicit_bzero(token, sizeof(token));
}

static void
request_dispatch(struct session *s, const struct http_head *h)
{
	if (s->metrics)
		metrics_serve(s, h);
	else if (strcmp(h->method, "CONNECT") == 0)
		request_connect(s, h);
	else if (strncasecmp(h->target, "http://", 7) == 0)
		request_forward(s, h);
	else if (h->target[0] == '/')
		page_serve(s, h);
	else
		session_reply(s, 400, NULL, NULL);
}

static void
request_head(struct session *s)
{
	struct http_head	 h;
	struct http_error	 err;
	ssize_t			 n;

	for (;;) {
		switch (http_parse_request((const char *)buf_rptr(&s->cbuf),
		    buf_len(&s->cbuf), s->conf->gc.gc_header_bytes, &h,
		    &err)) {
		case HTTP_COMPLETE:
			buf_consume(&s->cbuf, h.size);
			request_dispatch(s, &h);
			http_head_free(&h);
			return;
		case HTTP_ERROR:
			log_info("conn %llu %s: bad request: %s",
			    (unsigned long long)s->id, s->peer, err.why);
			session_reply(s, err.status, NULL, NULL);
			return;
		case HTTP_INCOMPLETE:
			break;
		}
		n = endpoint_fill(&s->client, &s->cbuf);
		if (n == EP_AGAIN) {
			request_arm(s);
			return;
		}
		if (n <= 0) {
			session_free(s, n == 0 ? "client closed" :
			    "read error");
			return;
		}
		session_touch(s);
	}
}
