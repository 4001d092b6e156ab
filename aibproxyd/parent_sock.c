/*
 * The parent's listening sockets, bound as root and kept across reloads
 * by address.  Where the kernel spreads connections over a SO_REUSEPORT
 * group (compat_reuseport_spreads(): Linux), each proxy listener is a
 * group of one socket per worker, and worker i always gets socket i:
 * each worker accepts from its own queue, so new connections reach the
 * workers evenly, and none takes more than its share while another
 * idles.  The parent keeps every socket open, so the clients queued for
 * a worker that died wait for its replacement instead of being reset.
 * Elsewhere, and for the metrics listener that worker 0 alone serves,
 * one socket.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "parent.h"

#define LISTEN_BACKLOG	1024

/*
 * A socket bound to address, listening unless probe; with reuseport,
 * one of a group (SO_REUSEPORT is set before bind(2), socket(7)).  It
 * hands a worker a client only once that client has spoken (or after
 * about a second of silence: compat_defer_accept()), which every
 * protocol on our listeners does first: the request line, a
 * ClientHello, a PROXY header, a scrape.
 */
static int
parent_bind(const char *address, const struct sockaddr_storage *ss,
    socklen_t sslen, int reuseport, int probe)
{
	const char	*call;
	int		 fd, on = 1;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		log_warn("listen %s: socket", address);
		return (-1);
	}
	call = "setsockopt SO_REUSEADDR";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	/*
	 * Our answers are small writes: Nagle would only delay them.  An
	 * accepted socket inherits TCP_NODELAY from its listener (Linux
	 * copies the listener's socket; the BSDs copy its TF_NODELAY), so
	 * setting it here saves a system call per client.
	 */
	call = "setsockopt TCP_NODELAY";
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		goto fail;
	call = "setsockopt SO_REUSEPORT";
	if (reuseport && compat_reuseport(fd) == -1)
		goto fail;
	call = "setsockopt IPV6_V6ONLY";
	if (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	call = "bind";
	if (bind(fd, (const struct sockaddr *)ss, sslen) == -1)
		goto fail;
	call = "listen";
	if (probe)
		return (fd);
	if (listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	/* Not fatal: without it the worker waits for the first bytes. */
	if (compat_defer_accepts() && compat_defer_accept(fd) == -1)
		log_warn("listen %s: setsockopt TCP_DEFER_ACCEPT", address);
	return (fd);
 fail:
	log_warn("listen %s: %s", address, call);
	close(fd);
	return (-1);
}

/*
 * n sockets for address.  A group would silently join another root
 * process's group on the same address (a second daemon started by
 * mistake) and take part of its clients, so a probe without
 * SO_REUSEPORT is bound first: whatever holds the address, with the
 * option or without, makes it fail with EADDRINUSE, as a single
 * socket's bind does.  Between the probe's close and the group's first
 * bind, another process setting SO_REUSEPORT as the same user could
 * still bind the address and share it with us; the window is a few
 * system calls long, and only root can make such a process.
 */
static int
parent_bind_group(struct parent_sock *s, int n,
    const struct sockaddr_storage *ss, socklen_t sslen)
{
	int	 fd;

	if (n > 1) {
		if ((fd = parent_bind(s->address, ss, sslen, 0, 1)) == -1)
			return (-1);
		close(fd);
	}
	for (s->nfds = 0; s->nfds < n; s->nfds++)
		if ((s->fds[s->nfds] = parent_bind(s->address, ss, sslen,
		    n > 1, 0)) == -1)
			return (-1);
	return (0);
}

static void
parent_sock_free(struct parent_sock *s)
{
	int	 i;

	for (i = 0; i < s->nfds; i++)
		close(s->fds[i]);
	free(s);
}

/*
 * The sockets for address, bound as n of them if new.  Kept, they stay
 * as many as they are until parent_close_unused_sockets(): a config
 * offered may yet be refused, and the running one still has them all.
 */
static struct parent_sock *
parent_sock_get(struct parent *p, const char *address,
    const struct sockaddr_storage *ss, socklen_t sslen, int n)
{
	struct parent_sock	*s;

	TAILQ_FOREACH(s, &p->socks, entry)
		if (strcmp(s->address, address) == 0) {
			s->used = 1;
			s->want = n;
			return (s);
		}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("%s", __func__);
		return (NULL);
	}
	strlcpy(s->address, address, sizeof(s->address));
	if (parent_bind_group(s, n, ss, sslen) == -1) {
		parent_sock_free(s);
		return (NULL);
	}
	s->used = 1;
	s->want = n;
	TAILQ_INSERT_TAIL(&p->socks, s, entry);
	return (s);
}

/*
 * Bind what conf needs, keeping sockets that are already open.  The
 * workers stay as many across reloads (parent_reload()), so a group
 * kept keeps its size.
 */
int
parent_open_sockets(struct parent *p, const struct aib_config *conf)
{
	struct listen_conf	*l;
	struct parent_sock	*s;
	int			 n;

	n = compat_reuseport_spreads() ? p->nproxies : 1;
	TAILQ_FOREACH(s, &p->socks, entry)
		s->used = 0;
	TAILQ_FOREACH(l, &conf->listens, entry)
		if (parent_sock_get(p, l->address, &l->ss, l->sslen, n) ==
		    NULL)
			return (-1);
	if (conf->metrics && parent_sock_get(p, conf->metrics_address,
	    &conf->metrics_ss, conf->metrics_sslen, 1) == NULL)
		return (-1);
	return (0);
}

/*
 * A group kept for fewer sockets than it has (a proxy listener's
 * address now the metrics', which worker 0 alone serves from socket
 * 0): the kernel would still queue clients on the others, which no
 * worker accepts from, for ever.  Closed, they leave the group.  A
 * single socket kept for a group stays one, shared by every worker.
 */
static void
parent_sock_shrink(struct parent_sock *s)
{
	while (s->nfds > s->want && s->nfds > 1)
		close(s->fds[--s->nfds]);
}

void
parent_close_unused_sockets(struct parent *p)
{
	struct parent_sock	*s, *next;
	struct aib_config	*conf = p->conf;

	if (conf != NULL)
		parent_open_sockets(p, conf);	/* marks the ones in use */
	TAILQ_FOREACH_SAFE(s, &p->socks, entry, next) {
		if (s->used && conf != NULL) {
			parent_sock_shrink(s);
			continue;
		}
		TAILQ_REMOVE(&p->socks, s, entry);
		parent_sock_free(s);
	}
}

/* A copy of worker instance's socket for address, for it to own. */
int
parent_sock_dup(struct parent *p, const char *address, int instance)
{
	struct parent_sock	*s;
	int			 fd;

	TAILQ_FOREACH(s, &p->socks, entry)
		if (strcmp(s->address, address) == 0)
			break;
	if (s == NULL)
		fatalx("%s: %s not bound", __func__, address);
	if ((fd = fcntl(s->fds[instance % s->nfds], F_DUPFD_CLOEXEC, 0)) ==
	    -1)
		log_warn("%s: dup", __func__);
	return (fd);
}
