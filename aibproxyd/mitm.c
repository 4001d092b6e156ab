/*
 * Interception (SPEC 4.1, 4.2): a leaf from signerd, "200 Connection
 * established", TLS with the client, then a keep-alive loop in which
 * every request goes to the bridge, rewritten, and its response comes
 * back as it streams.  Nothing is ever sent to the provider itself.
 * Failures are answered inside the client's TLS session.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridge.h"
#include "certs.h"
#include "conn.h"
#include "hostname.h"
#include "log.h"
#include "mitm.h"
#include "proxy.h"

#define MITM_ROUNDS		16
#define MITM_RESP_HEAD_MAX	(64 * 1024)

static void	mitm_loop(struct conn *);

static void	mitm_audit(struct conn *, const char *);

static int
mitm_fail(struct conn *c, const char *why)
{
	if (c->mitm->inflight)
		mitm_audit(c, why);
	log_info("conn %llu %s: %s %s: %s", (unsigned long long)c->id,
	    c->peer, c->mitm->pv.pc_name, c->host, why);
	conn_free(c, why);
	return (-1);
}

void
mitm_free(struct conn *c)
{
	struct mitm	*m = c->mitm;

	bridge_cancel(m->bcwait);
	if (m->bc != NULL)
		bridge_put(m->bc, 0);
	endpoint_close(proxy_env.loop, &m->inner);
	dump_close(&m->dreq);
	dump_close(&m->dresp);
	buf_free(&m->tob);
	buf_free(&m->toc);
	explicit_bzero(m->token, sizeof(m->token));
	free(m);
	c->mitm = NULL;
}

/*
 * One audit line per request (SPEC 6), cut short or not; never the
 * token itself.  Bytes are the whole messages, heads included.
 */
static void
mitm_audit(struct conn *c, const char *outcome)
{
	struct mitm		*m = c->mitm;
	struct stats_provider	*sp;
	double			 secs = ev_now(proxy_env.loop) - m->t0;

	m->inflight = 0;
	dump_close(&m->dreq);
	dump_close(&m->dresp);
	if (m->routed && (sp = stats_provider(&pstats, m->pv.pc_name))) {
		sp->sp_inflight--;
		stats_response(sp, m->status, secs);
	}
	m->routed = 0;
	log_info("request %s client %s provider %s %s %s status %d "
	    "up %llu down %llu %.3fs token %s%s%s", m->reqid, c->peer,
	    m->pv.pc_name, m->method, m->path, m->status,
	    (unsigned long long)(m->cep->rbytes - m->up0),
	    (unsigned long long)(m->cep->wbytes - m->down0),
	    secs, m->tokenid[0] ? m->tokenid : "-", outcome ? ": " : "",
	    outcome ? outcome : "");
}

/* Our own answer inside the TLS session; the loop writes it. */
static void
mitm_answer(struct conn *c, int status, int close_after)
{
	struct mitm	*m = c->mitm;
	const char	*text = http_status_text(status);

	if (m->bc != NULL) {
		bridge_put(m->bc, 0);
		m->bc = NULL;
		m->bep = NULL;
	}
	bridge_cancel(m->bcwait);
	m->bcwait = NULL;
	buf_free(&m->tob);
	buf_free(&m->toc);
	m->status = status;
	m->close_after = close_after || m->client_close;
	if (buf_printf(&m->toc, "HTTP/1.1 %d %s\r\nContent-Type: text/plain"
	    "\r\nContent-Length: %zu\r\n%s\r\n%s", status, text, strlen(text),
	    m->close_after ? "Connection: close\r\n" : "", text) == -1)
		m->close_after = 1;
	m->st = M_ANSWER;
}

static void
mitm_bridge_io(struct ev_loop *loop, ev_io *w, int revents)
{
	mitm_run(w->data, revents);
}

static void
mitm_attach(struct conn *c, struct bconn *bc)
{
	struct mitm	*m = c->mitm;

	m->bc = bc;
	m->bep = bridge_endpoint(bc, mitm_bridge_io, c);
	m->st = M_EXCHANGE;
	conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_idle));
}

static void
mitm_bridge_cb(void *arg, struct bconn *bc, const char *why)
{
	struct conn	*c = arg;
	struct mitm	*m = c->mitm;

	m->bcwait = NULL;
	if (bc != NULL)
		mitm_attach(c, bc);
	else
		mitm_answer(c, 502, 1);
	mitm_loop(c);
}

