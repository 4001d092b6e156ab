/*
 * The interception session (see mitm.h): certificate, handshake,
 * timeouts, drain, our own answers inside the client's TLS session,
 * and one audit line per request.  Nothing is ever sent to the
 * provider itself.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tls.h>

#include "bridge.h"
#include "certs.h"
#include "heapdecay.h"
#include "hostname.h"
#include "log.h"
#include "mitm.h"
#include "session.h"

static void
mitm_close(struct session *s)
{
	struct mitm	*m = s->kind;

	if (m->rq != NULL)
		mitm_audit(m, "connection closed");
	certs_cancel(m->certwait);
	if (m->leaf != NULL)
		leaf_unref(m->leaf);
	bridge_cancel(m->bcwait);
	if (m->bc != NULL)
		bridge_put(m->bc, 0, 0);
	if (m->inner != NULL) {
		endpoint_close(s->px->loop, m->inner);
		free(m->inner);
	}
	buf_free(&m->tob);
	buf_free(&m->toc);
	freezero(m->token, m->tokensize);
	free(m);
}

int
mitm_fail(struct mitm *m, const char *why)
{
	struct session	*s = m->s;

	if (m->rq != NULL)
		mitm_audit(m, why);
	log_info("conn %llu %s: %s %s: %s", (unsigned long long)s->id,
	    s->peer, m->pvname, s->host, why);
	session_free(s, why);
	return (-1);
}

/*
 * One audit line per request (SPEC 6), cut short or not; never the
 * token itself.  Bytes are the whole messages, heads included.
 */
void
mitm_audit(struct mitm *m, const char *outcome)
{
	struct session		*s = m->s;
	struct mitm_req		*rq = m->rq;
	struct stats_provider	*sp;
	struct audit		 au;
	double			 secs;

	if (rq == NULL)
		return;
	secs = ev_now(s->px->loop) - rq->t0;
	dump_close(&rq->dreq);
	dump_close(&rq->dresp);
	if (m->routed && (sp = stats_provider(&s->px->stats,
	    m->pvname)) != NULL) {
		sp->sp_inflight--;
		stats_response(sp, rq->status, secs);
	}
	m->routed = 0;
	memset(&au, 0, sizeof(au));
	au.au_event = AUDIT_REQUEST;
	au.au_request_id = rq->reqid;
	au.au_client = s->peer;
	au.au_user = s->user;
	au.au_token_id = s->tokenid;
	au.au_provider = m->pvname;
	au.au_method = rq->method;
	au.au_path = rq->path;
	au.au_status = rq->status;
	au.au_up = m->cep->rbytes - rq->up0;
	au.au_down = m->cep->wbytes - rq->down0;
	au.au_seconds = secs;
	au.au_outcome = outcome;
	log_audit(&au);
	free(rq);
	m->rq = NULL;
}

int
mitm_request_begin(struct mitm *m)
{
	struct session	*s = m->s;
	struct mitm_req	*rq;

	/* Zeroed: method and path "-" in the audit line until known. */
	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return (-1);
	m->rq = rq;
	uuid4(rq->reqid);
	rq->dreq.fd = rq->dresp.fd = -1;
	rq->t0 = ev_now(s->px->loop);
	rq->up0 = m->cep->rbytes - buf_len(&s->cbuf);
	rq->down0 = m->cep->wbytes;
	heapdecay_busy(s->px);
	/* The first byte of a request starts the whole head's clock. */
	session_set_deadline(s, rq->t0,
	    session_ms(s->conf->gc.gc_timeout_header));
	return (0);
}

void
mitm_set_idle(struct mitm *m)
{
	session_set_timeout(m->s, session_ms(m->s->conf->gc.gc_timeout_idle));
}

static void
mitm_drop_bridge(struct mitm *m)
{
	if (m->bc != NULL)
		bridge_put(m->bc, 0, 0);
	m->bc = NULL;
	m->bep = NULL;
	bridge_cancel(m->bcwait);
	m->bcwait = NULL;
}

/* Our own answer inside the TLS session; the loop writes it. */
void
mitm_answer(struct mitm *m, int status, int close_after)
{
	mitm_drop_bridge(m);
	buf_free(&m->tob);
	buf_free(&m->toc);
	if (m->rq != NULL)
		m->rq->status = status;
	m->close_after = close_after || m->client_close;
	if (http_answer(&m->toc, status, NULL, NULL, m->close_after) == -1)
		m->close_after = 1;
	m->st = M_ANSWER;
	mitm_set_idle(m);
}

