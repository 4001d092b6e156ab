/*
 * aibproxyd/proxyhdr.c driven on the worker's own loop (harness.h): a
 * listener with proxy_protocol reads the PROXY header first, takes the
 * client's address from it, hands every byte after it to the next
 * phase (the request head, or the TLS handshake), and closes a
 * connection without a valid header, without an answer.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../aibproxyd/proxyhdr.h"
#include "../../aibproxyd/request.h"
#include "../../aibproxyd/session.h"
#include "harness.h"
#include "unit.h"

static struct wh	 W;

#define V1		"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"
#define V2_SIG		"\r\n\r\n\0\r\nQUIT\n"
/* PROXY, TCP over IPv6: [2001:db8::1]:4242 -> [2001:db8::2]:443 */
#define V2_TCP6		V2_SIG "\x21\x21\x00\x24"			\
			"\x20\x01\x0d\xb8" "\0\0\0\0\0\0\0\0\0\0\0\x01"	\
			"\x20\x01\x0d\xb8" "\0\0\0\0\0\0\0\0\0\0\0\x02"	\
			"\x10\x92\x01\xbb"
/* LOCAL: HAProxy's health checks with check-send-proxy. */
#define V2_LOCAL	V2_SIG "\x20\x00\x00\x00"
#define PORT_25		"CONNECT 127.0.0.1:25 HTTP/1.1\r\nHost: x\r\n\r\n"
#define HEALTHZ		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
#define PAGE_OK								\
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"		\
	"Content-Length: 3\r\nConnection: close\r\n\r\nOK\n"

static void
pp_init(void)
{
	wh_init(&W);
	W.l->lc.lc_proxy_protocol = 1;
}

