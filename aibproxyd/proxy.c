/*
 * A proxy worker process.
 *
 * Peers:
 *	parent		IMSG_CTL_PROCFD, IMSG_CFG_* (staged), IMSG_CFG_DONE,
 *			IMSG_CTL_START (commit), IMSG_CFG_ABORT;
 *			IMSG_AUTH_FAILED out, IMSG_AUTH_THROTTLED in
 *	signer		IMSG_CERT_REQ out, IMSG_CERT_RES in
 *	resolver	IMSG_DNS_REQ out, IMSG_DNS_RES in
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "aibproxyd.h"
#include "bridge.h"
#include "certs.h"
#include "dns.h"
#include "endpoint.h"
#include "heapdecay.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "pipes.h"
#include "proc.h"
#include "sandbox.h"
#include "session.h"
#include "stop.h"
#include "upstream.h"
#include "validate.h"
#include "worker.h"

/*
 * Freed heap a worker keeps for the next request rather than give
 * back (compat_malloc_keep()): the TLS record buffers of a few hundred
 * requests at once, a fixed amount whatever the number of connections.
 */
#define PROXY_HEAP_KEEP		(4 * 1024 * 1024)

/* This process's worker; session code is handed it, never reads it. */
static struct proxy	 proxy_env;

static int	proxy_dispatch_signer(struct imsgev *, struct imsg *);
static int	proxy_dispatch_resolver(struct imsgev *, struct imsg *);

/* Without signerd a worker cannot do its job safely. */
static void
proxy_peer_closed(struct imsgev *iev, const char *why)
{
	fatalx("%s channel: %s", iev->name, why);
}

/*
 * The parent replaces a resolver that died and sends its channel here;
 * the lookups the old one had not answered time out (timeouts.connect).
 */
static void
proxy_resolver_closed(struct imsgev *iev, const char *why)
{
	log_warnx("resolver channel: %s; waiting for a new resolver", why);
}

/* In place: the DNS client keeps a pointer to proxy_env.resolver. */
static void
proxy_resolver_set(int fd)
{
	struct imsgev	*iev = &proxy_env.resolver;

	/* Not set up yet at start (loop NULL), or the old resolver's. */
	if (iev->loop != NULL && !iev->dead)
		imsgev_clear(iev);
	imsgev_init(iev, proxy_env.loop, fd, 0, "resolver",
	    proxy_dispatch_resolver, proxy_resolver_closed, NULL);
}


static struct proxy_conf *
proxy_staged(void)
{
	struct proxy_conf	*pc;

	if (proxy_env.staged != NULL)
		return (proxy_env.staged);
	pc = proxy_conf_new();
	proxy_env.staged = pc;
	return (pc);
}


static void
proxy_cfg_done(struct imsgev *iev, uint32_t gen)
{
	struct cfg_ack	 ack;

	memset(&ack, 0, sizeof(ack));
	ack.ca_ok = proxy_conf_check(proxy_staged(), ack.ca_reason,
	    sizeof(ack.ca_reason)) == 0;
	imsgev_compose(iev, IMSG_CFG_DONE, gen, -1, &ack, sizeof(ack));
}

/* Every configured provider has its series, even at zero. */
static void
proxy_stats_providers(const struct proxy_conf *pc)
{
	int	 i;

	for (i = 0; i < pc->nproviders; i++)
		(void)stats_provider(&proxy_env.stats, pc->providers[i].pc_name);
}

static void
proxy_cfg_start(void)
{
	struct proxy_conf	*old = proxy_env.conf;
	char			 why[256];

	if (proxy_env.staged == NULL)
		return;
	if (bridge_configure(proxy_env.bridges, proxy_env.staged, why,
	    sizeof(why)) == -1 ||
	    upstream_configure(proxy_env.staged, why, sizeof(why)) == -1)
		fatalx("%s: %s", __func__, why);
	if (old != NULL)
		listener_retire(&proxy_env, old);
	proxy_env.conf = proxy_env.staged;
	proxy_env.staged = NULL;
	validator_configure(proxy_env.validator, proxy_env.conf);
	log_setlevel(proxy_env.conf->gc.gc_loglevel);
	log_setformat(proxy_env.conf->gc.gc_logformat);
	proxy_stats_providers(proxy_env.conf);
	/* A new CA or provider list: new leaves for everyone. */
	certs_reset(&proxy_env);
	listener_enable(&proxy_env, proxy_env.conf, 1);
	if (old != NULL)
		proxy_conf_unref(old);
	log_debug("%s: configuration active, %d listeners", __func__,
	    proxy_env.conf->nlisteners);
}

static int
proxy_procfd(struct imsg *imsg)
{
	struct ctl_procfd	 pf;
	int			 fd;

	if (imsg_get_data(imsg, &pf, sizeof(pf)) == -1 ||
	    (fd = imsg_get_fd(imsg)) == -1)
		return (-1);
	switch (pf.pf_proc) {
	case PROC_SIGNER:
		imsgev_init(&proxy_env.signer, proxy_env.loop, fd, 0,
		    "signer", proxy_dispatch_signer, proxy_peer_closed, NULL);
		return (0);
	case PROC_RESOLVER:
		proxy_resolver_set(fd);
		return (0);
	default:
		close(fd);
		return (-1);
	}
}


