/*
 * The bridge side of interception, driven on the worker's own loop
 * (harness.h): responses relayed as the bridge sends them, the bridge
 * failing or out of reach, and bridge_get() out of descriptors.  Every
 * test ends with no session and no watcher left.
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
#include "../../aibproxyd/session.h"
#include "harness.h"
#include "unit.h"

/* Static, so whatever the worker still holds at exit is reachable. */
static struct wh	 W;

struct bget {
	int		 called;
	int		 status;
	struct bconn	*bc;
	char		 why[400];
};

static void
bget_cb(void *arg, struct bconn *bc, int status, const char *why)
{
	struct bget	*bg = arg;

	bg->called++;
	bg->status = status;
	bg->bc = bc;
	(void)strlcpy(bg->why, why != NULL ? why : "", sizeof(bg->why));
}

static int
bget_called(struct wh *h, void *arg)
{
	return (((struct bget *)arg)->called > 0);
}

/*
 * 4. bridge_get() out of descriptors: 503, only from the loop, and the
 * cause in the system's words (issue 10: not the line of a bridge out
 * of reach, below).
 */
START_TEST(test_bridge_get_emfile)
{
	struct bget	 bg = { 0, 0, NULL, "" };
	struct bconn	*bc = NULL;
	const char	*log;
	int		 filled, r, before, ran;

	wh_init(&W);
	wh_set_bridge(&W, "127.0.0.1", 9);
	wh_log_start();
	filled = wh_fill_fds(&W);
	r = bridge_get(W.px.bridges, bget_cb, &bg, &bc);
	before = bg.called;
	ran = wh_run(&W, bget_called, &bg, 1.0);
	wh_release_fds(&W);
	log = wh_log_text();
	ck_assert_int_eq(filled, 0);
	ck_assert_int_eq(r, 1);
	ck_assert_ptr_nonnull(bc);
	ck_assert_int_eq(before, 0);
	ck_assert_int_eq(ran, 0);
	ck_assert_int_eq(bg.called, 1);
	ck_assert_int_eq(bg.status, 503);
	ck_assert_ptr_null(bg.bc);
	ck_assert_str_eq(bg.why,
	    "bridge 127.0.0.1:9: socket: Too many open files");
	ck_assert_msg(strstr(log, "bridge: connect to 127.0.0.1:9: socket: "
	    "Too many open files\n") != NULL && strstr(log,
	    "cannot connect") == NULL, "log: %s", log);
	wh_done(&W);
}
END_TEST

/* Nobody listens at bridge.url: 502, and "Connection refused". */
START_TEST(test_bridge_get_refused)
{
	struct bget	 bg = { 0, 0, NULL, "" };
	struct bconn	*bc = NULL;
	const char	*log;
	char		 want[128];
	int		 fd, port;

	wh_init(&W);
	fd = wh_listen(&port);
	close(fd);
	wh_set_bridge(&W, "127.0.0.1", port);
	wh_log_start();
	ck_assert_int_eq(bridge_get(W.px.bridges, bget_cb, &bg, &bc), 1);
	ck_assert_int_eq(wh_run(&W, bget_called, &bg, 1.0), 0);
	log = wh_log_text();
	ck_assert_int_eq(bg.status, 502);
	ck_assert_ptr_null(bg.bc);
	(void)snprintf(want, sizeof(want), "bridge 127.0.0.1:%d: cannot "
	    "connect to 127.0.0.1:%d: Connection refused", port, port);
	ck_assert_str_eq(bg.why, want);
	ck_assert_msg(strstr(log, want) != NULL, "no \"%s\" in %s", want,
	    log);
	wh_done(&W);
}
END_TEST

/*
 * The attack of issue 8: an intercepted request needing a new bridge
 * connection while the worker is out of descriptors.  The client gets
 * 503 inside its TLS session; nothing touches a freed session.
 */
START_TEST(test_intercept_emfile)
{
	static const char *const lines[] = { wh_post, NULL };
	struct wh_tls	 c;
	int		 filled, ran;

	wh_init(&W);
	wh_set_bridge(&W, "127.0.0.1", 9);
	wh_tls_client(&W, &c, lines, 0, 1);
	ck_assert_int_eq(wh_run(&W, wh_tls_ready, &c, 2.0), 0);
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
	wh_done(&W);
}
END_TEST

