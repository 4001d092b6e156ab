/*
 * The worker's session code driven on its own event loop (harness.h):
 * the first request, a tunnel, the dialer's failures, accepting at
 * EMFILE and the whole-head deadline.  Every test ends with no session
 * and no watcher left on the loop.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../aibproxyd/dial.h"
#include "../../aibproxyd/listener.h"
#include "../../aibproxyd/request.h"
#include "../../aibproxyd/session.h"
#include "harness.h"
#include "unit.h"

/* Static, so whatever the worker still holds at exit is reachable. */
static struct wh	 W;

#define PAGE_OK								\
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"		\
	"Content-Length: 3\r\nConnection: close\r\n\r\nOK\n"
#define AUTH_407							\
	wh_answer(407, "Proxy Authentication Required",			\
	    "Proxy-Authenticate: Basic realm=\"aibproxyd\"\r\n")

static const char established[] =
    "HTTP/1.1 200 Connection established\r\n\r\n";

static void
send_str(int fd, const char *s)
{
	ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL),
	    (ssize_t)strlen(s));
}

/* One request, the whole answer, then EOF; the session is gone. */
static void
exchange(int fd, const char *req, const char *want)
{
	struct wh_reader	 r;

	wh_reader_init(&r, fd);
	send_str(fd, req);
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	ck_assert_str_eq(r.got, want);
	ck_assert_int_eq(r.eof, 1);
	close(fd);
}

static void
done(void)
{
	ck_assert_int_eq(wh_quiet(&W), 1);
	ck_assert_uint_eq(W.px.nsessions, 0);
	wh_free(&W);
}

/* 1. A CONNECT to a provider without credentials. */
START_TEST(test_connect_407)
{
	wh_init(&W);
	exchange(wh_client(&W),
	    "CONNECT " WH_HOST ":443 HTTP/1.1\r\nHost: " WH_HOST ":443\r\n\r\n",
	    AUTH_407);
	ck_assert_int_eq(W.nsigned, 0);
	done();
}
END_TEST

/* Credentials that do not parse are refused the same way. */
START_TEST(test_connect_407_bad)
{
	wh_init(&W);
	exchange(wh_client(&W),
	    "CONNECT " WH_HOST ":443 HTTP/1.1\r\nHost: " WH_HOST ":443\r\n"
	    "Proxy-Authorization: Basic !!!!\r\n\r\n",
	    AUTH_407);
	done();
}
END_TEST

/* tunnels.auth: token asks non-provider tunnels for credentials too. */
START_TEST(test_tunnel_407)
{
	wh_init(&W);
	W.pc->gc.gc_tunnel_auth = TUNNEL_AUTH_TOKEN;
	exchange(wh_client(&W),
	    "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n",
	    AUTH_407);
	done();
}
END_TEST

START_TEST(test_port_403)
{
	wh_init(&W);
	exchange(wh_client(&W),
	    "CONNECT 127.0.0.1:25 HTTP/1.1\r\nHost: 127.0.0.1:25\r\n\r\n",
	    wh_answer(403, "Forbidden", ""));
	done();
}
END_TEST

START_TEST(test_healthz)
{
	wh_init(&W);
	exchange(wh_client(&W), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	    PAGE_OK);
	done();
}
END_TEST