/* Send len bytes (NULs included), read to EOF; the log in *log. */
static void
pp_exchange(const char *req, size_t len, const char *want,
    const char **log)
{
	struct wh_reader	 r;
	int			 fd;

	wh_log_start();
	fd = wh_client(&W);
	wh_reader_init(&r, fd);
	ck_assert_int_eq(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	*log = wh_log_text();
	ck_assert_msg(strcmp(r.got, want) == 0, "got \"%s\"; log: %s", r.got,
	    *log);
	ck_assert_int_eq(r.eof, 1);
	close(fd);
}

/* v1 and the request in one write: the line names the client. */
START_TEST(test_v1)
{
	const char	*log;

	pp_init();
	pp_exchange(V1 PORT_25, sizeof(V1 PORT_25) - 1,
	    wh_answer(403, "Forbidden", ""), &log);
	ck_assert_msg(strstr(log, " 192.0.2.1:56324: refusing CONNECT "
	    "127.0.0.1:25: port not allowed") != NULL, "%s", log);
	wh_done(&W);
}
END_TEST

START_TEST(test_v2)
{
	const char	*log;

	pp_init();
	pp_exchange(V2_TCP6 PORT_25, sizeof(V2_TCP6 PORT_25) - 1,
	    wh_answer(403, "Forbidden", ""), &log);
	ck_assert_msg(strstr(log, " [2001:db8::1]:4242: refusing CONNECT") !=
	    NULL, "%s", log);
	wh_done(&W);
}
END_TEST

/* LOCAL (a balancer's health check): the balancer's address stays. */
START_TEST(test_v2_local)
{
	const char	*log;

	pp_init();
	pp_exchange(V2_LOCAL HEALTHZ, sizeof(V2_LOCAL HEALTHZ) - 1, PAGE_OK,
	    &log);
	pp_exchange(V2_LOCAL PORT_25, sizeof(V2_LOCAL PORT_25) - 1,
	    wh_answer(403, "Forbidden", ""), &log);
	ck_assert_msg(strstr(log, " 127.0.0.1:") != NULL, "%s", log);
	wh_done(&W);
}
END_TEST

/* The header one byte at a time: the phase waits for the whole of it. */
START_TEST(test_split)
{
	static const char	 req[] = V2_TCP6 HEALTHZ;
	struct wh_reader	 r;
	size_t			 i, hlen = sizeof(V2_TCP6) - 1;
	int			 fd;

	pp_init();
	fd = wh_client(&W);
	wh_reader_init(&r, fd);
	for (i = 0; i < hlen; i++) {
		ck_assert_int_eq(send(fd, req + i, 1, MSG_NOSIGNAL), 1);
		ck_assert_int_eq(wh_run(&W, wh_nsessions, (void *)0, 0.01),
		    -1);
	}
	ck_assert_str_eq(TAILQ_FIRST(&W.px.sessions)->peer,
	    "[2001:db8::1]:4242");
	ck_assert_str_eq(TAILQ_FIRST(&W.px.sessions)->addr, "2001:db8::1");
	wh_send(fd, HEALTHZ);
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	ck_assert_str_eq(r.got, PAGE_OK);
	close(fd);
	wh_done(&W);
}
END_TEST

/*
 * An IPv4-mapped IPv6 address names the IPv4 client: the same text,
 * hence the same throttle key and audit line, as TCP4 names it.
 */
#define MAPPED_V2	V2_SIG "\x21\x21\x00\x24"				\
			"\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\x00\x02\x01"	\
			"\0\0\0\0\0\0\0\0\0\0\xff\xff\xc6\x33\x64\x02"	\
			"\xdc\x04\x01\xbb"
static const struct {
	const char	*hdr;
	size_t		 len;
} mapped_cases[] = {
	{ V1, sizeof(V1) - 1 },
	{ "PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.2 56324 443\r\n",
	    sizeof("PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.2 56324 "
	    "443\r\n") - 1 },
	{ MAPPED_V2, sizeof(MAPPED_V2) - 1 }
};

/* A wh_run() condition: the header has replaced the peer. */
static int
peer_replaced(struct wh *h, void *arg)
{
	struct session	*s = TAILQ_FIRST(&h->px.sessions);

	return (s != NULL && strncmp(s->peer, "127.0.0.1:", 10) != 0);
}

START_TEST(test_mapped)
{
	struct session	*s;
	int		 fd;

	pp_init();
	fd = wh_client(&W);
	ck_assert_int_eq(send(fd, mapped_cases[_i].hdr, mapped_cases[_i].len,
	    MSG_NOSIGNAL), (ssize_t)mapped_cases[_i].len);
	ck_assert_int_eq(wh_run(&W, peer_replaced, NULL, 1.0), 0);
	s = TAILQ_FIRST(&W.px.sessions);
	ck_assert_str_eq(s->peer, "192.0.2.1:56324");
	ck_assert_str_eq(s->addr, "192.0.2.1");
	close(fd);
	ck_assert_int_eq(wh_run(&W, wh_nsessions, (void *)0, 1.0), 0);
	wh_done(&W);
}
END_TEST

/* The accepted socket's address of a dual-stack listener, alike. */
START_TEST(test_mapped_socket)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	char			 peer[64], addr[64];

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(40000);
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6->sin6_addr);
	session_addr_text(&ss, peer, sizeof(peer), addr, sizeof(addr));
	ck_assert_str_eq(peer, "10.1.2.3:40000");
	ck_assert_str_eq(addr, "10.1.2.3");
	/* Only ::ffff:0:0/96: an IPv4-compatible address stays IPv6. */
	inet_pton(AF_INET6, "::10.1.2.3", &sin6->sin6_addr);
	session_addr_text(&ss, peer, sizeof(peer), addr, sizeof(addr));
	ck_assert_str_eq(peer, "[::10.1.2.3]:40000");
	inet_pton(AF_INET6, "2001:db8::ffff:a01:203", &sin6->sin6_addr);
	session_addr_text(&ss, peer, sizeof(peer), addr, sizeof(addr));
	ck_assert_str_eq(addr, "2001:db8::ffff:a01:203");
}
END_TEST

struct bad_case {
	const char	*in;
	size_t		 len;
	const char	*why;
	int		 reason;	/* enum stats_proxyproto */
};

#define BAD(s, why, reason)	{ s, sizeof(s) - 1, why, reason }

