/*
 * signerd: the only process that holds the CA private key.  Proxy
 * workers send it a host name and a public key; it signs a leaf for
 * that key if the host is one of the configured providers, and
 * nothing else.  It never opens a file: the parent passes descriptors.
 *
 * Peers:
 *	parent		in:  IMSG_CTL_VERBOSE, IMSG_CTL_PROCFD (+fd),
 *			     IMSG_CFG_GLOBAL, IMSG_CFG_PROVIDER,
 *			     IMSG_CFG_CA_CERT (+fd), IMSG_CFG_CA_KEY (+fd)
 *			     or IMSG_CFG_PKCS11 (struct pkcs11_config),
 *			     IMSG_CFG_DONE, IMSG_CFG_ABORT, IMSG_CTL_START
 *			out: IMSG_CFG_DONE (struct cfg_ack)
 *	proxy[N]	in:  IMSG_CERT_REQ (struct cert_req + SPKI DER)
 *			out: IMSG_CERT_RES (struct cert_res + PEM chain)
 *
 * A new configuration is staged next to the running one and replaces
 * it only on IMSG_CTL_START, so a reload that fails changes nothing.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "blob.h"
#include "ca.h"
#include "compat.h"
#include "configtest.h"
#include "imsg.h"
#include "log.h"
#include "proc.h"
#include "proto.h"
#include "ratelimit.h"
#include "sandbox.h"
#include "token.h"

#define SIGNER_PROVIDERS_MAX	4096
/* Stop reading a worker that does not read its answers. */
#define SIGNER_WQ_MAX		(1024 * 1024)

struct worker {
	TAILQ_ENTRY(worker)	 entry;
	struct imsgchan		 chan;
	int			 instance;
	int			 pollidx;	/* -1: not polled yet */
	struct issue_limit	 limit;		/* signatures it may have */
};
TAILQ_HEAD(workers, worker);

/* A configuration being received, not yet in use. */
struct staged {
	struct global_config	 gc;
	int			 have_global;
	char			(*hosts)[AIB_HOSTNAME_MAX + 1];
	size_t			 nhosts;
	int			 certfd;
	int			 keyfd;
	int			 done;		/* acknowledged */
	int			 pkcs11;	/* the key is in a token */
	EVP_PKEY		*tokenkey;	/* found, or why not: */
	char			 tokenerr[AIB_REASON_MAX];
	struct ca		*ca;		/* built at IMSG_CFG_DONE */
};

static struct {
	struct imsgchan		 parent;
	struct workers		 workers;
	size_t			 nworkers;
	struct staged		*staged;
	struct ca		*ca;		/* active, NULL until started */
	uint32_t		 lifetime;
	int			 pkcs11;	/* -p: a token key at start */
} env;

static __dead void	usage(void);
static void	vis_host(const char *, char *, size_t);
static void	signer_nonblock(int);
static struct staged *staged_get(void);
static void	staged_free(void);
static void	staged_add_host(const struct provider_config *);
static void	staged_setfd(int *, int);
static int	staged_build(struct staged *, char *, size_t);
static void	signer_cfg_done(uint32_t);
static void	signer_start(void);
static void	signer_add_worker(int, int);
static void	signer_drop_worker(struct worker *);
static int	signer_dispatch_parent(struct imsg *);
static void	signer_cert_req(struct worker *, uint32_t, const char *,
		    const uint8_t *, size_t);
static int	signer_dispatch_worker(struct worker *, struct imsg *);
static void	signer_parent_io(short);
static void	signer_worker_io(struct worker *, short);
static void	signer_loop(void);
static void	signer_cfg_pkcs11(struct imsg *);
static void	signer_pkcs11_wait(void);

static __dead void
usage(void)
{
	fprintf(stderr, "usage: signerd [-dJpv] -u user -r chroot\n"
	    "       signerd -n -c certname [-k keyname] [host ...]\n");
	exit(1);
}

/* A worker's host is untrusted: never put its raw bytes in a log. */
static void
vis_host(const char *in, char *out, size_t outlen)
{
	size_t		 o = 0;
	unsigned char	 c;
	int		 n;

	for (; *in != '\0' && o + 1 < outlen; in++) {
		c = (unsigned char)*in;
		if (c > 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
			continue;
		}
		n = snprintf(out + o, outlen - o, "\\x%02x", c);
		if (n < 0 || (size_t)n >= outlen - o)
			break;
		o += (size_t)n;
	}
	out[o] = '\0';
}

static void
signer_nonblock(int fd)
{
	int	 flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("%s: fcntl", __func__);
}