static void
mitm_log_target(struct mitm *m, const struct http_head *h)
{
	size_t	 n;

	strlcpy(m->method, h->method, sizeof(m->method));
	/* The path only: a query may carry a key. */
	n = strcspn(h->target, "?");
	if (n >= sizeof(m->path))
		n = sizeof(m->path) - 1;
	memcpy(m->path, h->target, n);
	m->path[n] = '\0';
}

/* A complete request head: check, rewrite, and get a bridge. */
static void
mitm_begin(struct conn *c, const struct http_head *h)
{
	struct mitm			*m = c->mitm;
	const struct provider_config	*pv;
	struct stats_provider		*sp;
	struct rewrite_ctx		 ctx;
	const char			*why;
	int				 status;

	uuid4(m->reqid);
	mitm_log_target(m, h);
	m->head_request = strcmp(h->method, "HEAD") == 0;
	m->client_close = h->close;
	m->t0 = ev_now(proxy_env.loop);
	m->up0 = m->cep->rbytes - buf_len(&c->cbuf) - h->size;
	m->down0 = m->cep->wbytes;
	m->inflight = 1;
	m->resp_head = 0;
	m->status = 0;
	m->reqready = m->respready = 0;
	http_body_init(&m->reqbody, h);
	/*
	 * Each request follows the configuration in force now: a host
	 * that stopped being a provider must never be passed through.
	 */
	if ((pv = proxy_provider(proxy_env.conf, c->host)) == NULL) {
		log_warnx("request %s client %s: %s is no longer a provider",
		    m->reqid, c->peer, c->host);
		mitm_answer(c, 421, 1);
		return;
	}
	m->pv = *pv;
	if (h->upgrade) {
		mitm_answer(c, 501, h->framing != HTTP_BODY_NONE);
		return;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.bridge = &proxy_env.conf->bridge;
	ctx.provider = &m->pv;
	ctx.host = c->host;
	ctx.port = c->port;
	ctx.token = m->token;
	ctx.request_id = m->reqid;
	if (rewrite_request(&ctx, h, &m->tob, &status, &why) == -1) {
		log_warnx("request %s client %s: refused: %s", m->reqid,
		    c->peer, why);
		mitm_answer(c, status, 1);
		return;
	}
	dump_open(&m->dreq, proxy_env.conf->dumpfd, m->pv.pc_name, m->reqid,
	    "req");
	dump_head(&m->dreq, (const char *)buf_rptr(&m->tob), buf_len(&m->tob));
	if ((sp = stats_provider(&pstats, m->pv.pc_name)) != NULL) {
		sp->sp_requests++;
		sp->sp_inflight++;
		m->routed = 1;
	}
	if ((m->bc = bridge_get(mitm_bridge_cb, c, &m->bcwait)) != NULL) {
		mitm_attach(c, m->bc);
		return;
	}
	if (m->bcwait != NULL) {
		m->st = M_BRIDGE_WAIT;
		conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_connect));
	}
}

static int
mitm_request_head(struct conn *c)
{
	struct mitm		*m = c->mitm;
	struct http_head	 h;
	struct http_error	 err;
	size_t			 had = buf_len(&c->cbuf);
	ssize_t			 n;

	switch (http_parse_request((const char *)buf_rptr(&c->cbuf),
	    buf_len(&c->cbuf), c->conf->gc.gc_header_bytes, &h, &err)) {
	case HTTP_COMPLETE:
		buf_consume(&c->cbuf, h.size);
		mitm_begin(c, &h);
		http_head_free(&h);
		return (1);
	case HTTP_ERROR:
		log_info("conn %llu %s: bad request: %s",
		    (unsigned long long)c->id, c->peer, err.why);
		strlcpy(m->method, "-", sizeof(m->method));
		strlcpy(m->path, "-", sizeof(m->path));
		uuid4(m->reqid);
		m->t0 = ev_now(proxy_env.loop);
		mitm_answer(c, err.status, 1);
		return (1);
	case HTTP_INCOMPLETE:
		break;
	}
	n = endpoint_fill(m->cep, &c->cbuf);
	if (n == EP_AGAIN)
		return (0);
	if (n <= 0) {
		conn_free(c, n == 0 ? "client closed" : "client read error");
		return (-1);
	}
	/* The first byte of a request starts the header clock. */
	if (had == 0)
		conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_header));
	return (1);
}

