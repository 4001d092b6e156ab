/*
 * The worker's session code driven on its own event loop (harness.h):
 * the first request and our own answers, the metrics, accepting at
 * EMFILE and over the limit, the whole-head deadline, and a stop
 * (/readyz, timeouts.drain_delay).  Every test ends with no session and
 * no watcher left on the loop.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../aibproxyd/dns.h"
#include "../../aibproxyd/endpoint.h"
#include "../../aibproxyd/listener.h"
#include "../../aibproxyd/request.h"
#include "../../aibproxyd/session.h"
#include "../../aibproxyd/stop.h"
#include "harness.h"
#include "unit.h"

/* Static, so whatever the worker still holds at exit is reachable. */
static struct wh	 W;

#define PAGE_OK								\
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"		\
	"Content-Length: 3\r\nConnection: close\r\n\r\nOK\n"
#define PAGE_READY							\
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"		\
	"Content-Length: 6\r\nConnection: close\r\n\r\nready\n"
#define PAGE_STOPPING							\
	"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n" \
	"Content-Length: 9\r\nConnection: close\r\n\r\nstopping\n"
#define GET_READYZ	"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
#define GET_HEALTHZ	"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
#define AUTH_407							\
	wh_answer(407, "Proxy Authentication Required",			\
	    "Proxy-Authenticate: Basic realm=\"aibproxyd\"\r\n")

/* 1. A CONNECT to a provider without credentials. */
START_TEST(test_connect_407)
{
	wh_init(&W);
	wh_exchange(&W, wh_client(&W),
	    "CONNECT " WH_HOST ":443 HTTP/1.1\r\nHost: " WH_HOST ":443\r\n\r\n",
	    AUTH_407);
	ck_assert_int_eq(W.nsigned, 0);
	ck_assert_uint_eq(W.px.stats.st_407[AUTH407_MISSING], 1);
	wh_done(&W);
}
END_TEST

/* Credentials that do not parse are refused the same way. */
START_TEST(test_connect_407_bad)
{
	wh_init(&W);
	wh_exchange(&W, wh_client(&W),
	    "CONNECT " WH_HOST ":443 HTTP/1.1\r\nHost: " WH_HOST ":443\r\n"
	    "Proxy-Authorization: Basic !!!!\r\n\r\n",
	    AUTH_407);
	ck_assert_uint_eq(W.px.stats.st_407[AUTH407_MALFORMED], 1);
	ck_assert_uint_eq(W.px.stats.st_407[AUTH407_MISSING], 0);
	wh_done(&W);
}
END_TEST

/* tunnels.auth: token asks non-provider tunnels for credentials too. */
START_TEST(test_tunnel_407)
{
	wh_init(&W);
	W.pc->gc.gc_tunnel_auth = TUNNEL_AUTH_TOKEN;
	wh_exchange(&W, wh_client(&W),
	    "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n",
	    AUTH_407);
	wh_done(&W);
}
END_TEST

START_TEST(test_port_403)
{
	wh_init(&W);
	wh_exchange(&W, wh_client(&W),
	    "CONNECT 127.0.0.1:25 HTTP/1.1\r\nHost: 127.0.0.1:25\r\n\r\n",
	    wh_answer(403, "Forbidden", ""));
	wh_done(&W);
}
END_TEST

START_TEST(test_healthz)
{
	wh_init(&W);
	wh_exchange(&W, wh_client(&W),
	    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	    PAGE_OK);
	wh_done(&W);
}
END_TEST

