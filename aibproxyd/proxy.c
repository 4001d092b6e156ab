/*
 * A proxy worker process.
 *
 * Peers:
 *	parent		IMSG_CTL_PROCFD, IMSG_CFG_* (staged), IMSG_CFG_DONE,
 *			IMSG_CTL_START (commit), IMSG_CFG_ABORT
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
#include "conn.h"
#include "dns.h"
#include "file.h"
#include "log.h"
#include "metrics.h"
#include "mitm.h"
#include "pem.h"
#include "proc.h"
#include "proxy.h"
#include "upstream.h"

struct proxy	 proxy_env;
struct proxy_stats pstats;

static int	proxy_dispatch_signer(struct imsgev *, struct imsg *);
static int	proxy_dispatch_resolver(struct imsgev *, struct imsg *);

/* Without signerd or the resolver a worker cannot do its job safely. */
static void
proxy_peer_closed(struct imsgev *iev, const char *why)
{
	fatalx("%s channel: %s", iev->name, why);
}

static void
proxy_listener_free(struct plistener *l)
{
	if (l->fd != -1)
		close(l->fd);
	freezero(l->cert, l->certlen + 1);
	freezero(l->key, l->keylen + 1);
	tls_free(l->tls);
}

static void
proxy_conf_free(struct proxy_conf *pc)
{
	int	 i;

	if (pc == NULL)
		return;
	for (i = 0; i < pc->nlisteners; i++)
		proxy_listener_free(&pc->listeners[i]);
	free(pc->providers);
	free(pc->cidrs);
	free(pc->bridge_ca);
	free(pc->upstream_ca);
	free(pc->ca_cert);
	if (pc->dumpfd != -1)
		close(pc->dumpfd);
	explicit_bzero(&pc->upstream, sizeof(pc->upstream));
	free(pc);
}

const struct provider_config *
proxy_provider(const struct proxy_conf *pc, const char *host)
{
	int	 i;

	for (i = 0; i < pc->nproviders; i++)
		if (strcmp(pc->providers[i].pc_host, host) == 0)
			return (&pc->providers[i]);
	return (NULL);
}

void
proxy_conf_ref(struct proxy_conf *pc)
{
	pc->refcnt++;
}

void
proxy_conf_unref(struct proxy_conf *pc)
{
	if (--pc->refcnt == 0)
		proxy_conf_free(pc);
}

static struct proxy_conf *
proxy_staged(void)
{
	struct proxy_conf	*pc;

	if (proxy_env.staged != NULL)
		return (proxy_env.staged);
	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		fatal("%s", __func__);
	pc->refcnt = 1;
	pc->dumpfd = -1;
	proxy_env.staged = pc;
	return (pc);
}

static int
proxy_take_file(struct imsg *imsg, size_t max, uint8_t **buf, size_t *len)
{
	int	 fd;

	if (imsg->datalen != 0 || (fd = imsg_get_fd(imsg)) == -1)
		return (-1);
	free(*buf);
	*buf = NULL;
	if (file_read_fd(fd, max, buf, len) == -1) {
		log_warn("%s: reading a configured file", __func__);
		*len = 0;
		return (0);	/* refused when the config is checked */
	}
	return (0);
}

static int
proxy_cfg_listen(struct proxy_conf *pc, struct imsg *imsg)
{
	struct plistener	*l;

	if (pc->nlisteners >= PROXY_LISTEN_MAX)
		return (-1);
	l = &pc->listeners[pc->nlisteners];
	if (imsg_get_data(imsg, &l->lc, sizeof(l->lc)) == -1 ||
	    (l->fd = imsg_get_fd(imsg)) == -1)
		return (-1);
	l->lc.lc_name[sizeof(l->lc.lc_name) - 1] = '\0';
	if (l->lc.lc_index != pc->nlisteners)
		return (-1);
	l->conf = pc;
	pc->nlisteners++;
	return (0);
}

static int
proxy_cfg_listen_file(struct proxy_conf *pc, struct imsg *imsg, int key)
{
	struct plistener	*l;
	uint32_t		 i = imsg->hdr.peerid;

	if (i >= (uint32_t)pc->nlisteners)
		return (-1);
	l = &pc->listeners[i];
	if (key)
		return (proxy_take_file(imsg, PROXY_PEM_MAX, &l->key,
		    &l->keylen));
	return (proxy_take_file(imsg, PROXY_PEM_MAX, &l->cert, &l->certlen));
}

/* Append one fixed-size item to a growing array. */
static int
proxy_append(struct imsg *imsg, void **arr, int *n, size_t size, int max)
{
	void	*na;

	if (*n >= max || imsg->datalen != size)
		return (-1);
	if ((na = reallocarray(*arr, *n + 1, size)) == NULL)
		fatal("%s", __func__);
	*arr = na;
	memcpy((char *)na + *n * size, imsg->data, size);
	(*n)++;
	return (0);
}

