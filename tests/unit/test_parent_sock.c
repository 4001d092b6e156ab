/*
 * parent_sock.c on loopback: a listener is a group of one socket per
 * worker where the kernel spreads connections over such a group, and
 * one socket elsewhere; a group is kept across offers; an address held
 * by another socket, SO_REUSEPORT or not, is refused; where the
 * kernel can, a listener hands over a client only once it has spoken;
 * a client's socket comes with TCP_NODELAY from its listener.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <poll.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "../../aibproxyd/parent.h"
#include "compat.h"
#include "log.h"
#include "unit.h"

static struct parent		 p;
static struct aib_config	*conf;
static struct listen_conf	*lc;

/* A port free on 127.0.0.1 when asked, and the config listening on it. */
static void
setup(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	log_init(1, LOG_DAEMON);
	memset(&p, 0, sizeof(p));
	TAILQ_INIT(&p.socks);
	p.nproxies = 3;
	ck_assert_ptr_nonnull(conf = calloc(1, sizeof(*conf)));
	ck_assert_ptr_nonnull(lc = calloc(1, sizeof(*lc)));
	TAILQ_INIT(&conf->listens);
	TAILQ_INSERT_TAIL(&conf->listens, lc, entry);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	memcpy(&lc->ss, &sin, sizeof(sin));
	lc->sslen = sizeof(sin);
	snprintf(lc->address, sizeof(lc->address), "127.0.0.1:%d",
	    ntohs(sin.sin_port));
}

static void
teardown(void)
{
	p.conf = NULL;
	parent_close_unused_sockets(&p);
	free(lc);
	free(conf);
}

static ino_t
inode(int fd)
{
	struct stat	 st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	return (st.st_ino);
}

static int
sockopt(int fd, int opt)
{
	socklen_t	 len;
	int		 v = -1;

	len = sizeof(v);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, opt, &v, &len), 0);
	return (v);
}

START_TEST(test_group_per_worker)
{
	struct parent_sock	*s;
	int			 i, fd, n;

	n = compat_reuseport_spreads() ? 3 : 1;
	ck_assert_int_eq(parent_open_sockets(&p, conf), 0);
	ck_assert_ptr_nonnull(s = TAILQ_FIRST(&p.socks));
	ck_assert_ptr_null(TAILQ_NEXT(s, entry));
	ck_assert_int_eq(s->nfds, n);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(sockopt(s->fds[i], SO_ACCEPTCONN), 1);
		if (n > 1)
			ck_assert_int_ne(sockopt(s->fds[i], SO_REUSEPORT), 0);
	}
	/* Worker i, and its replacement, get socket i. */
	for (i = 0; i < 3; i++) {
		fd = parent_sock_dup(&p, lc->address, i);
		ck_assert_int_eq(inode(fd), inode(s->fds[i % n]));
		close(fd);
	}
	/* The next offer keeps the group. */
	fd = s->fds[0];
	ck_assert_int_eq(parent_open_sockets(&p, conf), 0);
	ck_assert_ptr_eq(TAILQ_FIRST(&p.socks), s);
	ck_assert_int_eq(s->fds[0], fd);
	ck_assert_int_eq(s->nfds, n);
}
END_TEST

/*
 * A reload that makes a proxy listener's address the metrics' (worker 0
 * alone, from socket 0): once that config runs, the group is that one
 * socket, or the kernel would queue clients on sockets no worker
 * accepts from.  Offered only, it keeps them all: it may be refused.
 */
START_TEST(test_group_to_metrics)
{
	struct aib_config	*mconf;
	struct parent_sock	*s;
	int			 fd;

	if (!compat_reuseport_spreads())
		return;
	ck_assert_int_eq(parent_open_sockets(&p, conf), 0);
	ck_assert_ptr_nonnull(s = TAILQ_FIRST(&p.socks));
	ck_assert_int_eq(s->nfds, 3);
	fd = s->fds[0];
	ck_assert_ptr_nonnull(mconf = calloc(1, sizeof(*mconf)));
	TAILQ_INIT(&mconf->listens);
	mconf->metrics = 1;
	strlcpy(mconf->metrics_address, lc->address,
	    sizeof(mconf->metrics_address));
	memcpy(&mconf->metrics_ss, &lc->ss, lc->sslen);
	mconf->metrics_sslen = lc->sslen;
	ck_assert_int_eq(parent_open_sockets(&p, mconf), 0);
	ck_assert_int_eq(s->nfds, 3);
	p.conf = mconf;
	parent_close_unused_sockets(&p);
	ck_assert_ptr_eq(TAILQ_FIRST(&p.socks), s);
	ck_assert_int_eq(s->nfds, 1);
	ck_assert_int_eq(s->fds[0], fd);
	ck_assert_int_eq(sockopt(fd, SO_ACCEPTCONN), 1);
	p.conf = NULL;
	free(mconf);
}
END_TEST

