/*
 * config_load_mem() on arbitrary text, through the public interface of
 * common/config.h only.  "@D@" in the input stands for a directory the
 * harness fills with the files a configuration may name (as in
 * tests/unit/test_config.c), so that inputs get past the file checks.
 *
 * A load either returns a configuration and no errors, or NULL and at
 * least one "x.yaml:..." error; the same text always gives the same
 * answer; and whatever is returned holds only values the man page
 * allows, NUL-terminated, which is all the parent and the children
 * will ever check.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "hostname.h"
#include "log.h"

#define NAME		"x.yaml"
#define MS_DAY		(24 * 60 * 60 * 1000U)
#define TERMINATED(a)	(memchr((a), '\0', sizeof(a)) != NULL)

static const char *const files[] = {
	"ca.crt", "ca.key", "listen.crt", "listen.key", "bridge-ca.crt",
	"upstream-ca.crt"
};

static char	 dir[PATH_MAX];

static void	 remove_files(void);
static char	*expand(const uint8_t *, size_t, size_t *);
static void	 check_sa(const struct sockaddr_storage *, socklen_t);
static void	 check_conf(const struct aib_config *);
static void	 check_errors(const struct config_errors *);
static int	 same_errors(const struct config_errors *,
		    const struct config_errors *);

static void
remove_files(void)
{
	char	 path[PATH_MAX];
	size_t	 i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

/* Under TMPDIR, which make fuzz points at its scratch directory. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp;
	char		 path[PATH_MAX];
	size_t		 i;
	int		 fd;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(dir, sizeof(dir), "%s/fuzz_config.XXXXXX",
	    tmp) >= sizeof(dir) || mkdtemp(dir) == NULL)
		abort();
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
			abort();
		close(fd);
	}
	atexit(remove_files);
	return (0);
}

/* The input with every "@D@" replaced; not NUL-terminated on purpose. */
static char *
expand(const uint8_t *data, size_t size, size_t *lenp)
{
	char	*out;
	size_t	 i, n = 0, dlen = strlen(dir);

	for (i = 0; i + 3 <= size; i++)
		if (memcmp(data + i, "@D@", 3) == 0)
			n++;
	if ((out = malloc(size + n * dlen + 1)) == NULL)
		abort();
	for (i = 0, n = 0; i < size;) {
		if (i + 3 <= size && memcmp(data + i, "@D@", 3) == 0) {
			memcpy(out + n, dir, dlen);
			n += dlen;
			i += 3;
		} else
			out[n++] = (char)data[i++];
	}
	*lenp = n;
	return (out);
}

static void
check_sa(const struct sockaddr_storage *ss, socklen_t len)
{
	FUZZ_ASSERT((ss->ss_family == AF_INET &&
	    len == sizeof(struct sockaddr_in)) ||
	    (ss->ss_family == AF_INET6 &&
	    len == sizeof(struct sockaddr_in6)));
}