/* /readyz while serving; HEAD has the head alone, a query is ignored. */
START_TEST(test_readyz)
{
	wh_init(&W);
	wh_exchange(&W, wh_client(&W), GET_READYZ, PAGE_READY);
	wh_exchange(&W, wh_client(&W),
	    "HEAD /readyz?probe=1 HTTP/1.1\r\nHost: x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 6\r\nConnection: close\r\n\r\n");
	wh_exchange(&W, wh_client(&W),
	    "POST /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
	    wh_answer(405, "Method Not Allowed", "Allow: GET, HEAD\r\n"));
	wh_done(&W);
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
	wh_send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	ck_assert_int_eq(W.nscrapes, 1);
	ck_assert_int_eq(strncmp(r.got, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "text/plain; version=0.0.4\r\n", 58), 0);
	ck_assert_ptr_nonnull(body = strstr(r.got, "\r\n\r\n"));
	ck_assert_ptr_nonnull(strstr(body, "\naibproxyd_connect_sessions_total"
	    "{type=\"tunneled\"} 7\n"));
	/* The scrape itself is no client connection. */
	ck_assert_ptr_nonnull(strstr(body, "\naibproxyd_open_connections 0\n"));
	close(fd);
	/* Only GET /metrics there. */
	wh_exchange(&W, wh_client(&W),
	    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	    wh_answer(404, "Not Found", ""));
	wh_done(&W);
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
	wh_exchange(&W, fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	    PAGE_OK);
	wh_done(&W);
}
END_TEST

/*
 * The over-limit client gets 503 on its fresh socket, on a plain
 * listener only.  Behind proxy_protocol the peer is the balancer (an
 * answer would reach whichever client it forwards), and a TLS client
 * would read plaintext: both are closed without an answer.
 */
static const struct {
	int		 proxy_protocol;
	int		 tls;
	int		 answer;
} overload_cases[] = {
	{ 0, 0, 1 },
	{ 1, 0, 0 },
	{ 0, 1, 0 },
	{ 1, 1, 0 }
};

START_TEST(test_accept_overload)
{
	const char	*log;
	int		 lfd, port, fd1, fd2;

	wh_init(&W);
	W.pc->gc.gc_max_connections = 1;
	W.l->lc.lc_proxy_protocol = overload_cases[_i].proxy_protocol;
	if (overload_cases[_i].tls)
		wh_tls_listener(&W);
	lfd = wh_listen(&port);
	ck_assert_int_ne(fcntl(lfd, F_SETFL, O_NONBLOCK), -1);
	W.l->fd = lfd;
	listener_enable(&W.px, W.pc, 1);
	fd1 = wh_connect(port);
	ck_assert_int_eq(wh_run(&W, wh_nsessions, (void *)1, 1.0), 0);
	fd2 = wh_connect(port);
	wh_log_start();
	wh_exchange(&W, fd2, "", overload_cases[_i].answer ?
	    wh_answer(503, "Service Unavailable", "") : "");
	log = wh_log_text();
	ck_assert_msg(strstr(log, "1 connections, refusing more") != NULL,
	    "%s", log);
	ck_assert_uint_eq(W.px.nsessions, 1);
	if (!overload_cases[_i].proxy_protocol &&
	    !overload_cases[_i].tls)
		wh_exchange(&W, fd1, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		    PAGE_OK);
	else {
		close(fd1);
		ck_assert_int_eq(wh_run(&W, wh_nsessions, (void *)0, 1.0), 0);
	}
	wh_done(&W);
}
END_TEST

/* A wh_run() condition: the worker's drain has begun. */
static int
draining(struct wh *h, void *arg)
{
	return (h->px.draining);
}

/* The worker's listener on a real socket, accepting. */
static int
stop_listener(void)
{
	int	 lfd, port;

	lfd = wh_listen(&port);
	ck_assert_int_ne(fcntl(lfd, F_SETFL, O_NONBLOCK), -1);
	W.l->fd = lfd;
	listener_enable(&W.px, W.pc, 1);
	return (port);
}

/*
 * 7. A stop with timeouts.drain_delay: /readyz says 503 at once, while
 * the worker still accepts and serves (/healthz stays 200) until the
 * delay is over; then the drain stops accepting.
 */