static int
mitm_skip_header(const char *name, const char *conn_hdr)
{
	static const char	*hop[] = { "Connection", "Keep-Alive",
	    "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	    "TE", "Upgrade" };
	size_t			 i;

	for (i = 0; i < nitems(hop); i++)
		if (strcasecmp(name, hop[i]) == 0)
			return (1);
	return (conn_hdr != NULL && http_token_in(conn_hdr, name));
}

/* The response head as the client gets it: hop-by-hop removed. */
static int
mitm_response_head(struct conn *c, const struct http_head *h)
{
	struct mitm	*m = c->mitm;
	const char	*conn_hdr = http_header(h, "Connection");
	int		 i;

	if (buf_printf(&m->toc, "HTTP/1.1 %d %s\r\n", h->status,
	    h->reason) == -1)
		return (-1);
	for (i = 0; i < h->nheaders; i++) {
		if (mitm_skip_header(h->headers[i].name, conn_hdr))
			continue;
		if (buf_printf(&m->toc, "%s: %s\r\n", h->headers[i].name,
		    h->headers[i].value) == -1)
			return (-1);
	}
	if (h->status >= 200 && (m->client_close ||
	    h->framing == HTTP_BODY_CLOSE)) {
		m->client_close = 1;
		if (buf_addstr(&m->toc, "Connection: close\r\n") == -1)
			return (-1);
	}
	return (buf_addstr(&m->toc, "\r\n"));
}

static int
mitm_parse_response(struct conn *c, int *bridge_close)
{
	struct mitm		*m = c->mitm;
	struct http_head	 h;
	struct http_error	 err;

	switch (http_parse_response((const char *)buf_rptr(&c->sbuf),
	    buf_len(&c->sbuf), MITM_RESP_HEAD_MAX, m->head_request, 0, &h,
	    &err)) {
	case HTTP_INCOMPLETE:
		return (0);
	case HTTP_ERROR:
		log_warnx("request %s: bad response from the bridge: %s",
		    m->reqid, err.why);
		mitm_answer(c, 502, 1);
		return (1);
	case HTTP_COMPLETE:
		break;
	}
	if (m->dresp.fd == -1 && m->routed)
		dump_open(&m->dresp, proxy_env.conf->dumpfd, m->pv.pc_name,
		    m->reqid, "resp");
	dump_head(&m->dresp, (const char *)buf_rptr(&c->sbuf), h.size);
	buf_consume(&c->sbuf, h.size);
	if (mitm_response_head(c, &h) == -1) {
		http_head_free(&h);
		mitm_answer(c, 502, 1);
		return (1);
	}
	if (h.status >= 200) {
		m->status = h.status;
		m->resp_head = 1;
		*bridge_close = h.close;
		http_body_init(&m->respbody, &h);
		if (h.status >= 400)
			log_warnx("request %s: the bridge answered %d",
			    m->reqid, h.status);
	}
	http_head_free(&h);
	return (1);
}

/*
 * Body bytes already framed join a head still waiting to go out, so a
 * small message leaves as one TLS record rather than two.
 */
static void
mitm_join(struct buf *head, struct buf *raw, size_t *ready, struct dump *d)
{
	size_t	 n = *ready;

	if (buf_len(head) == 0 || n == 0)
		return;
	if (n > head->cap - head->off - head->len)
		n = head->cap - head->off - head->len;
	if (n == 0 || buf_add(head, buf_rptr(raw), n) == -1)
		return;
	dump_body(d, buf_rptr(raw), n);
	buf_consume(raw, n);
	*ready -= n;
}

/* Request: rewritten head, then the body as it arrives. */
static int
mitm_upstream(struct conn *c)
{
	struct mitm	*m = c->mitm;
	const char	*why;
	ssize_t		 n;
	int		 moved = 0;

	if (!m->reqbody.done && m->reqready == buf_len(&c->cbuf) &&
	    c->cbuf.len < c->cbuf.cap) {
		n = endpoint_fill(m->cep, &c->cbuf);
		if (n == 0 || n == -1)
			return (-2);	/* the client went away mid-request */
		moved |= n > 0;
	}
	if (!m->reqbody.done && m->reqready < buf_len(&c->cbuf)) {
		n = http_body_feed(&m->reqbody, buf_rptr(&c->cbuf) +
		    m->reqready, buf_len(&c->cbuf) - m->reqready, &why);
		if (n == -1) {
			log_info("request %s: bad request body: %s", m->reqid,
			    why);
			return (-2);
		}
		m->reqready += n;
	}
	mitm_join(&m->tob, &c->cbuf, &m->reqready, &m->dreq);
	if (buf_len(&m->tob) > 0) {
		if ((n = endpoint_flush(m->bep, &m->tob)) == -1)
			return (-1);
		moved |= n > 0;
		if (buf_len(&m->tob) > 0)
			return (moved);
	}
	while (m->reqready > 0) {
		n = endpoint_write(m->bep, buf_rptr(&c->cbuf), m->reqready);
		if (n == -1)
			return (-1);
		if (n <= 0)
			break;
		dump_body(&m->dreq, buf_rptr(&c->cbuf), n);
		buf_consume(&c->cbuf, n);
		m->reqready -= n;
		moved = 1;
	}
	return (moved);
}

/* Response: head once, then the body bytes that belong to it. */
static int
mitm_downstream(struct conn *c)
{
	struct mitm	*m = c->mitm;
	const char	*why;
	ssize_t		 n;
	int		 moved = 0;

	if (!(m->resp_head && m->respbody.done) &&
	    (!m->resp_head || m->respready == buf_len(&c->sbuf)) &&
	    c->sbuf.len < c->sbuf.cap) {
		n = endpoint_fill(m->bep, &c->sbuf);
		if (n == -1)
			return (-1);
		if (n == 0) {
			if (!m->resp_head || m->respbody.framing !=
			    HTTP_BODY_CLOSE)
				return (-1);
			m->respbody.done = 1;
		}
		moved |= n > 0;
	}
	if (!m->resp_head && buf_len(&c->sbuf) > 0) {
		n = mitm_parse_response(c, &m->bridge_close);
		if (m->st != M_EXCHANGE)
			return (1);
		moved |= n;
	}
	if (m->resp_head && !m->respbody.done &&
	    m->respready < buf_len(&c->sbuf)) {
		n = http_body_feed(&m->respbody, buf_rptr(&c->sbuf) +
		    m->respready, buf_len(&c->sbuf) - m->respready, &why);
		if (n == -1) {
			log_warnx("request %s: bad response body: %s",
			    m->reqid, why);
			return (-3);
		}
		m->respready += n;
	}
	mitm_join(&m->toc, &c->sbuf, &m->respready, &m->dresp);
	if (buf_len(&m->toc) > 0) {
		if ((n = endpoint_flush(m->cep, &m->toc)) == -1)
			return (-3);
		moved |= n > 0;
		if (buf_len(&m->toc) > 0)
			return (moved);
	}
	while (m->respready > 0) {
		n = endpoint_write(m->cep, buf_rptr(&c->sbuf),
		    m->respready);
		if (n == -1)
			return (-3);
		if (n <= 0)
			break;
		dump_body(&m->dresp, buf_rptr(&c->sbuf), n);
		buf_consume(&c->sbuf, n);
		m->respready -= n;
		moved = 1;
	}
	return (moved);
}

/* The response is out: keep both connections if both can go on. */
static int
mitm_finish(struct conn *c)
{
	struct mitm	*m = c->mitm;
	int		 reqdone;

	reqdone = m->reqbody.done && m->reqready == 0 &&
	    buf_len(&m->tob) == 0;
	bridge_put(m->bc, reqdone && !m->bridge_close &&
	    buf_len(&c->sbuf) == 0);
	m->bc = NULL;
	m->bep = NULL;
	buf_free(&c->sbuf);
	mitm_audit(c, NULL);
	if (m->client_close || !reqdone) {
		endpoint_shutdown(m->cep);
		conn_free(c, "intercepted connection done");
		return (-1);
	}
	m->st = M_REQ_HEAD;
	conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_idle));
	return (1);
}