/* Nobody listens at bridge.url: 502 inside TLS. */
START_TEST(test_intercept_bridge_refused)
{
	static const char *const lines[] = { wh_post, NULL };
	struct wh_tls	 c;
	int		 fd, port;

	wh_init(&W);
	fd = wh_listen(&port);
	close(fd);
	wh_set_bridge(&W, "127.0.0.1", port);
	wh_tls_client(&W, &c, lines, 0, 0);
	wh_tls_finish(&W, &c);
	ck_assert_str_eq(c.answer, WH_ESTABLISHED);
	ck_assert_str_eq(c.got, wh_answer(502, "Bad Gateway", ""));
	ck_assert_int_eq(c.clean, 1);
	wh_done(&W);
}
END_TEST

/* One request relayed: what the bridge sends, what the client gets. */
struct relay_case {
	const char	*req;		/* NULL: wh_post */
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
	    1, "provider " WH_PROVIDER " HEAD /v1/models status 200 ", NULL,
	    0 },
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
	const char		*lines[] = { wh_post, NULL };
	struct wh_bridge	 b;
	struct wh_tls		 c;
	const char		*log;
	size_t			 n;

	if (rc->req != NULL)
		lines[0] = rc->req;
	wh_init(&W);
	memset(&b, 0, sizeof(b));
	b.answers[0] = rc->resp;
	b.early = rc->early;
	wh_bridge_run(&b);
	wh_set_bridge(&W, "127.0.0.1", b.port);
	wh_log_start();
	wh_tls_client(&W, &c, lines, 0, 0);
	wh_tls_finish(&W, &c);
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
	wh_done(&W);
}
END_TEST

/*
 * Valid chunks that arrive in the same read as the broken bytes still
 * go out: http_body_feed() returns the valid prefix first.
 */
static const struct relay_case bad_chunk_prefix = {
	NULL, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	"5\r\nhello\r\nZZ\r\n", CHUNKED_HEAD "5\r\nhello\r\n", 0,
	POST_AUDIT(502), NULL, 0
};

START_TEST(test_intercept_bad_chunk_prefix)
{
	const struct relay_case	*rc = &bad_chunk_prefix;
	const char		*lines[] = { wh_post, NULL };
	struct wh_bridge	 b;
	struct wh_tls		 c;

	wh_init(&W);
	wh_bridge_start(&b, rc->resp);
	wh_set_bridge(&W, "127.0.0.1", b.port);
	wh_tls_client(&W, &c, lines, 0, 0);
	wh_tls_finish(&W, &c);
	ck_assert_str_eq(c.got, rc->want);
	ck_assert_int_eq(c.clean, 0);
	ck_assert_int_eq(wh_quiet(&W), 1);
	wh_bridge_join(&b);
	wh_done(&W);
}
END_TEST

/*
 * A second answer no request asked for, in the same write as the first:
 * the client gets the first alone, and the connection is not pooled
 * for the next request (RFC 9112 section 9.5), which says so.
 */