START_TEST(test_stop_delay)
{
	double	 t0;
	int	 port;

	wh_init(&W);
	W.pc->gc.gc_timeout_drain_delay = 300;
	port = stop_listener();
	wh_exchange(&W, wh_connect(port), GET_READYZ, PAGE_READY);
	t0 = ev_time();
	worker_stop(&W.px);
	ck_assert_int_eq(W.px.stopping, 1);
	ck_assert_int_eq(W.px.draining, 0);
	wh_exchange(&W, wh_connect(port), GET_READYZ, PAGE_STOPPING);
	wh_exchange(&W, wh_connect(port), GET_HEALTHZ, PAGE_OK);
	wh_exchange(&W, wh_connect(port),
	    "HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
	    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 9\r\nConnection: close\r\n\r\n");
	/* A second signal's message starts nothing new. */
	worker_stop(&W.px);
	ck_assert_int_eq(W.px.draining, 0);
	ck_assert_int_ne(ev_is_active(&W.l->io), 0);
	ck_assert_int_eq(wh_run(&W, draining, NULL, 2.0), 0);
	ck_assert_double_ge(ev_time() - t0, 0.29);
	ck_assert_int_eq(ev_is_active(&W.l->io), 0);
	ck_assert_int_ne(ev_is_active(&W.px.draintimer), 0);
	/* The process would exit here, nothing being left to finish. */
	ev_timer_stop(W.px.loop, &W.px.draintimer);
	wh_done(&W);
}
END_TEST

/*
 * Without a delay (the default) the drain begins at once: the listener
 * stops, and a connection that sent nothing yet is closed unanswered.
 */
START_TEST(test_stop_nodelay)
{
	struct wh_reader	 r;
	int			 port;

	wh_init(&W);
	port = stop_listener();
	wh_reader_init(&r, wh_connect(port));
	ck_assert_int_eq(wh_run(&W, wh_nsessions, (void *)1, 1.0), 0);
	worker_stop(&W.px);
	ck_assert_int_eq(W.px.stopping, 1);
	ck_assert_int_eq(W.px.draining, 1);
	ck_assert_int_eq(ev_is_active(&W.l->io), 0);
	ck_assert_int_eq(ev_is_active(&W.px.delaytimer), 0);
	ck_assert_uint_eq(W.px.nsessions, 0);
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.0), 0);
	ck_assert_uint_eq(r.len, 0);
	close(r.fd);
	ev_timer_stop(W.px.loop, &W.px.draintimer);
	wh_done(&W);
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
	wh_done(&W);
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
	wh_done(&W);
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
	wh_exchange(&W, wh_client(&W), req,
	    wh_answer(431, "Request Header Fields Too Large", ""));
	wh_done(&W);
}
END_TEST

/*
 * A failed write says why with the errno of the call that failed, not
 * whatever errno holds by the time the caller logs it.
 */
START_TEST(test_endpoint_error)
{
	struct endpoint	 ep;
	int		 sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	endpoint_init(&ep, sv[0], NULL, NULL);
	ck_assert_int_eq(endpoint_write(&ep, "x", 1), -1);
	errno = ENOENT;
	ck_assert_str_eq(endpoint_error(&ep), strerror(EPIPE));
	close(sv[0]);
}
END_TEST

/* A lookup that failed with EAI_SYSTEM says which system error. */
START_TEST(test_dns_strerror)
{
	struct dns_res	 res;

	memset(&res, 0, sizeof(res));
	res.dn_errno = EMFILE;
	ck_assert_str_eq(dns_strerror(EAI_SYSTEM, &res), strerror(EMFILE));
	ck_assert_str_eq(dns_strerror(EAI_NONAME, &res),
	    gai_strerror(EAI_NONAME));
	res.dn_errno = 0;
	ck_assert_str_eq(dns_strerror(EAI_SYSTEM, &res),
	    gai_strerror(EAI_SYSTEM));
}
END_TEST

/* An endpoint on one end of a socketpair, and a loop to arm it in. */
struct ep_pair {
	struct ev_loop	*loop;
	struct endpoint	 ep;
	int		 peer;		/* the other end, written to */
};

static void
ep_pair_open(struct ep_pair *e)
{
	int	 sv[2];

	ck_assert_ptr_nonnull(e->loop = ev_loop_new(EVFLAG_AUTO));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	endpoint_init(&e->ep, sv[0], NULL, NULL);
	e->peer = sv[1];
}