static const struct bad_case bad_cases[] = {
	BAD(HEALTHZ, "no PROXY header", PPERR_MISSING),
	BAD("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", "no PROXY header",
	    PPERR_MISSING),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 99999\r\n" HEALTHZ,
	    "v1: bad destination address or port", PPERR_MALFORMED),
	BAD(V2_SIG "\x21\x12\x00\x0c" "abcdefghijkl",
	    "v2: a datagram address on a stream", PPERR_MALFORMED),
	BAD("PROXY TCP4 192.0.2.1", "closed before it was whole",
	    PPERR_CLOSED),
};

/* No valid header: closed, nothing sent, a line and a count. */
START_TEST(test_bad)
{
	const struct bad_case	*c = &bad_cases[_i];
	struct wh_reader	 r;
	const char		*log;
	char			 want[256];
	int			 fd;

	pp_init();
	wh_log_start();
	fd = wh_client(&W);
	wh_reader_init(&r, fd);
	ck_assert_int_eq(send(fd, c->in, c->len, MSG_NOSIGNAL),
	    (ssize_t)c->len);
	if (c->reason == PPERR_CLOSED)
		shutdown(fd, SHUT_WR);
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	log = wh_log_text();
	ck_assert_uint_eq(r.len, 0);
	ck_assert_int_eq(r.eof, 1);
	snprintf(want, sizeof(want), ": closing: PROXY protocol header: %s",
	    c->why);
	ck_assert_msg(strstr(log, want) != NULL, "no \"%s\" in %s", want,
	    log);
	ck_assert_msg(strstr(log, "conn 1 127.0.0.1:") != NULL, "%s", log);
	ck_assert_uint_eq(W.px.stats.st_proxyproto[c->reason], 1);
	close(fd);
	wh_done(&W);
}
END_TEST

/*
 * A connection that closes at once (a balancer's TCP check) is no
 * error: neither counted nor warned about.
 */
START_TEST(test_closed_at_once)
{
	struct wh_reader	 r;
	const char		*log;
	int			 fd, i;

	pp_init();
	wh_log_start();
	fd = wh_client(&W);
	wh_reader_init(&r, fd);
	shutdown(fd, SHUT_WR);
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	log = wh_log_text();
	ck_assert_str_eq(log, "");
	for (i = 0; i < PPERR_MAX; i++)
		ck_assert_uint_eq(W.px.stats.st_proxyproto[i], 0);
	close(fd);
	wh_done(&W);
}
END_TEST

/* Half a header, then silence: closed at timeouts.header. */
START_TEST(test_timeout)
{
	struct wh_reader	 r;
	const char		*log;
	int			 fd;

	pp_init();
	W.pc->gc.gc_timeout_header = 200;
	wh_log_start();
	fd = wh_client(&W);
	wh_reader_init(&r, fd);
	wh_send(fd, "PROXY TCP4 ");
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	log = wh_log_text();
	ck_assert_uint_eq(r.len, 0);
	ck_assert_msg(strstr(log, "PROXY protocol header: not whole within "
	    "timeouts.header") != NULL, "%s", log);
	ck_assert_uint_eq(W.px.stats.st_proxyproto[PPERR_TIMEOUT], 1);
	close(fd);
	wh_done(&W);
}
END_TEST

static int
pp_never(struct wh *h, void *arg)
{
	return (0);
}

/* The session reads its request head (the PROXY header is done). */
static int
pp_in_head(struct wh *h, void *arg)
{
	struct session	*s = TAILQ_FIRST(&h->px.sessions);

	return (s != NULL && s->ops != NULL &&
	    strcmp(s->ops->name, "request") == 0);
}

/*
 * aibproxyd.yaml(5): timeouts.header counts from the accept for the
 * first request.  A header that comes late leaves the head only the
 * rest of that one deadline, not a fresh one.  The deadline itself is
 * compared, not when the 408 comes, so that a slow machine cannot make
 * it pass or fail: it is the accept's time plus timeouts.header, and
 * the header came a tenth of a second after the accept.
 */
