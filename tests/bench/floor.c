/*
 * floor: a bench yardstick, never a proxy to run.  The least a CONNECT
 * relay can do on Linux, so that the bench's row 7 (new tunnels,
 * tests/bench/bench.py) can show what the kernel alone costs per new
 * tunnel on this machine: accept, one read of the CONNECT head, a
 * non-blocking connect, the 200, then splice(2) both ways until both
 * sides are done, close.  No policy, no logging, no DNS (numeric IPv4
 * only), no timeouts; malformed heads get a 400.
 *
 *	floor port [procs]
 *
 * listens on 127.0.0.1:port with procs (2) processes, each with its own
 * SO_REUSEPORT socket and its own level-triggered epoll(7) loop, as
 * aibproxyd's workers do.  SIGTERM or SIGINT stops them all.  Linux
 * only (epoll, splice, prctl), like make bench.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROCS_MAX	64
#define HEAD_MAX	4096
#define EVENTS_MAX	64
#define POOL_MAX	64		/* empty pipes kept for the next tunnel */
#define PIPE_SIZE	(256 * 1024)	/* as aibproxyd's (common/compat.c) */
#define SPLICE_CHUNK	(1024 * 1024)
#define SPLICE_SHORT	(16 * 1024)	/* a shorter read emptied the socket */
#define SPLICE_FLAGS	(SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
#define RELAY_ROUNDS	16		/* per wake-up, for fairness */

enum state {
	S_HEAD,				/* reading the CONNECT head */
	S_DIAL,				/* connecting to the target */
	S_RELAY,			/* bytes both ways */
	S_DEAD				/* closed, freed after this batch */
};

struct conn;

struct side {
	struct conn	*c;
	int		 fd;
	uint32_t	 ev;		/* events registered, 0: none */
};

/* One direction, from side i to side !i, through a pipe. */
struct dir {
	int		 pipe[2];
	size_t		 len;		/* bytes in the pipe */
	int		 eof;
	int		 shut;		/* shutdown(SHUT_WR) sent on */
};

struct conn {
	enum state	 st;
	struct side	 s[2];		/* client, target */
	struct dir	 d[2];		/* client to target, and back */
	struct conn	*next;		/* on the dead list */
	size_t		 hlen;
	char		 head[HEAD_MAX + 1];
};

static const char ok200[] = "HTTP/1.1 200 Connection established\r\n\r\n";
static const char bad400[] = "HTTP/1.1 400 Bad Request\r\n"
    "Content-Length: 0\r\nConnection: close\r\n\r\n";
static const char bad502[] = "HTTP/1.1 502 Bad Gateway\r\n"
    "Content-Length: 0\r\nConnection: close\r\n\r\n";

static int		 ep = -1;	/* this process's epoll */
static int		 lfd = -1;	/* and listener */
static int		 paused;	/* out of descriptors: not accepting */
static struct conn	*dead;
static int		 pool[POOL_MAX][2];
static int		 npool;

static int
arm(struct side *s, uint32_t want)
{
	struct epoll_event	 e;
	int			 op;

	if (want == s->ev)
		return (0);
	/* Unregistered when nothing is wanted: HUP would wake us in vain. */
	op = s->ev == 0 ? EPOLL_CTL_ADD : want == 0 ? EPOLL_CTL_DEL :
	    EPOLL_CTL_MOD;
	memset(&e, 0, sizeof(e));
	e.events = want;
	e.data.ptr = s;
	if (epoll_ctl(ep, op, s->fd, &e) == -1)
		return (-1);
	s->ev = want;
	return (0);
}

static void
pipes_put(struct dir *d)
{
	if (d->pipe[0] == -1)
		return;
	if (d->len == 0 && npool < POOL_MAX) {
		memcpy(pool[npool++], d->pipe, sizeof(d->pipe));
		return;
	}
	close(d->pipe[0]);
	close(d->pipe[1]);
}

static int
pipes_get(struct dir *d)
{
	if (npool > 0) {
		memcpy(d->pipe, pool[--npool], sizeof(d->pipe));
		return (0);
	}
	if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		d->pipe[0] = d->pipe[1] = -1;
		return (-1);
	}
	(void)fcntl(d->pipe[0], F_SETPIPE_SZ, PIPE_SIZE);
	return (0);
}

/* Closing a descriptor takes it out of the epoll set too. */
static void
conn_close(struct conn *c)
{
	int	 i;

	for (i = 0; i < 2; i++) {
		if (c->s[i].fd != -1)
			close(c->s[i].fd);
		pipes_put(&c->d[i]);
	}
	c->st = S_DEAD;
	c->next = dead;
	dead = c;
}

/* One of our own answers, then the close; a bench tool says no more. */
static void
conn_fail(struct conn *c, const char *answer, size_t len)
{
	(void)write(c->s[0].fd, answer, len);
	conn_close(c);
}

