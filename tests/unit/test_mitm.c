/*
 * Interception driven on the worker's own loop (harness.h): the test
 * signs leaves in signerd's place, a client thread talks TLS inside
 * its CONNECT, and a bridge thread on 127.0.0.1 records what reached
 * it.  Every test ends with no session and no watcher left.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../aibproxyd/bridge.h"
#include "../../aibproxyd/certs.h"
#include "../../aibproxyd/session.h"
#include "harness.h"
#include "unit.h"

/* Static, so whatever the worker still holds at exit is reachable. */
static struct wh	 W;

#define CONNECT_AUTH							\
	"CONNECT " WH_HOST ":443 HTTP/1.1\r\nHost: " WH_HOST ":443\r\n"	\
	WH_PROXY_AUTH "\r\n"
#define ESTABLISHED	"HTTP/1.1 200 Connection established\r\n\r\n"
#define REQ_ID		"X-Coder-AI-Governance-Request-Id: "
#define UUID_LEN	36

static const char post[] =
    "POST /v1/messages?beta=true HTTP/1.1\r\n"
    "Host: " WH_HOST "\r\n"
    "Authorization: Bearer sk-ant-client\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 13\r\n"
    "Connection: close\r\n"
    "\r\n"
    "{\"model\":\"x\"}";

/*
 * The audit line holding what: "request <uuid> client <peer> ...what
 * <secs>s token <id>", secs within [lo, hi].
 */
static void
audit_check(const char *log, const char *what, double lo, double hi)
{
	const char	*line, *p, *q;
	char		*end;
	double		 secs;

	ck_assert_msg((p = strstr(log, what)) != NULL, "no \"%s\" in %s",
	    what, log);
	for (line = p; line > log && line[-1] != '\n'; line--)
		;
	ck_assert_ptr_nonnull(q = strstr(line, ": request "));
	q += strlen(": request ");
	ck_assert_int_eq(strspn(q, "0123456789abcdef-"), UUID_LEN);
	ck_assert_int_eq(strncmp(q + UUID_LEN, " client 127.0.0.1:", 18), 0);
	secs = strtod(p + strlen(what), &end);
	ck_assert_int_eq(strncmp(end, "s token tokid\n", 15), 0);
	ck_assert_double_ge(secs, lo);
	ck_assert_double_le(secs, hi);
}

static void
done(void)
{
	ck_assert_int_eq(wh_quiet(&W), 1);
	ck_assert_uint_eq(W.px.nsessions, 0);
	wh_free(&W);
}

/* A client thread to be: CONNECT, TLS, then lines. */
static void
client_prepare(struct wh_tls *c, const char *const *lines, double gap,
    int pause)
{
	int	 i;

	memset(c, 0, sizeof(*c));
	c->connect = CONNECT_AUTH;
	for (i = 0; lines != NULL && lines[i] != NULL; i++)
		c->lines[i] = lines[i];
	c->gap = gap;
	c->pause = pause;
}

/* ... on a new session. */
static void
client_start(struct wh_tls *c, const char *const *lines, double gap,
    int pause)
{
	client_prepare(c, lines, gap, pause);
	wh_tls_start(c, wh_client(&W));
}

static int
client_ready(struct wh *h, void *arg)
{
	return (((struct wh_tls *)arg)->ready);
}

/* The whole exchange, to the client's end and the session's. */
static void
client_finish(struct wh_tls *c)
{
	ck_assert_int_eq(wh_run(&W, wh_tls_done, c, 3.0), 0);
	wh_tls_join(c);
}