static int
proxy_dispatch_parent(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_CTL_SHUTDOWN:
		worker_stop(&proxy_env);
		return (0);
	case IMSG_STATS_REQ:
		/* Gauges are read now; counters have run all along. */
		metrics_gauges(&proxy_env);
		imsgev_compose(iev, IMSG_STATS, imsg->hdr.peerid, -1,
		    &proxy_env.stats, sizeof(proxy_env.stats));
		return (0);
	case IMSG_STATS_RES:
		return (metrics_dispatch(&proxy_env, imsg));
	case IMSG_AUTH_THROTTLED:
		return (validator_dispatch(proxy_env.validator, imsg));
	case IMSG_CTL_PROCFD:
		return (proxy_procfd(imsg));
	case IMSG_CFG_DONE:
		proxy_cfg_done(iev, imsg->hdr.peerid);
		return (0);
	case IMSG_CTL_START:
		proxy_cfg_start();
		return (0);
	case IMSG_CFG_ABORT:
		if (proxy_env.staged != NULL)
			proxy_conf_unref(proxy_env.staged);
		proxy_env.staged = NULL;
		return (0);
	default:
		return (proxy_conf_dispatch(proxy_staged(), imsg));
	}
}

static int
proxy_dispatch_signer(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_CERT_RES:
		return (certs_dispatch(imsg));
	default:
		return (-1);
	}
}

static int
proxy_dispatch_resolver(struct imsgev *iev, struct imsg *imsg)
{
	struct dns_res	 res;

	switch (imsg->hdr.type) {
	case IMSG_DNS_RES:
		if (imsg_get_data(imsg, &res, sizeof(res)) == -1)
			return (-1);
		return (dns_dispatch(proxy_env.dns, imsg->hdr.peerid, &res));
	default:
		return (-1);
	}
}

/* The DNS client's clock: the loop's, read once per iteration. */
static double
proxy_now(void *arg)
{
	return (ev_now(proxy_env.loop));
}

static void
proxy_parent_closed(struct imsgev *iev, const char *why)
{
	log_debug("parent channel: %s, exiting", why);
	exit(0);
}

__dead void
proxy_main(const struct child_opts *co)
{
	char	 name[32];
	int	 keep;

	snprintf(name, sizeof(name), "proxy %d", co->instance);
	log_init(co->debug, LOG_DAEMON);
	log_procinit(name);
	log_setlevel(LOG_LEVEL_INFO + co->verbose);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* Reads the OpenSSL configuration: must happen before chroot. */
	if (tls_init() == -1)
		fatalx("tls_init");
	/* Idle connections hold no TLS record buffers (endpoint.h). */
	if (endpoint_tls_lean() == -1)
		fatalx("%s: cannot hook the TLS library", __func__);
	/*
	 * Buffers freed after each request are taken again by the next.
	 * Only a hint: another allocator (the sanitizers' own, in the
	 * SANITIZE=1 build) refuses it, and then nothing else changes.
	 */
	if ((keep = compat_malloc_keep(PROXY_HEAP_KEEP)) == -1)
		log_debug("%s: the allocator keeps no freed heap "
		    "(mallopt refused)", __func__);
	/* What heapdecay.c reports it gave back; /proc is gone after. */
	if (keep == 0 && compat_self_rss_open() == -1)
		log_debug("%s: /proc/self/statm: %s", __func__,
		    strerror(errno));
	certs_reset(&proxy_env);
	proc_privdrop(co->user, co->root);
	/* Workers share a user: keep one from reading another's memory. */
	if (compat_noproc() == -1 || compat_nodump() == -1)
		fatal("%s: setrlimit", __func__);

	proxy_env.instance = co->instance;
	if ((proxy_env.loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot initialise libev");
	TAILQ_INIT(&proxy_env.sessions);
	proxy_env.bridges = bridge_pool_new(&proxy_env);
	proxy_env.pipes = pipe_pool_new();
	proxy_env.dns = dns_client_new(&proxy_env.resolver, proxy_now, NULL);
	proxy_env.validator = validator_new(&proxy_env);
	/*
	 * Only with the allocator that took the hint: glibc's.  The top
	 * kept above is for requests back to back; once the worker is
	 * quiet it goes too, and the next burst takes it again once.
	 */
	if (keep == 0)
		heapdecay_init(&proxy_env, 0);
	imsgev_init(&proxy_env.parent, proxy_env.loop, AIB_PARENT_FD, 1,
	    "parent", proxy_dispatch_parent, proxy_parent_closed, NULL);
	/* From here on hostile bytes arrive: only the calls listed. */
	sandbox_worker(AIB_REPORT_FD);
	ev_run(proxy_env.loop, 0);
	exit(0);
}
