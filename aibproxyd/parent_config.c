/*
 * Sending a configuration to the children: each gets only its share.
 * The CA key descriptor goes to signerd and nowhere else; the proxies
 * get listening sockets and trust bundles as descriptors, so nothing in
 * a chroot ever opens a file.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tls.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "parent.h"
#include "pconf.h"
#include "pem.h"

int
parent_loglevel(const struct parent *p, const struct aib_config *conf)
{
	int	 level = conf->loglevel + p->verbose;

	return (level > LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG : level);
}

/*
 * The descriptors (RLIMIT_NOFILE, getrlimit(2)) a worker may hold at
 * once.  Per connection at worst: the client, the server or bridge
 * connection (dial.c tries one address at a time), and a splice pipe,
 * two descriptors, each way while a tunnel moves bytes both ways
 * (tunnel.c); an intercepted request being dumped holds two files
 * instead of pipes (exchange.c).
 */
#define FD_PER_CONN	6
/*
 * Whatever the connections: the empty pipes pipes.c keeps for later
 * (PIPE_POOL_MAX, two descriptors each) and the idle connections to the
 * bridge that bridge.c keeps for reuse (BRIDGE_IDLE_MAX).
 */
#define FD_POOLS	(64 * 2 + 64)
/*
 * Then the standard three, the channels to the parent, signerd and the
 * resolver (and a replacement resolver's), the event loop's own, the
 * system log, log.dump_dir, and room for the listeners of a reload.
 */
#define FD_BASE		(3 + 4 + 3 + 1 + 1 + 32)

/* A worker's part of limits.connections; the parts sum to the total. */
uint32_t
parent_share(uint32_t total, int workers, int instance)
{
	return (total / workers + ((uint32_t)instance < total % workers));
}

static unsigned long long
parent_fd_fixed(const struct aib_config *conf)
{
	struct listen_conf	*l;
	unsigned long long	 n = FD_BASE + FD_POOLS;

	TAILQ_FOREACH(l, &conf->listens, entry)
		n++;
	return (conf->metrics ? n + 1 : n);
}

/*
 * Does conf fit, over so many workers with limit descriptors each?
 * 0 if it does; 1 if limits.connections, not set in the file, was
 * lowered from its default to what fits; -1 with why filled if not.
 */
int
parent_fit(struct aib_config *conf, int workers, unsigned long long limit,
    char *why, size_t len)
{
	unsigned long long	 fixed, share, room;

	if (conf->max_connections < (uint32_t)workers) {
		snprintf(why, len, "limits.connections %u is less than "
		    "workers (%d): each worker needs one at least",
		    conf->max_connections, workers);
		return (-1);
	}
	fixed = parent_fd_fixed(conf);
	share = parent_share(conf->max_connections, workers, 0);
	if (share * FD_PER_CONN + fixed <= limit)
		return (0);
	room = limit > fixed ? (limit - fixed) / FD_PER_CONN : 0;
	if (!conf->max_connections_set && room > 0) {
		conf->max_connections = room * workers;
		return (1);
	}
	snprintf(why, len, "limits.connections %u does not fit: each of %d "
	    "workers needs %llu descriptors (%llu connections x %d + %llu), "
	    "the limit (ulimit -n) is %llu; %llu connections fit",
	    conf->max_connections, workers, share * FD_PER_CONN + fixed,
	    share, FD_PER_CONN, fixed, limit, room * workers);
	return (-1);
}

/* On reload: the workers stay as many, the limit as raised at start. */
int
parent_budget(struct parent *p, struct aib_config *conf)
{
	char	 why[512];

	switch (parent_fit(conf, p->nproxies, p->nofile, why, sizeof(why))) {
	case -1:
		log_warnx("%s: %s", conf->path, why);
		return (-1);
	case 1:
		parent_log_lowered(conf);
		break;
	}
	return (0);
}

void
parent_log_lowered(const struct aib_config *conf)
{
	log_warnx("limits.connections not set: %u, as many as the open "
	    "files limit allows", conf->max_connections);
}