/* 3. An intercepted request reaches the bridge rewritten. */
START_TEST(test_intercept_post)
{
	static const char *const lines[] = { post, NULL };
	struct wh_bridge	 b;
	struct wh_tls		 c;
	char			 want[2048];
	const char		*id, *log;

	wh_init(&W);
	wh_bridge_start(&b, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\nContent-Length: 11\r\nKeep-Alive: 5\r\n\r\n"
	    "{\"ok\":true}");
	wh_set_bridge(&W, "127.0.0.1", b.port);
	wh_log_start();
	client_start(&c, lines, 0, 0);
	client_finish(&c);
	log = wh_log_text();
	ck_assert_str_eq(c.answer, ESTABLISHED);
	ck_assert_int_eq(c.handshake, 0);
	ck_assert_str_eq(c.got, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\nContent-Length: 11\r\nConnection: close\r\n"
	    "\r\n{\"ok\":true}");
	ck_assert_int_eq(c.clean, 1);
	ck_assert_int_eq(W.nsigned, 1);
	/* The path without its query; whole messages counted. */
	snprintf(want, sizeof(want), "provider " WH_PROVIDER " POST "
	    "/v1/messages status 200 up %zu down %zu ", sizeof(post) - 1,
	    c.gotlen);
	audit_check(log, want, 0, 0.2);

	/* The pooled connection goes when the bridge closes it. */
	ck_assert_int_eq(wh_quiet(&W), 1);
	wh_bridge_join(&b);
	ck_assert_int_eq(b.eof, 1);
	ck_assert_ptr_nonnull(id = strstr(b.got, REQ_ID));
	id += strlen(REQ_ID);
	ck_assert_int_ge(strlen(id), UUID_LEN);
	snprintf(want, sizeof(want),
	    "POST /api/v2/aibridge/" WH_PROVIDER "/v1/messages?beta=true "
	    "HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\n"
	    "Authorization: Bearer sk-ant-client\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 13\r\n"
	    REQ_ID "%.*s\r\n"
	    "X-Coder-AI-Governance-Token: " WH_TOKEN "\r\n"
	    "\r\n"
	    "{\"model\":\"x\"}", b.port, UUID_LEN, id);
	ck_assert_str_eq(b.got, want);
	done();
}
END_TEST

/* A second CONNECT takes the cached leaf at once; refusals inside TLS. */
START_TEST(test_intercept_cached_leaf)
{
	static const char *const lines[] = {
		"GET /v1/../admin HTTP/1.1\r\nHost: " WH_HOST "\r\n\r\n", NULL
	};
	struct wh_tls	 c;
	int		 i;

	wh_init(&W);
	for (i = 0; i < 2; i++) {
		client_start(&c, lines, 0, 0);
		client_finish(&c);
		ck_assert_str_eq(c.answer, ESTABLISHED);
		ck_assert_str_eq(c.got, wh_answer(400, "Bad Request", ""));
		ck_assert_int_eq(c.clean, 1);
	}
	ck_assert_int_eq(W.nsigned, 1);
	done();
}
END_TEST

struct bget {
	int		 called;
	int		 status;
	struct bconn	*bc;
};

static void
bget_cb(void *arg, struct bconn *bc, int status, const char *why)
{
	struct bget	*bg = arg;

	bg->called++;
	bg->status = status;
	bg->bc = bc;
}

static int
bget_called(struct wh *h, void *arg)
{
	return (((struct bget *)arg)->called > 0);
}

/* 4. bridge_get() out of descriptors: 503, only from the loop. */
START_TEST(test_bridge_get_emfile)
{
	struct bget	 bg = { 0, 0, NULL };
	struct bconn	*bc = NULL;
	int		 filled, r, before, ran;

	wh_init(&W);
	wh_set_bridge(&W, "127.0.0.1", 9);
	filled = wh_fill_fds(&W);
	r = bridge_get(W.px.bridges, bget_cb, &bg, &bc);
	before = bg.called;
	ran = wh_run(&W, bget_called, &bg, 1.0);
	wh_release_fds(&W);
	ck_assert_int_eq(filled, 0);
	ck_assert_int_eq(r, 1);
	ck_assert_ptr_nonnull(bc);
	ck_assert_int_eq(before, 0);
	ck_assert_int_eq(ran, 0);
	ck_assert_int_eq(bg.called, 1);
	ck_assert_int_eq(bg.status, 503);
	ck_assert_ptr_null(bg.bc);
	done();
}
END_TEST

/*
 * The attack of issue 8: an intercepted request needing a new bridge
 * connection while the worker is out of descriptors.  The client gets
 * 503 inside its TLS session; nothing touches a freed session.
 */