int
mitm_cut(struct mitm *m, const char *why)
{
	log_warnx("request %s: %s", m->rq->reqid, why);
	mitm_drop_bridge(m);
	m->cut = why;
	/* The client sees no clean end: a bridge error, not the 200. */
	m->rq->status = 502;
	m->st = M_CUT;
	return (1);
}

static void
mitm_handshake_done(struct mitm *m)
{
	struct session	*s = m->s;
	const char	*sni;
	char		 canon[AIB_HOSTNAME_MAX + 1];

	sni = tls_conn_servername(m->cep->tls);
	if (sni != NULL && (host_canon(sni, canon, sizeof(canon), NULL) ==
	    -1 || strcmp(canon, s->host) != 0)) {
		s->px->stats.st_tls_fail[TLSSTAGE_INTERCEPT]
		    [TLSFAIL_SERVERNAME]++;
		mitm_fail(m, "TLS server name does not match the CONNECT");
		return;
	}
	/* Established: refused and failed CONNECTs are not sessions. */
	s->px->stats.st_sessions_mitm++;
	log_debug("conn %llu %s: intercepting %s for provider %s",
	    (unsigned long long)s->id, s->peer, s->host, m->pvname);
	m->st = M_REQ_HEAD;
	mitm_set_idle(m);
	mitm_loop(m);
}

static void
mitm_handshake(struct mitm *m)
{
	struct session	*s = m->s;
	char		 why[256];
	int		 r;

	/* First the 200, then our TLS on the same bytes. */
	if (buf_len(&s->sbuf) > 0) {
		if (endpoint_flush(&s->client, &s->sbuf) == -1) {
			session_free(s, "client write failed");
			return;
		}
		if (buf_len(&s->sbuf) > 0) {
			endpoint_arm(s->px->loop, &s->client, 0, 1);
			return;
		}
	}
	if (!m->tls_started) {
		/*
		 * Through a TLS listener, ours runs inside its session, on
		 * an endpoint of its own that only such a session holds.
		 */
		if (s->client.tls != NULL) {
			if ((m->inner = malloc(sizeof(*m->inner))) == NULL) {
				mitm_fail(m, "out of memory");
				return;
			}
			endpoint_arm(s->px->loop, &s->client, 0, 0);
			endpoint_init(m->inner, s->client.fd,
			    s->client.io.cb, s);
			m->inner->outer = &s->client;
			m->cep = m->inner;
		}
		m->tls_started = 1;
		/* Bytes the client sent early belong to its ClientHello. */
		m->cep->pre = s->cbuf;
		buf_init(&s->cbuf, s->cbuf.cap);
		if (endpoint_tls_accept(m->cep, leaf_tls(m->leaf)) == -1) {
			(void)snprintf(why, sizeof(why), "TLS accept: %s",
			    tls_error(leaf_tls(m->leaf)));
			mitm_fail(m, why);
			return;
		}
	}
	if ((r = endpoint_handshake(m->cep)) == EP_AGAIN) {
		endpoint_arm(s->px->loop, m->cep, 1, 0);
		return;
	}
	if (r == -1) {
		s->px->stats.st_tls_fail[TLSSTAGE_INTERCEPT][stats_tls_reason(
		    endpoint_error(m->cep))]++;
		mitm_fail(m, endpoint_error(m->cep));
		return;
	}
	mitm_handshake_done(m);
}

static void
mitm_cert_ready(struct mitm *m, struct leaf *leaf)
{
	struct session	*s = m->s;

	m->leaf = leaf;
	m->st = M_HANDSHAKE;
	session_set_timeout(s, session_ms(s->conf->gc.gc_timeout_handshake));
	if (buf_addstr(&s->sbuf, HTTP_CONNECT_OK) == -1) {
		session_free(s, "out of memory");
		return;
	}
	mitm_handshake(m);
}

static void
mitm_cert_cb(void *arg, struct leaf *leaf, const char *why)
{
	struct mitm	*m = arg;
	struct session	*s = m->s;

	m->certwait = NULL;
	if (leaf == NULL) {
		log_warnx("conn %llu %s: no certificate for %s: %s",
		    (unsigned long long)s->id, s->peer, s->host, why);
		session_reply(s, 502, NULL, NULL);
		return;
	}
	mitm_cert_ready(m, leaf);
}

