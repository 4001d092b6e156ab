/*
 * Tunnels, forwarded requests and the dialer, driven on the worker's
 * own loop (harness.h): a destination thread on 127.0.0.1 echoes, the
 * test answers for the resolver, and each test ends with no session and
 * no watcher left on the loop.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../aibproxyd/dial.h"
#include "../../aibproxyd/dns.h"
#include "../../aibproxyd/session.h"
#include "harness.h"
#include "unit.h"

/* Static, so whatever the worker still holds at exit is reachable. */
static struct wh	 W;

/* The CONNECT's answer. */
static void
tunnel_open(int fd)
{
	struct wh_reader	 r;

	wh_reader_init(&r, fd);
	ck_assert_int_eq(wh_read_n(&W, &r, sizeof(WH_ESTABLISHED) - 1, 1.5), 0);
	ck_assert_str_eq(r.got, WH_ESTABLISHED);
}

/* A new client that CONNECTs to host:port and gets its 200. */
static int
tunnel_connect(const char *host, int port)
{
	char	 req[256];
	int	 fd;

	snprintf(req, sizeof(req), "CONNECT %s:%d HTTP/1.1\r\n"
	    "Host: %s:%d\r\n\r\n", host, port, host, port);
	fd = wh_client(&W);
	wh_send(fd, req);
	tunnel_open(fd);
	return (fd);
}

/* Echoes, then the half-closes, then the session's end. */
static void
tunnel_talk(int fd, struct wh_echo *e)
{
	struct wh_reader	 r;
	char			 chunk[4096];
	int			 i;

	wh_reader_init(&r, fd);
	for (i = 0; i < 16; i++) {
		memset(chunk, 'a' + i, sizeof(chunk));
		r.len = 0;
		ck_assert_int_eq(send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL),
		    (ssize_t)sizeof(chunk));
		ck_assert_int_eq(wh_read_n(&W, &r, sizeof(chunk), 1.5), 0);
		ck_assert_uint_eq(r.len, sizeof(chunk));
		ck_assert_int_eq(memcmp(r.got, chunk, sizeof(chunk)), 0);
	}
	/* Our EOF reaches the destination, which can still answer. */
	r.len = 0;
	r.got[0] = '\0';
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	ck_assert_str_eq(r.got, "bye");
	ck_assert_int_eq(r.eof, 1);
	close(fd);
	ck_assert_int_eq(wh_run(&W, wh_nsessions, (void *)0, 1.0), 0);
	wh_echo_join(e);
	ck_assert_int_eq(e->eof, 1);
	ck_assert_uint_ge(e->echoed, 16 * sizeof(chunk));
}

/* 2. A tunnel to a literal in an allowed private range. */
START_TEST(test_tunnel_echo)
{
	struct wh_echo	 e;
	int		 fd;

	wh_init(&W);
	wh_echo_start(&e);
	wh_allow_port(&W, e.port);
	fd = tunnel_connect("127.0.0.1", e.port);
	tunnel_talk(fd, &e);
	ck_assert_int_eq(W.nlookups, 0);
	ck_assert_uint_eq(W.px.stats.st_sessions_tunneled, 1);
	wh_done(&W);
}
END_TEST

/*
 * Bytes behind the CONNECT in the same read, and the client's EOF
 * right after them: they reach the destination, then the EOF does.
 */
START_TEST(test_tunnel_eager)
{
	struct wh_echo		 e;
	struct wh_reader	 r;
	char			 req[256], want[256];
	int			 fd;

	wh_init(&W);
	wh_echo_start(&e);
	wh_allow_port(&W, e.port);
	snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\n\r\nearly", e.port, e.port);
	fd = wh_client(&W);
	wh_reader_init(&r, fd);
	wh_send(fd, req);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	snprintf(want, sizeof(want), "%searlybye", WH_ESTABLISHED);
	ck_assert_str_eq(r.got, want);
	close(fd);
	ck_assert_int_eq(wh_run(&W, wh_nsessions, (void *)0, 1.0), 0);
	wh_echo_join(&e);
	ck_assert_uint_eq(e.echoed, 5);
	ck_assert_int_eq(e.eof, 1);
	wh_done(&W);
}
END_TEST