START_TEST(test_intercept_emfile)
{
	static const char *const lines[] = { post, NULL };
	struct wh_tls	 c;
	int		 filled, ran;

	wh_init(&W);
	wh_set_bridge(&W, "127.0.0.1", 9);
	client_start(&c, lines, 0, 1);
	ck_assert_int_eq(wh_run(&W, client_ready, &c, 2.0), 0);
	ck_assert_int_eq(c.handshake, 0);
	filled = wh_fill_fds(&W);
	c.go = 1;
	ran = wh_run(&W, wh_tls_done, &c, 3.0);
	wh_release_fds(&W);
	wh_tls_join(&c);
	ck_assert_int_eq(filled, 0);
	ck_assert_int_eq(ran, 0);
	ck_assert_str_eq(c.got, wh_answer(503, "Service Unavailable", ""));
	ck_assert_int_eq(c.clean, 1);
	done();
}
END_TEST

/* Nobody listens at bridge.url: 502 inside TLS. */
START_TEST(test_intercept_bridge_refused)
{
	static const char *const lines[] = { post, NULL };
	struct wh_tls	 c;
	int		 fd, port;

	wh_init(&W);
	fd = wh_listen(&port);
	close(fd);
	wh_set_bridge(&W, "127.0.0.1", port);
	client_start(&c, lines, 0, 0);
	client_finish(&c);
	ck_assert_str_eq(c.answer, ESTABLISHED);
	ck_assert_str_eq(c.got, wh_answer(502, "Bad Gateway", ""));
	ck_assert_int_eq(c.clean, 1);
	done();
}
END_TEST

/* signerd refuses the leaf: 502 to the CONNECT, no 200. */
START_TEST(test_signer_refuses)
{
	struct wh_tls	 c;

	wh_init(&W);
	W.signer_refuse = 1;
	client_start(&c, NULL, 0, 0);
	client_finish(&c);
	ck_assert_int_eq(c.handshake, -1);
	ck_assert_str_eq(c.answer, wh_answer(502, "Bad Gateway", ""));
	ck_assert_int_eq(W.nsigned, 1);
	done();
}
END_TEST

/* signerd never answers: 504 after timeouts.handshake. */
START_TEST(test_signer_silent)
{
	struct wh_tls	 c;
	double		 t0 = ev_time();

	wh_init(&W);
	W.signer_mute = 1;
	W.pc->gc.gc_timeout_handshake = 200;
	client_start(&c, NULL, 0, 0);
	client_finish(&c);
	ck_assert_double_ge(ev_time() - t0, 0.18);
	ck_assert_int_eq(c.handshake, -1);
	ck_assert_str_eq(c.answer, wh_answer(504, "Gateway Timeout", ""));
	ck_assert_int_eq(W.nsigned, 1);
	done();
}
END_TEST

/* 6. Inside TLS too, the head has timeouts.header from its first byte. */
START_TEST(test_intercept_header_deadline)
{
	static const char *const lines[] = {
		"POST /v1/messages HTTP/1.1\r\n", "Host: " WH_HOST "\r\n",
		"X-A: 1\r\n", NULL
	};
	struct wh_tls	 c;
	const char	*log;
	char		 want[256];
	double		 dt;

	wh_init(&W);
	W.pc->gc.gc_timeout_header = 300;
	wh_log_start();
	client_start(&c, lines, 0.1, 0);
	client_finish(&c);
	log = wh_log_text();
	dt = c.tfirst - c.t0;
	ck_assert_str_eq(c.got, wh_answer(408, "Request Timeout", ""));
	ck_assert_int_eq(c.clean, 1);
	/* The worker's clock is its loop's, read as an iteration began. */
	ck_assert_double_ge(dt, 0.25);
	ck_assert_double_le(dt, 0.45);
	/* The audit line has the request's own id, and its own clock. */
	snprintf(want, sizeof(want), "provider " WH_PROVIDER " - - status 408 "
	    "up %zu down %zu ", strlen(lines[0]) + strlen(lines[1]) +
	    strlen(lines[2]), c.gotlen);
	audit_check(log, want, 0.25, 0.45);
	done();
}
END_TEST

/* Over limits.header_bytes inside TLS: 431 at once. */
START_TEST(test_intercept_header_too_large)
{
	static char	 big[700];
	const char	*lines[] = { big, NULL };
	struct wh_tls	 c;

	wh_init(&W);
	W.pc->gc.gc_header_bytes = 512;
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "POST /v1/messages HTTP/1.1\r\nX: ", 31);
	client_start(&c, lines, 0, 0);
	client_finish(&c);
	ck_assert_str_eq(c.got, wh_answer(431, "Request Header Fields Too Large", ""));
	ck_assert_double_lt(c.tfirst - c.t0, 0.2);
	done();
}
END_TEST