static struct staged *
staged_get(void)
{
	struct staged	*st;

	/* A new configuration after an acknowledged one replaces it. */
	if (env.staged != NULL && env.staged->done) {
		log_debug("%s: dropping an unstarted configuration", __func__);
		staged_free();
	}
	if (env.staged != NULL)
		return (env.staged);
	if ((st = calloc(1, sizeof(*st))) == NULL)
		fatal("%s", __func__);
	st->certfd = st->keyfd = -1;
	env.staged = st;
	return (st);
}

static void
staged_free(void)
{
	struct staged	*st = env.staged;

	if (st == NULL)
		return;
	if (st->certfd != -1)
		close(st->certfd);
	if (st->keyfd != -1)
		close(st->keyfd);
	ca_free(st->ca);
	EVP_PKEY_free(st->tokenkey);
	free(st->hosts);
	free(st);
	env.staged = NULL;
}

static void
staged_add_host(const struct provider_config *pc)
{
	struct staged	*st = staged_get();
	void		*p;

	if (st->nhosts >= SIGNER_PROVIDERS_MAX)
		fatalx("%s: more than %d providers", __func__,
		    SIGNER_PROVIDERS_MAX);
	if ((p = reallocarray(st->hosts, st->nhosts + 1,
	    sizeof(*st->hosts))) == NULL)
		fatal("%s", __func__);
	st->hosts = p;
	memcpy(st->hosts[st->nhosts++], pc->pc_host, sizeof(pc->pc_host));
}

static void
staged_setfd(int *slot, int fd)
{
	if (*slot != -1)
		close(*slot);
	*slot = fd;
}

/* Read both files, load the CA, allow the providers; say why not. */
static int
staged_build(struct staged *st, char *err, size_t errlen)
{
	struct blob	 cert, key;
	size_t		 i;

	if (!st->have_global) {
		(void)snprintf(err, errlen, "no global configuration");
		return (-1);
	}
	if (st->gc.gc_leaf_lifetime == 0) {
		(void)snprintf(err, errlen, "leaf lifetime is zero");
		return (-1);
	}
	if (st->pkcs11 && st->tokenkey == NULL) {
		(void)strlcpy(err, st->tokenerr, errlen);
		return (-1);
	}
	if (st->certfd == -1 || (st->keyfd == -1 && !st->pkcs11)) {
		(void)snprintf(err, errlen, "no CA %s",
		    st->certfd == -1 ? "certificate" : "key");
		return (-1);
	}
	if (blob_read(st->certfd, &cert, "CA certificate", err, errlen) == -1)
		return (-1);
	if (st->pkcs11)
		st->ca = ca_load_pkey(cert.data, cert.len, st->tokenkey,
		    time(NULL), err, errlen);
	else if (blob_read(st->keyfd, &key, "CA key", err, errlen) == -1) {
		blob_free(&cert);
		return (-1);
	} else {
		st->ca = ca_load(cert.data, cert.len, key.data, key.len,
		    time(NULL), err, errlen);
		blob_free(&key);
	}
	blob_free(&cert);
	if (st->ca == NULL)
		return (-1);
	for (i = 0; i < st->nhosts; i++)
		if (ca_allow(st->ca, st->hosts[i], err, errlen) == -1)
			return (-1);
	return (0);
}

static void
signer_cfg_done(uint32_t gen)
{
	struct staged	*st = staged_get();
	struct cfg_ack	 ack;

	memset(&ack, 0, sizeof(ack));
	if (staged_build(st, ack.ca_reason, sizeof(ack.ca_reason)) == 0)
		ack.ca_ok = 1;
	else {
		ca_free(st->ca);
		st->ca = NULL;
		log_warnx("configuration refused: %s", ack.ca_reason);
	}
	staged_setfd(&st->certfd, -1);
	staged_setfd(&st->keyfd, -1);
	st->done = 1;
	if (imsgchan_compose(&env.parent, IMSG_CFG_DONE, gen, -1, &ack,
	    sizeof(ack)) == -1)
		fatal("%s: compose", __func__);
}

/* The staged configuration goes live; the old CA and its cache go. */
static void
signer_start(void)
{
	struct staged	*st = env.staged;
	char		 when[64];

	if (st == NULL || !st->done || st->ca == NULL)
		fatalx("%s: start without an accepted configuration",
		    __func__);
	ca_free(env.ca);
	env.ca = st->ca;
	st->ca = NULL;
	env.lifetime = st->gc.gc_leaf_lifetime;
	log_setlevel(st->gc.gc_loglevel);
	log_setformat(st->gc.gc_logformat);
	staged_free();

	log_info("signing for %zu provider host(s), leaves valid %u "
	    "seconds", ca_nhosts(env.ca), env.lifetime);
	if (ca_notafter(env.ca) - time(NULL) < (time_t)env.lifetime) {
		ca_timestr(ca_notafter(env.ca), when, sizeof(when));
		log_warnx("CA certificate expires on %s: leaves end then",
		    when);
	}
}