static void
ep_pair_close(struct ep_pair *e)
{
	endpoint_close(e->loop, &e->ep);
	close(e->peer);
	ev_loop_destroy(e->loop);
}

/*
 * A read that gets less than it asked for emptied the socket: the next
 * read waits for the loop (EP_AGAIN, no system call) until the endpoint
 * is armed again, even with bytes come since; then it reads them.
 */
START_TEST(test_endpoint_dry)
{
	struct ep_pair	 e;
	char		 got[64];

	ep_pair_open(&e);
	ck_assert_int_eq(write(e.peer, "0123456789", 10), 10);
	ck_assert_int_eq(endpoint_read(&e.ep, got, sizeof(got)), 10);
	ck_assert_int_eq(write(e.peer, "abcde", 5), 5);
	ck_assert_int_eq(endpoint_read(&e.ep, got, sizeof(got)), EP_AGAIN);
	ck_assert_int_eq(e.ep.rwant, EV_READ);
	endpoint_arm(e.loop, &e.ep, 1, 0);
	ck_assert_int_eq(endpoint_read(&e.ep, got, 5), 5);
	/* A full read says nothing of what is left: read on. */
	ck_assert_int_eq(write(e.peer, "xyz", 3), 3);
	ck_assert_int_eq(endpoint_read(&e.ep, got, sizeof(got)), 3);
	ep_pair_close(&e);
}
END_TEST

/*
 * A read that found nothing (EAGAIN) leaves the socket dry as well, and
 * an endpoint armed without interest in reading stays dry: only the
 * loop watching for input says when bytes come.
 */
START_TEST(test_endpoint_dry_again)
{
	struct ep_pair	 e;
	char		 got[64];

	ep_pair_open(&e);
	ck_assert_int_eq(endpoint_read(&e.ep, got, sizeof(got)), EP_AGAIN);
	ck_assert_int_eq(write(e.peer, "0123456789", 10), 10);
	ck_assert_int_eq(endpoint_read(&e.ep, got, sizeof(got)), EP_AGAIN);
	endpoint_arm(e.loop, &e.ep, 0, 1);
	ck_assert_int_eq(endpoint_read(&e.ep, got, sizeof(got)), EP_AGAIN);
	ck_assert_int_eq(e.ep.rwant, EV_READ);
	endpoint_arm(e.loop, &e.ep, 1, 0);
	ck_assert_int_eq(endpoint_read(&e.ep, got, sizeof(got)), 10);
	ep_pair_close(&e);
}
END_TEST

/*
 * A quiet arm keeps a read watch once, leaving the endpoint dry, and
 * drops it the next time: one epoll_ctl(2) saved each way per request,
 * and a peer that speaks meanwhile wakes the owner once, not forever.
 */
START_TEST(test_endpoint_quiet)
{
	struct ep_pair	 e;
	char		 got[64];

	ep_pair_open(&e);
	endpoint_arm(e.loop, &e.ep, 1, 0);
	ck_assert_int_eq(e.ep.events, EV_READ);
	ck_assert_int_eq(write(e.peer, "abc", 3), 3);
	ck_assert_int_eq(endpoint_read(&e.ep, got, sizeof(got)), 3);
	endpoint_arm_quiet(e.loop, &e.ep, 0);
	ck_assert_int_eq(e.ep.events, EV_READ);
	ck_assert(ev_is_active(&e.ep.io));
	ck_assert_int_eq(write(e.peer, "de", 2), 2);
	ck_assert_int_eq(endpoint_read(&e.ep, got, sizeof(got)), EP_AGAIN);
	endpoint_arm_quiet(e.loop, &e.ep, 1);
	ck_assert_int_eq(e.ep.events, EV_WRITE);
	endpoint_arm_quiet(e.loop, &e.ep, 0);
	ck_assert_int_eq(e.ep.events, 0);
	ck_assert(!ev_is_active(&e.ep.io));
	endpoint_arm(e.loop, &e.ep, 1, 0);
	ck_assert_int_eq(endpoint_read(&e.ep, got, sizeof(got)), 2);
	ep_pair_close(&e);
}
END_TEST