/* Two requests on one client connection share one bridge connection. */
START_TEST(test_intercept_keepalive)
{
	static const char *const lines[] = {
		"GET /v1/models HTTP/1.1\r\nHost: " WH_HOST "\r\n\r\n", post,
		NULL
	};
	struct wh_bridge	 b;
	struct wh_tls		 c;

	wh_init(&W);
	memset(&b, 0, sizeof(b));
	b.answers[0] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]";
	b.answers[1] = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
	wh_bridge_run(&b);
	wh_set_bridge(&W, "127.0.0.1", b.port);
	/* The second waits for the first's answer: no pipelining. */
	client_start(&c, lines, 0.15, 0);
	client_finish(&c);
	ck_assert_str_eq(c.got, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "\r\n[]HTTP/1.1 201 Created\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n");
	ck_assert_int_eq(c.clean, 1);
	ck_assert_int_eq(wh_quiet(&W), 1);
	wh_bridge_join(&b);
	ck_assert_int_eq(b.nreq, 2);
	ck_assert_ptr_nonnull(strstr(b.got, "GET /api/v2/aibridge/"
	    WH_PROVIDER "/v1/models HTTP/1.1\r\n"));
	ck_assert_ptr_nonnull(strstr(b.got, "POST /api/v2/aibridge/"
	    WH_PROVIDER "/v1/messages?beta=true HTTP/1.1\r\n"));
	done();
}
END_TEST

/* One request relayed: what the bridge sends, what the client gets. */
struct relay_case {
	const char	*req;		/* NULL: post */
	const char	*resp;		/* from the bridge, which then closes */
	const char	*want;		/* what the client reads */
	int		 clean;		/* ends with close_notify */
	const char	*audit;		/* in the audit line */
	const char	*tail;		/* the bridge's request ends so */
	int		 early;		/* answer and EOF before the request */
};

#define CHUNKED_HEAD							\
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"		\
	"Connection: close\r\n\r\n"
#define POST_AUDIT(status)						\
	"provider " WH_PROVIDER " POST /v1/messages status " #status " "