static int
mitm_exchange(struct conn *c)
{
	struct mitm	*m = c->mitm;
	int		 up, down;

	if ((up = mitm_upstream(c)) == -2)
		return (mitm_fail(c, "client closed during the request"));
	if (up == -1) {
		log_warnx("request %s: bridge write failed: %s", m->reqid,
		    endpoint_error(m->bep));
		if (!m->resp_head) {
			mitm_answer(c, 502, 1);
			return (1);
		}
		return (mitm_fail(c, "bridge failed mid-response"));
	}
	down = mitm_downstream(c);
	if (m->st != M_EXCHANGE)
		return (1);
	if (down == -3)
		return (mitm_fail(c, "client write failed"));
	if (down == -1) {
		if (!m->resp_head) {
			log_warnx("request %s: the bridge closed without an "
			    "answer", m->reqid);
			mitm_answer(c, 502, 1);
			return (1);
		}
		return (mitm_fail(c, "bridge closed mid-response"));
	}
	if (m->resp_head && m->respbody.done && m->respready == 0 &&
	    buf_len(&m->toc) == 0)
		return (mitm_finish(c));
	return (up | down);
}

static int
mitm_answer_run(struct conn *c)
{
	struct mitm	*m = c->mitm;
	ssize_t		 n;

	if ((n = endpoint_flush(m->cep, &m->toc)) == -1)
		return (mitm_fail(c, "client write failed"));
	if (buf_len(&m->toc) > 0)
		return (n > 0);
	mitm_audit(c, NULL);
	if (m->close_after) {
		endpoint_shutdown(m->cep);
		conn_free(c, "answered");
		return (-1);
	}
	m->st = M_REQ_HEAD;
	conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_idle));
	return (1);
}