START_TEST(test_one_deadline)
{
	struct wh_reader	 r;
	struct session		*s;
	const char		*log;
	double			 limit;
	int			 fd;

	pp_init();
	limit = session_ms(W.pc->gc.gc_timeout_header);
	wh_log_start();
	fd = wh_client(&W);
	wh_reader_init(&r, fd);
	ck_assert_int_eq(wh_run(&W, pp_never, NULL, 0.1), -1);
	wh_send(fd, V1);
	ck_assert_int_eq(wh_run(&W, pp_in_head, NULL, 1.5), 0);
	s = TAILQ_FIRST(&W.px.sessions);
	ck_assert_str_eq(s->peer, "192.0.2.1:56324");
	ck_assert_msg(ev_now(W.px.loop) >= s->started + 0.1, "no delay");
	ck_assert_msg(fabs(s->deadline - s->started - limit) < 0.001,
	    "deadline %.3f s after the accept, not %.3f", s->deadline -
	    s->started, limit);
	/* Half a head: 408 at that deadline. */
	wh_send(fd, "GET /healthz HTTP/1.1\r\n");
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	log = wh_log_text();
	ck_assert_str_eq(r.got, wh_answer(408, "Request Timeout", ""));
	ck_assert_msg(strstr(log, " 192.0.2.1:56324: request head not "
	    "complete within timeouts.header") != NULL, "%s", log);
	close(fd);
	wh_done(&W);
}
END_TEST

/*
 * A TLS listener keeps its own clocks: the PROXY header within
 * timeouts.header of the accept, the handshake within
 * timeouts.handshake, and the head within timeouts.header of the
 * handshake's end, here a tenth of a second or more after the accept.
 */
START_TEST(test_tls_deadline)
{
	static const char *const lines[] = { PORT_25, NULL };
	struct wh_tls		 c;
	struct session		*s;
	double			 limit;
	int			 fd;

	pp_init();
	limit = session_ms(W.pc->gc.gc_timeout_header);
	wh_tls_listener(&W);
	wh_tls_prepare(&c, lines, 0, 1);
	c.connect = NULL;
	c.listener_tls = 1;
	c.preface = V2_TCP6;
	c.prefacelen = sizeof(V2_TCP6) - 1;
	fd = wh_client(&W);
	ck_assert_int_eq(wh_run(&W, pp_never, NULL, 0.1), -1);
	wh_tls_start(&c, fd);
	ck_assert_int_eq(wh_run(&W, wh_tls_ready, &c, 2.0), 0);
	ck_assert_msg(c.handshake == 0, "%s", c.err);
	ck_assert_int_eq(wh_run(&W, pp_in_head, NULL, 1.5), 0);
	s = TAILQ_FIRST(&W.px.sessions);
	ck_assert_str_eq(s->peer, "[2001:db8::1]:4242");
	ck_assert_msg(s->deadline - s->started >= 0.1 + limit,
	    "deadline %.3f s after the accept, not %.3f or more", s->deadline -
	    s->started, 0.1 + limit);
	c.go = 1;
	wh_tls_finish(&W, &c);
	ck_assert_int_eq(c.handshake, 0);
	ck_assert_str_eq(c.got, wh_answer(403, "Forbidden", ""));
	wh_done(&W);
}
END_TEST

/*
 * A TLS listener: the header and the ClientHello in one write.  The
 * handshake gets every byte after the header, the request inside it
 * is logged with the header's client.
 */
START_TEST(test_tls)
{
	static const char *const lines[] = { PORT_25, NULL };
	struct wh_tls		 c;
	const char		*log;

	pp_init();
	wh_tls_listener(&W);
	wh_tls_prepare(&c, lines, 0, 0);
	c.connect = NULL;
	c.listener_tls = 1;
	c.preface = V2_TCP6;
	c.prefacelen = sizeof(V2_TCP6) - 1;
	wh_log_start();
	wh_tls_start(&c, wh_client(&W));
	wh_tls_finish(&W, &c);
	log = wh_log_text();
	ck_assert_msg(c.handshake == 0, "%s; log: %s", c.err, log);
	ck_assert_str_eq(c.got, wh_answer(403, "Forbidden", ""));
	ck_assert_msg(strstr(log, " [2001:db8::1]:4242: refusing CONNECT") !=
	    NULL, "%s", log);
	wh_done(&W);
}
END_TEST