static int
proxy_has_cert(const uint8_t *pem, size_t len)
{
	const char	*p;
	size_t		 n;

	return (pem != NULL && pem_trust_anchor((const char *)pem, len, &p,
	    &n) == 0);
}

/* Everything a worker can find wrong with a configuration it got. */
static int
proxy_conf_check(struct proxy_conf *pc, char *why, size_t len)
{
	struct plistener	*l;
	struct tls_config	*tc = NULL;
	int			 i;

	if (pc->ca_certlen == 0)
		return (snprintf(why, len, "ca.cert: empty or unreadable"), -1);
	if (!proxy_has_cert(pc->bridge_ca, pc->bridge_calen))
		return (snprintf(why, len, "bridge.ca: no certificate in it"),
		    -1);
	if (pc->upstream_ca != NULL &&
	    !proxy_has_cert(pc->upstream_ca, pc->upstream_calen))
		return (snprintf(why, len, "upstream.ca: no certificate in "
		    "it"), -1);
	for (i = 0; i < pc->nlisteners; i++) {
		l = &pc->listeners[i];
		if (!l->lc.lc_tls)
			continue;
		if ((tc = tls_config_new()) == NULL ||
		    (l->tls = tls_server()) == NULL)
			fatal("%s", __func__);
		if (tls_config_set_keypair_mem(tc, l->cert, l->certlen,
		    l->key, l->keylen) == -1 || tls_configure(l->tls, tc) ==
		    -1) {
			snprintf(why, len, "listen %s: tls: %s", l->lc.lc_name,
			    tls_config_error(tc) ? tls_config_error(tc) :
			    tls_error(l->tls));
			tls_config_free(tc);
			return (-1);
		}
		tls_config_clear_keys(tc);
		tls_config_free(tc);
		freezero(l->key, l->keylen + 1);
		l->key = NULL;
	}
	return (0);
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

static void
proxy_listeners(struct proxy_conf *pc, int on)
{
	struct plistener	*l;
	int			 i;

	for (i = 0; i < pc->nlisteners; i++) {
		l = &pc->listeners[i];
		if (!on) {
			ev_io_stop(proxy_env.loop, &l->io);
			continue;
		}
		ev_io_init(&l->io, conn_accept_cb, l->fd, EV_READ);
		l->io.data = l;
		ev_io_start(proxy_env.loop, &l->io);
	}
}

/* Every configured provider has its series, even at zero. */
static void
proxy_stats_providers(const struct proxy_conf *pc)
{
	int	 i;

	for (i = 0; i < pc->nproviders; i++)
		(void)stats_provider(&pstats, pc->providers[i].pc_name);
}

static void
proxy_cfg_start(void)
{
	struct proxy_conf	*old = proxy_env.conf;
	char			 why[256];

	if (proxy_env.staged == NULL)
		return;
	if (bridge_configure(proxy_env.staged, why, sizeof(why)) == -1 ||
	    upstream_configure(proxy_env.staged, why, sizeof(why)) == -1)
		fatalx("%s: %s", __func__, why);
	if (old != NULL)
		proxy_listeners(old, 0);
	proxy_env.conf = proxy_env.staged;
	proxy_env.staged = NULL;
	log_setlevel(proxy_env.conf->gc.gc_loglevel);
	proxy_stats_providers(proxy_env.conf);
	/* A new CA or provider list: new leaves for everyone. */
	certs_reset();
	proxy_listeners(proxy_env.conf, 1);
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
		imsgev_init(&proxy_env.resolver, proxy_env.loop, fd, 0,
		    "resolver", proxy_dispatch_resolver, proxy_peer_closed,
		    NULL);
		return (0);
	default:
		close(fd);
		return (-1);
	}
}