/* A scrape on the metrics listener: the parent's sum, as text. */
START_TEST(test_metrics)
{
	struct wh_reader	 r;
	const char		*body;
	int			 fd;

	wh_init(&W);
	W.l->lc.lc_metrics = 1;
	W.px.stats.st_sessions_tunneled = 7;
	fd = wh_client(&W);
	wh_reader_init(&r, fd);
	send_str(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	ck_assert_int_eq(W.nscrapes, 1);
	ck_assert_int_eq(strncmp(r.got, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "text/plain; version=0.0.4\r\n", 58), 0);
	ck_assert_ptr_nonnull(body = strstr(r.got, "\r\n\r\n"));
	ck_assert_ptr_nonnull(strstr(body, "\naibproxyd_connect_sessions_total"
	    "{type=\"tunneled\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(body, "\naibproxyd_open_connections 1\n"));
	close(fd);
	/* Only GET /metrics there. */
	exchange(wh_client(&W), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	    wh_answer(404, "Not Found", ""));
	done();
}
END_TEST

/* The CONNECT's answer. */
static void
tunnel_open(int fd)
{
	struct wh_reader	 r;

	wh_reader_init(&r, fd);
	ck_assert_int_eq(wh_read_n(&W, &r, sizeof(established) - 1, 1.5), 0);
	ck_assert_str_eq(r.got, established);
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
	char		 req[256];
	int		 fd;

	wh_init(&W);
	wh_echo_start(&e);
	wh_allow_port(&W, e.port);
	snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\n\r\n", e.port, e.port);
	fd = wh_client(&W);
	send_str(fd, req);
	tunnel_open(fd);
	tunnel_talk(fd, &e);
	ck_assert_int_eq(W.nlookups, 0);
	done();
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
	send_str(fd, req);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	snprintf(want, sizeof(want), "%searlybye", established);
	ck_assert_str_eq(r.got, want);
	close(fd);
	ck_assert_int_eq(wh_run(&W, wh_nsessions, (void *)0, 1.0), 0);
	wh_echo_join(&e);
	ck_assert_uint_eq(e.echoed, 5);
	ck_assert_int_eq(e.eof, 1);
	done();
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
	char				 req[256];
	int				 fd;

	wh_init(&W);
	W.names = names;
	wh_echo_start(&e);
	wh_allow_port(&W, e.port);
	snprintf(req, sizeof(req), "CONNECT multi.test:%d HTTP/1.1\r\n"
	    "Host: multi.test:%d\r\n\r\n", e.port, e.port);
	fd = wh_client(&W);
	send_str(fd, req);
	tunnel_open(fd);
	tunnel_talk(fd, &e);
	done();
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
	send_str(fd, "CONNECT 127.0.0.1:8443 HTTP/1.1\r\nHost: x\r\n"
	    "Proxy-Authorization: Basic Y2xpZW50OnNlY3JldA==\r\n\r\n");
	snprintf(want, sizeof(want), "%shello", established);
	ck_assert_int_eq(wh_read_n(&W, &r, strlen(want), 1.5), 0);
	ck_assert_str_eq(r.got, want);
	tunnel_talk(fd, &e);
	ck_assert_str_eq(e.head, "CONNECT 127.0.0.1:8443 HTTP/1.1\r\n"
	    "Host: 127.0.0.1:8443\r\nProxy-Authorization: Basic dXA6cHc=\r\n"
	    "\r\n");
	done();
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
	char			 req[256], chunk[4096];
	int			 fd, filled, ran;

	wh_init(&W);
	wh_echo_start(&e);
	wh_allow_port(&W, e.port);
	snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\n\r\n", e.port, e.port);
	fd = wh_client(&W);
	send_str(fd, req);
	tunnel_open(fd);
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
	done();
}
END_TEST

/* A name, through the resolver. */
START_TEST(test_tunnel_resolved)
{
	static const struct wh_name	 names[] = {
		{ "echo.test", { "127.0.0.1", NULL } }, { NULL, { NULL } }
	};
	struct wh_echo			 e;
	char				 req[256];
	int				 fd;

	wh_init(&W);
	W.names = names;
	wh_echo_start(&e);
	wh_allow_port(&W, e.port);
	snprintf(req, sizeof(req), "CONNECT echo.test:%d HTTP/1.1\r\n"
	    "Host: echo.test:%d\r\n\r\n", e.port, e.port);
	fd = wh_client(&W);
	send_str(fd, req);
	tunnel_open(fd);
	tunnel_talk(fd, &e);
	ck_assert_int_eq(W.nlookups, 1);
	done();
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
	exchange(wh_client(&W),
	    "CONNECT lan.test:443 HTTP/1.1\r\nHost: lan.test:443\r\n\r\n",
	    wh_answer(403, "Forbidden", ""));
	exchange(wh_client(&W),
	    "CONNECT nowhere.test:443 HTTP/1.1\r\nHost: nowhere.test:443\r\n"
	    "\r\n", wh_answer(502, "Bad Gateway", ""));
	ck_assert_int_eq(W.nlookups, 2);
	done();
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
	exchange(wh_client(&W), req, wh_answer(504, "Gateway Timeout", ""));
	ck_assert_double_ge(ev_time() - t0, 0.18);
	ck_assert_double_lt(ev_time() - t0, 1.0);
	close(queued);
	close(lfd);
	done();
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
	exchange(fd, req, "HTTP/1.1 204 No Content\r\n\r\n");
	ck_assert_int_eq(wh_run(&W, wh_nsessions, (void *)0, 1.0), 0);
	wh_bridge_join(&b);
	snprintf(want, sizeof(want), "GET /x?y HTTP/1.1\r\nHost: 127.0.0.1:%d"
	    "\r\nAccept: */*\r\nConnection: close\r\n\r\n", b.port);
	ck_assert_str_eq(b.got, want);
	done();
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
	send_str(fd, req);
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
	done();
}
END_TEST

struct dial_result {
	int		 called;
	int		 status;
	char		 why[300];
};

static void
dial_cb_record(void *arg, struct dial *d, int status, const char *why)
{
	struct dial_result	*dr = arg;

	dr->called++;
	dr->status = status;
	strlcpy(dr->why, why, sizeof(dr->why));
	dial_clear(d);
}

static int
dial_called(struct wh *h, void *arg)
{
	return (((struct dial_result *)arg)->called > 0);
}

/* 4. A literal policy refuses: 403, from the loop, not from dial_start. */
START_TEST(test_dial_policy_deferred)
{
	struct dial_spec	 spec = { "10.0.0.1", 443, 1, 0, 0, NULL };
	struct dial_result	 dr = { 0, 0, "" };
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
	done();
}
END_TEST

/* Out of descriptors at socket(): 503, from the loop. */
START_TEST(test_dial_emfile_deferred)
{
	struct dial_spec	 spec = { "127.0.0.1", 9, 1, 0, 0, NULL };
	struct dial_result	 dr = { 0, 0, "" };
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
	done();
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
	send_str(fd, "CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"
	    "\r\n");
	ran = wh_read_eof(&W, &r, 1.5);
	wh_release_fds(&W);
	ck_assert_int_eq(filled, 0);
	ck_assert_int_eq(ran, 0);
	ck_assert_str_eq(r.got, wh_answer(503, "Service Unavailable", ""));
	close(fd);
	done();
}
END_TEST

/* Counts wake-ups and samples the listener's state mid-way. */
struct accept_probe {
	struct wh	*h;
	int		 io_active;
	int		 backoff_active;
};

static void
probe_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct accept_probe	*p = w->data;

	p->io_active = ev_is_active(&p->h->l->io) != 0;
	p->backoff_active = ev_is_active(&p->h->px.backoff) != 0;
}

static void
stop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ONE);
}

