/*
 * Interception driven on the worker's own loop (harness.h): the test
 * signs leaves in signerd's place, a client thread talks TLS inside
 * its CONNECT (perhaps inside a TLS listener's session), and a bridge
 * thread on 127.0.0.1 records what reached it.  Every test ends with
 * no session and no watcher left.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "../../aibproxyd/bridge.h"
#include "../../aibproxyd/certs.h"
#include "../../aibproxyd/endpoint.h"
#include "../../aibproxyd/session.h"
#include "../../aibproxyd/vcheck.h"
#include "harness.h"
#include "unit.h"

/* Static, so whatever the worker still holds at exit is reachable. */
static struct wh	 W;

#define REQ_ID		"X-Coder-AI-Governance-Request-Id: "
#define UUID_LEN	36

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

/* 3. An intercepted request reaches the bridge rewritten. */
START_TEST(test_intercept_post)
{
	static const char *const lines[] = { wh_post, NULL };
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
	wh_tls_client(&W, &c, lines, 0, 0);
	wh_tls_finish(&W, &c);
	log = wh_log_text();
	ck_assert_str_eq(c.answer, WH_ESTABLISHED);
	ck_assert_int_eq(c.handshake, 0);
	ck_assert_str_eq(c.got, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\nContent-Length: 11\r\nConnection: close\r\n"
	    "\r\n{\"ok\":true}");
	ck_assert_int_eq(c.clean, 1);
	ck_assert_int_eq(W.nsigned, 1);
	ck_assert_uint_eq(W.px.stats.st_sessions_mitm, 1);
	/* The path without its query; whole messages counted. */
	snprintf(want, sizeof(want), "provider " WH_PROVIDER " POST "
	    "/v1/messages status 200 up %zu down %zu ", strlen(wh_post),
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
	wh_done(&W);
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
		wh_tls_client(&W, &c, lines, 0, 0);
		wh_tls_finish(&W, &c);
		ck_assert_str_eq(c.answer, WH_ESTABLISHED);
		ck_assert_str_eq(c.got, wh_answer(400, "Bad Request", ""));
		ck_assert_int_eq(c.clean, 1);
	}
	ck_assert_int_eq(W.nsigned, 1);
	wh_done(&W);
}
END_TEST

/* signerd refuses the leaf: 502 to the CONNECT, no 200. */
START_TEST(test_signer_refuses)
{
	struct wh_tls	 c;

	wh_init(&W);
	W.signer_refuse = 1;
	wh_tls_client(&W, &c, NULL, 0, 0);
	wh_tls_finish(&W, &c);
	ck_assert_int_eq(c.handshake, -1);
	ck_assert_str_eq(c.answer, wh_answer(502, "Bad Gateway", ""));
	ck_assert_int_eq(W.nsigned, 1);
	/* Refused before any TLS: no interception was established. */
	ck_assert_uint_eq(W.px.stats.st_sessions_mitm, 0);
	wh_done(&W);
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
	wh_tls_client(&W, &c, NULL, 0, 0);
	wh_tls_finish(&W, &c);
	ck_assert_double_ge(ev_time() - t0, 0.18);
	ck_assert_int_eq(c.handshake, -1);
	ck_assert_str_eq(c.answer, wh_answer(504, "Gateway Timeout", ""));
	ck_assert_int_eq(W.nsigned, 1);
	wh_done(&W);
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
	wh_tls_client(&W, &c, lines, 0.1, 0);
	wh_tls_finish(&W, &c);
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
	wh_done(&W);
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
	wh_tls_client(&W, &c, lines, 0, 0);
	wh_tls_finish(&W, &c);
	ck_assert_str_eq(c.got, wh_answer(431, "Request Header Fields Too "
	    "Large", ""));
	ck_assert_double_lt(c.tfirst - c.t0, 0.2);
	wh_done(&W);
}
END_TEST