/*
 * A TLS read that fills the buffer may leave plaintext in the TLS
 * layer, which a dry socket says nothing of: it is read all the same.
 * Once a read came back short, TLS holds nothing and a dry socket
 * waits for the loop (no SSL_read(3) call to find that out).
 */
START_TEST(test_endpoint_tls_held)
{
	struct ep_pair		 e;
	struct tls_config	*cfg;
	struct tls		*cli;
	char			 msg[100], got[100];
	int			 i, r = -1, s = -1;

	wh_init(&W);
	wh_tls_listener(&W);
	ep_pair_open(&e);
	ck_assert_int_eq(endpoint_tls_accept(&e.ep, W.l->tls), 0);
	ck_assert_ptr_nonnull(cfg = tls_config_new());
	ck_assert_ptr_nonnull(cli = tls_client());
	tls_config_insecure_noverifycert(cfg);
	tls_config_insecure_noverifyname(cfg);
	ck_assert_int_eq(tls_configure(cli, cfg), 0);
	ck_assert_int_eq(tls_connect_socket(cli, e.peer, WH_PROXY_NAME), 0);
	for (i = 0; i < 100 && (r != 0 || s != 0); i++) {
		if (r != 0)
			r = tls_handshake(cli);
		endpoint_arm(e.loop, &e.ep, 1, 0);
		if (s != 0)
			s = endpoint_handshake(&e.ep);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(s, 0);
	for (i = 0; i < (int)sizeof(msg); i++)
		msg[i] = 'a' + i % 26;
	ck_assert_int_eq(tls_write(cli, msg, sizeof(msg)), sizeof(msg));
	endpoint_arm(e.loop, &e.ep, 1, 0);
	ck_assert_int_eq(endpoint_read(&e.ep, got, 10), 10);
	ck_assert(e.ep.dry);
	ck_assert_int_eq(endpoint_read(&e.ep, got + 10, 64), 64);
	ck_assert_int_eq(endpoint_read(&e.ep, got + 74, 64), 26);
	ck_assert_mem_eq(got, msg, sizeof(msg));
	ck_assert_int_eq(endpoint_read(&e.ep, got, 64), EP_AGAIN);
	ck_assert_int_eq(e.ep.rwant, EV_READ);
	/* Bytes come, but only the e.loop says so. */
	ck_assert_int_eq(tls_write(cli, "more", 4), 4);
	ck_assert_int_eq(endpoint_read(&e.ep, got, 64), EP_AGAIN);
	endpoint_arm(e.loop, &e.ep, 1, 0);
	ck_assert_int_eq(endpoint_read(&e.ep, got, 64), 4);
	ck_assert_mem_eq(got, "more", 4);
	tls_free(cli);
	tls_config_free(cfg);
	ep_pair_close(&e);
	wh_done(&W);
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
	tcase_add_test(tc, test_readyz);
	tcase_add_test(tc, test_metrics);
	tcase_add_test(tc, test_header_deadline);
	tcase_add_test(tc, test_header_silent);
	tcase_add_test(tc, test_header_too_large);
	tcase_add_test(tc, test_endpoint_error);
	tcase_add_test(tc, test_dns_strerror);
	suite_add_tcase(s, tc);

	tc = tcase_create("accept");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_accept_emfile);
	tcase_add_loop_test(tc, test_accept_overload, 0,
	    nitems(overload_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("stop");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_stop_delay);
	tcase_add_test(tc, test_stop_nodelay);
	suite_add_tcase(s, tc);

	tc = tcase_create("endpoint");
	tcase_add_test(tc, test_endpoint_dry);
	tcase_add_test(tc, test_endpoint_dry_again);
	tcase_add_test(tc, test_endpoint_quiet);
	tcase_add_test(tc, test_endpoint_tls_held);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(session_suite()) != 0);
}