/* proxy_from: only the balancers it names may connect. */
START_TEST(test_allowed)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct listen_config	*lc;
	const char		*log;

	pp_init();
	lc = &W.l->lc;
	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, "10.1.0.7", &sin->sin_addr);
	sin->sin_port = htons(5555);
	/* Without proxy_from: anyone. */
	ck_assert_int_eq(proxyhdr_allowed(&W.px, W.l, &ss), 1);
	lc->lc_nproxy_from = 2;
	lc->lc_proxy_from[0].cc_af = AF_INET;
	lc->lc_proxy_from[0].cc_prefixlen = 24;
	inet_pton(AF_INET, "10.1.0.0", lc->lc_proxy_from[0].cc_addr);
	lc->lc_proxy_from[1].cc_af = AF_INET6;
	lc->lc_proxy_from[1].cc_prefixlen = 32;
	inet_pton(AF_INET6, "2001:db8::", lc->lc_proxy_from[1].cc_addr);
	ck_assert_int_eq(proxyhdr_allowed(&W.px, W.l, &ss), 1);
	wh_log_start();
	inet_pton(AF_INET, "10.1.1.7", &sin->sin_addr);
	ck_assert_int_eq(proxyhdr_allowed(&W.px, W.l, &ss), 0);
	log = wh_log_text();
	ck_assert_msg(strstr(log, "listen 127.0.0.1:0: refusing "
	    "10.1.1.7:5555: not in proxy_from") != NULL, "%s", log);
	ck_assert_uint_eq(W.px.stats.st_proxyproto[PPERR_PEER], 1);
	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1::1", &sin6->sin6_addr);
	ck_assert_int_eq(proxyhdr_allowed(&W.px, W.l, &ss), 1);
	inet_pton(AF_INET6, "2001:db9::1", &sin6->sin6_addr);
	ck_assert_int_eq(proxyhdr_allowed(&W.px, W.l, &ss), 0);
	/* A mapped address is judged as the IPv4 address it carries. */
	inet_pton(AF_INET6, "::ffff:10.1.0.9", &sin6->sin6_addr);
	ck_assert_int_eq(proxyhdr_allowed(&W.px, W.l, &ss), 1);
	/* proxy_from means nothing without proxy_protocol. */
	lc->lc_proxy_protocol = 0;
	inet_pton(AF_INET6, "2001:db9::1", &sin6->sin6_addr);
	ck_assert_int_eq(proxyhdr_allowed(&W.px, W.l, &ss), 1);
	wh_done(&W);
}
END_TEST

/* Without proxy_protocol a header is just a bad request. */
START_TEST(test_off)
{
	const char	*log;

	wh_init(&W);
	pp_exchange(V1 HEALTHZ, sizeof(V1 HEALTHZ) - 1,
	    wh_answer(400, "Bad Request", ""), &log);
	wh_done(&W);
}
END_TEST

static Suite *
proxyhdr_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("proxyhdr");
	tc = tcase_create("header");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_v1);
	tcase_add_test(tc, test_v2);
	tcase_add_test(tc, test_v2_local);
	tcase_add_test(tc, test_split);
	tcase_add_loop_test(tc, test_mapped, 0, nitems(mapped_cases));
	tcase_add_test(tc, test_mapped_socket);
	tcase_add_loop_test(tc, test_bad, 0, nitems(bad_cases));
	tcase_add_test(tc, test_closed_at_once);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_one_deadline);
	tcase_add_test(tc, test_tls);
	tcase_add_test(tc, test_tls_deadline);
	tcase_add_test(tc, test_allowed);
	tcase_add_test(tc, test_off);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (unit_run(proxyhdr_suite()) != 0);
}