/*
 * Every address is judged: a refused one is skipped, a refused
 * connection moves on to the next address.
 */
START_TEST(test_tunnel_addresses)
{
	static const struct wh_name	 names[] = {
		{ "multi.test", { "10.9.9.9", "127.0.0.2", "127.0.0.1" } },
		{ NULL, { NULL } }
	};
	struct wh_echo			 e;
	int				 fd;

	wh_init(&W);
	W.names = names;
	wh_echo_start(&e);
	wh_allow_port(&W, e.port);
	fd = tunnel_connect("multi.test", e.port);
	tunnel_talk(fd, &e);
	wh_done(&W);
}
END_TEST

/*
 * Through the upstream proxy: our CONNECT with our credentials, never
 * the client's, and what the upstream sends past its answer is the
 * destination's.
 */
START_TEST(test_tunnel_upstream)
{
	struct upstream_config	*uc;
	struct wh_echo		 e;
	struct wh_reader	 r;
	char			 want[256];
	int			 fd;

	wh_init(&W);
	wh_upstream_start(&e, "HTTP/1.1 200 OK\r\n\r\nhello");
	uc = &W.pc->upstream;
	uc->uc_enabled = 1;
	uc->uc_port = e.port;
	strlcpy(uc->uc_host, "127.0.0.1", sizeof(uc->uc_host));
	strlcpy(uc->uc_auth, "Basic dXA6cHc=", sizeof(uc->uc_auth));
	wh_allow_port(&W, 8443);
	fd = wh_client(&W);
	wh_reader_init(&r, fd);
	wh_send(fd, "CONNECT 127.0.0.1:8443 HTTP/1.1\r\nHost: x\r\n"
	    "Proxy-Authorization: Basic Y2xpZW50OnNlY3JldA==\r\n\r\n");
	snprintf(want, sizeof(want), "%shello", WH_ESTABLISHED);
	ck_assert_int_eq(wh_read_n(&W, &r, strlen(want), 1.5), 0);
	ck_assert_str_eq(r.got, want);
	tunnel_talk(fd, &e);
	ck_assert_str_eq(e.head, "CONNECT 127.0.0.1:8443 HTTP/1.1\r\n"
	    "Host: 127.0.0.1:8443\r\nProxy-Authorization: Basic dXA6cHc=\r\n"
	    "\r\n");
	wh_done(&W);
}
END_TEST

/*
 * Out of descriptors mid-tunnel: the bytes still go (through a pooled
 * splice pipe, or copied when none can be had).
 */
START_TEST(test_tunnel_emfile_relay)
{
	struct wh_echo		 e;
	struct wh_reader	 r;
	char			 chunk[4096];
	int			 fd, filled, ran;

	wh_init(&W);
	wh_echo_start(&e);
	wh_allow_port(&W, e.port);
	fd = tunnel_connect("127.0.0.1", e.port);
	memset(chunk, 'z', sizeof(chunk));
	wh_reader_init(&r, fd);
	/* The destination's own accept needs a descriptor too. */
	ck_assert_int_eq(wh_run(&W, wh_echo_accepted, &e, 1.0), 0);
	filled = wh_fill_fds(&W);
	ck_assert_int_eq(send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL),
	    (ssize_t)sizeof(chunk));
	ran = wh_read_n(&W, &r, sizeof(chunk), 1.5);
	wh_release_fds(&W);
	ck_assert_int_eq(filled, 0);
	ck_assert_int_eq(ran, 0);
	ck_assert_uint_eq(r.len, sizeof(chunk));
	ck_assert_int_eq(memcmp(r.got, chunk, sizeof(chunk)), 0);
	tunnel_talk(fd, &e);
	wh_done(&W);
}
END_TEST

/* A name, through the resolver. */
START_TEST(test_tunnel_resolved)
{
	static const struct wh_name	 names[] = {
		{ "echo.test", { "127.0.0.1", NULL } }, { NULL, { NULL } }
	};
	struct wh_echo			 e;
	int				 fd;

	wh_init(&W);
	W.names = names;
	wh_echo_start(&e);
	wh_allow_port(&W, e.port);
	fd = tunnel_connect("echo.test", e.port);
	tunnel_talk(fd, &e);
	ck_assert_int_eq(W.nlookups, 1);
	wh_done(&W);
}
END_TEST