/*
 * log.dump_dir holds prompts and answers: 0700, owned by the workers'
 * user (they write it), created if missing.
 */
static int
parent_dumpdir(const struct aib_config *conf)
{
	struct passwd	*pw;
	int		 fd;

	errno = 0;
	if ((pw = getpwnam(conf->user)) == NULL) {
		log_warnx("log.dump_dir %s: unknown user %s%s%s", conf->dump_dir,
		    conf->user, errno ? ": " : "", errno ? strerror(errno) : "");
		return (-1);
	}
	/* Under systemd: the unit's comments say what this needs. */
	if (mkdir(conf->dump_dir, 0700) == -1 && errno != EEXIST) {
		log_warn("log.dump_dir %s: mkdir", conf->dump_dir);
		return (-1);
	}
	if ((fd = open(conf->dump_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		log_warn("log.dump_dir %s: open", conf->dump_dir);
		return (-1);
	}
	if (fchown(fd, pw->pw_uid, pw->pw_gid) == -1) {
		log_warn("log.dump_dir %s: chown to %s", conf->dump_dir,
		    conf->user);
		close(fd);
		return (-1);
	}
	if (fchmod(fd, 0700) == -1) {
		log_warn("log.dump_dir %s: chmod 0700", conf->dump_dir);
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Open a file for a child, which then owns the descriptor. */
static int
parent_openfile(const char *path)
{
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		log_warn("%s", path);
	return (fd);
}

static int
parent_send_file(struct child *c, uint32_t type, uint32_t peerid,
    const char *path)
{
	int	 fd;

	if ((fd = parent_openfile(path)) == -1)
		return (-1);
	imsgev_compose(&c->iev, type, peerid, fd, NULL, 0);
	return (0);
}

static void
parent_send_global(struct parent *p, struct child *c,
    const struct aib_config *conf)
{
	struct global_config	 gc;

	config_global(conf, &gc);
	gc.gc_loglevel = parent_loglevel(p, conf);
	/* limits.connections is the total: each worker enforces its part. */
	gc.gc_max_connections = parent_share(conf->max_connections,
	    p->nproxies, c->instance);
	imsgev_compose(&c->iev, IMSG_CFG_GLOBAL, 0, -1, &gc, sizeof(gc));
}

static void
parent_send_providers(struct child *c, const struct aib_config *conf)
{
	struct provider_conf	*pr;

	TAILQ_FOREACH(pr, &conf->providers, entry)
		imsgev_compose(&c->iev, IMSG_CFG_PROVIDER, 0, -1, &pr->pc,
		    sizeof(pr->pc));
}

/*
 * The token's PIN, read here as root and sent to signerd alone; every
 * copy is wiped once sent.  One line; a final newline is not part of it.
 */
static int
parent_send_pkcs11(struct child *c, const struct aib_config *conf)
{
	struct pkcs11_config	 pk;
	uint8_t			*raw;
	size_t			 rawlen, len;
	int			 fd, rv = -1;

	if ((fd = parent_openfile(conf->ca_pkcs11_pin.path)) == -1)
		return (-1);
	if (file_read_fd(fd, sizeof(pk.p11_pin) - 1, &raw, &rawlen) == -1) {
		log_warn("ca.pkcs11.pin_file %s", conf->ca_pkcs11_pin.path);
		return (-1);
	}
	len = rawlen;
	if (len > 0 && raw[len - 1] == '\n')
		len--;
	if (len > 0 && raw[len - 1] == '\r')
		len--;
	if (len == 0 || memchr(raw, '\0', len) != NULL ||
	    memchr(raw, '\n', len) != NULL) {
		/* Never the content: only that it is not one PIN. */
		log_warnx("ca.pkcs11.pin_file %s: not one line holding the "
		    "PIN", conf->ca_pkcs11_pin.path);
		goto done;
	}
	memset(&pk, 0, sizeof(pk));
	memcpy(pk.p11_pin, raw, len);
	(void)strlcpy(pk.p11_module, conf->ca_pkcs11_module.path,
	    sizeof(pk.p11_module));
	(void)strlcpy(pk.p11_uri, conf->ca_key_uri, sizeof(pk.p11_uri));
	imsgev_compose(&c->iev, IMSG_CFG_PKCS11, 0, -1, &pk, sizeof(pk));
	explicit_bzero(&pk, sizeof(pk));
	rv = 0;
 done:
	freezero(raw, rawlen + 1);
	return (rv);
}

static int
parent_send_signer(struct parent *p, const struct aib_config *conf)
{
	struct child	*c = &p->signer;

	/* First, so that signerd can log in before it drops root. */
	if (conf->ca_key_uri[0] != '\0' && parent_send_pkcs11(c, conf) == -1)
		return (-1);
	parent_send_global(p, c, conf);
	parent_send_providers(c, conf);
	if (parent_send_file(c, IMSG_CFG_CA_CERT, 0, conf->ca_cert.path) ==
	    -1)
		return (-1);
	if (conf->ca_key_uri[0] == '\0' && parent_send_file(c,
	    IMSG_CFG_CA_KEY, 0, conf->ca_key.path) == -1)
		return (-1);
	imsgev_compose(&c->iev, IMSG_CFG_DONE, p->gen, -1, NULL, 0);
	return (0);
}

/* One listener; l is NULL for the metrics one. */
static int
parent_send_listen(struct parent *p, struct child *c, int index,
    const char *address, const struct listen_conf *l)
{
	struct listen_config	 lc;
	int			 fd;

	memset(&lc, 0, sizeof(lc));
	lc.lc_index = index;
	lc.lc_metrics = l == NULL;
	if (l != NULL) {
		lc.lc_tls = l->tls;
		lc.lc_proxy_protocol = l->proxy_protocol;
		lc.lc_nproxy_from = l->nproxy_from;
		memcpy(lc.lc_proxy_from, l->proxy_from,
		    sizeof(lc.lc_proxy_from));
	}
	strlcpy(lc.lc_name, address, sizeof(lc.lc_name));
	if ((fd = parent_sock_dup(p, address, c->instance)) == -1)
		return (-1);
	imsgev_compose(&c->iev, IMSG_CFG_LISTEN, index, fd, &lc, sizeof(lc));
	return (0);
}

static int
parent_send_listeners(struct parent *p, struct child *c,
    const struct aib_config *conf)
{
	struct listen_conf	*l;
	int			 i = 0;

	TAILQ_FOREACH(l, &conf->listens, entry) {
		if (parent_send_listen(p, c, i, l->address, l) == -1)
			return (-1);
		if (l->tls && (parent_send_file(c, IMSG_CFG_LISTEN_CERT, i,
		    l->cert.path) == -1 || parent_send_file(c,
		    IMSG_CFG_LISTEN_KEY, i, l->key.path) == -1))
			return (-1);
		i++;
	}
	/* One worker serves the metrics it gathers from the others. */
	if (conf->metrics && c->instance == 0 &&
	    parent_send_listen(p, c, i, conf->metrics_address, NULL) == -1)
		return (-1);
	return (0);
}

/*
 * The proxies get the CA's certificates as data, never the file: a
 * ca.cert that also holds the key must not take it to them.
 */
static char *
parent_ca_certs(const struct aib_config *conf, size_t *len)
{
	uint8_t	*raw;
	size_t	 rawlen;
	char	*certs;
	long	 n;
	int	 fd;

	if ((fd = parent_openfile(conf->ca_cert.path)) == -1)
		return (NULL);
	if (file_read_fd(fd, 1024 * 1024, &raw, &rawlen) == -1) {
		log_warn("ca.cert %s", conf->ca_cert.path);
		return (NULL);
	}
	if ((certs = malloc(rawlen + 2)) == NULL)
		fatal("%s", __func__);
	n = pem_certificates((char *)raw, rawlen, certs, rawlen + 2);
	freezero(raw, rawlen + 1);
	if (n == -1) {
		log_warnx("ca.cert %s: no certificate in the file",
		    conf->ca_cert.path);
		free(certs);
		return (NULL);
	}
	*len = n;
	return (certs);
}

static int
parent_send_proxy(struct parent *p, struct child *c,
    const struct aib_config *conf, const char *certs, size_t certslen)
{
	struct cidr_conf	*cc;
	struct egress_conf	*ec;
	const char		*bundle;

	parent_send_global(p, c, conf);
	if (parent_send_listeners(p, c, conf) == -1)
		return (-1);
	parent_send_providers(c, conf);
	TAILQ_FOREACH(cc, &conf->cidrs, entry)
		imsgev_compose(&c->iev, IMSG_CFG_CIDR, 0, -1, &cc->cc,
		    sizeof(cc->cc));
	TAILQ_FOREACH(ec, &conf->egress, entry)
		imsgev_compose(&c->iev, IMSG_CFG_EGRESS, 0, -1, &ec->eg,
		    sizeof(ec->eg));
	imsgev_compose(&c->iev, IMSG_CFG_BRIDGE, 0, -1, &conf->bridge,
	    sizeof(conf->bridge));
	imsgev_compose(&c->iev, IMSG_CFG_AUTH, 0, -1, &conf->auth,
	    sizeof(conf->auth));
	bundle = conf->bridge_ca.path[0] != '\0' ? conf->bridge_ca.path :
	    tls_default_ca_cert_file();
	if (parent_send_file(c, IMSG_CFG_BRIDGE_CA, 0, bundle) == -1)
		return (-1);
	imsgev_compose(&c->iev, IMSG_CFG_UPSTREAM, 0, -1, &conf->upstream,
	    sizeof(conf->upstream));
	/* The upstream's own trust store: its CA, else the system's. */
	if (conf->upstream.uc_enabled && parent_send_file(c,
	    IMSG_CFG_UPSTREAM_CA, 0, conf->upstream_ca.path[0] != '\0' ?
	    conf->upstream_ca.path : tls_default_ca_cert_file()) == -1)
		return (-1);
	imsgev_compose(&c->iev, IMSG_CFG_CA_CERT, 0, -1, certs, certslen);
	if (conf->dump_dir[0] != '\0') {
		int	 fd;

		if ((fd = parent_dumpdir(conf)) == -1)
			return (-1);
		imsgev_compose(&c->iev, IMSG_CFG_DUMPDIR, 0, fd, NULL, 0);
	}
	imsgev_compose(&c->iev, IMSG_CFG_DONE, p->gen, -1, NULL, 0);
	return (0);
}

static void
parent_send_resolver(struct parent *p, const struct aib_config *conf)
{
	parent_send_global(p, &p->resolver, conf);
	imsgev_compose(&p->resolver.iev, IMSG_CFG_DONE, p->gen, -1, NULL,
	    0);
}

/* What a replacement for a worker or the resolver is offered. */
int
parent_send_child(struct parent *p, struct child *c,
    const struct aib_config *conf)
{
	char	*certs;
	size_t	 certslen;
	int	 rv;

	if (c->proc == PROC_RESOLVER) {
		parent_send_resolver(p, conf);
		return (0);
	}
	if (c->proc != PROC_PROXY ||
	    (certs = parent_ca_certs(conf, &certslen)) == NULL)
		return (-1);
	rv = parent_send_proxy(p, c, conf, certs, certslen);
	free(certs);
	return (rv);
}

int
parent_send_config(struct parent *p, const struct aib_config *conf)
{
	char	*certs;
	size_t	 certslen;
	int	 i, rv = 0;

	if ((certs = parent_ca_certs(conf, &certslen)) == NULL)
		return (-1);
	if (parent_send_signer(p, conf) == -1) {
		free(certs);
		return (-1);
	}
	parent_send_resolver(p, conf);
	for (i = 0; i < p->nproxies && rv == 0; i++)
		rv = parent_send_proxy(p, &p->proxies[i], conf, certs,
		    certslen);
	free(certs);
	return (rv);
}