/* "CONNECT a.b.c.d:port HTTP/1.x" and CRLF; the fields after it are ignored. */
static int
parse_connect(const char *h, struct sockaddr_in *sin)
{
	char		 host[INET_ADDRSTRLEN];
	const char	*colon;
	long		 port = 0;
	int		 digits = 0;

	if (strncmp(h, "CONNECT ", 8) != 0)
		return (-1);
	h += 8;
	if ((colon = strchr(h, ':')) == NULL || colon == h ||
	    (size_t)(colon - h) >= sizeof(host))
		return (-1);
	memcpy(host, h, colon - h);
	host[colon - h] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return (-1);
	for (h = colon + 1; *h >= '0' && *h <= '9' && digits < 5; h++, digits++)
		port = port * 10 + (*h - '0');
	if (digits == 0 || port < 1 || port > 65535)
		return (-1);
	sin->sin_port = htons(port);
	if (strncmp(h, " HTTP/1.", 8) != 0 || h[8] < '0' || h[8] > '9' ||
	    strncmp(h + 9, "\r\n", 2) != 0)
		return (-1);
	return (0);
}

static void
dial(struct conn *c, const struct sockaddr_in *sin)
{
	int	 fd, on = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		conn_fail(c, bad502, sizeof(bad502) - 1);
		return;
	}
	c->s[1].fd = fd;
	/* The client's small TLS records must not wait for Nagle. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if ((connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1 &&
	    errno != EINPROGRESS) || arm(&c->s[1], EPOLLOUT) == -1) {
		conn_fail(c, bad502, sizeof(bad502) - 1);
		return;
	}
	c->st = S_DIAL;
}

static void
on_head(struct conn *c)
{
	struct sockaddr_in	 sin;
	const char		*end;
	ssize_t			 n;

	n = read(c->s[0].fd, c->head + c->hlen, HEAD_MAX - c->hlen);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->hlen += n;
	c->head[c->hlen] = '\0';
	end = memmem(c->head, c->hlen, "\r\n\r\n", 4);
	if (end == NULL && c->hlen < HEAD_MAX)
		return;
	/* Bytes before our 200 are not what this yardstick's clients send. */
	if (end == NULL || end + 4 != c->head + c->hlen ||
	    memchr(c->head, '\0', c->hlen) != NULL ||
	    parse_connect(c->head, &sin) == -1) {
		conn_fail(c, bad400, sizeof(bad400) - 1);
		return;
	}
	dial(c, &sin);
}

/* A failed connect(2) reports EPOLLERR, which spares a getsockopt. */
static void
on_dialed(struct conn *c, uint32_t ev)
{
	if (ev & (EPOLLERR | EPOLLHUP)) {
		conn_fail(c, bad502, sizeof(bad502) - 1);
		return;
	}
	if (write(c->s[0].fd, ok200, sizeof(ok200) - 1) !=
	    sizeof(ok200) - 1 || pipes_get(&c->d[0]) == -1 ||
	    pipes_get(&c->d[1]) == -1) {
		conn_close(c);
		return;
	}
	c->st = S_RELAY;
}

/*
 * Side i to side !i: the pipe is filled only once empty, so an EAGAIN
 * on the read means the socket is dry, never that the pipe is full.
 * The end of one side is passed on as a half-close (RFC 9110, 9.3.6:
 * the tunnel closes once both sides have).
 */
static int
pump(struct conn *c, int i)
{
	struct dir	*d = &c->d[i];
	int		 from = c->s[i].fd, to = c->s[!i].fd, rounds, dry = 0;
	ssize_t		 n;

	for (rounds = 0; rounds < RELAY_ROUNDS && !dry; rounds++) {
		if (d->len == 0 && !d->eof) {
			n = splice(from, NULL, d->pipe[1], NULL, SPLICE_CHUNK,
			    SPLICE_FLAGS);
			if (n == -1)
				return (errno == EAGAIN ? 0 : -1);
			d->eof = n == 0;
			d->len = n;
			dry = n < SPLICE_SHORT;
		}
		if (d->len > 0) {
			n = splice(d->pipe[0], NULL, to, NULL, d->len,
			    SPLICE_FLAGS);
			if (n == -1)
				return (errno == EAGAIN ? 0 : -1);
			d->len -= n;
			if (d->len > 0)
				return (0);	/* wait for EPOLLOUT */
		}
		if (d->eof)
			break;
	}
	if (d->eof && d->len == 0 && !d->shut) {
		(void)shutdown(to, SHUT_WR);
		d->shut = 1;
	}
	return (0);
}

static int
rearm(struct conn *c)
{
	uint32_t	 want;
	int		 i;

	for (i = 0; i < 2; i++) {
		want = 0;
		if (!c->d[i].eof && c->d[i].len == 0)
			want |= EPOLLIN;
		if (c->d[!i].len > 0)
			want |= EPOLLOUT;
		if (arm(&c->s[i], want) == -1)
			return (-1);
	}
	return (0);
}