static void
mitm_timeout(struct session *s)
{
	struct mitm	*m = s->kind;

	switch (m->st) {
	case M_CERT:
		log_warnx("conn %llu %s: signer did not answer in time",
		    (unsigned long long)s->id, s->peer);
		session_reply(s, 504, NULL, NULL);
		return;
	case M_HANDSHAKE:
		s->px->stats.st_tls_fail[TLSSTAGE_INTERCEPT][TLSFAIL_TIMEOUT]++;
		mitm_fail(m, "TLS handshake timed out");
		return;
	case M_REQ_HEAD:
		if (buf_len(&s->cbuf) == 0 && m->rq == NULL) {
			session_free(s, "idle");
			return;
		}
		/* Bytes of a request not begun yet: it is one now. */
		if (m->rq == NULL && mitm_request_begin(m) == -1) {
			mitm_fail(m, "out of memory");
			return;
		}
		log_info("request %s client %s: request head not complete "
		    "within timeouts.header", m->rq->reqid, s->peer);
		mitm_answer(m, 408, 1);
		break;
	case M_BRIDGE_WAIT:
		log_warnx("request %s: timed out connecting to the bridge",
		    m->rq->reqid);
		mitm_answer(m, 504, 1);
		break;
	case M_EXCHANGE:
		if (m->rq->resp_head) {
			mitm_fail(m, "idle timeout mid-response");
			return;
		}
		log_warnx("request %s: the bridge did not answer in time",
		    m->rq->reqid);
		mitm_answer(m, 504, 1);
		break;
	case M_ANSWER:
		mitm_fail(m, "timed out writing an answer");
		return;
	case M_CUT:
		mitm_fail(m, m->cut);
		return;
	}
	mitm_loop(m);
}

static void
mitm_io(struct session *s, int revents)
{
	struct mitm	*m = s->kind;

	switch (m->st) {
	case M_HANDSHAKE:
		mitm_handshake(m);
		break;
	case M_CERT:
		break;
	default:
		mitm_loop(m);
		break;
	}
}

/* Between requests, nothing read of the next: a stop loses nothing. */
static int
mitm_idle(const struct session *s)
{
	const struct mitm	*m = s->kind;

	return (m->st == M_REQ_HEAD && m->rq == NULL &&
	    buf_len(&s->cbuf) == 0);
}

static void
mitm_drain(struct session *s)
{
	struct mitm	*m = s->kind;

	/* After what it is doing now. */
	m->client_close = 1;
}

static const struct session_ops mitm_ops = {
	.name = "mitm",
	.io = mitm_io,
	.timeout = mitm_timeout,
	.close = mitm_close,
	.idle = mitm_idle,
	.drain = mitm_drain,
};

void
mitm_start(struct session *s, const struct provider_config *pv,
    const char *token)
{
	struct mitm	*m;
	struct leaf	*leaf;

	/*
	 * The token is kept for every request's rewrite: in as many bytes
	 * as it has, not AUTH_TOKEN_MAX, since an idle connection keeps it.
	 */
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->token = strdup(token)) == NULL) {
		free(m);
		session_reply(s, 503, NULL, NULL);
		return;
	}
	m->tokensize = strlen(m->token) + 1;
	m->s = s;
	m->st = M_CERT;
	(void)strlcpy(m->pvname, pv->pc_name, sizeof(m->pvname));
	m->cep = &s->client;
	buf_init(&m->tob, s->conf->gc.gc_header_bytes + 8192);
	buf_init(&m->toc, s->conf->gc.gc_header_bytes + 8192);
	session_become(s, &mitm_ops, m);
	log_debug("conn %llu %s: CONNECT %s:%d authenticated (token %s)",
	    (unsigned long long)s->id, s->peer, s->host, s->port,
	    s->tokenid[0] ? s->tokenid : "-");
	endpoint_arm(s->px->loop, &s->client, 0, 0);
	if ((leaf = certs_get(s->host, mitm_cert_cb, m, &m->certwait)) !=
	    NULL) {
		mitm_cert_ready(m, leaf);
		return;
	}
	if (m->certwait == NULL) {
		session_reply(s, 503, NULL, NULL);
		return;
	}
	session_set_timeout(s, session_ms(s->conf->gc.gc_timeout_handshake));
}