/* 5. EMFILE at accept: a pause, no spin, then accepting again. */
START_TEST(test_accept_emfile)
{
	struct accept_probe	 p = { &W, -1, -1 };
	ev_timer		 probe, stop;
	unsigned int		 it0, iters;
	int			 lfd, port, fd, filled, resumed, active;

	wh_init(&W);
	lfd = wh_listen(&port);
	ck_assert_int_ne(fcntl(lfd, F_SETFL, O_NONBLOCK), -1);
	W.l->fd = lfd;
	listener_enable(&W.px, W.pc, 1);
	ck_assert_int_eq(ev_is_active(&W.l->io), 1);
	/* Connected in the backlog: only accept4() needs a descriptor. */
	fd = wh_connect(port);
	filled = wh_fill_fds(&W);
	ev_timer_init(&probe, probe_cb, 0.1, 0.);
	probe.data = &p;
	ev_timer_init(&stop, stop_cb, 0.5, 0.);
	ev_timer_start(W.px.loop, &probe);
	ev_timer_start(W.px.loop, &stop);
	it0 = ev_iteration(W.px.loop);
	ev_run(W.px.loop, 0);
	iters = ev_iteration(W.px.loop) - it0;
	wh_release_fds(&W);
	ck_assert_int_eq(filled, 0);
	/* A pause of 0.25 s: a handful of wake-ups, never thousands. */
	ck_assert_msg(iters < 20, "%u loop iterations in 0.5 s", iters);
	ck_assert_int_eq(p.io_active, 0);
	ck_assert_int_eq(p.backoff_active, 1);
	ck_assert_uint_eq(W.px.nsessions, 0);
	/* Descriptors are back: the next attempt takes the client. */
	resumed = wh_run(&W, wh_nsessions, (void *)1, 1.0);
	active = ev_is_active(&W.l->io) != 0;
	ck_assert_int_eq(resumed, 0);
	ck_assert_int_eq(active, 1);
	ck_assert_int_eq(ev_is_active(&W.px.backoff), 0);
	exchange(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	    PAGE_OK);
	done();
}
END_TEST