static const struct relay_case relay_cases[] = {
	/*
	 * A broken chunked body: the client's response ends visibly (no
	 * last chunk, no close_notify), audited as a bridge error.
	 */
	{ NULL, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
	    CHUNKED_HEAD, 0, POST_AUDIT(502), NULL, 0 },
	/* The bridge closes before the end of a Content-Length body. */
	{ NULL, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
	    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n"
	    "\r\nshort", 0, POST_AUDIT(502), NULL, 0 },
	/*
	 * An interim answer goes through before the final one, also when
	 * both and the bridge's EOF are there at the first read.
	 */
	{ NULL, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
	    "Content-Length: 2\r\n\r\nok", "HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
	    "\r\nok", 1, POST_AUDIT(200), NULL, 0 },
	{ NULL, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
	    "Content-Length: 2\r\n\r\nok", "HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
	    "\r\nok", 1, POST_AUDIT(200), NULL, 1 },
	/* The bridge's own errors pass as they are. */
	{ NULL, "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 4\r\n\r\n"
	    "slow", "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 4\r\n"
	    "Connection: close\r\n\r\nslow", 1, POST_AUDIT(429), NULL, 0 },
	/* A body that ends with the bridge's connection. */
	{ NULL, "HTTP/1.1 200 OK\r\n\r\nuntil the end",
	    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", 1,
	    POST_AUDIT(200), NULL, 0 },
	/* HEAD: a length, and no body. */
	{ "HEAD /v1/models HTTP/1.1\r\nHost: " WH_HOST "\r\n"
	    "Connection: close\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
	    1, "provider " WH_PROVIDER " HEAD /v1/models status 200 ", NULL, 0 },
	/* A chunked request body goes as it came. */
	{ "POST /v1/messages HTTP/1.1\r\nHost: " WH_HOST "\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	    "5\r\nhello\r\n0\r\n\r\n",
	    "HTTP/1.1 204 No Content\r\n\r\n",
	    "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", 1,
	    POST_AUDIT(204), "\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0 },
};

START_TEST(test_intercept_relay)
{
	const struct relay_case	*rc = &relay_cases[_i];
	const char		*lines[] = { rc->req ? rc->req : post, NULL };
	struct wh_bridge	 b;
	struct wh_tls		 c;
	const char		*log;
	size_t			 n;

	wh_init(&W);
	memset(&b, 0, sizeof(b));
	b.answers[0] = rc->resp;
	b.early = rc->early;
	wh_bridge_run(&b);
	wh_set_bridge(&W, "127.0.0.1", b.port);
	wh_log_start();
	client_start(&c, lines, 0, 0);
	client_finish(&c);
	log = wh_log_text();
	ck_assert_msg(strcmp(c.got, rc->want) == 0, "got \"%s\"; log: %s",
	    c.got, log);
	ck_assert_int_eq(c.clean, rc->clean);
	ck_assert_msg(strstr(log, rc->audit) != NULL, "no \"%s\" in %s",
	    rc->audit, log);
	ck_assert_int_eq(wh_quiet(&W), 1);
	wh_bridge_join(&b);
	ck_assert_int_eq(b.nreq, 1);
	if (rc->tail != NULL) {
		n = strlen(rc->tail);
		ck_assert_uint_ge(b.gotlen, n);
		ck_assert_str_eq(b.got + b.gotlen - n, rc->tail);
	}
	done();
}
END_TEST

/*
 * Known bug: valid chunks that arrive in the same read as the broken
 * bytes are dropped, because http_body_feed() returns -1 for the whole
 * feed; mitm.c promises that what was valid goes out.
 */
static const struct relay_case bad_chunk_prefix = {
	NULL, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	"5\r\nhello\r\nZZ\r\n", CHUNKED_HEAD "5\r\nhello\r\n", 0,
	POST_AUDIT(502), NULL, 0
};

START_TEST(test_intercept_bad_chunk_prefix)
{
	const struct relay_case	*rc = &bad_chunk_prefix;
	const char		*lines[] = { post, NULL };
	struct wh_bridge	 b;
	struct wh_tls		 c;

	wh_init(&W);
	wh_bridge_start(&b, rc->resp);
	wh_set_bridge(&W, "127.0.0.1", b.port);
	client_start(&c, lines, 0, 0);
	client_finish(&c);
	ck_assert_str_eq(c.got, rc->want);
	ck_assert_int_eq(c.clean, 0);
	ck_assert_int_eq(wh_quiet(&W), 1);
	wh_bridge_join(&b);
	done();
}
END_TEST

/* A response head over the limit: 502 at once, not at timeouts.idle. */
START_TEST(test_intercept_huge_response_head)
{
	static const char *const lines[] = { post, NULL };
	static char		 huge[80 * 1024];
	struct wh_bridge	 b;
	struct wh_tls		 c;
	size_t			 n;

	wh_init(&W);
	n = strlcpy(huge, "HTTP/1.1 200 OK\r\nX-Big: ", sizeof(huge));
	memset(huge + n, 'b', sizeof(huge) - n - 1);
	wh_bridge_start(&b, huge);
	wh_set_bridge(&W, "127.0.0.1", b.port);
	client_start(&c, lines, 0, 0);
	client_finish(&c);
	ck_assert_str_eq(c.got, wh_answer(502, "Bad Gateway", ""));
	ck_assert_double_lt(c.tfirst - c.t0, 0.5);
	ck_assert_int_eq(wh_quiet(&W), 1);
	wh_bridge_join(&b);
	done();
}
END_TEST

/* The bridge does not take the connection: 504 at timeouts.connect. */
START_TEST(test_intercept_bridge_timeout)
{
	static const char *const lines[] = { post, NULL };
	struct wh_tls	 c;
	int		 lfd, port, queued;

	wh_init(&W);
	W.pc->gc.gc_timeout_connect = 200;
	lfd = wh_stalled(&port, &queued);
	wh_set_bridge(&W, "127.0.0.1", port);
	client_start(&c, lines, 0, 0);
	client_finish(&c);
	ck_assert_str_eq(c.got, wh_answer(504, "Gateway Timeout", ""));
	ck_assert_double_ge(c.tfirst - c.t0, 0.18);
	ck_assert_double_lt(c.tfirst - c.t0, 1.0);
	close(queued);
	close(lfd);
	done();
}
END_TEST

/* A TLS listener: the proxy's own pages inside its TLS session. */
START_TEST(test_tls_listener_healthz)
{
	static const char *const lines[] = {
		"GET /healthz HTTP/1.1\r\nHost: " WH_PROXY_NAME "\r\n\r\n", NULL
	};
	struct wh_tls	 c;

	wh_init(&W);
	wh_tls_listener(&W);
	client_prepare(&c, lines, 0, 0);
	c.listener_tls = 1;
	c.connect = NULL;
	wh_tls_start(&c, wh_client(&W));
	client_finish(&c);
	ck_assert_int_eq(c.handshake, 0);
	ck_assert_str_eq(c.got, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 3\r\nConnection: close\r\n\r\nOK\n");
	ck_assert_int_eq(c.clean, 1);
	done();
}
END_TEST

/* ... and a 407 inside it. */
START_TEST(test_tls_listener_407)
{
	struct wh_tls	 c;

	wh_init(&W);
	wh_tls_listener(&W);
	client_prepare(&c, NULL, 0, 0);
	c.listener_tls = 1;
	c.connect = "CONNECT " WH_HOST ":443 HTTP/1.1\r\nHost: " WH_HOST
	    ":443\r\n\r\n";
	wh_tls_start(&c, wh_client(&W));
	client_finish(&c);
	ck_assert_int_eq(c.handshake, -1);
	ck_assert_str_eq(c.answer, wh_answer(407, "Proxy Authentication "
	    "Required", "Proxy-Authenticate: Basic realm=\"aibproxyd\"\r\n"));
	ck_assert_int_eq(W.nsigned, 0);
	done();
}
END_TEST

/* Interception through a TLS listener: our TLS inside the listener's. */
START_TEST(test_tls_listener_intercept)
{
	static const char *const lines[] = { post, NULL };
	struct wh_bridge	 b;
	struct wh_tls		 c;

	wh_init(&W);
	wh_tls_listener(&W);
	wh_bridge_start(&b, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"
	    "{\"ok\":true}");
	wh_set_bridge(&W, "127.0.0.1", b.port);
	client_prepare(&c, lines, 0, 0);
	c.listener_tls = 1;
	wh_tls_start(&c, wh_client(&W));
	client_finish(&c);
	ck_assert_str_eq(c.answer, ESTABLISHED);
	ck_assert_int_eq(c.handshake, 0);
	ck_assert_str_eq(c.got, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n"
	    "Connection: close\r\n\r\n{\"ok\":true}");
	ck_assert_int_eq(c.clean, 1);
	ck_assert_int_eq(wh_quiet(&W), 1);
	wh_bridge_join(&b);
	ck_assert_int_eq(b.nreq, 1);
	ck_assert_int_eq(strncmp(b.got, "POST /api/v2/aibridge/" WH_PROVIDER
	    "/v1/messages?beta=true HTTP/1.1\r\n", 59), 0);
	ck_assert_ptr_nonnull(strstr(b.got, "\r\n\r\n{\"model\":\"x\"}"));
	done();
}
END_TEST

/* ... and the head's deadline inside both. */
START_TEST(test_tls_listener_header_deadline)
{
	static const char *const lines[] = {
		"POST /v1/messages HTTP/1.1\r\n", "Host: " WH_HOST "\r\n",
		"X-A: 1\r\n", NULL
	};
	struct wh_tls	 c;
	double		 dt;

	wh_init(&W);
	wh_tls_listener(&W);
	W.pc->gc.gc_timeout_header = 300;
	client_prepare(&c, lines, 0.1, 0);
	c.listener_tls = 1;
	wh_tls_start(&c, wh_client(&W));
	client_finish(&c);
	dt = c.tfirst - c.t0;
	ck_assert_str_eq(c.got, wh_answer(408, "Request Timeout", ""));
	ck_assert_double_ge(dt, 0.25);
	ck_assert_double_le(dt, 0.45);
	done();
}
END_TEST

/* No ClientHello: closed at timeouts.handshake, nothing said. */
START_TEST(test_tls_listener_silent)
{
	struct wh_reader	 r;
	double			 t0 = ev_time();

	wh_init(&W);
	wh_tls_listener(&W);
	W.pc->gc.gc_timeout_handshake = 200;
	wh_reader_init(&r, wh_client(&W));
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.0), 0);
	ck_assert_uint_eq(r.len, 0);
	ck_assert_double_ge(ev_time() - t0, 0.18);
	close(r.fd);
	done();
}
END_TEST