/* Whether every socket of the first listener has the TCP option on. */
static void
assert_group_option(int opt)
{
	struct parent_sock	*s;
	socklen_t		 len;
	int			 i, v;

	ck_assert_int_eq(parent_open_sockets(&p, conf), 0);
	ck_assert_ptr_nonnull(s = TAILQ_FIRST(&p.socks));
	for (i = 0; i < s->nfds; i++) {
		v = 0;
		len = sizeof(v);
		ck_assert_int_eq(getsockopt(s->fds[i], IPPROTO_TCP, opt, &v,
		    &len), 0);
		ck_assert_int_ne(v, 0);
	}
}

/*
 * The listener reopened as one socket, a client that connected and sent
 * "C" (a listener deferring accepts waits for a byte), and the socket
 * accepted for it; *cfd is the client's.
 */
static int
accept_one(int *cfd)
{
	struct parent_sock	*s;
	struct pollfd		 pfd;
	int			 afd;

	p.nproxies = 1;		/* one socket: the client lands on it */
	parent_close_unused_sockets(&p);
	p.conf = conf;
	ck_assert_int_eq(parent_open_sockets(&p, conf), 0);
	ck_assert_ptr_nonnull(s = TAILQ_FIRST(&p.socks));
	ck_assert_int_eq(s->nfds, 1);
	ck_assert_int_ne(*cfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(connect(*cfd, (struct sockaddr *)&lc->ss, lc->sslen),
	    0);
	ck_assert_int_eq(send(*cfd, "C", 1, 0), 1);
	pfd.fd = s->fds[0];
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, -1), 1);
	ck_assert_int_ne(afd = accept(s->fds[0], NULL, NULL), -1);
	return (afd);
}

/*
 * TCP_DEFER_ACCEPT on every socket of the group, and what it is for: the
 * client that was accepted has its first bytes waiting, so the worker
 * reads them at once (session_new()).
 */
START_TEST(test_defer_accept)
{
	char	 c;
	int	 cfd, afd;

	if (!compat_defer_accepts())
		return;
	assert_group_option(TCP_DEFER_ACCEPT);
	afd = accept_one(&cfd);
	ck_assert_int_eq(recv(afd, &c, 1, MSG_DONTWAIT), 1);
	ck_assert_int_eq(c, 'C');
	close(afd);
	close(cfd);
}
END_TEST

/*
 * TCP_NODELAY on every socket of the group, and inherited by a socket
 * accepted from it: session_new() relies on this and sets nothing.  On a
 * system that did not copy it, this fails, and the session's small
 * answers would wait for Nagle's algorithm.
 */
START_TEST(test_nodelay)
{
	socklen_t	 len;
	int		 v, cfd, afd;

	assert_group_option(TCP_NODELAY);
	afd = accept_one(&cfd);
	v = 0;
	len = sizeof(v);
	ck_assert_int_eq(getsockopt(afd, IPPROTO_TCP, TCP_NODELAY, &v, &len),
	    0);
	ck_assert_int_ne(v, 0);
	close(afd);
	close(cfd);
}
END_TEST

/* opt: whether the other holder sets SO_REUSEPORT. */
static void
taken(int opt)
{
	int	 fd, on = 1;

	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	if (opt)
		ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
		    sizeof(on)), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&lc->ss, lc->sslen), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(parent_open_sockets(&p, conf), -1);
	ck_assert_ptr_null(TAILQ_FIRST(&p.socks));
	close(fd);
	ck_assert_int_eq(parent_open_sockets(&p, conf), 0);
}

START_TEST(test_taken_plain)
{
	taken(0);
}
END_TEST

START_TEST(test_taken_reuseport)
{
	taken(1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("parent_sock");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_group_per_worker);
	tcase_add_test(tc, test_group_to_metrics);
	tcase_add_test(tc, test_taken_plain);
	tcase_add_test(tc, test_taken_reuseport);
	tcase_add_test(tc, test_defer_accept);
	tcase_add_test(tc, test_nodelay);
	suite_add_tcase(s, tc);
	return (unit_run(s) ? 1 : 0);
}
