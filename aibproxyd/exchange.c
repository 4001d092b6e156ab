/*
 * One intercepted request and its response (see mitm.h): the request
 * head is checked and rewritten, a bridge connection is taken from the
 * pool, and both bodies stream through as they arrive, framed but
 * never buffered whole.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridge.h"
#include "hostname.h"
#include "log.h"
#include "mitm.h"
#include "session.h"

#define MITM_ROUNDS		16

static void
mitm_bridge_io(struct ev_loop *loop, ev_io *w, int revents)
{
	mitm_loop(w->data);
}

static void
mitm_attach(struct mitm *m, struct bconn *bc)
{
	m->bc = bc;
	m->bep = bridge_endpoint(bc, mitm_bridge_io, m);
	m->st = M_EXCHANGE;
	mitm_set_idle(m);
}

static void
mitm_bridge_cb(void *arg, struct bconn *bc, int status, const char *why)
{
	struct mitm	*m = arg;

	m->bcwait = NULL;
	if (bc != NULL)
		mitm_attach(m, bc);
	else
		mitm_answer(m, status, 1);
	mitm_loop(m);
}

static void
mitm_log_target(struct mitm *m, const struct http_head *h)
{
	size_t	 n;

	strlcpy(m->rq->method, h->method, sizeof(m->rq->method));
	/* The path only: a query may carry a key. */
	n = strcspn(h->target, "?");
	if (n >= sizeof(m->rq->path))
		n = sizeof(m->rq->path) - 1;
	memcpy(m->rq->path, h->target, n);
	m->rq->path[n] = '\0';
}