#define BULK	(1024 * 1024 + 7)

/* A byte pattern that shows a lost, doubled or reordered block. */
static void
pattern(char *p, size_t len, unsigned int seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = 'a' + (i / 1000 + seed) % 26;
}

/*
 * A megabyte each way through the interception: the request body goes
 * out as the client sends it and the response as the bridge sends it,
 * through buffers of 64 KiB, whole and in order.
 */
START_TEST(test_intercept_bulk)
{
	static char		 req[BULK + 256], resp[BULK + 256];
	static char		 want[BULK + 256];
	const char		*lines[] = { req, NULL };
	struct wh_bridge	 b;
	struct wh_tls		 c;
	size_t			 n, m;

	wh_init(&W);
	n = snprintf(req, sizeof(req), "PUT /v1/files HTTP/1.1\r\nHost: "
	    WH_HOST "\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
	    BULK);
	pattern(req + n, BULK, 1);
	m = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n"
	    "Content-Length: %d\r\n\r\n", BULK);
	pattern(resp + m, BULK, 2);
	memset(&b, 0, sizeof(b));
	b.answers[0] = resp;
	wh_bridge_run(&b);
	wh_set_bridge(&W, "127.0.0.1", b.port);
	client_start(&c, lines, 0, 0);
	ck_assert_int_eq(wh_run(&W, wh_tls_done, &c, 8.0), 0);
	wh_tls_join(&c);
	m = snprintf(want, sizeof(want), "HTTP/1.1 200 OK\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n\r\n", BULK);
	pattern(want + m, BULK, 2);
	ck_assert_uint_eq(c.total, m + BULK);
	ck_assert_uint_eq(c.hash, wh_hash(WH_HASH_INIT, want, m + BULK));
	ck_assert_int_eq(c.clean, 1);
	ck_assert_int_eq(wh_quiet(&W), 1);
	wh_bridge_join(&b);
	ck_assert_uint_eq(b.body, BULK);
	ck_assert_uint_eq(b.bodyhash, wh_hash(WH_HASH_INIT, req + n, BULK));
	done();
}
END_TEST