/*
 * A second tunnel to the name within DNS_CACHE_TTL asks the resolver
 * nothing; once the answer is older, it asks again.
 */
START_TEST(test_tunnel_cached)
{
	static const struct wh_name	 names[] = {
		{ "echo.test", { "127.0.0.1", NULL } }, { NULL, { NULL } }
	};
	struct wh_echo			 e[3];
	int				 i, fd;

	wh_init(&W);
	W.names = names;
	for (i = 0; i < 3; i++) {
		if (i == 2)
			W.skew = DNS_CACHE_TTL + 1;
		wh_echo_start(&e[i]);
		wh_allow_port(&W, e[i].port);
		fd = tunnel_connect("echo.test", e[i].port);
		tunnel_talk(fd, &e[i]);
		ck_assert_int_eq(W.nlookups, (i == 2 ? 2 : 1));
	}
	wh_done(&W);
}
END_TEST

/*
 * A cached answer is judged by the policy again, like a fresh one; a
 * failed lookup is not kept.
 */
START_TEST(test_tunnel_cached_refused)
{
	static const struct wh_name	 names[] = {
		{ "lan.test", { "10.1.2.3", NULL } }, { NULL, { NULL } }
	};
	int				 i;

	wh_init(&W);
	W.names = names;
	for (i = 0; i < 2; i++) {
		wh_exchange(&W, wh_client(&W),
		    "CONNECT lan.test:443 HTTP/1.1\r\nHost: lan.test:443\r\n"
		    "\r\n", wh_answer(403, "Forbidden", ""));
		wh_exchange(&W, wh_client(&W),
		    "CONNECT nowhere.test:443 HTTP/1.1\r\nHost: "
		    "nowhere.test:443\r\n\r\n", wh_answer(502, "Bad Gateway",
		    ""));
	}
	ck_assert_int_eq(W.nlookups, 3);
	wh_done(&W);
}
END_TEST

/* Policy judges the resolved address; a failed lookup is a 502. */
START_TEST(test_tunnel_resolved_refused)
{
	static const struct wh_name	 names[] = {
		{ "lan.test", { "10.1.2.3", NULL } }, { NULL, { NULL } }
	};

	wh_init(&W);
	W.names = names;
	wh_exchange(&W, wh_client(&W),
	    "CONNECT lan.test:443 HTTP/1.1\r\nHost: lan.test:443\r\n\r\n",
	    wh_answer(403, "Forbidden", ""));
	wh_exchange(&W, wh_client(&W),
	    "CONNECT nowhere.test:443 HTTP/1.1\r\nHost: nowhere.test:443\r\n"
	    "\r\n", wh_answer(502, "Bad Gateway", ""));
	ck_assert_int_eq(W.nlookups, 2);
	/* Refused and failed CONNECTs are no sessions. */
	ck_assert_uint_eq(W.px.stats.st_sessions_tunneled, 0);
	wh_done(&W);
}
END_TEST

/* The destination never takes the connection: 504 at timeouts.connect. */
START_TEST(test_tunnel_connect_timeout)
{
	char	 req[256];
	double	 t0;
	int	 lfd, port, queued;

	wh_init(&W);
	W.pc->gc.gc_timeout_connect = 200;
	lfd = wh_stalled(&port, &queued);
	wh_allow_port(&W, port);
	snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\n\r\n", port, port);
	t0 = ev_time();
	wh_exchange(&W, wh_client(&W), req,
	    wh_answer(504, "Gateway Timeout", ""));
	ck_assert_double_ge(ev_time() - t0, 0.18);
	ck_assert_double_lt(ev_time() - t0, 1.0);
	close(queued);
	close(lfd);
	wh_done(&W);
}
END_TEST