/* A complete request head: check, rewrite, and get a bridge. */
static void
mitm_begin(struct mitm *m, const struct http_head *h)
{
	const struct provider_config	*pv;
	struct stats_provider		*sp;
	struct rewrite_ctx		 ctx;
	struct bconn			*bc;
	const char			*why;
	int				 status;

	mitm_log_target(m, h);
	m->rq->head_request = strcmp(h->method, "HEAD") == 0;
	/* Once a stop began, each answer moves the client on (stop.c). */
	m->client_close = h->close || m->s->px->stopping;
	m->rq->resp_head = 0;
	m->rq->status = 0;
	m->rq->reqready = m->rq->respready = 0;
	http_body_init(&m->rq->reqbody, h);
	/*
	 * Each request follows the configuration in force now: a host
	 * that stopped being a provider must never be passed through.
	 */
	if ((pv = proxy_provider(m->s->px->conf, m->s->host)) == NULL) {
		log_warnx("request %s client %s: %s is no longer a provider",
		    m->rq->reqid, m->s->peer, m->s->host);
		mitm_answer(m, 421, 1);
		return;
	}
	(void)strlcpy(m->pvname, pv->pc_name, sizeof(m->pvname));
	if (h->upgrade) {
		mitm_answer(m, 501, h->framing != HTTP_BODY_NONE);
		return;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.bridge = &m->s->px->conf->bridge;
	ctx.provider = pv;	/* the configuration in force now */
	ctx.host = m->s->host;
	ctx.port = m->s->port;
	ctx.token = m->token;
	ctx.request_id = m->rq->reqid;
	if (rewrite_request(&ctx, h, &m->tob, &status, &why) == -1) {
		log_warnx("request %s client %s: refused: %s", m->rq->reqid,
		    m->s->peer, why);
		mitm_answer(m, status, 1);
		return;
	}
	dump_open(&m->rq->dreq, m->s->px->conf->dumpfd, m->pvname, m->rq->reqid,
	    "req");
	dump_head(&m->rq->dreq, (const char *)buf_rptr(&m->tob), buf_len(&m->tob));
	if ((sp = stats_provider(&m->s->px->stats, m->pvname)) != NULL) {
		sp->sp_requests++;
		sp->sp_inflight++;
		m->routed = 1;
	}
	switch (bridge_get(m->s->px->bridges, mitm_bridge_cb, m, &bc)) {
	case 0:
		mitm_attach(m, bc);
		break;
	case 1:
		m->bcwait = bc;
		m->st = M_BRIDGE_WAIT;
		session_set_timeout(m->s,
		    session_ms(m->s->conf->gc.gc_timeout_connect));
		break;
	default:
		log_warnx("request %s: no bridge connection: out of memory",
		    m->rq->reqid);
		mitm_answer(m, 503, 1);
		break;
	}
}

static int
mitm_request_head(struct mitm *m)
{
	struct session		*s = m->s;
	struct http_head	 h;
	struct http_error	 err;
	ssize_t			 n;

	if (m->rq == NULL && buf_len(&s->cbuf) > 0 &&
	    mitm_request_begin(m) == -1)
		return (mitm_fail(m, "out of memory"));
	/* Nothing yet (a client between requests): nothing to parse. */
	switch (buf_len(&s->cbuf) == 0 ? HTTP_INCOMPLETE :
	    http_parse_request((const char *)buf_rptr(&s->cbuf),
	    buf_len(&s->cbuf), s->conf->gc.gc_header_bytes, &h, &err)) {
	case HTTP_COMPLETE:
		buf_consume(&s->cbuf, h.size);
		mitm_begin(m, &h);
		http_head_free(&h);
		return (1);
	case HTTP_ERROR:
		log_info("request %s client %s: bad request: %s", m->rq->reqid,
		    s->peer, err.why);
		mitm_answer(m, err.status, 1);
		return (1);
	case HTTP_INCOMPLETE:
		break;
	}
	n = endpoint_fill(m->cep, &s->cbuf);
	if (n == EP_AGAIN)
		return (0);
	if (n <= 0) {
		if (n == -1)
			log_info("conn %llu %s: reading the client: %s",
			    (unsigned long long)s->id, s->peer,
			    endpoint_error(m->cep));
		if (m->rq != NULL)
			return (mitm_fail(m, "client closed mid-head"));
		session_free(s, n == 0 ? "client closed" :
		    "client read error");
		return (-1);
	}
	return (1);
}

/* The response head as the client gets it: hop-by-hop removed. */
static int
mitm_response_head(struct mitm *m, const struct http_head *h)
{
	int		 i;

	if (http_status_line(&m->toc, h->status, h->reason) == -1)
		return (-1);
	for (i = 0; i < h->nheaders; i++) {
		if (http_hop_header(h, i))
			continue;
		if (http_header_line(&m->toc, h->headers[i].name,
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
mitm_parse_response(struct mitm *m, int *bridge_close)
{
	struct http_head	 h;
	struct http_error	 err;

	switch (http_parse_response((const char *)buf_rptr(&m->s->sbuf),
	    buf_len(&m->s->sbuf), m->s->conf->gc.gc_header_bytes,
	    m->rq->head_request, 0, &h, &err)) {
	case HTTP_INCOMPLETE:
		return (0);
	case HTTP_ERROR:
		log_warnx("request %s: bad response from the bridge: %s",
		    m->rq->reqid, err.why);
		mitm_answer(m, 502, 1);
		return (1);
	case HTTP_COMPLETE:
		break;
	}
	if (m->rq->dresp.fd == -1 && m->routed)
		dump_open(&m->rq->dresp, m->s->px->conf->dumpfd, m->pvname,
		    m->rq->reqid, "resp");
	dump_head(&m->rq->dresp, (const char *)buf_rptr(&m->s->sbuf), h.size);
	buf_consume(&m->s->sbuf, h.size);
	if (mitm_response_head(m, &h) == -1) {
		http_head_free(&h);
		mitm_answer(m, 502, 1);
		return (1);
	}
	if (h.status >= 200) {
		m->rq->status = h.status;
		m->rq->resp_head = 1;
		*bridge_close = h.close;
		http_body_init(&m->rq->respbody, &h);
		if (h.status >= 400)
			log_warnx("request %s: the bridge answered %d",
			    m->rq->reqid, h.status);
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
mitm_upstream(struct mitm *m)
{
	const char	*why;
	ssize_t		 n;
	int		 moved = 0;

	if (!m->rq->reqbody.done && m->rq->reqready == buf_len(&m->s->cbuf) &&
	    m->s->cbuf.len < m->s->cbuf.cap) {
		n = endpoint_fill(m->cep, &m->s->cbuf);
		if (n == 0 || n == -1)
			return (-2);	/* the client went away mid-request */
		moved |= n > 0;
	}
	if (!m->rq->reqbody.done && m->rq->reqready < buf_len(&m->s->cbuf)) {
		n = http_body_feed(&m->rq->reqbody, buf_rptr(&m->s->cbuf) +
		    m->rq->reqready, buf_len(&m->s->cbuf) - m->rq->reqready, &why);
		if (n == -1) {
			log_info("request %s: bad request body: %s", m->rq->reqid,
			    why);
			return (-2);
		}
		m->rq->reqready += n;
	}
	mitm_join(&m->tob, &m->s->cbuf, &m->rq->reqready, &m->rq->dreq);
	if (buf_len(&m->tob) > 0) {
		if ((n = endpoint_flush(m->bep, &m->tob)) == -1)
			return (-1);
		moved |= n > 0;
		if (buf_len(&m->tob) > 0)
			return (moved);
	}
	while (m->rq->reqready > 0) {
		n = endpoint_write(m->bep, buf_rptr(&m->s->cbuf), m->rq->reqready);
		if (n == -1)
			return (-1);
		if (n <= 0)
			break;
		dump_body(&m->rq->dreq, buf_rptr(&m->s->cbuf), n);
		buf_consume(&m->s->cbuf, n);
		m->rq->reqready -= n;
		moved = 1;
	}
	return (moved);
}

/* The response head, then the body bytes cleared to send; -3: failed. */
static int
mitm_to_client(struct mitm *m)
{
	struct buf	*raw = &m->s->sbuf;
	ssize_t		 n;
	int		 moved = 0;

	mitm_join(&m->toc, raw, &m->rq->respready, &m->rq->dresp);
	if (buf_len(&m->toc) > 0) {
		if ((n = endpoint_flush(m->cep, &m->toc)) == -1)
			return (-3);
		moved |= n > 0;
		if (buf_len(&m->toc) > 0)
			return (moved);
	}
	while (m->rq->respready > 0) {
		n = endpoint_write(m->cep, buf_rptr(raw), m->rq->respready);
		if (n == -1)
			return (-3);
		if (n <= 0)
			break;
		dump_body(&m->rq->dresp, buf_rptr(raw), n);
		buf_consume(raw, n);
		m->rq->respready -= n;
		moved = 1;
	}
	return (moved);
}

/* Response: head once, then the body bytes that belong to it. */
static int
mitm_downstream(struct mitm *m)
{
	struct buf	*raw = &m->s->sbuf;
	const char	*why;
	ssize_t		 n;
	int		 moved = 0;

	if (!(m->rq->resp_head && m->rq->respbody.done) &&
	    (!m->rq->resp_head || m->rq->respready == buf_len(raw)) &&
	    raw->len < raw->cap) {
		n = endpoint_fill(m->bep, raw);
		if (n == -1)
			return (-1);
		if (n == 0) {
			if (!m->rq->resp_head || m->rq->respbody.framing !=
			    HTTP_BODY_CLOSE)
				return (-1);
			m->rq->respbody.done = 1;
		}
		moved |= n > 0;
	}
	/*
	 * Interim (1xx) heads and the final one may come in one read, and
	 * the bridge may close after them: parse all that is here before
	 * the next read can take its EOF for "no answer".
	 */
	while (!m->rq->resp_head && buf_len(raw) > 0) {
		if ((n = mitm_parse_response(m, &m->rq->bridge_close)) == 0)
			break;
		if (m->st != M_EXCHANGE)
			return (1);
		moved = 1;
	}
	if (m->rq->resp_head && !m->rq->respbody.done &&
	    m->rq->respready < buf_len(raw)) {
		n = http_body_feed(&m->rq->respbody, buf_rptr(raw) +
		    m->rq->respready, buf_len(raw) - m->rq->respready, &why);
		if (n == -1) {
			log_warnx("request %s: bad response body: %s",
			    m->rq->reqid, why);
			return (mitm_cut(m, "bad response body from the "
			    "bridge"));
		}
		m->rq->respready += n;
	}
	n = mitm_to_client(m);
	return (n == -3 ? -3 : (moved | n));
}

/* The response is out: keep both connections if both can go on. */
static int
mitm_finish(struct mitm *m)
{
	int		 reqdone;

	reqdone = m->rq->reqbody.done && m->rq->reqready == 0 &&
	    buf_len(&m->tob) == 0;
	/* What is left in sbuf came after the response: no request's. */
	bridge_put(m->bc, reqdone && !m->rq->bridge_close,
	    buf_len(&m->s->sbuf));
	m->bc = NULL;
	m->bep = NULL;
	buf_free(&m->s->sbuf);
	mitm_audit(m, NULL);
	if (m->client_close || !reqdone) {
		endpoint_shutdown(m->cep);
		session_free(m->s, "intercepted connection done");
		return (-1);
	}
	m->st = M_REQ_HEAD;
	mitm_set_idle(m);
	return (1);
}

static int
mitm_exchange(struct mitm *m)
{
	int		 up, down;

	if ((up = mitm_upstream(m)) == -2)
		return (mitm_fail(m, "client closed during the request"));
	if (up == -1) {
		log_warnx("request %s: bridge write failed: %s", m->rq->reqid,
		    endpoint_error(m->bep));
		if (!m->rq->resp_head) {
			mitm_answer(m, 502, 1);
			return (1);
		}
		return (mitm_cut(m, "bridge failed mid-response"));
	}
	down = mitm_downstream(m);
	if (m->st != M_EXCHANGE)
		return (1);
	if (down == -3)
		return (mitm_fail(m, "client write failed"));
	if (down == -1) {
		if (!m->rq->resp_head) {
			log_warnx("request %s: the bridge closed without an "
			    "answer", m->rq->reqid);
			mitm_answer(m, 502, 1);
			return (1);
		}
		return (mitm_cut(m, "bridge closed mid-response"));
	}
	if (m->rq->resp_head && m->rq->respbody.done && m->rq->respready == 0 &&
	    buf_len(&m->toc) == 0)
		return (mitm_finish(m));
	return (up | down);
}

/* Our own answer is written: the next request, or close. */
static int
mitm_answer_run(struct mitm *m)
{
	ssize_t		 n;

	if ((n = endpoint_flush(m->cep, &m->toc)) == -1)
		return (mitm_fail(m, "client write failed"));
	if (buf_len(&m->toc) > 0)
		return (n > 0);
	mitm_audit(m, NULL);
	if (m->close_after) {
		endpoint_shutdown(m->cep);
		session_free(m->s, "answered");
		return (-1);
	}
	m->st = M_REQ_HEAD;
	mitm_set_idle(m);
	return (1);
}

/*
 * What was valid of a broken response goes out, then the connection
 * closes without close_notify, so the client sees it cut short: for a
 * chunked body the last chunk never comes.
 */
static int
mitm_cut_run(struct mitm *m)
{
	int	 n;

	if ((n = mitm_to_client(m)) == -3)
		return (mitm_fail(m, "client write failed"));
	if (buf_len(&m->toc) > 0 || m->rq->respready > 0)
		return (n);
	mitm_audit(m, m->cut);
	session_free(m->s, m->cut);
	return (-1);
}

static void
mitm_arm(struct mitm *m)
{
	int		 crd = 0, cwr = 0, brd = 0, bwr = 0;
	int		 room_c = m->s->cbuf.len < m->s->cbuf.cap;
	int		 room_s = m->s->sbuf.len < m->s->sbuf.cap;

	switch (m->st) {
	case M_REQ_HEAD:
		crd = room_c;
		break;
	case M_EXCHANGE:
		crd = buf_len(&m->tob) == 0 && !m->rq->reqbody.done &&
		    m->rq->reqready == buf_len(&m->s->cbuf) && room_c;
		cwr = buf_len(&m->toc) > 0 || m->rq->respready > 0;
		brd = room_s && !(m->rq->resp_head && m->rq->respbody.done) &&
		    (!m->rq->resp_head || m->rq->respready == buf_len(&m->s->sbuf));
		bwr = buf_len(&m->tob) > 0 || m->rq->reqready > 0;
		break;
	case M_ANSWER:
		cwr = 1;
		break;
	case M_CUT:
		cwr = buf_len(&m->toc) > 0 || m->rq->respready > 0;
		break;
	default:
		break;
	}
	/*
	 * A client whose request went out waits for its answer: its read
	 * watch stays while the bridge answers (endpoint_arm_quiet).
	 */
	if (m->st == M_EXCHANGE && !crd)
		endpoint_arm_quiet(m->s->px->loop, m->cep, cwr);
	else
		endpoint_arm(m->s->px->loop, m->cep, crd, cwr);
	if (m->bep != NULL)
		endpoint_arm(m->s->px->loop, m->bep, brd, bwr);
}

void
mitm_loop(struct mitm *m)
{
	int		 i, r = 0;

	for (i = 0; i < MITM_ROUNDS; i++) {
		switch (m->st) {
		case M_REQ_HEAD:
			r = mitm_request_head(m);
			break;
		case M_EXCHANGE:
			r = mitm_exchange(m);
			break;
		case M_ANSWER:
			r = mitm_answer_run(m);
			break;
		case M_CUT:
			r = mitm_cut_run(m);
			break;
		default:
			r = 0;
			break;
		}
		if (r == -1)
			return;		/* freed */
		if (r == 0)
			break;
		session_touch(m->s);
	}
	mitm_arm(m);
	/* TLS may hold decrypted bytes the socket will not signal. */
	if (r > 0)
		ev_feed_event(m->s->px->loop, &m->cep->io, EV_CUSTOM);
}