static void
check_conf(const struct aib_config *c)
{
	const struct listen_conf	*lc;
	const struct provider_conf	*pr;
	const struct cidr_conf		*cc;
	const struct egress_conf	*eg;
	struct global_config		 gc;
	char				 host[AIB_HOSTNAME_MAX + 1];
	const char			*p;
	size_t				 n;
	int				 i;

	FUZZ_ASSERT(TERMINATED(c->path) && strcmp(c->path, NAME) == 0);
	FUZZ_ASSERT(TERMINATED(c->user) && TERMINATED(c->signer_user));
	FUZZ_ASSERT(TERMINATED(c->chroot) && c->chroot[0] == '/');
	FUZZ_ASSERT(c->workers >= 1 && c->workers <= AIB_WORKERS_MAX);
	/* listen, ca, bridge and providers are required. */
	FUZZ_ASSERT(!TAILQ_EMPTY(&c->listens));
	TAILQ_FOREACH(lc, &c->listens, entry) {
		FUZZ_ASSERT(TERMINATED(lc->address));
		check_sa(&lc->ss, lc->sslen);
		FUZZ_ASSERT(!lc->tls || (lc->cert.path[0] == '/' &&
		    lc->key.path[0] == '/'));
	}
	FUZZ_ASSERT(c->ca_cert.path[0] == '/' && c->ca_key.path[0] == '/');
	FUZZ_ASSERT(TERMINATED(c->bridge_url) && TERMINATED(c->bridge.bc_host));
	FUZZ_ASSERT(TERMINATED(c->bridge.bc_hostport) &&
	    TERMINATED(c->bridge.bc_path));
	FUZZ_ASSERT(c->bridge.bc_host[0] != '\0' &&
	    c->bridge.bc_hostport[0] != '\0');
	FUZZ_ASSERT(c->bridge.bc_port >= 1 && c->bridge.bc_port <= 65535);
	/* A prefix for rewrite.c: "" or "/..." without a trailing slash. */
	n = strlen(c->bridge.bc_path);
	FUZZ_ASSERT(n == 0 || (c->bridge.bc_path[0] == '/' &&
	    c->bridge.bc_path[n - 1] != '/'));
	TAILQ_FOREACH(pr, &c->providers, entry) {
		FUZZ_ASSERT(TERMINATED(pr->pc.pc_name) &&
		    pr->pc.pc_name[0] != '\0');
		/* signerd and the proxy compare canonical names. */
		FUZZ_ASSERT(TERMINATED(pr->pc.pc_host));
		FUZZ_ASSERT(host_canon(pr->pc.pc_host, host, sizeof(host),
		    NULL) == 0 && strcmp(host, pr->pc.pc_host) == 0);
		FUZZ_ASSERT(pr->pc.pc_type == PROVIDER_GENERIC ||
		    pr->pc.pc_type == PROVIDER_COPILOT);
	}
	FUZZ_ASSERT(c->tunnel_auth == TUNNEL_AUTH_OPEN ||
	    c->tunnel_auth == TUNNEL_AUTH_TOKEN);
	FUZZ_ASSERT(c->nports >= 0 && c->nports <= AIB_PORTS_MAX);
	for (i = 0; i < c->nports; i++)
		FUZZ_ASSERT(c->ports[i].pr_lo >= 1 &&
		    c->ports[i].pr_lo <= c->ports[i].pr_hi);
	/* Egress names are matched canonical, as the proxy sees them. */
	TAILQ_FOREACH(eg, &c->egress, entry) {
		p = eg->eg.eg_pattern;
		FUZZ_ASSERT(TERMINATED(eg->eg.eg_pattern) && *p != '\0');
		FUZZ_ASSERT(eg->eg.eg_deny == 0 || eg->eg.eg_deny == 1);
		switch (eg->eg.eg_kind) {
		case EGRESS_DOMAIN:
			FUZZ_ASSERT(strncmp(p, "*.", 2) == 0);
			p += 2;
			/* FALLTHROUGH */
		case EGRESS_NAME:
			FUZZ_ASSERT(host_canon(p, host, sizeof(host),
			    NULL) == 0 && strcmp(host, p) == 0);
			break;
		case EGRESS_ADDR:
			FUZZ_ASSERT(eg->eg.eg_af == AF_INET ||
			    eg->eg.eg_af == AF_INET6);
			break;
		default:
			FUZZ_ASSERT(!"unknown egress kind");
		}
	}
	TAILQ_FOREACH(cc, &c->cidrs, entry) {
		FUZZ_ASSERT(TERMINATED(cc->text));
		FUZZ_ASSERT((cc->cc.cc_af == AF_INET &&
		    cc->cc.cc_prefixlen >= 0 && cc->cc.cc_prefixlen <= 32) ||
		    (cc->cc.cc_af == AF_INET6 && cc->cc.cc_prefixlen >= 0 &&
		    cc->cc.cc_prefixlen <= 128));
	}
	FUZZ_ASSERT(TERMINATED(c->upstream_url));
	if (c->upstream.uc_enabled) {
		FUZZ_ASSERT(TERMINATED(c->upstream.uc_host) &&
		    c->upstream.uc_host[0] != '\0');
		FUZZ_ASSERT(TERMINATED(c->upstream.uc_auth));
		FUZZ_ASSERT(c->upstream.uc_port >= 1 &&
		    c->upstream.uc_port <= 65535);
	}
	/* aibproxyd.yaml(5): durations more than 0, at most 1d. */
	FUZZ_ASSERT(c->timeout_header >= 1 && c->timeout_header <= MS_DAY);
	FUZZ_ASSERT(c->timeout_handshake >= 1 &&
	    c->timeout_handshake <= MS_DAY);
	FUZZ_ASSERT(c->timeout_idle >= 1 && c->timeout_idle <= MS_DAY);
	FUZZ_ASSERT(c->timeout_connect >= 1 && c->timeout_connect <= MS_DAY);
	FUZZ_ASSERT(c->timeout_shutdown >= 1 &&
	    c->timeout_shutdown <= MS_DAY);
	/* timeouts.drain_delay may be 0. */
	FUZZ_ASSERT(c->timeout_drain_delay <= MS_DAY);
	FUZZ_ASSERT(c->max_connections >= 1 && c->max_connections <= 1000000);
	FUZZ_ASSERT(c->header_bytes >= 1024 &&
	    c->header_bytes <= 1024 * 1024);
	if (c->metrics)
		check_sa(&c->metrics_ss, c->metrics_sslen);
	FUZZ_ASSERT(c->loglevel >= LOG_LEVEL_ERROR &&
	    c->loglevel <= LOG_LEVEL_DEBUG);
	FUZZ_ASSERT(c->logformat == LOG_FORMAT_TEXT ||
	    c->logformat == LOG_FORMAT_JSON);
	FUZZ_ASSERT(TERMINATED(c->dump_dir));
	FUZZ_ASSERT(c->dump_dir[0] == '\0' || c->dump_dir[0] == '/');

	/* What the children get is what was parsed. */
	config_global(c, &gc);
	FUZZ_ASSERT(gc.gc_nports == c->nports);
	FUZZ_ASSERT(gc.gc_header_bytes == c->header_bytes);
	FUZZ_ASSERT(gc.gc_timeout_header == c->timeout_header);
	FUZZ_ASSERT(gc.gc_logformat == c->logformat);
	for (i = 0; i < c->nports; i++)
		FUZZ_ASSERT(gc.gc_ports[i].pr_lo == c->ports[i].pr_lo &&
		    gc.gc_ports[i].pr_hi == c->ports[i].pr_hi);
}