/* A plain request forwarded: the authority is the Host. */
START_TEST(test_forward_host)
{
	struct wh_bridge	 b;
	char			 req[256], want[256];
	int			 fd;

	wh_init(&W);
	wh_bridge_start(&b, "HTTP/1.1 204 No Content\r\n\r\n");
	wh_allow_port(&W, b.port);
	snprintf(req, sizeof(req), "GET http://127.0.0.1:%d/x?y HTTP/1.1\r\n"
	    "Host: elsewhere.example\r\nProxy-Connection: keep-alive\r\n"
	    "Accept: */*\r\n\r\n", b.port);
	fd = wh_client(&W);
	wh_exchange(&W, fd, req, "HTTP/1.1 204 No Content\r\n\r\n");
	ck_assert_int_eq(wh_run(&W, wh_nsessions, (void *)0, 1.0), 0);
	wh_bridge_join(&b);
	snprintf(want, sizeof(want), "GET /x?y HTTP/1.1\r\nHost: 127.0.0.1:%d"
	    "\r\nAccept: */*\r\nConnection: close\r\n\r\n", b.port);
	ck_assert_str_eq(b.got, want);
	wh_done(&W);
}
END_TEST

/* A forwarded request with a body, the client's EOF right behind it. */
START_TEST(test_forward_body_eof)
{
	struct wh_bridge	 b;
	struct wh_reader	 r;
	char			 req[256], want[256];
	int			 fd;

	wh_init(&W);
	wh_bridge_start(&b, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n"
	    "\r\nok");
	wh_allow_port(&W, b.port);
	snprintf(req, sizeof(req), "POST http://127.0.0.1:%d/p HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\nContent-Length: 3\r\n\r\nabc", b.port,
	    b.port);
	fd = wh_client(&W);
	wh_reader_init(&r, fd);
	wh_send(fd, req);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	ck_assert_str_eq(r.got, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n"
	    "\r\nok");
	close(fd);
	ck_assert_int_eq(wh_run(&W, wh_nsessions, (void *)0, 1.0), 0);
	wh_bridge_join(&b);
	snprintf(want, sizeof(want), "POST /p HTTP/1.1\r\nHost: 127.0.0.1:%d"
	    "\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", b.port);
	ck_assert_str_eq(b.got, want);
	wh_done(&W);
}
END_TEST

struct dial_result {
	int		 called;
	int		 status;
	int		 working;	/* the dial's work still held */
	char		 why[300];
};

/* The why outlives dial_clear(): it is the callback's until it returns. */
static void
dial_cb_record(void *arg, struct dial *d, int status, const char *why)
{
	struct dial_result	*dr = arg;

	dr->called++;
	dr->status = status;
	dr->working = d->w != NULL;
	dial_clear(d);
	strlcpy(dr->why, why, sizeof(dr->why));
}

static int
dial_called(struct wh *h, void *arg)
{
	return (((struct dial_result *)arg)->called > 0);
}

/* 4. A literal policy refuses: 403, from the loop, not from dial_start. */
START_TEST(test_dial_policy_deferred)
{
	struct dial_spec	 spec = { .label = "test", .host = "10.0.0.1",
	    .port = 443, .check = 1 };
	struct dial_result	 dr = { 0, 0, 0, "" };
	struct dial		 d;
	int			 before;

	wh_init(&W);
	dial_start(&d, &W.px, W.pc, &spec, dial_cb_record, &dr);
	before = dr.called;
	ck_assert_int_eq(before, 0);
	ck_assert_int_eq(wh_run(&W, dial_called, &dr, 1.0), 0);
	ck_assert_int_eq(dr.called, 1);
	ck_assert_int_eq(dr.status, 403);
	ck_assert_int_eq(W.nlookups, 0);
	wh_done(&W);
}
END_TEST

/* Out of descriptors at socket(): 503, from the loop. */
START_TEST(test_dial_emfile_deferred)
{
	struct dial_spec	 spec = { .label = "test", .host = "127.0.0.1",
	    .port = 9, .check = 1 };
	struct dial_result	 dr = { 0, 0, 0, "" };
	struct dial		 d;
	int			 filled, before, ran;

	wh_init(&W);
	filled = wh_fill_fds(&W);
	dial_start(&d, &W.px, W.pc, &spec, dial_cb_record, &dr);
	before = dr.called;
	ran = wh_run(&W, dial_called, &dr, 1.0);
	wh_release_fds(&W);
	ck_assert_int_eq(filled, 0);
	ck_assert_int_eq(before, 0);
	ck_assert_int_eq(ran, 0);
	ck_assert_int_eq(dr.called, 1);
	ck_assert_int_eq(dr.status, 503);
	ck_assert_str_eq(dr.why, "socket: Too many open files");
	ck_assert_int_eq(dr.working, 0);
	wh_done(&W);
}
END_TEST