/* Two requests on one client connection share one bridge connection. */
START_TEST(test_intercept_keepalive)
{
	static const char *const lines[] = {
		"GET /v1/models HTTP/1.1\r\nHost: " WH_HOST "\r\n\r\n", wh_post,
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
	wh_tls_client(&W, &c, lines, 0.15, 0);
	wh_tls_finish(&W, &c);
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
	wh_done(&W);
}
END_TEST

/*
 * Once a stop began (stop.c), a keep-alive request's answer ends with
 * Connection: close, so that the client reconnects, through its load
 * balancer, to an instance that is not stopping.
 */
START_TEST(test_intercept_stopping)
{
	static const char *const lines[] = {
		"GET /v1/models HTTP/1.1\r\nHost: " WH_HOST "\r\n\r\n", NULL
	};
	struct wh_bridge	 b;
	struct wh_tls		 c;

	wh_init(&W);
	wh_bridge_start(&b, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]");
	wh_set_bridge(&W, "127.0.0.1", b.port);
	W.px.stopping = 1;
	wh_tls_client(&W, &c, lines, 0, 0);
	wh_tls_finish(&W, &c);
	ck_assert_str_eq(c.got, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\n[]");
	ck_assert_int_eq(c.clean, 1);
	ck_assert_int_eq(wh_quiet(&W), 1);
	wh_bridge_join(&b);
	ck_assert_int_eq(b.nreq, 1);
	wh_done(&W);
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
	wh_tls_direct(&W, &c, lines);
	ck_assert_str_eq(c.got, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 3\r\nConnection: close\r\n\r\nOK\n");
	ck_assert_int_eq(c.clean, 1);
	wh_done(&W);
}
END_TEST

/* ... and a 407 inside it. */
START_TEST(test_tls_listener_407)
{
	struct wh_tls	 c;

	wh_init(&W);
	wh_tls_listener(&W);
	wh_tls_prepare(&c, NULL, 0, 0);
	c.listener_tls = 1;
	c.connect = "CONNECT " WH_HOST ":443 HTTP/1.1\r\nHost: " WH_HOST
	    ":443\r\n\r\n";
	wh_tls_start(&c, wh_client(&W));
	wh_tls_finish(&W, &c);
	ck_assert_int_eq(c.handshake, -1);
	ck_assert_str_eq(c.answer, wh_answer(407, "Proxy Authentication "
	    "Required", "Proxy-Authenticate: Basic realm=\"aibproxyd\"\r\n"));
	ck_assert_int_eq(W.nsigned, 0);
	wh_done(&W);
}
END_TEST

/* Interception through a TLS listener: our TLS inside the listener's. */
START_TEST(test_tls_listener_intercept)
{
	static const char *const lines[] = { wh_post, NULL };
	struct wh_bridge	 b;
	struct wh_tls		 c;

	wh_init(&W);
	wh_tls_listener(&W);
	wh_bridge_start(&b, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"
	    "{\"ok\":true}");
	wh_set_bridge(&W, "127.0.0.1", b.port);
	wh_tls_prepare(&c, lines, 0, 0);
	c.listener_tls = 1;
	wh_tls_start(&c, wh_client(&W));
	wh_tls_finish(&W, &c);
	ck_assert_str_eq(c.answer, WH_ESTABLISHED);
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
	wh_done(&W);
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
	wh_tls_prepare(&c, lines, 0.1, 0);
	c.listener_tls = 1;
	wh_tls_start(&c, wh_client(&W));
	wh_tls_finish(&W, &c);
	dt = c.tfirst - c.t0;
	ck_assert_str_eq(c.got, wh_answer(408, "Request Timeout", ""));
	ck_assert_double_ge(dt, 0.25);
	ck_assert_double_le(dt, 0.45);
	wh_done(&W);
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
	ck_assert_uint_eq(W.px.stats.st_tls_fail[TLSSTAGE_LISTENER]
	    [TLSFAIL_TIMEOUT], 1);
	close(r.fd);
	wh_done(&W);
}
END_TEST

/*
 * A megabyte each way through the interception: the request body goes
 * out as the client sends it and the response as the bridge sends it,
 * through buffers of 64 KiB, whole and in order.
 */
START_TEST(test_intercept_bulk)
{
	static char		 req[WH_BULK + 256], resp[WH_BULK + 256];
	static char		 want[WH_BULK + 256];
	const char		*lines[] = { req, NULL };
	struct wh_bridge	 b;
	struct wh_tls		 c;
	size_t			 n, m;

	wh_init(&W);
	n = snprintf(req, sizeof(req), "PUT /v1/files HTTP/1.1\r\nHost: "
	    WH_HOST "\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
	    WH_BULK);
	wh_pattern(req + n, WH_BULK, 1);
	m = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n"
	    "Content-Length: %d\r\n\r\n", WH_BULK);
	wh_pattern(resp + m, WH_BULK, 2);
	memset(&b, 0, sizeof(b));
	b.answers[0] = resp;
	wh_bridge_run(&b);
	wh_set_bridge(&W, "127.0.0.1", b.port);
	wh_tls_client(&W, &c, lines, 0, 0);
	ck_assert_int_eq(wh_run(&W, wh_tls_done, &c, 8.0), 0);
	wh_tls_join(&c);
	m = snprintf(want, sizeof(want), "HTTP/1.1 200 OK\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n\r\n", WH_BULK);
	wh_pattern(want + m, WH_BULK, 2);
	ck_assert_uint_eq(c.total, m + WH_BULK);
	ck_assert_uint_eq(c.hash, wh_hash(WH_HASH_INIT, want, m + WH_BULK));
	ck_assert_int_eq(c.clean, 1);
	ck_assert_int_eq(wh_quiet(&W), 1);
	wh_bridge_join(&b);
	ck_assert_uint_eq(b.body, WH_BULK);
	ck_assert_uint_eq(b.bodyhash, wh_hash(WH_HASH_INIT, req + n, WH_BULK));
	wh_done(&W);
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
	wh_tls_client(&W, &c[0], lines, 0, 0);
	wh_tls_client(&W, &c[1], lines, 0, 0);
	ck_assert_int_eq(wh_run(&W, signer_held, (void *)1, 1.0), 0);
	/* Let the second CONNECT in too. */
	ck_assert_int_ne(wh_run(&W, signer_held, (void *)2, 0.1), 0);
	ck_assert_int_eq(W.nsigned, 1);
	certs_reset(&W.px);
	ck_assert_int_eq(wh_run(&W, signer_held, (void *)2, 1.0), 0);
	ck_assert_int_eq(W.nsigned, 2);
	wh_signer_release(&W);
	for (i = 0; i < 2; i++) {
		wh_tls_finish(&W, &c[i]);
		ck_assert_str_eq(c[i].answer, WH_ESTABLISHED);
		ck_assert_int_eq(c[i].handshake, 0);
		ck_assert_str_eq(c[i].got, wh_answer(400, "Bad Request", ""));
	}
	wh_done(&W);
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
		wh_tls_prepare(&c, lines, 0, 0);
		c.eager = 1;
		wh_tls_start(&c, wh_client(&W));
		wh_tls_finish(&W, &c);
		ck_assert_msg(c.handshake == 0, "%s", c.err);
		ck_assert_str_eq(c.answer, WH_ESTABLISHED);
		ck_assert_str_eq(c.got, wh_answer(400, "Bad Request", ""));
	}
	ck_assert_int_eq(W.nsigned, 1);
	wh_done(&W);
}
END_TEST
/* The owner in a users/me answer, refused when it is not plain. */
START_TEST(test_vcheck_username)
{
	static const struct {
		const char	*json;
		const char	*user;		/* NULL: refused */
	} c[] = {
		{ "{\"id\":\"u\",\"username\":\"alice\"}", "alice" },
		{ "{\"username\":\"a-b.c_d\",\"roles\":[1,2]}", "a-b.c_d" },
		{ "{\"username\":\"\"}", NULL },
		{ "{\"username\":42}", NULL },
		{ "{\"user\":\"alice\"}", NULL },
		{ "{\"username\":\"al ice\"}", NULL },	/* audit field */
		{ "{\"username\":\"a\",\"username\":\"b\"}", NULL },
		{ "[\"username\",\"alice\"]", NULL },
		{ "{\"username\":\"alice\"", NULL },	/* cut short */
		{ "", NULL },
	};
	char	 user[AUTH_USER_MAX];
	size_t	 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		user[0] = '\0';
		if (c[i].user == NULL) {
			ck_assert_int_eq(vcheck_username(c[i].json,
			    strlen(c[i].json), user, sizeof(user)), -1);
			continue;
		}
		ck_assert_int_eq(vcheck_username(c[i].json, strlen(c[i].json),
		    user, sizeof(user)), 0);
		ck_assert_str_eq(user, c[i].user);
	}
	/* A name longer than the audit field holds is refused whole. */
	ck_assert_int_eq(vcheck_username("{\"username\":\"abcdefgh\"}", 23,
	    user, 5), -1);
}
END_TEST