static int
signer_held(struct wh *h, void *arg)
{
	return (h->nheld >= (int)(uintptr_t)arg);
}

/*
 * Two clients wait for the same leaf: one request to signerd.  A
 * reload (certs_reset()) meanwhile asks again under the new key; the
 * late answer to the old request is dropped, and both clients get the
 * new leaf.
 */
START_TEST(test_leaf_waiters_reload)
{
	static const char *const lines[] = {
		"GET /v1/../x HTTP/1.1\r\nHost: " WH_HOST "\r\n\r\n", NULL
	};
	struct wh_tls	 c[2];
	int		 i;

	wh_init(&W);
	W.signer_hold = 1;
	client_start(&c[0], lines, 0, 0);
	client_start(&c[1], lines, 0, 0);
	ck_assert_int_eq(wh_run(&W, signer_held, (void *)1, 1.0), 0);
	/* Let the second CONNECT in too. */
	ck_assert_int_ne(wh_run(&W, signer_held, (void *)2, 0.1), 0);
	ck_assert_int_eq(W.nsigned, 1);
	certs_reset(&W.px);
	ck_assert_int_eq(wh_run(&W, signer_held, (void *)2, 1.0), 0);
	ck_assert_int_eq(W.nsigned, 2);
	wh_signer_release(&W);
	for (i = 0; i < 2; i++) {
		client_finish(&c[i]);
		ck_assert_str_eq(c[i].answer, ESTABLISHED);
		ck_assert_int_eq(c[i].handshake, 0);
		ck_assert_str_eq(c[i].got, wh_answer(400, "Bad Request", ""));
	}
	done();
}
END_TEST

/*
 * The client hangs up in the middle of a long response: the session
 * ends, audited as cut, and the bridge connection is closed rather
 * than pooled with the rest of the response in it.
 */