/* Connected: what only dialing needed is gone before the callback. */
START_TEST(test_dial_work_freed)
{
	struct dial_spec	 spec = { .label = "test",
	    .host = "127.0.0.1" };
	struct dial_result	 dr = { 0, 0, 0, "" };
	struct dial		 d;
	int			 lfd;

	wh_init(&W);
	lfd = wh_listen(&spec.port);
	dial_start(&d, &W.px, W.pc, &spec, dial_cb_record, &dr);
	ck_assert_ptr_nonnull(d.w);
	ck_assert_int_eq(dr.called, 0);
	ck_assert_int_eq(wh_run(&W, dial_called, &dr, 1.0), 0);
	close(lfd);
	ck_assert_int_eq(dr.called, 1);
	ck_assert_int_eq(dr.status, 0);
	ck_assert_int_eq(dr.working, 0);
	ck_assert_str_eq(dr.why, "");
	wh_done(&W);
}
END_TEST

/* The tunnel that asked for it answers 503 and closes. */
START_TEST(test_tunnel_emfile)
{
	struct wh_reader	 r;
	int			 fd, filled, ran;

	wh_init(&W);
	wh_allow_port(&W, 9);
	fd = wh_client(&W);
	wh_reader_init(&r, fd);
	filled = wh_fill_fds(&W);
	wh_send(fd, "CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"
	    "\r\n");
	ran = wh_read_eof(&W, &r, 1.5);
	wh_release_fds(&W);
	ck_assert_int_eq(filled, 0);
	ck_assert_int_eq(ran, 0);
	ck_assert_str_eq(r.got, wh_answer(503, "Service Unavailable", ""));
	close(fd);
	wh_done(&W);
}
END_TEST

/*
 * A stop: sessions between requests close at once, a tunnel goes on
 * until it ends, and the last one out breaks the loop.
 */
START_TEST(test_drain)
{
	struct wh_reader	 idle;
	struct wh_echo		 e;
	char			 req[256];
	int			 fd;

	wh_init(&W);
	wh_echo_start(&e);
	wh_allow_port(&W, e.port);
	wh_reader_init(&idle, wh_client(&W));
	fd = wh_client(&W);
	snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\n\r\n", e.port, e.port);
	wh_send(fd, req);
	tunnel_open(fd);
	ck_assert_uint_eq(W.px.nsessions, 2);
	W.px.draining = 1;
	session_drain_all(&W.px);
	ck_assert_uint_eq(W.px.nsessions, 1);
	ck_assert_int_eq(wh_read_eof(&W, &idle, 1.0), 0);
	ck_assert_uint_eq(idle.len, 0);
	close(idle.fd);
	/* The tunnel still works, and its end is the worker's. */
	tunnel_talk(fd, &e);
	ck_assert_uint_eq(W.px.nsessions, 0);
	wh_done(&W);
}
END_TEST

static Suite *
tunnel_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("tunnel");

	tc = tcase_create("tunnel");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_tunnel_echo);
	tcase_add_test(tc, test_tunnel_eager);
	tcase_add_test(tc, test_tunnel_resolved);
	tcase_add_test(tc, test_tunnel_addresses);
	tcase_add_test(tc, test_tunnel_upstream);
	tcase_add_test(tc, test_tunnel_emfile_relay);
	tcase_add_test(tc, test_tunnel_resolved_refused);
	tcase_add_test(tc, test_tunnel_cached);
	tcase_add_test(tc, test_tunnel_cached_refused);
	tcase_add_test(tc, test_tunnel_connect_timeout);
	tcase_add_test(tc, test_forward_host);
	tcase_add_test(tc, test_forward_body_eof);
	tcase_add_test(tc, test_drain);
	suite_add_tcase(s, tc);

	tc = tcase_create("dial");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_dial_policy_deferred);
	tcase_add_test(tc, test_dial_emfile_deferred);
	tcase_add_test(tc, test_dial_work_freed);
	tcase_add_test(tc, test_tunnel_emfile);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(tunnel_suite()) != 0);
}