/* The over-limit client gets 503 on its fresh socket. */
START_TEST(test_accept_overload)
{
	int	 lfd, port, fd1, fd2;

	wh_init(&W);
	W.pc->gc.gc_max_connections = 1;
	lfd = wh_listen(&port);
	ck_assert_int_ne(fcntl(lfd, F_SETFL, O_NONBLOCK), -1);
	W.l->fd = lfd;
	listener_enable(&W.px, W.pc, 1);
	fd1 = wh_connect(port);
	ck_assert_int_eq(wh_run(&W, wh_nsessions, (void *)1, 1.0), 0);
	fd2 = wh_connect(port);
	exchange(fd2, "", wh_answer(503, "Service Unavailable", ""));
	ck_assert_uint_eq(W.px.nsessions, 1);
	exchange(fd1, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	    PAGE_OK);
	done();
}
END_TEST

/* A client that writes one line of its head every 100 ms. */
struct trickle {
	int		 fd;
	const char	*const *lines;
	int		 next;
};

static void
trickle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct trickle	*t = w->data;

	if (t->lines[t->next] == NULL ||
	    send(t->fd, t->lines[t->next], strlen(t->lines[t->next]),
	    MSG_NOSIGNAL) == -1) {
		ev_timer_stop(loop, w);
		return;
	}
	t->next++;
}

/*
 * 6. timeouts.header bounds the whole head from accept, whatever the
 * reads: 408 at 300 ms, where a limit restarted by each line would
 * answer at 500 ms (the last line comes at 200 ms).
 */
START_TEST(test_header_deadline)
{
	static const char *const lines[] = {
		"GET /healthz HTTP/1.1\r\n", "Host: x\r\n", "X-A: 1\r\n", NULL
	};
	struct trickle		 t = { -1, lines, 0 };
	struct wh_reader	 r;
	ev_timer		 w;
	double			 t0, dt;

	wh_init(&W);
	W.pc->gc.gc_timeout_header = 300;
	t0 = ev_time();
	t.fd = wh_client(&W);
	wh_reader_init(&r, t.fd);
	ev_timer_init(&w, trickle_cb, 0., 0.1);
	w.data = &t;
	trickle_cb(W.px.loop, &w, 0);
	ev_timer_again(W.px.loop, &w);
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	ev_timer_stop(W.px.loop, &w);
	dt = r.tfirst - t0;
	ck_assert_int_eq(t.next, 3);
	ck_assert_str_eq(r.got, wh_answer(408, "Request Timeout", ""));
	ck_assert_int_eq(r.eof, 1);
	ck_assert_double_ge(dt, 0.29);
	ck_assert_double_le(dt, 0.45);
	close(t.fd);
	done();
}
END_TEST

