/*
 * The resolver: answers name lookups for the proxy workers so that no
 * worker ever blocks on DNS.  It is not chrooted because getaddrinfo(3)
 * needs /etc/resolv.conf, /etc/hosts and nsswitch, and it holds nothing
 * secret.  Lookups run on a few threads; answers come back to the event
 * loop through an ev_async.
 *
 * Peers:
 *	parent		IMSG_CTL_PROCFD, IMSG_CFG_GLOBAL, IMSG_CFG_DONE,
 *			IMSG_CTL_START, IMSG_CFG_ABORT
 *	proxy[N]	IMSG_DNS_REQ in, IMSG_DNS_RES out
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <ev.h>

#include "aibproxyd.h"
#include "config.h"
#include "imsgev.h"
#include "log.h"
#include "proc.h"
#include "proto.h"
#include "sandbox.h"

#define RESOLVER_THREADS	4
#define RESOLVER_QUEUE_MAX	4096	/* pending lookups, all workers */

struct lookup {
	TAILQ_ENTRY(lookup)	 entry;
	int			 worker;
	uint32_t		 chan;		/* the worker's channel's */
	uint32_t		 id;
	struct dns_req		 req;
	struct dns_res		 res;
};
TAILQ_HEAD(lookups, lookup);

struct resolver {
	struct ev_loop		*loop;
	struct imsgev		 parent;
	struct imsgev		*workers[AIB_WORKERS_MAX];
	/* Counts a worker's channels: a replacement's ids start afresh. */
	uint32_t		 chans[AIB_WORKERS_MAX];
	ev_async		 done_ev;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct lookups		 todo;
	struct lookups		 done;
	int			 queued;
};

static struct resolver	 rs;

static void
resolver_fill(struct dns_res *res, const struct addrinfo *ai0)
{
	const struct addrinfo	*ai;
	struct dns_addr		*da;

	for (ai = ai0; ai != NULL && res->dn_naddrs < AIB_DNS_ADDRS_MAX;
	    ai = ai->ai_next) {
		da = &res->dn_addrs[res->dn_naddrs];
		if (ai->ai_family == AF_INET) {
			da->da_af = AF_INET;
			memcpy(da->da_addr, &((struct sockaddr_in *)
			    ai->ai_addr)->sin_addr, 4);
		} else if (ai->ai_family == AF_INET6) {
			da->da_af = AF_INET6;
			memcpy(da->da_addr, &((struct sockaddr_in6 *)
			    ai->ai_addr)->sin6_addr, 16);
		} else
			continue;
		res->dn_naddrs++;
	}
}

static void
resolver_lookup(struct lookup *l)
{
	struct addrinfo	 hints, *ai = NULL;
	int		 error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	memset(&l->res, 0, sizeof(l->res));
	error = getaddrinfo(l->req.dr_host, NULL, &hints, &ai);
	/* errno is this thread's: read it before anything can change it. */
	if (error == EAI_SYSTEM)
		l->res.dn_errno = errno;
	if (error == 0) {
		resolver_fill(&l->res, ai);
		freeaddrinfo(ai);
		if (l->res.dn_naddrs == 0)
			error = EAI_NODATA;
	}
	l->res.dn_error = error;
}

static void *
resolver_thread(void *arg)
{
	struct lookup	*l;

	for (;;) {
		pthread_mutex_lock(&rs.mtx);
		while ((l = TAILQ_FIRST(&rs.todo)) == NULL)
			pthread_cond_wait(&rs.cond, &rs.mtx);
		TAILQ_REMOVE(&rs.todo, l, entry);
		pthread_mutex_unlock(&rs.mtx);

		resolver_lookup(l);

		pthread_mutex_lock(&rs.mtx);
		TAILQ_INSERT_TAIL(&rs.done, l, entry);
		pthread_mutex_unlock(&rs.mtx);
		ev_async_send(rs.loop, &rs.done_ev);
	}
	return (NULL);
}

static void
resolver_answer(struct ev_loop *loop, ev_async *w, int revents)
{
	struct lookups	 done;
	struct lookup	*l;

	TAILQ_INIT(&done);
	pthread_mutex_lock(&rs.mtx);
	TAILQ_CONCAT(&done, &rs.done, entry);
	pthread_mutex_unlock(&rs.mtx);
	while ((l = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, l, entry);
		rs.queued--;
		if (rs.workers[l->worker] != NULL &&
		    rs.chans[l->worker] == l->chan)
			imsgev_compose(rs.workers[l->worker], IMSG_DNS_RES,
			    l->id, -1, &l->res, sizeof(l->res));
		free(l);
	}
}

static void
resolver_enqueue(int worker, uint32_t id, const struct dns_req *req)
{
	struct lookup	*l;
	struct dns_res	 res;

	if (rs.queued >= RESOLVER_QUEUE_MAX ||
	    (l = calloc(1, sizeof(*l))) == NULL) {
		log_warnx("%s: too many lookups, refusing %s", __func__,
		    req->dr_host);
		memset(&res, 0, sizeof(res));
		res.dn_error = EAI_AGAIN;
		imsgev_compose(rs.workers[worker], IMSG_DNS_RES, id, -1, &res,
		    sizeof(res));
		return;
	}
	l->worker = worker;
	l->chan = rs.chans[worker];
	l->id = id;
	l->req = *req;
	rs.queued++;
	pthread_mutex_lock(&rs.mtx);
	TAILQ_INSERT_TAIL(&rs.todo, l, entry);
	pthread_cond_signal(&rs.cond);
	pthread_mutex_unlock(&rs.mtx);
}