static int
proxy_dispatch_config(struct proxy_conf *pc, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_CFG_GLOBAL:
		return (imsg_get_data(imsg, &pc->gc, sizeof(pc->gc)));
	case IMSG_CFG_LISTEN:
		return (proxy_cfg_listen(pc, imsg));
	case IMSG_CFG_LISTEN_CERT:
		return (proxy_cfg_listen_file(pc, imsg, 0));
	case IMSG_CFG_LISTEN_KEY:
		return (proxy_cfg_listen_file(pc, imsg, 1));
	case IMSG_CFG_PROVIDER:
		return (proxy_append(imsg, (void **)&pc->providers,
		    &pc->nproviders, sizeof(struct provider_config), 1024));
	case IMSG_CFG_CIDR:
		return (proxy_append(imsg, (void **)&pc->cidrs, &pc->ncidrs,
		    sizeof(struct cidr_config), 65536));
	case IMSG_CFG_BRIDGE:
		return (imsg_get_data(imsg, &pc->bridge, sizeof(pc->bridge)));
	case IMSG_CFG_BRIDGE_CA:
		return (proxy_take_file(imsg, PROXY_BUNDLE_MAX,
		    &pc->bridge_ca, &pc->bridge_calen));
	case IMSG_CFG_UPSTREAM:
		return (imsg_get_data(imsg, &pc->upstream,
		    sizeof(pc->upstream)));
	case IMSG_CFG_UPSTREAM_CA:
		return (proxy_take_file(imsg, PROXY_BUNDLE_MAX,
		    &pc->upstream_ca, &pc->upstream_calen));
	case IMSG_CFG_DUMPDIR:
		if (imsg->datalen != 0 || pc->dumpfd != -1 ||
		    (pc->dumpfd = imsg_get_fd(imsg)) == -1)
			return (-1);
		return (0);
	case IMSG_CFG_CA_CERT:
		/* Certificates only, as data: see parent_ca_certs(). */
		if (imsg->datalen == 0 || imsg->datalen > PROXY_PEM_MAX)
			return (-1);
		free(pc->ca_cert);
		if ((pc->ca_cert = malloc(imsg->datalen)) == NULL)
			fatal("%s", __func__);
		memcpy(pc->ca_cert, imsg->data, imsg->datalen);
		pc->ca_certlen = imsg->datalen;
		return (0);
	default:
		return (-1);
	}
}

void
proxy_drained(void)
{
	if (proxy_env.draining && nconns == 0) {
		log_debug("drained, exiting");
		ev_break(proxy_env.loop, EVBREAK_ALL);
	}
}

static void
proxy_draintimer(struct ev_loop *loop, ev_timer *w, int revents)
{
	log_warnx("grace period over, closing %u connections", nconns);
	ev_break(loop, EVBREAK_ALL);
}

/* Is the connection between requests, so that closing it loses nothing? */
static int
proxy_conn_idle(const struct conn *c)
{
	if (c->state == CONN_HEAD)
		return (buf_len(&c->cbuf) == 0);
	if (c->state == CONN_MITM)
		return (c->mitm->st == M_REQ_HEAD && buf_len(&c->cbuf) == 0);
	return (0);
}

/*
 * SIGTERM from the parent: accept nothing new, close what is idle, let
 * the rest finish within timeouts.shutdown.
 */
static void
proxy_drain(void)
{
	struct conn	*c, *next;

	if (proxy_env.draining)
		return;
	proxy_env.draining = 1;
	if (proxy_env.conf != NULL) {
		proxy_listeners(proxy_env.conf, 0);
		ev_timer_init(&proxy_env.draintimer, proxy_draintimer,
		    conn_ms(proxy_env.conf->gc.gc_timeout_shutdown), 0.);
		ev_timer_start(proxy_env.loop, &proxy_env.draintimer);
	}
	TAILQ_FOREACH_SAFE(c, &conns, entry, next) {
		if (proxy_conn_idle(c)) {
			conn_free(c, "stopping");
			continue;
		}
		/* After what it is doing now. */
		if (c->mitm != NULL)
			c->mitm->client_close = 1;
	}
	log_info("stopping: %u connections to finish", nconns);
	proxy_drained();
}

static int
proxy_dispatch_parent(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_CTL_SHUTDOWN:
		proxy_drain();
		return (0);
	case IMSG_STATS_REQ:
		/* Gauges are read now; counters have run all along. */
		pstats.st_open_connections = nconns;
		imsgev_compose(iev, IMSG_STATS, imsg->hdr.peerid, -1, &pstats,
		    sizeof(pstats));
		return (0);
	case IMSG_STATS_RES:
		return (metrics_dispatch(imsg));
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
		return (proxy_dispatch_config(proxy_staged(), imsg));
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
		return (dns_dispatch(imsg->hdr.peerid, &res));
	default:
		return (-1);
	}
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

	snprintf(name, sizeof(name), "proxy %d", co->instance);
	log_init(co->debug, LOG_DAEMON);
	log_procinit(name);
	log_setlevel(LOG_LEVEL_INFO + co->verbose);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* Reads the OpenSSL configuration: must happen before chroot. */
	if (tls_init() == -1)
		fatalx("tls_init");
	certs_reset();
	proc_privdrop(co->user, co->root);
	/* Workers share a user: keep one from reading another's memory. */
	if (compat_noproc() == -1 || compat_nodump() == -1)
		fatal("%s: setrlimit", __func__);

	proxy_env.instance = co->instance;
	if ((proxy_env.loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot initialise libev");
	imsgev_init(&proxy_env.parent, proxy_env.loop, AIB_PARENT_FD, 1,
	    "parent", proxy_dispatch_parent, proxy_parent_closed, NULL);
	ev_run(proxy_env.loop, 0);
	exit(0);
}