static void
signer_add_worker(int fd, int instance)
{
	struct worker	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("%s", __func__);
	signer_nonblock(fd);
	if (imsgchan_init(&w->chan, fd, IMSG_MAXSIZE_DEFAULT, 0) == -1)
		fatal("%s: imsgchan_init", __func__);
	w->instance = instance;
	w->pollidx = -1;
	issue_limit_init(&w->limit, instance, ratelimit_clock());
	TAILQ_INSERT_TAIL(&env.workers, w, entry);
	env.nworkers++;
	log_debug("%s: worker %d connected", __func__, instance);
}

static void
signer_drop_worker(struct worker *w)
{
	TAILQ_REMOVE(&env.workers, w, entry);
	env.nworkers--;
	imsgchan_clear(&w->chan);
	close(w->chan.fd);
	free(w);
}

static int
signer_dispatch_parent(struct imsg *imsg)
{
	struct ctl_procfd	 pf;
	struct global_config	 gc;
	struct provider_config	 pc;
	struct staged		*st;
	int			 verbose, fd;

	switch (imsg->hdr.type) {
	case IMSG_CTL_VERBOSE:
		if (imsg_get_data(imsg, &verbose, sizeof(verbose)) == -1)
			fatalx("%s: bad IMSG_CTL_VERBOSE", __func__);
		log_setlevel(verbose);
		break;
	case IMSG_CTL_PROCFD:
		if (imsg_get_data(imsg, &pf, sizeof(pf)) == -1 ||
		    pf.pf_proc != PROC_PROXY || (fd = imsg_get_fd(imsg)) == -1)
			fatalx("%s: bad IMSG_CTL_PROCFD", __func__);
		signer_add_worker(fd, pf.pf_instance);
		break;
	case IMSG_CFG_GLOBAL:
		if (imsg_get_data(imsg, &gc, sizeof(gc)) == -1)
			fatalx("%s: bad IMSG_CFG_GLOBAL", __func__);
		st = staged_get();
		st->gc = gc;
		st->have_global = 1;
		break;
	case IMSG_CFG_PROVIDER:
		if (imsg_get_data(imsg, &pc, sizeof(pc)) == -1 ||
		    memchr(pc.pc_host, '\0', sizeof(pc.pc_host)) == NULL)
			fatalx("%s: bad IMSG_CFG_PROVIDER", __func__);
		staged_add_host(&pc);
		break;
	case IMSG_CFG_CA_CERT:
	case IMSG_CFG_CA_KEY:
		if (imsg->datalen != 0 || (fd = imsg_get_fd(imsg)) == -1)
			fatalx("%s: bad IMSG_CFG_CA_%s", __func__,
			    imsg->hdr.type == IMSG_CFG_CA_KEY ? "KEY" : "CERT");
		st = staged_get();
		staged_setfd(imsg->hdr.type == IMSG_CFG_CA_KEY ? &st->keyfd :
		    &st->certfd, fd);
		break;
	case IMSG_CFG_PKCS11:
		signer_cfg_pkcs11(imsg);
		break;
	case IMSG_CFG_DONE:
		if (imsg->datalen != 0)
			fatalx("%s: bad IMSG_CFG_DONE", __func__);
		signer_cfg_done(imsg->hdr.peerid);
		break;
	case IMSG_CFG_ABORT:
		staged_free();
		break;
	case IMSG_CTL_START:
		signer_start();
		break;
	default:
		return (-1);
	}
	return (0);
}