START_TEST(test_intercept_tail)
{
	static const char *const lines[] = { wh_post, NULL };
	struct wh_bridge	 b;
	struct wh_tls		 c;
	const char		*log;

	wh_init(&W);
	wh_bridge_start(&b, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	    "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL");
	wh_set_bridge(&W, "127.0.0.1", b.port);
	wh_log_start();
	wh_tls_client(&W, &c, lines, 0, 0);
	wh_tls_finish(&W, &c);
	log = wh_log_text();
	ck_assert_str_eq(c.got, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\nok");
	ck_assert_msg(strstr(log, "bridge 127.0.0.1:") != NULL &&
	    strstr(log, ": 42 bytes after a complete response: connection "
	    "closed, not reused") != NULL, "not in the log: %s", log);
	ck_assert_int_eq(wh_quiet(&W), 1);
	wh_bridge_join(&b);
	ck_assert_int_eq(b.eof, 1);
	wh_done(&W);
}
END_TEST

/* A response head over the limit: 502 at once, not at timeouts.idle. */
START_TEST(test_intercept_huge_response_head)
{
	static const char *const lines[] = { wh_post, NULL };
	static char		 huge[80 * 1024];
	struct wh_bridge	 b;
	struct wh_tls		 c;
	size_t			 n;

	wh_init(&W);
	n = strlcpy(huge, "HTTP/1.1 200 OK\r\nX-Big: ", sizeof(huge));
	memset(huge + n, 'b', sizeof(huge) - n - 1);
	wh_bridge_start(&b, huge);
	wh_set_bridge(&W, "127.0.0.1", b.port);
	wh_tls_client(&W, &c, lines, 0, 0);
	wh_tls_finish(&W, &c);
	ck_assert_str_eq(c.got, wh_answer(502, "Bad Gateway", ""));
	ck_assert_double_lt(c.tfirst - c.t0, 0.5);
	ck_assert_int_eq(wh_quiet(&W), 1);
	wh_bridge_join(&b);
	wh_done(&W);
}
END_TEST

/* The bridge does not take the connection: 504 at timeouts.connect. */
START_TEST(test_intercept_bridge_timeout)
{
	static const char *const lines[] = { wh_post, NULL };
	struct wh_tls	 c;
	int		 lfd, port, queued;

	wh_init(&W);
	W.pc->gc.gc_timeout_connect = 200;
	lfd = wh_stalled(&port, &queued);
	wh_set_bridge(&W, "127.0.0.1", port);
	wh_tls_client(&W, &c, lines, 0, 0);
	wh_tls_finish(&W, &c);
	ck_assert_str_eq(c.got, wh_answer(504, "Gateway Timeout", ""));
	ck_assert_double_ge(c.tfirst - c.t0, 0.18);
	ck_assert_double_lt(c.tfirst - c.t0, 1.0);
	close(queued);
	close(lfd);
	wh_done(&W);
}
END_TEST

/*
 * The client hangs up in the middle of a long response: the session
 * ends, audited as cut, and the bridge connection is closed rather
 * than pooled with the rest of the response in it.
 */
START_TEST(test_intercept_client_gone)
{
	static char		 resp[WH_BULK + 256];
	const char		*lines[] = { wh_post, NULL };
	struct wh_bridge	 b;
	struct wh_tls		 c;
	const char		*log;
	size_t			 m;

	wh_init(&W);
	m = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n"
	    "Content-Length: %d\r\n\r\n", WH_BULK);
	wh_pattern(resp + m, WH_BULK, 3);
	wh_bridge_start(&b, resp);
	wh_set_bridge(&W, "127.0.0.1", b.port);
	W.small_buffers = 1;
	wh_log_start();
	wh_tls_prepare(&c, lines, 0, 0);
	c.stop_after = 100 * 1024;
	wh_tls_start(&c, wh_client(&W));
	wh_tls_finish(&W, &c);
	log = wh_log_text();
	ck_assert_uint_ge(c.total, 100 * 1024);
	ck_assert_uint_lt(c.total, WH_BULK);
	ck_assert_ptr_nonnull(strstr(log, POST_AUDIT(200)));
	ck_assert_msg(strstr(log, "token tokid: client write failed\n") !=
	    NULL, "%s", log);
	/* Nothing pooled: the connection went with the session. */
	ck_assert_int_eq(wh_quiet(&W), 1);
	wh_bridge_join(&b);
	ck_assert_int_eq(b.nreq, 1);
	wh_done(&W);
}
END_TEST
static Suite *
bridge_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("bridge");

	tc = tcase_create("relay");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_intercept_relay, 0,
	    (int)nitems(relay_cases));
	tcase_add_test(tc, test_intercept_huge_response_head);
	tcase_add_test(tc, test_intercept_tail);
	tcase_add_test(tc, test_intercept_client_gone);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_bridge_get_emfile);
	tcase_add_test(tc, test_bridge_get_refused);
	tcase_add_test(tc, test_intercept_emfile);
	tcase_add_test(tc, test_intercept_bridge_refused);
	tcase_add_test(tc, test_intercept_bridge_timeout);
	tcase_add_test(tc, test_intercept_bad_chunk_prefix);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(bridge_suite()) != 0);
}