/* Silence after accept: closed at the deadline with nothing sent. */
START_TEST(test_header_silent)
{
	struct wh_reader	 r;
	double			 t0 = ev_time();

	wh_init(&W);
	W.pc->gc.gc_timeout_header = 200;
	wh_reader_init(&r, wh_client(&W));
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.0), 0);
	ck_assert_uint_eq(r.len, 0);
	ck_assert_double_ge(ev_time() - t0, 0.18);
	close(r.fd);
	done();
}
END_TEST

/* One byte over limits.header_bytes: 431 at once, not a timeout. */
START_TEST(test_header_too_large)
{
	char	 req[600];

	wh_init(&W);
	W.pc->gc.gc_header_bytes = 512;
	memset(req, 'a', sizeof(req));
	memcpy(req, "GET /healthz HTTP/1.1\r\nX: ", 26);
	req[sizeof(req) - 1] = '\0';
	exchange(wh_client(&W), req,
	    wh_answer(431, "Request Header Fields Too Large", ""));
	done();
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
	send_str(fd, req);
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
	done();
}
END_TEST

/*
 * Known bug: session.h promises that the kinds' start functions never
 * free the session they are given, but request_start() does when the
 * client has already closed (request_head() reads EOF and calls
 * session_free()), and so does mitm_start() with a cached leaf when the
 * handshake fails at once.  Harmless today, as no caller touches the
 * session after them.
 */
START_TEST(test_start_never_frees)
{
	struct session	*s;

	wh_init(&W);
	close(wh_client_pending(&W, &s));
	request_start(s, W.l);
	ck_assert_uint_eq(W.px.nsessions, 1);
	ck_assert_int_eq(wh_run(&W, wh_nsessions, (void *)0, 1.0), 0);
	done();
}
END_TEST

static Suite *
session_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("session");

	tc = tcase_create("request");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_connect_407);
	tcase_add_test(tc, test_connect_407_bad);
	tcase_add_test(tc, test_tunnel_407);
	tcase_add_test(tc, test_port_403);
	tcase_add_test(tc, test_healthz);
	tcase_add_test(tc, test_metrics);
	tcase_add_test(tc, test_header_deadline);
	tcase_add_test(tc, test_header_silent);
	tcase_add_test(tc, test_header_too_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("tunnel");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_tunnel_echo);
	tcase_add_test(tc, test_tunnel_eager);
	tcase_add_test(tc, test_tunnel_resolved);
	tcase_add_test(tc, test_tunnel_addresses);
	tcase_add_test(tc, test_tunnel_upstream);
	tcase_add_test(tc, test_tunnel_emfile_relay);
	tcase_add_test(tc, test_tunnel_resolved_refused);
	tcase_add_test(tc, test_tunnel_connect_timeout);
	tcase_add_test(tc, test_forward_host);
	tcase_add_test(tc, test_forward_body_eof);
	tcase_add_test(tc, test_drain);
	suite_add_tcase(s, tc);

	tc = tcase_create("dial");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_dial_policy_deferred);
	tcase_add_test(tc, test_dial_emfile_deferred);
	tcase_add_test(tc, test_tunnel_emfile);
	suite_add_tcase(s, tc);

	tc = tcase_create("accept");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_accept_emfile);
	tcase_add_test(tc, test_accept_overload);
	suite_add_tcase(s, tc);

	/* Tests for bugs not fixed yet: AIB_UNIT_KNOWN_BUGS=1 runs them. */
	if (getenv("AIB_UNIT_KNOWN_BUGS") != NULL) {
		tc = tcase_create("known_bugs");
		tcase_set_timeout(tc, 10);
		tcase_add_test(tc, test_start_never_frees);
		suite_add_tcase(s, tc);
	}

	return (s);
}

int
main(void)
{
	return (unit_run(session_suite()) != 0);
}