static void
signer_cert_req(struct worker *w, uint32_t id, const char *host,
    const uint8_t *spki, size_t spkilen)
{
	struct cert_res	 res;
	struct ca_leaf	 leaf;
	char		 safe[AIB_HOSTNAME_MAX * 4 + 1], when[64];
	int		 rv = -1;

	memset(&res, 0, sizeof(res));
	memset(&leaf, 0, sizeof(leaf));
	if (env.ca == NULL)
		(void)strlcpy(res.cs_reason, "no configuration yet",
		    sizeof(res.cs_reason));
	else if ((rv = issue_limit_request(&w->limit, env.ca, host, spki,
	    spkilen, env.lifetime, time(NULL), ratelimit_clock(), &leaf,
	    res.cs_reason, sizeof(res.cs_reason))) == 0) {
		res.cs_ok = 1;
		res.cs_notafter = leaf.cl_notafter;
	}

	vis_host(host, safe, sizeof(safe));
	if (rv == ISSUE_LIMITED)
		;	/* logged once per interval by issue_limit_request() */
	else if (!res.cs_ok)
		log_warnx("refusing certificate for %s: %s", safe,
		    res.cs_reason);
	else if (leaf.cl_cached)
		log_debug("certificate for %s, serial %s, again for worker %d",
		    leaf.cl_host, leaf.cl_serial, w->instance);
	else {
		ca_timestr(leaf.cl_notafter, when, sizeof(when));
		log_info("issued certificate for %s to worker %d: serial %s, "
		    "notAfter %s", leaf.cl_host, w->instance, leaf.cl_serial,
		    when);
	}

	if (imsgchan_compose2(&w->chan, IMSG_CERT_RES, id, -1, &res,
	    sizeof(res), leaf.cl_pem, leaf.cl_pemlen) == -1) {
		log_warn("%s: answer for %s", __func__, leaf.cl_host);
		memset(&res, 0, sizeof(res));
		(void)strlcpy(res.cs_reason, "cannot send the certificate",
		    sizeof(res.cs_reason));
		if (imsgchan_compose(&w->chan, IMSG_CERT_RES, id, -1, &res,
		    sizeof(res)) == -1)
			fatal("%s: compose", __func__);
	}
	ca_leaf_clear(&leaf);
}

/* Only a compromised worker sends a malformed request: die loudly. */
static int
signer_dispatch_worker(struct worker *w, struct imsg *imsg)
{
	struct cert_req	 req;

	switch (imsg->hdr.type) {
	case IMSG_CERT_REQ:
		if (imsg->datalen < sizeof(req))
			fatalx("%s: worker %d: short IMSG_CERT_REQ", __func__,
			    w->instance);
		memcpy(&req, imsg->data, sizeof(req));
		if (req.cr_spkilen > AIB_SPKI_MAX ||
		    imsg->datalen != sizeof(req) + req.cr_spkilen ||
		    memchr(req.cr_host, '\0', sizeof(req.cr_host)) == NULL)
			fatalx("%s: worker %d: malformed IMSG_CERT_REQ",
			    __func__, w->instance);
		signer_cert_req(w, imsg->hdr.peerid, req.cr_host,
		    (const uint8_t *)imsg->data + sizeof(req), req.cr_spkilen);
		break;
	default:
		return (-1);
	}
	return (0);
}

static void
signer_parent_io(short revents)
{
	struct imsg	 imsg;
	ssize_t		 n = -1;
	int		 rv;

	if (revents & POLLNVAL)
		fatalx("%s: parent channel closed under us", __func__);
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		if ((n = imsgchan_read(&env.parent)) == -1 && errno != EAGAIN)
			fatal("%s: read", __func__);
		while ((rv = imsgchan_get(&env.parent, &imsg)) == 1) {
			if (signer_dispatch_parent(&imsg) == -1)
				fatalx("%s: unexpected message type %u",
				    __func__, imsg.hdr.type);
			imsg_free(&imsg);
		}
		if (rv == -1)
			fatal("%s: bad message", __func__);
		if (n == 0) {
			log_debug("%s: parent closed the channel", __func__);
			exit(0);
		}
	}
	if (imsgchan_queued(&env.parent) > 0 &&
	    imsgchan_write(&env.parent) == -1)
		fatal("%s: write", __func__);
}

static void
signer_worker_io(struct worker *w, short revents)
{
	struct imsg	 imsg;
	ssize_t		 n = -1;
	int		 rv;

	if (revents & POLLNVAL)
		fatalx("%s: worker %d: channel closed under us", __func__,
		    w->instance);
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		if ((n = imsgchan_read(&w->chan)) == -1 && errno != EAGAIN) {
			if (errno == EBADMSG)
				fatalx("%s: worker %d sent a descriptor",
				    __func__, w->instance);
			log_warn("%s: worker %d", __func__, w->instance);
			signer_drop_worker(w);
			return;
		}
		while ((rv = imsgchan_get(&w->chan, &imsg)) == 1) {
			if (signer_dispatch_worker(w, &imsg) == -1)
				fatalx("%s: worker %d: unexpected message "
				    "type %u", __func__, w->instance,
				    imsg.hdr.type);
			imsg_free(&imsg);
		}
		if (rv == -1)
			fatal("%s: worker %d: bad message", __func__,
			    w->instance);
		if (n == 0) {
			log_info("worker %d closed its channel", w->instance);
			signer_drop_worker(w);
			return;
		}
	}
	if (imsgchan_queued(&w->chan) > 0 && imsgchan_write(&w->chan) == -1) {
		log_warn("%s: worker %d", __func__, w->instance);
		signer_drop_worker(w);
	}
}