static void
on_event(struct side *s, uint32_t ev)
{
	struct conn	*c = s->c;
	int		 i = s == &c->s[1];

	switch (c->st) {
	case S_HEAD:
		on_head(c);
		return;
	case S_DIAL:
		/* The client spoke before the 200, or left. */
		if (i == 0)
			conn_close(c);
		else
			on_dialed(c, ev);
		break;
	case S_RELAY:
		if ((ev & EPOLLERR) ||
		    ((ev & (EPOLLIN | EPOLLHUP)) && pump(c, i) == -1) ||
		    ((ev & EPOLLOUT) && pump(c, !i) == -1)) {
			conn_close(c);
			return;
		}
		if (c->d[0].shut && c->d[1].shut) {
			conn_close(c);
			return;
		}
		break;
	case S_DEAD:
		return;
	}
	if (c->st == S_RELAY && rearm(c) == -1)
		conn_close(c);
}

static void
on_accept(void)
{
	struct conn	*c;
	int		 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		/* Until a tunnel closes: the listener would wake us in vain. */
		if ((errno == EMFILE || errno == ENFILE) &&
		    epoll_ctl(ep, EPOLL_CTL_DEL, lfd, NULL) == 0)
			paused = 1;
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->st = S_HEAD;
	c->s[0].c = c->s[1].c = c;
	c->s[0].fd = fd;
	c->s[1].fd = -1;
	c->d[0].pipe[0] = c->d[0].pipe[1] = -1;
	c->d[1].pipe[0] = c->d[1].pipe[1] = -1;
	if (arm(&c->s[0], EPOLLIN) == -1)
		conn_close(c);
}

static void
reap(void)
{
	struct epoll_event	 e;
	struct conn		*c;

	while ((c = dead) != NULL) {
		dead = c->next;
		free(c);
	}
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;		/* data.ptr NULL: the listener */
	if (paused && epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e) == 0)
		paused = 0;
}

static void __attribute__((noreturn))
worker(void)
{
	struct epoll_event	 evs[EVENTS_MAX], e;
	int			 i, n;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(1, "epoll_create1");
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e) == -1)
		err(1, "epoll_ctl");
	for (;;) {
		if ((n = epoll_wait(ep, evs, EVENTS_MAX, -1)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "epoll_wait");
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				on_accept();
			else
				on_event(evs[i].data.ptr, evs[i].events);
		}
		/* Only now: a later event of this batch may name a dead one. */
		if (dead != NULL)
			reap();
	}
}

/* Like aibproxyd's (aibproxyd/parent_sock.c); TCP_NODELAY is inherited. */
static int
listener(int port)
{
	struct sockaddr_in	 sin;
	int			 fd, on = 1, secs = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		err(1, "socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		err(1, "setsockopt");
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "bind 127.0.0.1:%d", port);
	if (listen(fd, 1024) == -1)
		err(1, "listen");
	if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs,
	    sizeof(secs)) == -1)
		err(1, "setsockopt TCP_DEFER_ACCEPT");
	return (fd);
}

static int
number(const char *s, int max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < 1 || v > max)
		errx(2, "usage: floor port [procs]");
	return (v);
}

int
main(int argc, char *argv[])
{
	sigset_t	 set;
	pid_t		 parent, pids[PROCS_MAX];
	int		 fds[PROCS_MAX], i, j, port, procs = 2, sig;

	parent = getpid();
	if (argc < 2 || argc > 3)
		errx(2, "usage: floor port [procs]");
	port = number(argv[1], 65535);
	if (argc == 3)
		procs = number(argv[2], PROCS_MAX);
	/* All listen before the first fork: ready once the port answers. */
	for (i = 0; i < procs; i++)
		fds[i] = listener(port);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		err(1, "sigprocmask");
	for (i = 0; i < procs; i++) {
		if ((pids[i] = fork()) == -1)
			err(1, "fork");
		if (pids[i] != 0)
			continue;
		/* A worker outlives no parent, whatever killed it. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
		    sigprocmask(SIG_UNBLOCK, &set, NULL) == -1)
			err(1, "worker set-up");
		if (getppid() != parent)
			_exit(1);
		for (j = 0; j < procs; j++)
			if (j != i)
				close(fds[j]);
		lfd = fds[i];
		worker();
	}
	for (i = 0; i < procs; i++)
		close(fds[i]);
	/* Until told to stop, or a worker dies: then all stop. */
	if (sigwait(&set, &sig) != 0)
		sig = SIGCHLD;
	for (i = 0; i < procs; i++)
		(void)kill(pids[i], SIGTERM);
	while (wait(NULL) != -1 || errno == EINTR)
		;
	return (sig == SIGCHLD);
}