static int
resolver_dispatch_proxy(struct imsgev *iev, struct imsg *imsg)
{
	struct dns_req	 req;
	int		 worker = (int)(intptr_t)iev->arg;

	switch (imsg->hdr.type) {
	case IMSG_DNS_REQ:
		if (imsg_get_data(imsg, &req, sizeof(req)) == -1)
			return (-1);
		if (strnlen(req.dr_host, sizeof(req.dr_host)) ==
		    sizeof(req.dr_host))
			return (-1);
		log_debug("%s: proxy %d asks for %s", __func__, worker,
		    req.dr_host);
		resolver_enqueue(worker, imsg->hdr.peerid, &req);
		return (0);
	default:
		return (-1);
	}
}

static void
resolver_proxy_closed(struct imsgev *iev, const char *why)
{
	int	 worker = (int)(intptr_t)iev->arg;

	/* The parent sees the worker die and sends its replacement's. */
	log_debug("proxy %d channel: %s", worker, why);
	rs.workers[worker] = NULL;
	free(iev);
}

/* A replacement's channel may come before the old one's end is read. */
static void
resolver_proxy_drop(int worker)
{
	if (rs.workers[worker] == NULL)
		return;
	imsgev_clear(rs.workers[worker]);
	free(rs.workers[worker]);
	rs.workers[worker] = NULL;
}

static int
resolver_procfd(struct imsg *imsg)
{
	struct ctl_procfd	 pf;
	struct imsgev		*iev;
	int			 fd;

	if (imsg_get_data(imsg, &pf, sizeof(pf)) == -1 ||
	    (fd = imsg_get_fd(imsg)) == -1)
		return (-1);
	if (pf.pf_proc != PROC_PROXY || pf.pf_instance < 0 ||
	    pf.pf_instance >= AIB_WORKERS_MAX) {
		close(fd);
		return (-1);
	}
	resolver_proxy_drop(pf.pf_instance);
	rs.chans[pf.pf_instance]++;
	if ((iev = calloc(1, sizeof(*iev))) == NULL)
		fatal("%s", __func__);
	imsgev_init(iev, rs.loop, fd, 0, "proxy", resolver_dispatch_proxy,
	    resolver_proxy_closed, (void *)(intptr_t)pf.pf_instance);
	rs.workers[pf.pf_instance] = iev;
	return (0);
}

static int
resolver_dispatch_parent(struct imsgev *iev, struct imsg *imsg)
{
	struct global_config	 gc;
	struct cfg_ack		 ack;

	switch (imsg->hdr.type) {
	case IMSG_CTL_PROCFD:
		return (resolver_procfd(imsg));
	case IMSG_CFG_GLOBAL:
		if (imsg_get_data(imsg, &gc, sizeof(gc)) == -1)
			return (-1);
		log_setlevel(gc.gc_loglevel);
		log_setformat(gc.gc_logformat);
		return (0);
	case IMSG_CFG_DONE:
		/* Nothing of the resolver's can be refused. */
		memset(&ack, 0, sizeof(ack));
		ack.ca_ok = 1;
		imsgev_compose(iev, IMSG_CFG_DONE, imsg->hdr.peerid, -1, &ack,
		    sizeof(ack));
		return (0);
	case IMSG_CTL_START:
	case IMSG_CFG_ABORT:
		return (0);
	default:
		return (-1);
	}
}

static void
resolver_parent_closed(struct imsgev *iev, const char *why)
{
	log_debug("parent channel: %s, exiting", why);
	exit(0);
}

__dead void
resolver_main(const struct child_opts *co)
{
	pthread_t	 t;
	int		 i, rc;

	log_init(co->debug, LOG_DAEMON);
	log_procinit("resolver");
	log_setlevel(LOG_LEVEL_INFO + co->verbose);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	proc_privdrop(co->user, NULL);

	if ((rs.loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot initialise libev");
	TAILQ_INIT(&rs.todo);
	TAILQ_INIT(&rs.done);
	pthread_mutex_init(&rs.mtx, NULL);
	pthread_cond_init(&rs.cond, NULL);
	ev_async_init(&rs.done_ev, resolver_answer);
	ev_async_start(rs.loop, &rs.done_ev);
	/* pthread_create(3) returns its error rather than set errno. */
	for (i = 0; i < RESOLVER_THREADS; i++)
		if ((rc = pthread_create(&t, NULL, resolver_thread, NULL)) != 0)
			fatalx("%s: pthread_create: %s", __func__,
			    strerror(rc));
	/* After the threads: on Linux they count against RLIMIT_NPROC. */
	if (compat_noproc() == -1)
		fatal("%s: setrlimit", __func__);
	imsgev_init(&rs.parent, rs.loop, AIB_PARENT_FD, 1, "parent",
	    resolver_dispatch_parent, resolver_parent_closed, NULL);
	/* Every thread is running: the filter covers them all. */
	sandbox_resolver(AIB_REPORT_FD);
	ev_run(rs.loop, 0);
	exit(0);
}