static void
signer_loop(void)
{
	struct pollfd	*pfd = NULL;
	struct worker	*w, *next;
	size_t		 npfd = 0, n;

	for (;;) {
		if ((n = 1 + env.nworkers) > npfd) {
			if ((pfd = reallocarray(pfd, n, sizeof(*pfd))) == NULL)
				fatal("%s", __func__);
			npfd = n;
		}
		pfd[0].fd = env.parent.fd;
		pfd[0].events = POLLIN;
		if (imsgchan_queued(&env.parent) > 0)
			pfd[0].events |= POLLOUT;
		n = 1;
		TAILQ_FOREACH(w, &env.workers, entry) {
			pfd[n].fd = w->chan.fd;
			pfd[n].events = 0;
			if (imsgchan_queued(&w->chan) < SIGNER_WQ_MAX)
				pfd[n].events |= POLLIN;
			if (imsgchan_queued(&w->chan) > 0)
				pfd[n].events |= POLLOUT;
			w->pollidx = (int)n++;
		}
		if (poll(pfd, n, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("%s: poll", __func__);
		}
		/* Workers the parent adds now are polled next time round. */
		signer_parent_io(pfd[0].revents);
		TAILQ_FOREACH_SAFE(w, &env.workers, entry, next)
			if (w->pollidx != -1)
				signer_worker_io(w, pfd[w->pollidx].revents);
	}
}

/* Find the token key now, while root at start; staged_build() checks it. */
static void
signer_cfg_pkcs11(struct imsg *imsg)
{
	struct staged	*st = staged_get();

	st->pkcs11 = 1;
	EVP_PKEY_free(st->tokenkey);
	st->tokenkey = token_cfg(imsg, env.pkcs11, st->tokenerr,
	    sizeof(st->tokenerr));
}

/* -p: the first configuration's token key, found while still root. */
static void
signer_pkcs11_wait(void)
{
	struct pollfd	 pfd;

	while (env.staged == NULL || !env.staged->pkcs11) {
		pfd.fd = env.parent.fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("%s: poll", __func__);
		}
		signer_parent_io(pfd.revents);
	}
}

int
main(int argc, char *argv[])
{
	const char	*user = NULL, *root = NULL;
	const char	*certname = NULL, *keyname = NULL;
	int		 ch, debug = 0, verbose = 0, configtest = 0;

	while ((ch = getopt(argc, argv, "c:dJk:npr:u:v")) != -1) {
		switch (ch) {
		case 'c':
			certname = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'J':
			log_setformat(LOG_FORMAT_JSON);
			break;
		case 'k':
			keyname = optarg;
			break;
		case 'n':
			configtest = 1;
			break;
		case 'p':
			env.pkcs11 = 1;
			break;
		case 'r':
			root = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (configtest) {
		if (certname == NULL)
			usage();
		return (signer_configtest(certname, keyname, argv + optind,
		    argc - optind));
	}
	if (optind != argc)
		usage();
	if (user == NULL || root == NULL)
		usage();

	log_init(debug, LOG_DAEMON);
	log_procinit("signer");
	log_setlevel(verbose > 0 ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	/* openssl.cnf is out of reach once chrooted. */
	if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL))
		fatalx("cannot initialise libcrypto");
	if (compat_nodump() == -1)
		fatal("compat_nodump");
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);

	signer_nonblock(AIB_PARENT_FD);
	if (imsgchan_init(&env.parent, AIB_PARENT_FD, IMSG_MAXSIZE_DEFAULT,
	    1) == -1)
		fatal("imsgchan_init");
	TAILQ_INIT(&env.workers);
	if (env.pkcs11)
		signer_pkcs11_wait();
	/* A token's module may need any file of its own: see signerd(8). */
	proc_privdrop(user, env.pkcs11 ? NULL : root);
	if (compat_noproc() == -1)
		fatal("compat_noproc");
	/*
	 * A token's module makes system calls of its own (SoftHSM2 opens
	 * its token files at every signature), which no list here can
	 * know: with a token, signerd relies on its privilege drop alone.
	 */
	if (!env.pkcs11)
		sandbox_signer(AIB_REPORT_FD);
	log_debug("started, pid %d", (int)getpid());
	signer_loop();
	return (0);
}