static void
mitm_arm(struct conn *c)
{
	struct mitm	*m = c->mitm;
	int		 crd = 0, cwr = 0, brd = 0, bwr = 0;
	int		 room_c = c->cbuf.len < c->cbuf.cap;
	int		 room_s = c->sbuf.len < c->sbuf.cap;

	switch (m->st) {
	case M_REQ_HEAD:
		crd = room_c;
		break;
	case M_EXCHANGE:
		crd = buf_len(&m->tob) == 0 && !m->reqbody.done &&
		    m->reqready == buf_len(&c->cbuf) && room_c;
		cwr = buf_len(&m->toc) > 0 || m->respready > 0;
		brd = room_s && !(m->resp_head && m->respbody.done) &&
		    (!m->resp_head || m->respready == buf_len(&c->sbuf));
		bwr = buf_len(&m->tob) > 0 || m->reqready > 0;
		break;
	case M_ANSWER:
		cwr = 1;
		break;
	case M_BRIDGE_WAIT:
		break;
	}
	endpoint_arm(proxy_env.loop, m->cep, crd, cwr);
	if (m->bep != NULL)
		endpoint_arm(proxy_env.loop, m->bep, brd, bwr);
}

static void
mitm_loop(struct conn *c)
{
	struct mitm	*m = c->mitm;
	int		 i, r = 0;

	for (i = 0; i < MITM_ROUNDS; i++) {
		switch (m->st) {
		case M_REQ_HEAD:
			r = mitm_request_head(c);
			break;
		case M_EXCHANGE:
			r = mitm_exchange(c);
			break;
		case M_ANSWER:
			r = mitm_answer_run(c);
			break;
		case M_BRIDGE_WAIT:
			r = 0;
			break;
		}
		if (r == -1)
			return;		/* freed */
		if (r == 0)
			break;
		conn_touch(c);
	}
	mitm_arm(c);
	/* TLS may hold decrypted bytes the socket will not signal. */
	if (r > 0)
		ev_feed_event(proxy_env.loop, &m->cep->io, EV_CUSTOM);
}

static void
mitm_handshake(struct conn *c)
{
	struct mitm	*m = c->mitm;
	const char	*sni;
	char		 canon[AIB_HOSTNAME_MAX + 1];
	ssize_t		 n;
	int		 r;

	/* First the 200, then our TLS on the same bytes. */
	if (buf_len(&c->sbuf) > 0) {
		if ((n = endpoint_flush(&c->client, &c->sbuf)) == -1) {
			conn_free(c, "client write failed");
			return;
		}
		if (buf_len(&c->sbuf) > 0) {
			endpoint_arm(proxy_env.loop, &c->client, 0, 1);
			return;
		}
	}
	if (!m->tls_started) {
		/* Through a TLS listener, ours runs inside its session. */
		if (c->client.tls != NULL) {
			endpoint_arm(proxy_env.loop, &c->client, 0, 0);
			endpoint_init(&m->inner, c->client.fd, c->client.io.cb,
			    c);
			m->inner.outer = &c->client;
			m->cep = &m->inner;
		}
		m->tls_started = 1;
		/* Bytes the client sent early belong to its ClientHello. */
		m->cep->pre = c->cbuf;
		buf_init(&c->cbuf, c->cbuf.cap);
		if (endpoint_tls_accept(m->cep, leaf_tls(c->leaf)) == -1) {
			mitm_fail(c, "TLS accept failed");
			return;
		}
	}
	if ((r = endpoint_handshake(m->cep)) == EP_AGAIN) {
		endpoint_arm(proxy_env.loop, m->cep, 1, 0);
		return;
	}
	if (r == -1) {
		mitm_fail(c, endpoint_error(m->cep));
		return;
	}
	sni = tls_conn_servername(m->cep->tls);
	if (sni != NULL && (host_canon(sni, canon, sizeof(canon), NULL) ==
	    -1 || strcmp(canon, c->host) != 0)) {
		mitm_fail(c, "TLS server name does not match the CONNECT");
		return;
	}
	log_debug("conn %llu %s: intercepting %s for provider %s",
	    (unsigned long long)c->id, c->peer, c->host, c->mitm->pv.pc_name);
	c->state = CONN_MITM;
	c->mitm->st = M_REQ_HEAD;
	conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_idle));
	mitm_loop(c);
}