/*
 * After endpoint_tls_lean(), every new TLS session of the process, ours
 * through libtls or any other, frees its record buffers when they are
 * empty; a second call adds no second hook.
 */
START_TEST(test_tls_lean)
{
	SSL_CTX	*ctx;
	SSL	*ssl;

	ck_assert_int_eq(endpoint_tls_lean(), 0);
	ck_assert_int_eq(endpoint_tls_lean(), 0);
	ck_assert_ptr_nonnull(ctx = SSL_CTX_new(TLS_server_method()));
	ck_assert_ptr_nonnull(ssl = SSL_new(ctx));
	ck_assert_uint_ne(SSL_get_mode(ssl) & SSL_MODE_RELEASE_BUFFERS, 0);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}
END_TEST

static Suite *
mitm_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("mitm");

	tc = tcase_create("vcheck");
	tcase_add_test(tc, test_vcheck_username);
	suite_add_tcase(s, tc);

	tc = tcase_create("intercept");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_intercept_post);
	tcase_add_test(tc, test_intercept_cached_leaf);
	tcase_add_test(tc, test_intercept_eager);
	tcase_add_test(tc, test_leaf_waiters_reload);
	tcase_add_test(tc, test_intercept_keepalive);
	tcase_add_test(tc, test_intercept_stopping);
	tcase_add_test(tc, test_intercept_bulk);
	tcase_add_test(tc, test_intercept_header_deadline);
	tcase_add_test(tc, test_intercept_header_too_large);
	tcase_add_test(tc, test_signer_refuses);
	tcase_add_test(tc, test_signer_silent);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls_lean");
	tcase_add_test(tc, test_tls_lean);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls_listener");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_tls_listener_healthz);
	tcase_add_test(tc, test_tls_listener_407);
	tcase_add_test(tc, test_tls_listener_intercept);
	tcase_add_test(tc, test_tls_listener_header_deadline);
	tcase_add_test(tc, test_tls_listener_silent);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(mitm_suite()) != 0);
}