START_TEST(test_intercept_client_gone)
{
	static char		 resp[BULK + 256];
	const char		*lines[] = { post, NULL };
	struct wh_bridge	 b;
	struct wh_tls		 c;
	const char		*log;
	size_t			 m;

	wh_init(&W);
	m = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n"
	    "Content-Length: %d\r\n\r\n", BULK);
	pattern(resp + m, BULK, 3);
	wh_bridge_start(&b, resp);
	wh_set_bridge(&W, "127.0.0.1", b.port);
	W.small_buffers = 1;
	wh_log_start();
	client_prepare(&c, lines, 0, 0);
	c.stop_after = 100 * 1024;
	wh_tls_start(&c, wh_client(&W));
	client_finish(&c);
	log = wh_log_text();
	ck_assert_uint_ge(c.total, 100 * 1024);
	ck_assert_uint_lt(c.total, BULK);
	ck_assert_ptr_nonnull(strstr(log, POST_AUDIT(200)));
	ck_assert_msg(strstr(log, "token tokid: client write failed\n") !=
	    NULL, "%s", log);
	/* Nothing pooled: the connection went with the session. */
	ck_assert_int_eq(wh_quiet(&W), 1);
	wh_bridge_join(&b);
	ck_assert_int_eq(b.nreq, 1);
	done();
}
END_TEST

/*
 * A client that does not wait for "200 Connection established": its
 * ClientHello comes in the same read as the CONNECT.
 */
START_TEST(test_intercept_eager)
{
	static const char *const lines[] = {
		"GET /v1/../x HTTP/1.1\r\nHost: " WH_HOST "\r\n\r\n", NULL
	};
	struct wh_tls	 c;
	int		 i;

	wh_init(&W);
	/* The first waits for signerd, the second has the leaf at once. */
	for (i = 0; i < 2; i++) {
		client_prepare(&c, lines, 0, 0);
		c.eager = 1;
		wh_tls_start(&c, wh_client(&W));
		client_finish(&c);
		ck_assert_msg(c.handshake == 0, "%s", c.err);
		ck_assert_str_eq(c.answer, ESTABLISHED);
		ck_assert_str_eq(c.got, wh_answer(400, "Bad Request", ""));
	}
	ck_assert_int_eq(W.nsigned, 1);
	done();
}
END_TEST

static Suite *
mitm_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("mitm");

	tc = tcase_create("intercept");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_intercept_post);
	tcase_add_test(tc, test_intercept_cached_leaf);
	tcase_add_test(tc, test_intercept_eager);
	tcase_add_test(tc, test_leaf_waiters_reload);
	tcase_add_test(tc, test_intercept_keepalive);
	tcase_add_test(tc, test_intercept_bulk);
	tcase_add_test(tc, test_intercept_client_gone);
	tcase_add_test(tc, test_intercept_header_deadline);
	tcase_add_test(tc, test_intercept_header_too_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls_listener");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_tls_listener_healthz);
	tcase_add_test(tc, test_tls_listener_407);
	tcase_add_test(tc, test_tls_listener_intercept);
	tcase_add_test(tc, test_tls_listener_header_deadline);
	tcase_add_test(tc, test_tls_listener_silent);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_bridge_get_emfile);
	tcase_add_test(tc, test_intercept_emfile);
	tcase_add_test(tc, test_intercept_bridge_refused);
	tcase_add_test(tc, test_signer_refuses);
	tcase_add_test(tc, test_signer_silent);
	tcase_add_loop_test(tc, test_intercept_relay, 0,
	    (int)nitems(relay_cases));
	tcase_add_test(tc, test_intercept_huge_response_head);
	tcase_add_test(tc, test_intercept_bridge_timeout);
	suite_add_tcase(s, tc);

	/* Tests for bugs not fixed yet: AIB_UNIT_KNOWN_BUGS=1 runs them. */
	if (getenv("AIB_UNIT_KNOWN_BUGS") != NULL) {
		tc = tcase_create("known_bugs");
		tcase_set_timeout(tc, 10);
		tcase_add_test(tc, test_intercept_bad_chunk_prefix);
		suite_add_tcase(s, tc);
	}

	return (s);
}

int
main(void)
{
	return (unit_run(mitm_suite()) != 0);
}