/* "x.yaml:" and a message, NUL-terminated inside msg. */
static void
check_errors(const struct config_errors *errs)
{
	const struct config_error	*e;

	TAILQ_FOREACH(e, errs, entry) {
		FUZZ_ASSERT(TERMINATED(e->msg));
		FUZZ_ASSERT(strncmp(e->msg, NAME ":", strlen(NAME) + 1) == 0);
		FUZZ_ASSERT(strlen(e->msg) > strlen(NAME) + 2);
	}
}

static int
same_errors(const struct config_errors *a, const struct config_errors *b)
{
	const struct config_error	*ea, *eb;

	for (ea = TAILQ_FIRST(a), eb = TAILQ_FIRST(b);
	    ea != NULL && eb != NULL;
	    ea = TAILQ_NEXT(ea, entry), eb = TAILQ_NEXT(eb, entry))
		if (strcmp(ea->msg, eb->msg) != 0)
			return (0);
	return (ea == NULL && eb == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors	 errs, errs2;
	struct aib_config	*conf, *conf2;
	char			*text;
	size_t			 len;

	TAILQ_INIT(&errs);
	TAILQ_INIT(&errs2);
	text = expand(data, size, &len);
	conf = config_load_mem(NAME, text, len, &errs);
	check_errors(&errs);
	if (conf != NULL) {
		FUZZ_ASSERT(TAILQ_EMPTY(&errs));
		check_conf(conf);
	} else
		FUZZ_ASSERT(!TAILQ_EMPTY(&errs));
	/* The same text, the same verdict and the same messages. */
	conf2 = config_load_mem(NAME, text, len, &errs2);
	FUZZ_ASSERT((conf == NULL) == (conf2 == NULL));
	FUZZ_ASSERT(same_errors(&errs, &errs2));
	config_free(conf);
	config_free(conf2);
	config_errors_clear(&errs);
	config_errors_clear(&errs2);
	free(text);
	return (0);
}
