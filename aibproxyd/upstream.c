#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "pconf.h"
#include "upstream.h"

#define UP_HEAD_MAX	(16 * 1024)

static struct tls_config	*up_tlscfg;

int
upstream_configure(struct proxy_conf *pc, char *why, size_t len)
{
	struct tls_config	*cfg = NULL;

	if (pc->upstream.uc_enabled && pc->upstream.uc_tls) {
		/* Its own trust store: never the bridge's (reference 9.9). */
		if ((cfg = tls_config_new()) == NULL)
			return (snprintf(why, len, "out of memory"), -1);
		if (tls_config_set_ca_mem(cfg, pc->upstream_ca,
		    pc->upstream_calen) == -1) {
			snprintf(why, len, "upstream.ca: %s",
			    tls_config_error(cfg));
			tls_config_free(cfg);
			return (-1);
		}
	}
	tls_config_free(up_tlscfg);
	up_tlscfg = cfg;
	return (0);
}

int
upstream_for_tunnels(const struct proxy_conf *pc)
{
	return (pc->upstream.uc_enabled);
}

int
upstream_for_bridge(const struct proxy_conf *pc)
{
	return (pc->upstream.uc_enabled && pc->upstream.uc_bridge);
}

void
upstream_clear(struct upconnect *u)
{
	buf_free(&u->out);
	buf_free(&u->in);
}

static int
upstream_request(struct upconnect *u, const struct upstream_config *uc,
    const char *host, int port)
{
	const char	*l = "", *r = "";

	/* An IPv6 literal needs its brackets back in an authority. */
	if (strchr(host, ':') != NULL) {
		l = "[";
		r = "]";
	}
	if (buf_printf(&u->out, "CONNECT %s%s%s:%d HTTP/1.1\r\n"
	    "Host: %s%s%s:%d\r\n", l, host, r, port, l, host, r, port) == -1)
		return (-1);
	if (uc->uc_auth[0] != '\0' && (buf_addstr(&u->out,
	    "Proxy-Authorization: ") == -1 || buf_addstr(&u->out,
	    uc->uc_auth) == -1 || buf_addstr(&u->out, "\r\n") == -1))
		return (-1);
	return (buf_addstr(&u->out, "\r\n"));
}

int
upstream_begin(struct upconnect *u, struct endpoint *ep,
    const struct upstream_config *uc, const char *host, int port,
    char *why, size_t len)
{
	struct tls	*ctx;

	memset(u, 0, sizeof(*u));
	buf_init(&u->out, AIB_CRED_MAX + 2 * AIB_HOSTNAME_MAX + 128);
	buf_init(&u->in, UP_HEAD_MAX);
	/* host NULL: only the TLS session, for forwarded requests. */
	if (host != NULL && upstream_request(u, uc, host, port) == -1) {
		snprintf(why, len, "CONNECT request does not fit");
		return (-1);
	}
	u->tunnel = host != NULL;
	u->st = UP_REQUEST;
	if (!uc->uc_tls)
		return (0);
	if ((ctx = tls_client()) == NULL)
		return (snprintf(why, len, "out of memory"), -1);
	if (up_tlscfg == NULL || tls_configure(ctx, up_tlscfg) == -1 ||
	    endpoint_tls_connect(ep, ctx, uc->uc_host) == -1) {
		snprintf(why, len, "TLS to the upstream: %s", tls_error(ctx));
		if (ep->tls != ctx)
			tls_free(ctx);
		return (-1);
	}
	u->st = UP_HANDSHAKE;
	return (0);
}

static int
upstream_answer(struct upconnect *u, char *why, size_t len)
{
	struct http_head	 h;
	struct http_error	 err;

	switch (http_parse_response((const char *)buf_rptr(&u->in),
	    buf_len(&u->in), UP_HEAD_MAX, 0, 1, &h, &err)) {
	case HTTP_INCOMPLETE:
		return (0);
	case HTTP_ERROR:
		snprintf(why, len, "bad answer from the upstream: %s",
		    err.why);
		return (-1);
	case HTTP_COMPLETE:
		break;
	}
	buf_consume(&u->in, h.size);
	u->status = h.status;
	if (h.status >= 200 && h.status < 300) {
		http_head_free(&h);
		u->st = UP_DONE;
		return (1);
	}
	/* 1xx before the answer: keep reading. */
	if (h.status < 200) {
		http_head_free(&h);
		return (0);
	}
	snprintf(why, len, "the upstream answered %d %s", h.status,
	    h.reason);
	http_head_free(&h);
	return (-1);
}

int
upstream_step(struct upconnect *u, struct endpoint *ep, char *why,
    size_t len)
{
	ssize_t	 n;
	int	 r;

	for (;;) {
		switch (u->st) {
		case UP_HANDSHAKE:
			if ((r = endpoint_handshake(ep)) == EP_AGAIN)
				return (0);
			if (r == -1) {
				snprintf(why, len, "TLS with the upstream: %s",
				    endpoint_error(ep));
				return (-1);
			}
			u->st = UP_REQUEST;
			break;
		case UP_REQUEST:
			if (!u->tunnel) {
				/* TLS only: nothing to ask. */
				u->st = UP_DONE;
				return (1);
			}
			if ((n = endpoint_flush(ep, &u->out)) == -1) {
				snprintf(why, len, "writing to the upstream: "
				    "%s", endpoint_error(ep));
				return (-1);
			}
			if (buf_len(&u->out) > 0)
				return (0);
			u->st = UP_RESPONSE;
			break;
		case UP_RESPONSE:
			if ((r = upstream_answer(u, why, len)) != 0)
				return (r);
			n = endpoint_fill(ep, &u->in);
			if (n == EP_AGAIN)
				return (0);
			if (n <= 0) {
				snprintf(why, len, "the upstream closed the "
				    "connection%s", n == 0 ? "" : " (error)");
				return (-1);
			}
			break;
		case UP_DONE:
			return (1);
		}
	}
}

void
upstream_interest(const struct upconnect *u, int *rd, int *wr)
{
	*rd = u->st == UP_HANDSHAKE || u->st == UP_RESPONSE;
	*wr = u->st == UP_REQUEST;
}