static void
mitm_cert_ready(struct conn *c, struct leaf *leaf)
{
	c->leaf = leaf;
	c->state = CONN_MITM_HANDSHAKE;
	conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_handshake));
	buf_addstr(&c->sbuf, "HTTP/1.1 200 Connection established\r\n\r\n");
	mitm_handshake(c);
}

static void
mitm_cert_cb(void *arg, struct leaf *leaf, const char *why)
{
	struct conn	*c = arg;

	c->certwait = NULL;
	if (leaf == NULL) {
		log_warnx("conn %llu %s: no certificate for %s: %s",
		    (unsigned long long)c->id, c->peer, c->host, why);
		conn_reply(c, 502, NULL, NULL);
		return;
	}
	mitm_cert_ready(c, leaf);
}

void
mitm_start(struct conn *c, const struct provider_config *pv,
    const char *token)
{
	struct mitm	*m;
	struct leaf	*leaf;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		conn_reply(c, 503, NULL, NULL);
		return;
	}
	c->mitm = m;
	c->kind = KIND_MITM;
	pstats.st_sessions_mitm++;
	m->pv = *pv;
	m->cep = &c->client;
	m->dreq.fd = m->dresp.fd = -1;
	endpoint_init(&m->inner, -1, c->client.io.cb, c);
	strlcpy(m->token, token, sizeof(m->token));
	auth_token_id(token, m->tokenid, sizeof(m->tokenid));
	buf_init(&m->tob, c->conf->gc.gc_header_bytes + 8192);
	buf_init(&m->toc, MITM_RESP_HEAD_MAX + 8192);
	log_debug("conn %llu %s: CONNECT %s:%d authenticated (token %s)",
	    (unsigned long long)c->id, c->peer, c->host, c->port,
	    m->tokenid[0] ? m->tokenid : "-");
	endpoint_arm(proxy_env.loop, &c->client, 0, 0);
	if ((leaf = certs_get(c->host, mitm_cert_cb, c, &c->certwait)) !=
	    NULL) {
		mitm_cert_ready(c, leaf);
		return;
	}
	if (c->certwait == NULL) {
		conn_reply(c, 503, NULL, NULL);
		return;
	}
	c->state = CONN_CERT;
	conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_handshake));
}

static void
mitm_timeout(struct conn *c)
{
	struct mitm	*m = c->mitm;

	switch (c->state) {
	case CONN_CERT:
		log_warnx("conn %llu %s: signer did not answer in time",
		    (unsigned long long)c->id, c->peer);
		conn_reply(c, 504, NULL, NULL);
		return;
	case CONN_MITM_HANDSHAKE:
		mitm_fail(c, "TLS handshake timed out");
		return;
	default:
		break;
	}
	switch (m->st) {
	case M_REQ_HEAD:
		if (buf_len(&c->cbuf) == 0) {
			conn_free(c, "idle");
			return;
		}
		mitm_answer(c, 408, 1);
		break;
	case M_BRIDGE_WAIT:
		log_warnx("request %s: timed out connecting to the bridge",
		    m->reqid);
		mitm_answer(c, 504, 1);
		break;
	case M_EXCHANGE:
		if (m->resp_head) {
			mitm_fail(c, "idle timeout mid-response");
			return;
		}
		log_warnx("request %s: the bridge did not answer in time",
		    m->reqid);
		mitm_answer(c, 504, 1);
		break;
	case M_ANSWER:
		mitm_fail(c, "timed out writing an answer");
		return;
	}
	conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_idle));
	mitm_loop(c);
}

void
mitm_run(struct conn *c, int revents)
{
	if (revents == -1) {
		mitm_timeout(c);
		return;
	}
	switch (c->state) {
	case CONN_MITM_HANDSHAKE:
		mitm_handshake(c);
		break;
	case CONN_MITM:
		mitm_loop(c);
		break;
	default:
		break;
	}
}
