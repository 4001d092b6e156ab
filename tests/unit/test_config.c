/*
 * Unit tests for the configuration parser (common/config*.c): good
 * files with every value checked, values at their limits, bad files
 * with the exact error texts, and the duration parser.
 *
 * Files named in a configuration must exist, so main() creates them in
 * a mkdtemp(3) directory; "@D@" in a case's text and in its expected
 * errors stands for that directory.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "unit.h"

#ifndef SAMPLE_CONFIG
#define SAMPLE_CONFIG	"etc/aibproxyd.yaml"
#endif
#ifndef MANPAGE
#define MANPAGE		"man/aibproxyd.yaml.5"
#endif

#define MAX_ERRS	16

static char	 tmpdir[] = "/tmp/test_config.XXXXXX";

static const char *const tmpfiles[] = {
	"ca.crt", "ca.key", "listen.crt", "listen.key", "bridge-ca.crt",
	"upstream-ca.crt"
};

/* The four required keys, in lines 1-2, 3-5, 6-7 and 8. */
#define REQ_LISTEN	"listen:\n  - address: 127.0.0.1:8888\n"
#define REQ_CA		"ca:\n  cert: @D@/ca.crt\n  key: @D@/ca.key\n"
#define REQ_BRIDGE	"bridge:\n  url: https://coder.example.com\n"
#define REQ_PROVIDERS	"providers: []\n"
#define REQ		REQ_LISTEN REQ_CA REQ_BRIDGE REQ_PROVIDERS
#define PROVIDERS(p)	REQ_LISTEN REQ_CA REQ_BRIDGE "providers:\n" p

/* Replace every "@D@" with the temporary directory. */
static char *
expand(const char *s)
{
	const char	*p;
	char		*out, *o;
	size_t		 n = 0;

	for (p = s; (p = strstr(p, "@D@")) != NULL; p += 3)
		n++;
	out = malloc(strlen(s) + n * strlen(tmpdir) + 1);
	ck_assert_ptr_nonnull(out);
	for (o = out; *s != '\0';) {
		if (strncmp(s, "@D@", 3) == 0) {
			o = stpcpy(o, tmpdir);
			s += 3;
		} else
			*o++ = *s++;
	}
	*o = '\0';
	return (out);
}

static struct aib_config *
load(const char *tmpl, struct config_errors *errs)
{
	struct aib_config	*conf;
	char			*text;

	TAILQ_INIT(errs);
	text = expand(tmpl);
	conf = config_load_mem("x.yaml", text, strlen(text), errs);
	free(text);
	return (conf);
}

static void
dump_errors(const char *what, struct config_errors *errs)
{
	struct config_error	*e;

	TAILQ_FOREACH(e, errs, entry)
		fprintf(stderr, "%s: %s\n", what, e->msg);
}

/* Load a file that must be good. */
static struct aib_config *
load_good(const char *tmpl)
{
	struct config_errors	 errs;
	struct aib_config	*conf;

	conf = load(tmpl, &errs);
	if (conf == NULL)
		dump_errors("unexpected", &errs);
	ck_assert_ptr_nonnull(conf);
	ck_assert(TAILQ_EMPTY(&errs));
	return (conf);
}

/* Check a failed load's errors against a NULL-terminated list. */
static void
check_errors(const char *name, struct aib_config *conf,
    struct config_errors *errs, const char *const *want)
{
	struct config_error	*e;
	char			*w;
	int			 i = 0;

	ck_assert_msg(conf == NULL, "%s: loaded", name);
	TAILQ_FOREACH(e, errs, entry) {
		ck_assert_msg(i < MAX_ERRS && want[i] != NULL,
		    "%s: unexpected error: %s", name, e->msg);
		w = expand(want[i]);
		ck_assert_msg(strcmp(e->msg, w) == 0,
		    "%s: error %d\n got: %s\nwant: %s", name, i, e->msg, w);
		free(w);
		i++;
	}
	ck_assert_msg(i < MAX_ERRS && want[i] == NULL,
	    "%s: missing error: %s", name, i < MAX_ERRS ? want[i] : "?");
	config_errors_clear(errs);
	ck_assert(TAILQ_EMPTY(errs));
}

static int
sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohs(((const struct sockaddr_in *)ss)->sin_port));
	return (ntohs(((const struct sockaddr_in6 *)ss)->sin6_port));
}

static void
check_sa(const struct sockaddr_storage *ss, socklen_t len, int af,
    const char *addr, int port)
{
	unsigned char	 want[16];
	const void	*got;

	ck_assert_int_eq(ss->ss_family, af);
	ck_assert_int_eq(sa_port(ss), port);
	ck_assert_int_eq(inet_pton(af, addr, want), 1);
	if (af == AF_INET) {
		ck_assert_int_eq(len, sizeof(struct sockaddr_in));
		got = &((const struct sockaddr_in *)ss)->sin_addr;
		ck_assert_mem_eq(got, want, 4);
	} else {
		ck_assert_int_eq(len, sizeof(struct sockaddr_in6));
		got = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		ck_assert_mem_eq(got, want, 16);
	}
}

static void
check_file(const struct config_file *f, const char *name, int line)
{
	char	 path[PATH_MAX];

	if (name == NULL) {
		ck_assert_str_eq(f->path, "");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	ck_assert_str_eq(f->path, path);
	ck_assert_int_eq(f->line, line);
}

static int
expected_workers(void)
{
	long	 n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return (1);
	return (n > AIB_WORKERS_MAX ? AIB_WORKERS_MAX : (int)n);
}

/*
 * Good files.
 */

START_TEST(test_minimal)
{
	struct aib_config	*conf;
	struct listen_conf	*lc;

	conf = load_good(REQ);
	ck_assert_str_eq(conf->path, "x.yaml");
	ck_assert_str_eq(conf->user, "_aibproxyd");
	ck_assert_str_eq(conf->signer_user, "_aibsignerd");
	ck_assert_str_eq(conf->chroot, "/var/empty");
	ck_assert_int_eq(conf->workers, expected_workers());

	lc = TAILQ_FIRST(&conf->listens);
	ck_assert_ptr_nonnull(lc);
	ck_assert_ptr_null(TAILQ_NEXT(lc, entry));
	ck_assert_str_eq(lc->address, "127.0.0.1:8888");
	check_sa(&lc->ss, lc->sslen, AF_INET, "127.0.0.1", 8888);
	ck_assert_int_eq(lc->tls, 0);
	check_file(&lc->cert, NULL, 0);
	check_file(&lc->key, NULL, 0);
	ck_assert_int_eq(lc->line, 2);

	check_file(&conf->ca_cert, "ca.crt", 4);
	check_file(&conf->ca_key, "ca.key", 5);
	ck_assert_uint_eq(conf->leaf_lifetime, 7 * 86400);

	ck_assert_str_eq(conf->bridge_url, "https://coder.example.com");
	ck_assert_int_eq(conf->bridge.bc_tls, 1);
	ck_assert_int_eq(conf->bridge.bc_port, 443);
	ck_assert_str_eq(conf->bridge.bc_host, "coder.example.com");
	ck_assert_str_eq(conf->bridge.bc_hostport, "coder.example.com");
	ck_assert_str_eq(conf->bridge.bc_path, "");
	check_file(&conf->bridge_ca, NULL, 0);

	ck_assert(TAILQ_EMPTY(&conf->providers));
	ck_assert_int_eq(conf->tunnel_auth, TUNNEL_AUTH_OPEN);
	ck_assert_int_eq(conf->nports, 2);
	ck_assert_int_eq(conf->ports[0].pr_lo, 80);
	ck_assert_int_eq(conf->ports[0].pr_hi, 80);
	ck_assert_int_eq(conf->ports[1].pr_lo, 443);
	ck_assert_int_eq(conf->ports[1].pr_hi, 443);
	ck_assert(TAILQ_EMPTY(&conf->cidrs));

	ck_assert_str_eq(conf->upstream_url, "");
	ck_assert_int_eq(conf->upstream.uc_enabled, 0);
	ck_assert_str_eq(conf->upstream.uc_auth, "");
	check_file(&conf->upstream_ca, NULL, 0);

	ck_assert_uint_eq(conf->timeout_header, 10000);
	ck_assert_uint_eq(conf->timeout_handshake, 10000);
	ck_assert_uint_eq(conf->timeout_idle, 300000);
	ck_assert_uint_eq(conf->timeout_connect, 10000);
	ck_assert_uint_eq(conf->timeout_shutdown, 10000);
	ck_assert_uint_eq(conf->max_connections, 10000);
	ck_assert_uint_eq(conf->header_bytes, 65536);
	ck_assert_int_eq(conf->metrics, 0);
	ck_assert_str_eq(conf->metrics_address, "");
	ck_assert_int_eq(conf->loglevel, LOG_LEVEL_INFO);
	ck_assert_int_eq(conf->logformat, LOG_FORMAT_TEXT);
	ck_assert_str_eq(conf->dump_dir, "");
	config_free(conf);
}
END_TEST

static const char full_text[] =
	"user: proxy_u\n"					/* 1 */
	"signer_user: signer-u\n"
	"chroot: /var/lib/aibproxyd\n"
	"workers: 3\n"
	"listen:\n"						/* 5 */
	"  - address: 127.0.0.1:8888\n"
	"  - address: \"[::1]:8443\"\n"
	"    tls:\n"
	"      cert: @D@/listen.crt\n"
	"      key: @D@/listen.key\n"				/* 10 */
	"ca:\n"
	"  cert: @D@/ca.crt\n"
	"  key: @D@/ca.key\n"
	"  leaf_lifetime: 36h\n"
	"bridge:\n"						/* 15 */
	"  url: https://Coder.Example.COM:8443/coder/\n"
	"  ca: @D@/bridge-ca.crt\n"
	"providers:\n"
	"  - { name: anthropic, host: API.Anthropic.com. }\n"
	"  - name: copilot-business\n"				/* 20 */
	"    host: api.business.githubcopilot.com\n"
	"    type: copilot\n"
	"  - name: openai\n"
	"    host: api.openai.com\n"
	"    type: generic\n"					/* 25 */
	"auth:\n"
	"  tunnels: token\n"
	"tunnel:\n"
	"  ports: [443, 8443, \"80\"]\n"
	"  allowed_private_cidrs:\n"				/* 30 */
	"    - 10.20.0.0/16\n"
	"    - 192.0.2.7\n"
	"    - \"fd00:1234::/48\"\n"
	"    - ::1\n"
	"    - 0.0.0.0/0\n"					/* 35 */
	"upstream:\n"
	"  url: https://us%40r:p%3Ass:w@proxy.corp.example:3129/\n"
	"  ca: @D@/upstream-ca.crt\n"
	"  bridge: true\n"
	"timeouts:\n"						/* 40 */
	"  header: 1500ms\n"
	"  handshake: 20s\n"
	"  idle: 5m\n"
	"  connect: 2s\n"
	"  shutdown: 1h\n"					/* 45 */
	"limits:\n"
	"  connections: 500\n"
	"  header_bytes: 1024\n"
	"metrics:\n"
	"  listen: \"[::]:9464\"\n"				/* 50 */
	"log:\n"
	"  level: debug\n"
	"  dump_dir: /var/log/aibproxyd/dump\n"
	"  format: json\n";

static void
check_provider(const struct provider_conf *pr, const char *name,
    const char *host, int type, int line)
{
	ck_assert_ptr_nonnull(pr);
	ck_assert_str_eq(pr->pc.pc_name, name);
	ck_assert_str_eq(pr->pc.pc_host, host);
	ck_assert_int_eq(pr->pc.pc_type, type);
	ck_assert_int_eq(pr->line, line);
}

static void
check_cidr(const struct cidr_conf *cc, const char *text, int af, int plen,
    const unsigned char *addr, int line)
{
	ck_assert_ptr_nonnull(cc);
	ck_assert_str_eq(cc->text, text);
	ck_assert_int_eq(cc->cc.cc_af, af);
	ck_assert_int_eq(cc->cc.cc_prefixlen, plen);
	ck_assert_mem_eq(cc->cc.cc_addr, addr, 16);
	ck_assert_int_eq(cc->line, line);
}

static void
check_full_cidrs(const struct aib_config *conf)
{
	static const unsigned char a1[16] = { 10, 20 };
	static const unsigned char a2[16] = { 192, 0, 2, 7 };
	static const unsigned char a3[16] = { 0xfd, 0x00, 0x12, 0x34 };
	static const unsigned char a4[16] = { [15] = 1 };
	static const unsigned char a5[16] = { 0 };
	const struct cidr_conf	*cc;

	cc = TAILQ_FIRST(&conf->cidrs);
	check_cidr(cc, "10.20.0.0/16", AF_INET, 16, a1, 31);
	cc = TAILQ_NEXT(cc, entry);
	check_cidr(cc, "192.0.2.7", AF_INET, 32, a2, 32);
	cc = TAILQ_NEXT(cc, entry);
	check_cidr(cc, "fd00:1234::/48", AF_INET6, 48, a3, 33);
	cc = TAILQ_NEXT(cc, entry);
	check_cidr(cc, "::1", AF_INET6, 128, a4, 34);
	cc = TAILQ_NEXT(cc, entry);
	check_cidr(cc, "0.0.0.0/0", AF_INET, 0, a5, 35);
	ck_assert_ptr_null(TAILQ_NEXT(cc, entry));
}

static void
check_full_listens(const struct aib_config *conf)
{
	const struct listen_conf	*lc;

	lc = TAILQ_FIRST(&conf->listens);
	ck_assert_str_eq(lc->address, "127.0.0.1:8888");
	check_sa(&lc->ss, lc->sslen, AF_INET, "127.0.0.1", 8888);
	ck_assert_int_eq(lc->tls, 0);
	ck_assert_int_eq(lc->line, 6);
	lc = TAILQ_NEXT(lc, entry);
	ck_assert_ptr_nonnull(lc);
	ck_assert_str_eq(lc->address, "[::1]:8443");
	check_sa(&lc->ss, lc->sslen, AF_INET6, "::1", 8443);
	ck_assert_int_eq(lc->tls, 1);
	check_file(&lc->cert, "listen.crt", 9);
	check_file(&lc->key, "listen.key", 10);
	ck_assert_int_eq(lc->line, 7);
	ck_assert_ptr_null(TAILQ_NEXT(lc, entry));
}

START_TEST(test_full)
{
	struct aib_config	*conf;
	struct provider_conf	*pr;

	conf = load_good(full_text);
	ck_assert_str_eq(conf->user, "proxy_u");
	ck_assert_str_eq(conf->signer_user, "signer-u");
	ck_assert_str_eq(conf->chroot, "/var/lib/aibproxyd");
	ck_assert_int_eq(conf->workers, 3);
	check_full_listens(conf);

	check_file(&conf->ca_cert, "ca.crt", 12);
	check_file(&conf->ca_key, "ca.key", 13);
	ck_assert_uint_eq(conf->leaf_lifetime, 36 * 3600);

	ck_assert_str_eq(conf->bridge_url,
	    "https://Coder.Example.COM:8443/coder/");
	ck_assert_int_eq(conf->bridge.bc_tls, 1);
	ck_assert_int_eq(conf->bridge.bc_port, 8443);
	ck_assert_str_eq(conf->bridge.bc_host, "coder.example.com");
	ck_assert_str_eq(conf->bridge.bc_hostport, "coder.example.com:8443");
	ck_assert_str_eq(conf->bridge.bc_path, "/coder");
	check_file(&conf->bridge_ca, "bridge-ca.crt", 17);

	pr = TAILQ_FIRST(&conf->providers);
	check_provider(pr, "anthropic", "api.anthropic.com", PROVIDER_GENERIC,
	    19);
	pr = TAILQ_NEXT(pr, entry);
	check_provider(pr, "copilot-business",
	    "api.business.githubcopilot.com", PROVIDER_COPILOT, 20);
	pr = TAILQ_NEXT(pr, entry);
	check_provider(pr, "openai", "api.openai.com", PROVIDER_GENERIC, 23);
	ck_assert_ptr_null(TAILQ_NEXT(pr, entry));

	ck_assert_int_eq(conf->tunnel_auth, TUNNEL_AUTH_TOKEN);
	ck_assert_int_eq(conf->nports, 3);
	ck_assert_int_eq(conf->ports[0].pr_lo, 443);
	ck_assert_int_eq(conf->ports[1].pr_lo, 8443);
	ck_assert_int_eq(conf->ports[2].pr_lo, 80);
	check_full_cidrs(conf);

	ck_assert_str_eq(conf->upstream_url,
	    "https://us%40r:p%3Ass:w@proxy.corp.example:3129/");
	ck_assert_int_eq(conf->upstream.uc_enabled, 1);
	ck_assert_int_eq(conf->upstream.uc_tls, 1);
	ck_assert_int_eq(conf->upstream.uc_port, 3129);
	ck_assert_str_eq(conf->upstream.uc_host, "proxy.corp.example");
	/* base64("us@r:p:ss:w") */
	ck_assert_str_eq(conf->upstream.uc_auth, "Basic dXNAcjpwOnNzOnc=");
	ck_assert_int_eq(conf->upstream.uc_bridge, 1);
	check_file(&conf->upstream_ca, "upstream-ca.crt", 38);

	ck_assert_uint_eq(conf->timeout_header, 1500);
	ck_assert_uint_eq(conf->timeout_handshake, 20000);
	ck_assert_uint_eq(conf->timeout_idle, 300000);
	ck_assert_uint_eq(conf->timeout_connect, 2000);
	ck_assert_uint_eq(conf->timeout_shutdown, 3600000);
	ck_assert_uint_eq(conf->max_connections, 500);
	ck_assert_uint_eq(conf->header_bytes, 1024);
	ck_assert_int_eq(conf->metrics, 1);
	ck_assert_str_eq(conf->metrics_address, "[::]:9464");
	check_sa(&conf->metrics_ss, conf->metrics_sslen, AF_INET6, "::", 9464);
	ck_assert_int_eq(conf->loglevel, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(conf->logformat, LOG_FORMAT_JSON);
	ck_assert_str_eq(conf->dump_dir, "/var/log/aibproxyd/dump");
	config_free(conf);
}
END_TEST

/* auth.validate: off by default; present, even empty, turns it on. */
/* listen[].proxy_protocol and proxy_from, as the workers get them. */
START_TEST(test_proxy_protocol)
{
	struct aib_config	*conf;
	struct listen_conf	*lc;

	conf = load_good("listen:\n  - address: 127.0.0.1:8888\n"
	    "    proxy_protocol: true\n"
	    "    proxy_from: [10.1.0.0/24, \"2001:db8::/32\", 192.0.2.7]\n"
	    "  - address: 127.0.0.1:8889\n    proxy_protocol: true\n"
	    "  - address: 127.0.0.1:8890\n"
	    REQ_CA REQ_BRIDGE REQ_PROVIDERS);
	lc = TAILQ_FIRST(&conf->listens);
	ck_assert_int_eq(lc->proxy_protocol, 1);
	ck_assert_int_eq(lc->nproxy_from, 3);
	ck_assert_int_eq(lc->proxy_from[0].cc_af, AF_INET);
	ck_assert_int_eq(lc->proxy_from[0].cc_prefixlen, 24);
	ck_assert_int_eq(lc->proxy_from[0].cc_addr[1], 1);
	ck_assert_int_eq(lc->proxy_from[1].cc_af, AF_INET6);
	ck_assert_int_eq(lc->proxy_from[1].cc_prefixlen, 32);
	ck_assert_int_eq(lc->proxy_from[2].cc_prefixlen, 32);
	ck_assert_int_eq(lc->proxy_from[2].cc_addr[3], 7);
	lc = TAILQ_NEXT(lc, entry);
	ck_assert_int_eq(lc->proxy_protocol, 1);
	ck_assert_int_eq(lc->nproxy_from, 0);
	lc = TAILQ_NEXT(lc, entry);
	ck_assert_int_eq(lc->proxy_protocol, 0);
	ck_assert_int_eq(lc->nproxy_from, 0);
	config_free(conf);
}
END_TEST

START_TEST(test_auth_validate)
{
	struct aib_config	*conf;

	conf = load_good(REQ);
	ck_assert_int_eq(conf->auth.ac_validate, 0);
	ck_assert_str_eq(conf->auth.ac_path, "/api/v2/users/me");
	ck_assert_uint_eq(conf->auth.ac_ttl, 300000);
	ck_assert_uint_eq(conf->auth.ac_negative_ttl, 10000);
	ck_assert_uint_eq(conf->auth.ac_max_entries, 100000);
	ck_assert_uint_eq(conf->auth.ac_fail_limit, 20);
	ck_assert_uint_eq(conf->auth.ac_fail_window, 60000);
	config_free(conf);
	conf = load_good(REQ "auth:\n  validate:\n");
	ck_assert_int_eq(conf->auth.ac_validate, 1);
	config_free(conf);
	conf = load_good(REQ "auth:\n  validate: { path: /v2/me, ttl: 1m, "
	    "negative_ttl: 1s, max_entries: 7 }\n  failures: { limit: 3, "
	    "window: 1h }\n");
	ck_assert_int_eq(conf->auth.ac_validate, 1);
	ck_assert_str_eq(conf->auth.ac_path, "/v2/me");
	ck_assert_uint_eq(conf->auth.ac_ttl, 60000);
	ck_assert_uint_eq(conf->auth.ac_negative_ttl, 1000);
	ck_assert_uint_eq(conf->auth.ac_max_entries, 7);
	ck_assert_uint_eq(conf->auth.ac_fail_limit, 3);
	ck_assert_uint_eq(conf->auth.ac_fail_window, 3600000);
	config_free(conf);
}
END_TEST

START_TEST(test_global)
{
	struct aib_config	*conf;
	struct global_config	 gc;

	memset(&gc, 0xa5, sizeof(gc));
	conf = load_good(full_text);
	config_global(conf, &gc);
	ck_assert_int_eq(gc.gc_loglevel, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(gc.gc_logformat, LOG_FORMAT_JSON);
	ck_assert_int_eq(gc.gc_tunnel_auth, TUNNEL_AUTH_TOKEN);
	ck_assert_uint_eq(gc.gc_leaf_lifetime, 36 * 3600);
	ck_assert_uint_eq(gc.gc_timeout_header, 1500);
	ck_assert_uint_eq(gc.gc_timeout_handshake, 20000);
	ck_assert_uint_eq(gc.gc_timeout_idle, 300000);
	ck_assert_uint_eq(gc.gc_timeout_connect, 2000);
	ck_assert_uint_eq(gc.gc_timeout_shutdown, 3600000);
	ck_assert_uint_eq(gc.gc_max_connections, 500);
	ck_assert_uint_eq(gc.gc_header_bytes, 1024);
	ck_assert_int_eq(gc.gc_nports, 3);
	ck_assert_int_eq(gc.gc_ports[0].pr_lo, 443);
	ck_assert_int_eq(gc.gc_ports[0].pr_hi, 443);
	ck_assert_int_eq(gc.gc_ports[1].pr_lo, 8443);
	ck_assert_int_eq(gc.gc_ports[2].pr_lo, 80);
	ck_assert_int_eq(gc.gc_ports[3].pr_lo, 0);
	ck_assert_int_eq(gc.gc_ports[3].pr_hi, 0);
	config_free(conf);

	conf = load_good(REQ);
	config_global(conf, &gc);
	ck_assert_int_eq(gc.gc_loglevel, LOG_LEVEL_INFO);
	ck_assert_int_eq(gc.gc_logformat, LOG_FORMAT_TEXT);
	ck_assert_int_eq(gc.gc_tunnel_auth, TUNNEL_AUTH_OPEN);
	ck_assert_uint_eq(gc.gc_leaf_lifetime, 604800);
	ck_assert_uint_eq(gc.gc_timeout_idle, 300000);
	ck_assert_int_eq(gc.gc_nports, 2);
	config_free(conf);
}
END_TEST

/* Optional files and the dump directory may be left empty. */
START_TEST(test_empty_optional)
{
	struct aib_config	*conf;

	conf = load_good(REQ_LISTEN REQ_CA REQ_BRIDGE "  ca:\n" REQ_PROVIDERS
	    "upstream:\n  url: http://proxy\n  ca: \"\"\n"
	    "log:\n  dump_dir:\n");
	ck_assert_str_eq(conf->bridge_ca.path, "");
	ck_assert_int_eq(conf->bridge_ca.line, 0);
	ck_assert_str_eq(conf->upstream_ca.path, "");
	ck_assert_int_eq(conf->upstream.uc_enabled, 1);
	ck_assert_str_eq(conf->upstream.uc_host, "proxy");
	ck_assert_str_eq(conf->dump_dir, "");
	config_free(conf);
}
END_TEST

static char *
read_text(const char *path)
{
	FILE	*f;
	char	*text;
	long	 len;

	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	rewind(f);
	text = calloc(1, len + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(fread(text, 1, len, f), (size_t)len);
	fclose(f);
	return (text);
}

/* Read the sample and point its /etc/aibproxyd/ files at ours. */
static char *
read_sample(void)
{
	char	*text, *out, *o;
	size_t	 n;

	text = read_text(SAMPLE_CONFIG);
	out = calloc(1, strlen(text) * 2 + 1);
	ck_assert_ptr_nonnull(out);
	for (o = out, n = 0; text[n] != '\0';) {
		if (strncmp(text + n, "/etc/aibproxyd/", 15) == 0) {
			o = stpcpy(o, "@D@/");
			n += 15;
		} else
			*o++ = text[n++];
	}
	free(text);
	return (out);
}

/* The man page's EXAMPLES show the sample file as it is. */
START_TEST(test_manpage_sample)
{
	const char	*start = "\n.Bd -literal -offset indent\n# ";
	char		*man, *sample, *p, *end;
	size_t		 i;
	int		 line = 1;

	man = read_text(MANPAGE);
	sample = read_text(SAMPLE_CONFIG);
	p = strstr(man, start);
	ck_assert_msg(p != NULL, "no sample in %s", MANPAGE);
	p += strlen(start) - 2;
	end = strstr(p, "\n.Ed\n");
	ck_assert_ptr_nonnull(end);
	end[1] = '\0';
	for (i = 0; p[i] == sample[i] && p[i] != '\0'; i++)
		if (p[i] == '\n')
			line++;
	ck_assert_msg(p[i] == sample[i], "%s differs from the example in %s "
	    "at its line %d", SAMPLE_CONFIG, MANPAGE, line);
	free(man);
	free(sample);
}
END_TEST

START_TEST(test_sample)
{
	struct aib_config	*conf;
	struct provider_conf	*pr;
	struct listen_conf	*lc;
	char			*text;

	text = read_sample();
	conf = load_good(text);
	free(text);
	ck_assert_str_eq(conf->user, "_aibproxyd");
	ck_assert_str_eq(conf->signer_user, "_aibsignerd");
	ck_assert_str_eq(conf->chroot, "/var/empty");
	ck_assert_int_eq(conf->workers, expected_workers());
	lc = TAILQ_FIRST(&conf->listens);
	ck_assert_str_eq(lc->address, "127.0.0.1:8888");
	ck_assert_ptr_null(TAILQ_NEXT(lc, entry));
	ck_assert_str_eq(conf->ca_cert.path + strlen(tmpdir), "/ca.crt");
	ck_assert_str_eq(conf->ca_key.path + strlen(tmpdir), "/ca.key");
	ck_assert_uint_eq(conf->leaf_lifetime, 604800);
	ck_assert_str_eq(conf->bridge.bc_hostport, "coder.example.com");
	ck_assert_str_eq(conf->bridge_ca.path, "");
	pr = TAILQ_FIRST(&conf->providers);
	ck_assert_str_eq(pr->pc.pc_name, "anthropic");
	ck_assert_str_eq(pr->pc.pc_host, "api.anthropic.com");
	pr = TAILQ_NEXT(pr, entry);
	ck_assert_str_eq(pr->pc.pc_name, "openai");
	pr = TAILQ_NEXT(pr, entry);
	ck_assert_str_eq(pr->pc.pc_name, "copilot");
	ck_assert_str_eq(pr->pc.pc_host, "api.individual.githubcopilot.com");
	ck_assert_int_eq(pr->pc.pc_type, PROVIDER_COPILOT);
	ck_assert_ptr_null(TAILQ_NEXT(pr, entry));
	ck_assert_int_eq(conf->tunnel_auth, TUNNEL_AUTH_OPEN);
	ck_assert_int_eq(conf->nports, 2);
	ck_assert(TAILQ_EMPTY(&conf->cidrs));
	ck_assert_int_eq(conf->upstream.uc_enabled, 0);
	ck_assert_uint_eq(conf->timeout_idle, 300000);
	ck_assert_uint_eq(conf->max_connections, 10000);
	ck_assert_uint_eq(conf->header_bytes, 65536);
	ck_assert_int_eq(conf->metrics, 1);
	ck_assert_str_eq(conf->metrics_address, "127.0.0.1:9464");
	ck_assert_int_eq(conf->loglevel, LOG_LEVEL_INFO);
	ck_assert_int_eq(conf->logformat, LOG_FORMAT_TEXT);
	ck_assert_str_eq(conf->dump_dir, "");
	config_free(conf);
}
END_TEST

/* config_load() reads a real file and names it in messages. */
START_TEST(test_load_file)
{
	struct config_errors	 errs;
	struct aib_config	*conf;
	char			 path[PATH_MAX], want[PATH_MAX + 64], *text;
	int			 fd;

	TAILQ_INIT(&errs);
	snprintf(path, sizeof(path), "%s/aibproxyd.yaml", tmpdir);
	text = expand(REQ "workers: 2\n");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	free(text);
	conf = config_load(path, &errs);
	ck_assert_ptr_nonnull(conf);
	ck_assert_str_eq(conf->path, path);
	ck_assert_int_eq(conf->workers, 2);
	config_free(conf);

	text = expand(REQ "workers: 0\n");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	free(text);
	ck_assert_ptr_null(config_load(path, &errs));
	snprintf(want, sizeof(want), "%s:9: workers: \"0\" is out of range "
	    "(1..64)", path);
	ck_assert_str_eq(TAILQ_FIRST(&errs)->msg, want);
	config_errors_clear(&errs);
	unlink(path);

	ck_assert_ptr_null(config_load(path, &errs));
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	ck_assert_str_eq(TAILQ_FIRST(&errs)->msg, want);
	ck_assert_ptr_null(TAILQ_NEXT(TAILQ_FIRST(&errs), entry));
	config_errors_clear(&errs);

	ck_assert_ptr_null(config_load(tmpdir, &errs));
	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	ck_assert_str_eq(TAILQ_FIRST(&errs)->msg, want);
	config_errors_clear(&errs);
}
END_TEST

/* A file over 1 MiB is refused before it is parsed. */
START_TEST(test_load_large)
{
	struct config_errors	 errs;
	char			 path[PATH_MAX], want[PATH_MAX + 64];
	char			 line[1024];
	size_t			 n;
	int			 fd;

	TAILQ_INIT(&errs);
	snprintf(path, sizeof(path), "%s/aibproxyd.yaml", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	memset(line, '#', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	for (n = 0; n < 1024; n++)
		ck_assert_int_eq(write(fd, line, sizeof(line)), sizeof(line));
	ck_assert_int_eq(write(fd, "\n", 1), 1);
	close(fd);
	ck_assert_ptr_null(config_load(path, &errs));
	snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", path);
	ck_assert_str_eq(TAILQ_FIRST(&errs)->msg, want);
	config_errors_clear(&errs);
	unlink(path);
}
END_TEST

/* Earlier errors already in the list stay first and untouched. */
START_TEST(test_errors_append)
{
	struct config_errors	 errs;
	struct config_error	*e;
	struct aib_config	*conf;
	char			*text;

	TAILQ_INIT(&errs);
	e = calloc(1, sizeof(*e));
	ck_assert_ptr_nonnull(e);
	strlcpy(e->msg, "earlier", sizeof(e->msg));
	TAILQ_INSERT_TAIL(&errs, e, entry);
	text = expand(REQ "workers: 0\nlog: {level: loud}\n");
	conf = config_load_mem("x.yaml", text, strlen(text), &errs);
	free(text);
	ck_assert_ptr_null(conf);
	e = TAILQ_FIRST(&errs);
	ck_assert_str_eq(e->msg, "earlier");
	e = TAILQ_NEXT(e, entry);
	ck_assert_str_eq(e->msg, "x.yaml:9: workers: \"0\" is out of range "
	    "(1..64)");
	e = TAILQ_NEXT(e, entry);
	ck_assert_str_eq(e->msg, "x.yaml:10: log.level: \"loud\" is not a "
	    "log level (error, warning, info or debug)");
	ck_assert_ptr_null(TAILQ_NEXT(e, entry));
	config_errors_clear(&errs);
}
END_TEST

/*
 * Bridge and upstream URLs that must parse.
 */

static const struct {
	const char	*url;
	int		 tls;
	int		 port;
	const char	*host;
	const char	*hostport;
	const char	*path;
} bridge_good[] = {
	{ "https://coder.example.com", 1, 443, "coder.example.com",
	    "coder.example.com", "" },
	{ "http://coder.example.com", 0, 80, "coder.example.com",
	    "coder.example.com", "" },
	{ "HTTPS://Coder.Example.COM.", 1, 443, "coder.example.com",
	    "coder.example.com", "" },
	{ "https://coder.example.com:443/", 1, 443, "coder.example.com",
	    "coder.example.com", "" },
	{ "http://coder.example.com:443", 0, 443, "coder.example.com",
	    "coder.example.com:443", "" },
	{ "https://coder.example.com:8443/coder/", 1, 8443,
	    "coder.example.com", "coder.example.com:8443", "/coder" },
	{ "https://[2001:DB8::0001]:8443/a/b", 1, 8443, "2001:db8::1",
	    "[2001:db8::1]:8443", "/a/b" },
	{ "https://[::1]", 1, 443, "::1", "[::1]", "" },
	{ "http://[::1]:80/", 0, 80, "::1", "[::1]", "" },
	{ "http://192.0.2.1:8080/x%20y//", 0, 8080, "192.0.2.1",
	    "192.0.2.1:8080", "/x%20y" },
	{ "https://localhost/api~v1/a-b_c.d", 1, 443, "localhost",
	    "localhost", "/api~v1/a-b_c.d" },
	/* Only the whole route segment by segment is the proxy's own. */
	{ "https://coder.example.com/api/v2/aibridge2", 1, 443,
	    "coder.example.com", "coder.example.com", "/api/v2/aibridge2" }
};

START_TEST(test_bridge_url)
{
	struct aib_config	*conf;
	char			 text[1024];

	snprintf(text, sizeof(text), REQ_LISTEN REQ_CA "bridge:\n  url: "
	    "\"%s\"\n" REQ_PROVIDERS, bridge_good[_i].url);
	conf = load_good(text);
	ck_assert_str_eq(conf->bridge_url, bridge_good[_i].url);
	ck_assert_int_eq(conf->bridge.bc_tls, bridge_good[_i].tls);
	ck_assert_int_eq(conf->bridge.bc_port, bridge_good[_i].port);
	ck_assert_str_eq(conf->bridge.bc_host, bridge_good[_i].host);
	ck_assert_str_eq(conf->bridge.bc_hostport, bridge_good[_i].hostport);
	ck_assert_str_eq(conf->bridge.bc_path, bridge_good[_i].path);
	config_free(conf);
}
END_TEST

static const struct {
	const char	*url;
	int		 tls;
	int		 port;
	const char	*host;
	const char	*auth;
} upstream_good[] = {
	{ "http://proxy.corp:3128", 0, 3128, "proxy.corp", "" },
	{ "https://proxy.corp", 1, 443, "proxy.corp", "" },
	{ "http://Proxy.Corp/", 0, 80, "proxy.corp", "" },
	{ "http://192.0.2.1:3128", 0, 3128, "192.0.2.1", "" },
	{ "http://user:pass@proxy:3128", 0, 3128, "proxy",
	    "Basic dXNlcjpwYXNz" },
	/* RFC 7617: the colon is always there. */
	{ "http://user@proxy", 0, 80, "proxy", "Basic dXNlcjo=" },
	{ "http://user:@proxy", 0, 80, "proxy", "Basic dXNlcjo=" },
	{ "http://:pass@proxy", 0, 80, "proxy", "Basic OnBhc3M=" },
	/* us@r and p:s/s, decoded; only the first raw colon splits. */
	{ "https://us%40r:p%3As%2Fs@[fd00::1]:8080", 1, 8080, "fd00::1",
	    "Basic dXNAcjpwOnMvcw==" },
	{ "http://us%40r:p:ss:w@proxy", 0, 80, "proxy",
	    "Basic dXNAcjpwOnNzOnc=" },
	/* "a\xc3\xa9:b": percent-decoded bytes go out as they are. */
	{ "http://a%C3%a9:b@proxy", 0, 80, "proxy", "Basic YcOpOmI=" }
};

START_TEST(test_upstream_url)
{
	struct aib_config	*conf;
	char			 text[1024];

	snprintf(text, sizeof(text), REQ "upstream:\n  url: \"%s\"\n",
	    upstream_good[_i].url);
	conf = load_good(text);
	ck_assert_str_eq(conf->upstream_url, upstream_good[_i].url);
	ck_assert_int_eq(conf->upstream.uc_enabled, 1);
	ck_assert_int_eq(conf->upstream.uc_tls, upstream_good[_i].tls);
	ck_assert_int_eq(conf->upstream.uc_port, upstream_good[_i].port);
	ck_assert_str_eq(conf->upstream.uc_host, upstream_good[_i].host);
	ck_assert_str_eq(conf->upstream.uc_auth, upstream_good[_i].auth);
	ck_assert_int_eq(conf->upstream.uc_bridge, 0);
	config_free(conf);
}
END_TEST

/*
 * Values at their limits, and spellings that mean the same value: the
 * bad side of each is in bad[].
 */

enum edge {
	EDGE_PORT,		/* tunnel.ports[0] */
	EDGE_WORKERS,
	EDGE_CONNECTIONS,
	EDGE_HEADER_BYTES,
	EDGE_LEAF,		/* seconds */
	EDGE_TIMEOUT,		/* timeouts.header, ms */
	EDGE_DRAIN_DELAY,	/* timeouts.drain_delay, ms */
	EDGE_METRICS_PORT,
	EDGE_UPSTREAM_PORT,
	EDGE_UPSTREAM_BRIDGE,
	EDGE_PREFIXLEN,		/* allowed_private_cidrs[0] */
	EDGE_USER_LEN,
	EDGE_PROVIDER_LEN
};

#define LEAF(d)		REQ_LISTEN REQ_CA "  leaf_lifetime: " d "\n" \
			REQ_BRIDGE REQ_PROVIDERS
#define PORT(p)		REQ "tunnel: {ports: [" p "]}\n"
#define CIDR(c)		REQ "tunnel: {allowed_private_cidrs: [\"" c "\"]}\n"
#define TIMEOUT(t)	REQ "timeouts: {header: " t "}\n"
#define DRAIN_DELAY(t)	REQ "timeouts: {drain_delay: " t "}\n"
#define METRICS(a)	REQ "metrics: {listen: \"" a "\"}\n"
#define UPSTREAM_URL(u)	REQ "upstream: {url: \"" u "\"}\n"

static const struct {
	const char	*text;
	enum edge	 what;
	long long	 want;
} edges[] = {
	{ PORT("1"), EDGE_PORT, 1 },
	{ PORT("65535"), EDGE_PORT, 65535 },
	{ PORT("\"0080\""), EDGE_PORT, 80 },
	{ PORT("0000080"), EDGE_PORT, 80 },
	{ REQ "workers: 1\n", EDGE_WORKERS, 1 },
	{ REQ "workers: 64\n", EDGE_WORKERS, 64 },
	{ REQ "workers: 064\n", EDGE_WORKERS, 64 },
	{ REQ "limits: {connections: 1}\n", EDGE_CONNECTIONS, 1 },
	{ REQ "limits: {connections: 1000000}\n", EDGE_CONNECTIONS, 1000000 },
	{ REQ "limits: {header_bytes: 1048576}\n", EDGE_HEADER_BYTES,
	    1048576 },
	{ LEAF("1h"), EDGE_LEAF, 3600 },
	{ LEAF("3600s"), EDGE_LEAF, 3600 },
	{ LEAF("3600000ms"), EDGE_LEAF, 3600 },
	{ LEAF("397d"), EDGE_LEAF, 397 * 86400 },
	{ LEAF("9528h"), EDGE_LEAF, 397 * 86400 },
	/* Seconds are whole: the milliseconds below one are dropped. */
	{ LEAF("3600999ms"), EDGE_LEAF, 3600 },
	{ TIMEOUT("1ms"), EDGE_TIMEOUT, 1 },
	{ TIMEOUT("1d"), EDGE_TIMEOUT, 86400000 },
	{ TIMEOUT("1440m"), EDGE_TIMEOUT, 86400000 },
	{ TIMEOUT("86400000ms"), EDGE_TIMEOUT, 86400000 },
	/* No delay at all is the default, and may be written. */
	{ REQ, EDGE_DRAIN_DELAY, 0 },
	{ DRAIN_DELAY("0s"), EDGE_DRAIN_DELAY, 0 },
	{ DRAIN_DELAY("0ms"), EDGE_DRAIN_DELAY, 0 },
	{ DRAIN_DELAY("1ms"), EDGE_DRAIN_DELAY, 1 },
	{ DRAIN_DELAY("5s"), EDGE_DRAIN_DELAY, 5000 },
	{ DRAIN_DELAY("1d"), EDGE_DRAIN_DELAY, 86400000 },
	{ METRICS("127.0.0.1:65535"), EDGE_METRICS_PORT, 65535 },
	{ METRICS("[::1]:1"), EDGE_METRICS_PORT, 1 },
	{ METRICS("127.0.0.1:0009464"), EDGE_METRICS_PORT, 9464 },
	{ UPSTREAM_URL("http://proxy:65535"), EDGE_UPSTREAM_PORT, 65535 },
	{ UPSTREAM_URL("http://proxy:1"), EDGE_UPSTREAM_PORT, 1 },
	{ UPSTREAM_URL("http://proxy:0080"), EDGE_UPSTREAM_PORT, 80 },
	{ UPSTREAM_URL("https://proxy"), EDGE_UPSTREAM_PORT, 443 },
	{ REQ "upstream: {url: \"http://p\", bridge: true}\n",
	    EDGE_UPSTREAM_BRIDGE, 1 },
	{ REQ "upstream: {url: \"http://p\", bridge: false}\n",
	    EDGE_UPSTREAM_BRIDGE, 0 },
	{ CIDR("0.0.0.0/0"), EDGE_PREFIXLEN, 0 },
	{ CIDR("10.1.2.3/32"), EDGE_PREFIXLEN, 32 },
	{ CIDR("10.0.0.0/008"), EDGE_PREFIXLEN, 8 },
	{ CIDR("10.1.2.3"), EDGE_PREFIXLEN, 32 },
	{ CIDR("::/0"), EDGE_PREFIXLEN, 0 },
	{ CIDR("fe80::/10"), EDGE_PREFIXLEN, 10 },
	{ CIDR("::1/128"), EDGE_PREFIXLEN, 128 },
	{ CIDR("::ffff:10.0.0.0/104"), EDGE_PREFIXLEN, 104 },
	{ REQ "user: abcdefghijklmnopqrstuvwxyz01234\n", EDGE_USER_LEN, 31 },
	{ PROVIDERS("  - {name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaa, host: a.example}\n"),
	    EDGE_PROVIDER_LEN, 63 }
};

static long long
edge_value(const struct aib_config *conf, enum edge what)
{
	switch (what) {
	case EDGE_PORT:
		ck_assert_int_eq(conf->nports, 1);
		ck_assert_int_eq(conf->ports[0].pr_hi, conf->ports[0].pr_lo);
		return (conf->ports[0].pr_lo);
	case EDGE_WORKERS:
		return (conf->workers);
	case EDGE_CONNECTIONS:
		return (conf->max_connections);
	case EDGE_HEADER_BYTES:
		return (conf->header_bytes);
	case EDGE_LEAF:
		return (conf->leaf_lifetime);
	case EDGE_TIMEOUT:
		return (conf->timeout_header);
	case EDGE_DRAIN_DELAY:
		return (conf->timeout_drain_delay);
	case EDGE_METRICS_PORT:
		ck_assert_int_eq(conf->metrics, 1);
		return (sa_port(&conf->metrics_ss));
	case EDGE_UPSTREAM_PORT:
		return (conf->upstream.uc_port);
	case EDGE_UPSTREAM_BRIDGE:
		return (conf->upstream.uc_bridge);
	case EDGE_PREFIXLEN:
		return (TAILQ_FIRST(&conf->cidrs)->cc.cc_prefixlen);
	case EDGE_USER_LEN:
		return (strlen(conf->user));
	case EDGE_PROVIDER_LEN:
		return (strlen(TAILQ_FIRST(&conf->providers)->pc.pc_name));
	}
	ck_abort_msg("unknown edge %d", what);
	return (-1);
}

START_TEST(test_edges)
{
	struct aib_config	*conf;
	long long		 got;

	conf = load_good(edges[_i].text);
	got = edge_value(conf, edges[_i].what);
	ck_assert_msg(got == edges[_i].want, "edges[%d]: got %lld, want %lld",
	    _i, got, edges[_i].want);
	config_free(conf);
}
END_TEST

/*
 * Bad files, with every error text in full.
 */

#define BRIDGE_URL(u)	REQ_LISTEN REQ_CA "bridge:\n  url: " u "\n" \
			REQ_PROVIDERS
#define UPSTREAM(u)	REQ "upstream:\n  url: " u "\n"
#define E_URL(m)	{ "x.yaml:7: bridge.url: URL " m, NULL }
#define E_ROUTE		"path already has /api/v2/aibridge, which aibproxyd " \
			    "appends itself: drop it from the URL"
#define E_UP(m)		{ "x.yaml:10: upstream.url: URL " m, NULL }
#define NOTADDR		" is not an IPv4:port or [IPv6]:port address"
#define NOTDUR		" is not a duration (a number and ms, s, m, h or d)"
#define NOTNAME		" is not a valid provider name"

static const struct {
	const char	*name;
	const char	*text;
	const char	*errs[MAX_ERRS];
} bad[] = {
	/* The file as a whole. */
	{ "syntax: unclosed list", REQ "tunnel:\n  ports: [80, 443\n",
	    { "x.yaml:11: syntax error: did not find expected ',' or ']'",
	    NULL } },
	{ "syntax: tab", "user: a\n\tsigner_user: b\n",
	    { "x.yaml:2: syntax error: found a tab character that violates "
	    "indentation", NULL } },
	{ "syntax: undefined alias", REQ "user: *nope\n",
	    { "x.yaml:9: syntax error: found undefined alias", NULL } },
	{ "syntax: bad UTF-8", REQ "user: a\xff\n",
	    { "x.yaml:9: syntax error: invalid leading UTF-8 octet", NULL } },
	{ "empty file", "", { "x.yaml:1: empty configuration", NULL } },
	{ "only comments", "# nothing\n\n",
	    { "x.yaml:1: empty configuration", NULL } },
	{ "only a document marker", "---\n",
	    { "x.yaml:1: empty configuration", NULL } },
	{ "top level is a list", "- listen\n",
	    { "x.yaml:1: the top level must be a mapping", NULL } },
	{ "top level is a scalar", "\nhello\n",
	    { "x.yaml:2: the top level must be a mapping", NULL } },
	{ "two documents", REQ "---\nuser: x\n",
	    { "x.yaml:10: only one YAML document is allowed", NULL } },
	{ "NUL byte", REQ "user: \"a\\0b\"\n",
	    { "x.yaml:9: user: value contains a NUL byte", NULL } },
	{ "list as key", REQ "? [a, b]\n: c\n",
	    { "x.yaml:9: a key must be a word, not a list or a mapping", NULL } },

	/* Unknown and duplicate keys. */
	{ "unknown top-level key", REQ "colour: blue\n",
	    { "x.yaml:9: colour: unknown key", NULL } },
	{ "unknown key at every level",
	    "listen:\n"
	    "  - address: 127.0.0.1:8888\n"
	    "    port: 1\n"
	    "    tls: {cert: @D@/listen.crt, key: @D@/listen.key, chain: x}\n"
	    "ca:\n"
	    "  cert: @D@/ca.crt\n"
	    "  key: @D@/ca.key\n"
	    "  lifetime: 7d\n"
	    "bridge:\n"
	    "  url: https://coder.example.com\n"
	    "  token: x\n"
	    "providers:\n"
	    "  - {name: a, host: a.example, route: b}\n"
	    "auth: {tunnel: open}\n"
	    "tunnel: {port: 80}\n"
	    "upstream: {url: \"http://proxy:3128\", password: x}\n"
	    "timeouts: {read: 1s}\n"
	    "limits: {conns: 1}\n"
	    "metrics: {address: \"127.0.0.1:9464\"}\n"
	    "log: {file: /var/log/x}\n",
	    { "x.yaml:3: listen[0].port: unknown key",
	    "x.yaml:4: listen[0].tls.chain: unknown key",
	    "x.yaml:8: ca.lifetime: unknown key",
	    "x.yaml:11: bridge.token: unknown key",
	    "x.yaml:13: providers[0].route: unknown key",
	    "x.yaml:14: auth.tunnel: unknown key",
	    "x.yaml:15: tunnel.port: unknown key",
	    "x.yaml:16: upstream.password: unknown key",
	    "x.yaml:17: timeouts.read: unknown key",
	    "x.yaml:18: limits.conns: unknown key",
	    "x.yaml:19: metrics.address: unknown key",
	    "x.yaml:20: log.file: unknown key", NULL } },
	{ "unprintable unknown key", REQ "\"a\\tb\": 1\n",
	    { "x.yaml:9: a?b: unknown key", NULL } },
	{ "duplicate top-level key", REQ "user: a\nuser: b\n",
	    { "x.yaml:10: user: duplicate key", NULL } },
	{ "duplicate nested key",
	    REQ "tunnel:\n  ports: [80]\n  ports: [443]\n",
	    { "x.yaml:11: tunnel.ports: duplicate key", NULL } },
	{ "duplicate key in a flow mapping",
	    PROVIDERS("  - {name: a, host: a.example, name: b}\n"),
	    { "x.yaml:9: providers[0].name: duplicate key", NULL } },

	/* The wrong kind of node. */
	{ "mapping expected", REQ "auth: token\n",
	    { "x.yaml:9: auth: expected a mapping", NULL } },
	{ "list expected", "listen: 127.0.0.1:8888\n" REQ_CA REQ_BRIDGE
	    REQ_PROVIDERS,
	    { "x.yaml:1: listen: expected a list", NULL } },
	{ "empty providers", REQ_LISTEN REQ_CA REQ_BRIDGE "providers:\n",
	    { "x.yaml:8: providers: expected a list", NULL } },
	{ "scalar list item", PROVIDERS("  - anthropic\n"),
	    { "x.yaml:9: providers[0]: expected a mapping", NULL } },
	{ "value expected, list given", REQ "user: [a, b]\n",
	    { "x.yaml:9: user: expected a value", NULL } },
	{ "value expected, mapping given", REQ "workers:\n  n: 1\n",
	    { "x.yaml:9: workers: expected a value", NULL } },

	/* Required keys. */
	{ "missing top-level keys", "user: someone\n",
	    { "x.yaml:1: listen: missing", "x.yaml:1: ca: missing",
	    "x.yaml:1: bridge: missing", "x.yaml:1: providers: missing",
	    NULL } },
	{ "missing bridge.url",
	    REQ_LISTEN REQ_CA "bridge:\n  ca: @D@/bridge-ca.crt\n"
	    REQ_PROVIDERS,
	    { "x.yaml:6: bridge.url: missing", NULL } },
	{ "missing ca.key",
	    REQ_LISTEN "ca:\n  cert: @D@/ca.crt\n" REQ_BRIDGE REQ_PROVIDERS,
	    { "x.yaml:3: ca.key: missing", NULL } },
	{ "missing listen address",
	    "listen:\n  - tls: {cert: @D@/listen.crt, key: @D@/listen.key}\n"
	    REQ_CA REQ_BRIDGE REQ_PROVIDERS,
	    { "x.yaml:2: listen[0].address: missing", NULL } },
	{ "missing tls key",
	    "listen:\n  - address: 127.0.0.1:8443\n    tls:\n"
	    "      cert: @D@/listen.crt\n" REQ_CA REQ_BRIDGE REQ_PROVIDERS,
	    { "x.yaml:3: listen[0].tls.key: missing", NULL } },
	{ "missing provider host", PROVIDERS("  - name: anthropic\n"),
	    { "x.yaml:9: providers[0].host: missing", NULL } },
	{ "missing upstream.url", REQ "upstream:\n  bridge: true\n",
	    { "x.yaml:9: upstream.url: missing", NULL } },

	/* listen */
	{ "no listeners", "listen: []\n" REQ_CA REQ_BRIDGE REQ_PROVIDERS,
	    { "x.yaml:1: listen: must not be empty", NULL } },
	{ "listen on a name",
	    "listen:\n  - address: localhost:8888\n" REQ_CA REQ_BRIDGE
	    REQ_PROVIDERS,
	    { "x.yaml:2: listen[0].address: \"localhost:8888\"" NOTADDR,
	    NULL } },
	{ "listen addresses without ports or brackets",
	    "listen:\n  - address: 127.0.0.1:0\n  - address: 127.0.0.1\n"
	    "  - address: ::1:8888\n  - address: \"[::1]\"\n"
	    "  - address: 127.0.0.1:http\n" REQ_CA REQ_BRIDGE REQ_PROVIDERS,
	    { "x.yaml:2: listen[0].address: \"127.0.0.1:0\"" NOTADDR,
	    "x.yaml:3: listen[1].address: \"127.0.0.1\"" NOTADDR,
	    "x.yaml:4: listen[2].address: \"::1:8888\"" NOTADDR,
	    "x.yaml:5: listen[3].address: \"[::1]\"" NOTADDR,
	    "x.yaml:6: listen[4].address: \"127.0.0.1:http\"" NOTADDR,
	    NULL } },
	{ "proxy_from without proxy_protocol",
	    "listen:\n  - address: 127.0.0.1:8888\n"
	    "    proxy_from: [10.1.0.0/24]\n"
	    "  - address: 127.0.0.1:8889\n    proxy_protocol: false\n"
	    "    proxy_from:\n      - ::1\n" REQ_CA REQ_BRIDGE REQ_PROVIDERS,
	    { "x.yaml:3: listen[0].proxy_from: needs proxy_protocol: true",
	    "x.yaml:6: listen[1].proxy_from: needs proxy_protocol: true",
	    NULL } },
	{ "proxy_protocol and proxy_from values",
	    "listen:\n  - address: 127.0.0.1:8888\n"
	    "    proxy_protocol: yes\n"
	    "    proxy_from: [10.1.0.1/24, 10.2.0.0/33, balancer, []]\n"
	    "  - address: 127.0.0.1:8889\n    proxy_protocol: true\n"
	    "    proxy_from: []\n"
	    "  - address: 127.0.0.1:8890\n    proxy_protocol: true\n"
	    "    proxy_from: 10.0.0.0/8\n" REQ_CA REQ_BRIDGE REQ_PROVIDERS,
	    { "x.yaml:3: listen[0].proxy_protocol: \"yes\" is not true or "
	    "false",
	    "x.yaml:4: listen[0].proxy_from[0]: \"10.1.0.1/24\" has host "
	    "bits set",
	    "x.yaml:4: listen[0].proxy_from[1]: \"10.2.0.0/33\" has a bad "
	    "prefix length",
	    "x.yaml:4: listen[0].proxy_from[2]: \"balancer\" is not an "
	    "address or a CIDR range",
	    "x.yaml:4: listen[0].proxy_from[3]: expected a value",
	    "x.yaml:7: listen[1].proxy_from: must not be empty",
	    "x.yaml:10: listen[2].proxy_from: expected a list",
	    NULL } },
	{ "listen twice on one address",
	    "listen:\n  - address: \"[::1]:80\"\n  - address: 127.0.0.1:80\n"
	    "  - address: \"[0::1]:80\"\n" REQ_CA REQ_BRIDGE REQ_PROVIDERS,
	    { "x.yaml:4: listen[2].address: [0::1]:80 is already used by "
	    "listen[0] on line 2", NULL } },

	/* ca and files */
	{ "missing file",
	    REQ_LISTEN "ca:\n  cert: @D@/ca.crt\n  key: /nonexistent/ca.key\n"
	    REQ_BRIDGE REQ_PROVIDERS,
	    { "x.yaml:5: ca.key: /nonexistent/ca.key: No such file or "
	    "directory", NULL } },
	{ "directory as a file",
	    REQ_LISTEN "ca:\n  cert: @D@/adir\n  key: @D@/ca.key\n"
	    REQ_BRIDGE REQ_PROVIDERS,
	    { "x.yaml:4: ca.cert: @D@/adir: not a regular file", NULL } },
	{ "relative file",
	    REQ_LISTEN "ca:\n  cert: ca.crt\n  key: @D@/ca.key\n"
	    REQ_BRIDGE REQ_PROVIDERS,
	    { "x.yaml:4: ca.cert: \"ca.crt\" is not an absolute path",
	    NULL } },
	{ "missing files everywhere",
	    "listen:\n  - address: 127.0.0.1:8443\n"
	    "    tls: {cert: @D@/no.crt, key: @D@/no.key}\n"
	    REQ_CA "bridge:\n  url: https://coder.example.com\n"
	    "  ca: @D@/no-bridge.crt\n" REQ_PROVIDERS
	    "upstream:\n  url: http://proxy:3128\n  ca: @D@/no-up.crt\n",
	    { "x.yaml:3: listen[0].tls.cert: @D@/no.crt: No such file or "
	    "directory",
	    "x.yaml:3: listen[0].tls.key: @D@/no.key: No such file or "
	    "directory",
	    "x.yaml:9: bridge.ca: @D@/no-bridge.crt: No such file or "
	    "directory",
	    "x.yaml:13: upstream.ca: @D@/no-up.crt: No such file or "
	    "directory", NULL } },
	{ "leaf_lifetime not a duration",
	    REQ_LISTEN REQ_CA "  leaf_lifetime: 7\n" REQ_BRIDGE REQ_PROVIDERS,
	    { "x.yaml:6: ca.leaf_lifetime: \"7\"" NOTDUR, NULL } },
	{ "leaf_lifetime too short",
	    REQ_LISTEN REQ_CA "  leaf_lifetime: 59m\n" REQ_BRIDGE
	    REQ_PROVIDERS,
	    { "x.yaml:6: ca.leaf_lifetime: \"59m\" is out of range "
	    "(1h..397d)", NULL } },
	{ "leaf_lifetime too long",
	    REQ_LISTEN REQ_CA "  leaf_lifetime: 398d\n" REQ_BRIDGE
	    REQ_PROVIDERS,
	    { "x.yaml:6: ca.leaf_lifetime: \"398d\" is out of range "
	    "(1h..397d)", NULL } },

	/* bridge.url */
	{ "bridge: ftp", BRIDGE_URL("ftp://coder.example.com"),
	    E_URL("must begin with http:// or https://") },
	{ "bridge: no scheme", BRIDGE_URL("coder.example.com"),
	    E_URL("must begin with http:// or https://") },
	{ "bridge: credentials",
	    BRIDGE_URL("https://admin:hunter2@coder.example.com"),
	    E_URL("must not have a user name or password") },
	{ "bridge: query", BRIDGE_URL("https://coder.example.com/?a=b"),
	    E_URL("must not have a query") },
	{ "bridge: fragment", BRIDGE_URL("https://coder.example.com/#top"),
	    E_URL("must not have a fragment") },
	{ "bridge: port 0", BRIDGE_URL("https://coder.example.com:0"),
	    E_URL("has an invalid port") },
	{ "bridge: port too big",
	    BRIDGE_URL("https://coder.example.com:65536"),
	    E_URL("has an invalid port") },
	{ "bridge: empty port", BRIDGE_URL("https://coder.example.com:/"),
	    E_URL("has an invalid port") },
	{ "bridge: no host", BRIDGE_URL("https:///api"),
	    E_URL("has no host") },
	{ "bridge: unclosed IPv6", BRIDGE_URL("\"https://[::1\""),
	    E_URL("has an invalid IPv6 address") },
	{ "bridge: IPv6 without brackets", BRIDGE_URL("https://::1"),
	    E_URL("has no host") },
	{ "bridge: bad IPv6", BRIDGE_URL("\"https://[::g]:443\""),
	    E_URL("has an invalid IPv6 address") },
	{ "bridge: bad host", BRIDGE_URL("https://coder_example.com"),
	    E_URL("has an invalid host name") },
	{ "bridge: bad IPv4", BRIDGE_URL("https://192.0.2.300"),
	    E_URL("has an invalid host name") },
	/* The proxy appends the route: in the prefix it would double. */
	{ "bridge: ends in the route",
	    BRIDGE_URL("https://coder.example.com/api/v2/aibridge"),
	    E_URL(E_ROUTE) },
	{ "bridge: ends in the route and /",
	    BRIDGE_URL("https://coder.example.com/coder/api/v2/aibridge/"),
	    E_URL(E_ROUTE) },
	{ "bridge: a provider's route",
	    BRIDGE_URL("https://coder.example.com/api/v2/aibridge/openai"),
	    E_URL(E_ROUTE) },
	{ "bridge: dot segment",
	    BRIDGE_URL("https://coder.example.com/a/../b"),
	    E_URL("has an invalid path") },
	{ "bridge: empty segment",
	    BRIDGE_URL("https://coder.example.com/a//b"),
	    E_URL("has an invalid path") },
	{ "bridge: bad escape", BRIDGE_URL("https://coder.example.com/a%2"),
	    E_URL("has an invalid path") },
	{ "bridge: space", BRIDGE_URL("\"https://coder.example.com/a b\""),
	    E_URL("contains a space or a character that must be "
	    "percent-encoded") },

	/* providers */
	{ "provider name with capitals",
	    PROVIDERS("  - {name: Anthropic, host: api.anthropic.com}\n"),
	    { "x.yaml:9: providers[0].name: \"Anthropic\"" NOTNAME, NULL } },
	{ "provider names with bad hyphens or too long",
	    PROVIDERS("  - {name: a--b, host: a.example}\n"
	    "  - {name: -a, host: b.example}\n"
	    "  - {name: a-, host: c.example}\n"
	    "  - {name: \"\", host: d.example}\n"
	    "  - {name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaa, host: e.example}\n"
	    "  - {name: a_b, host: f.example}\n"),
	    { "x.yaml:9: providers[0].name: \"a--b\"" NOTNAME,
	    "x.yaml:10: providers[1].name: \"-a\"" NOTNAME,
	    "x.yaml:11: providers[2].name: \"a-\"" NOTNAME,
	    "x.yaml:12: providers[3].name: \"\"" NOTNAME,
	    "x.yaml:13: providers[4].name: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"" NOTNAME,
	    "x.yaml:14: providers[5].name: \"a_b\"" NOTNAME, NULL } },
	{ "provider host is an IP address",
	    PROVIDERS("  - {name: a, host: 10.0.0.1}\n"
	    "  - {name: b, host: \"[::1]\"}\n  - {name: c, host: \"::1\"}\n"),
	    { "x.yaml:9: providers[0].host: \"10.0.0.1\" is an IP address; "
	    "providers are intercepted by host name",
	    "x.yaml:10: providers[1].host: \"[::1]\" is an IP address; "
	    "providers are intercepted by host name",
	    "x.yaml:11: providers[2].host: \"::1\" is an IP address; "
	    "providers are intercepted by host name", NULL } },
	{ "provider host is not a name",
	    PROVIDERS("  - {name: a, host: api_x.example}\n"
	    "  - {name: b, host: \"\"}\n"),
	    { "x.yaml:9: providers[0].host: \"api_x.example\" is not a valid "
	    "host name",
	    "x.yaml:10: providers[1].host: \"\" is not a valid host name",
	    NULL } },
	{ "duplicate provider name",
	    PROVIDERS("  - {name: openai, host: api.openai.com}\n"
	    "  - {name: openai, host: api2.openai.com}\n"),
	    { "x.yaml:10: providers[1].name: \"openai\" is already used by "
	    "providers[0] on line 9", NULL } },
	{ "duplicate provider host",
	    PROVIDERS("  - {name: a, host: api.anthropic.com}\n"
	    "  - {name: openai, host: api.openai.com}\n"
	    "  - {name: b, host: API.OpenAI.com.}\n"),
	    { "x.yaml:11: providers[2].host: \"api.openai.com\" is already "
	    "used by providers[1] (openai) on line 10", NULL } },
	{ "provider type",
	    PROVIDERS("  - {name: a, host: a.example, type: bridge}\n"),
	    { "x.yaml:9: providers[0].type: \"bridge\" is not a provider "
	    "type (generic or copilot)", NULL } },

	/* users, chroot, workers */
	{ "user name with a space", REQ "user: bad user\n",
	    { "x.yaml:9: user: \"bad user\" is not a valid user name",
	    NULL } },
	{ "user names too long or empty",
	    REQ "user: abcdefghijklmnopqrstuvwxyz012345\nsigner_user: \"\"\n",
	    { "x.yaml:9: user: \"abcdefghijklmnopqrstuvwxyz012345\" is not a "
	    "valid user name",
	    "x.yaml:10: signer_user: \"\" is not a valid user name", NULL } },
	{ "signer_user is user", REQ "user: same\nsigner_user: same\n",
	    { "x.yaml:10: signer_user: \"same\" must differ from user",
	    NULL } },
	{ "user is the default signer_user", REQ "user: _aibsignerd\n",
	    { "x.yaml:9: user: \"_aibsignerd\" must differ from signer_user",
	    NULL } },
	{ "signer_user is the default user", REQ "signer_user: _aibproxyd\n",
	    { "x.yaml:9: signer_user: \"_aibproxyd\" must differ from user",
	    NULL } },
	{ "relative chroot", REQ "chroot: var/empty\n",
	    { "x.yaml:9: chroot: \"var/empty\" is not an absolute path",
	    NULL } },
	{ "workers 0", REQ "workers: 0\n",
	    { "x.yaml:9: workers: \"0\" is out of range (1..64)", NULL } },
	{ "workers 65", REQ "workers: 65\n",
	    { "x.yaml:9: workers: \"65\" is out of range (1..64)", NULL } },
	{ "workers -1", REQ "workers: -1\n",
	    { "x.yaml:9: workers: \"-1\" is out of range (1..64)", NULL } },
	{ "workers lots", REQ "workers: lots\n",
	    { "x.yaml:9: workers: \"lots\" is not a number", NULL } },

	/* auth, tunnel */
	{ "auth.tunnels", REQ "auth:\n  tunnels: closed\n",
	    { "x.yaml:10: auth.tunnels: \"closed\" is not open or token",
	    NULL } },
	{ "auth.validate values",
	    REQ "auth:\n  validate:\n    path: users/me\n    ttl: 0s\n"
	    "    negative_ttl: 2d\n    max_entries: 0\n    bogus: 1\n"
	    "  failures: { limit: 0, window: 500ms }\n",
	    { "x.yaml:11: auth.validate.path: \"users/me\" is not an absolute "
	    "path",
	    "x.yaml:12: auth.validate.ttl: \"0s\" is out of range (at least "
	    "1s, at most 1d)",
	    "x.yaml:13: auth.validate.negative_ttl: \"2d\" is out of range "
	    "(at least 1s, at most 1d)",
	    "x.yaml:14: auth.validate.max_entries: \"0\" is out of range "
	    "(1..10000000)",
	    "x.yaml:15: auth.validate.bogus: unknown key",
	    "x.yaml:16: auth.failures.limit: \"0\" is out of range "
	    "(1..1000000)",
	    "x.yaml:16: auth.failures.window: \"500ms\" is out of range "
	    "(at least 1s, at most 1d)", NULL } },
	{ "auth.validate.path with a space",
	    REQ "auth:\n  validate: { path: \"/api/v2/users me\" }\n",
	    { "x.yaml:10: auth.validate.path: \"/api/v2/users me\" has a byte "
	    "a path cannot hold as it is", NULL } },
	{ "port by name", REQ "tunnel:\n  ports: [80, http]\n",
	    { "x.yaml:10: tunnel.ports[1]: \"http\" is not a port", NULL } },
	{ "ports out of range and twice",
	    REQ "tunnel:\n  ports: [0, 65536, 443, \" 80\", 443]\n",
	    { "x.yaml:10: tunnel.ports[0]: \"0\" is not a port",
	    "x.yaml:10: tunnel.ports[1]: \"65536\" is not a port",
	    "x.yaml:10: tunnel.ports[3]: \" 80\" is not a port",
	    "x.yaml:10: tunnel.ports[4]: 443 is listed twice", NULL } },
	{ "no ports", REQ "tunnel:\n  ports: []\n",
	    { "x.yaml:10: tunnel.ports: must not be empty", NULL } },
	{ "ports not a list", REQ "tunnel:\n  ports: 443\n",
	    { "x.yaml:10: tunnel.ports: expected a list", NULL } },
	{ "bad CIDRs",
	    REQ "tunnel:\n  allowed_private_cidrs:\n"
	    "    - 10.0.0.0/33\n"
	    "    - 10.0.0.1/8\n"
	    "    - 192.168.1.0/23\n"
	    "    - fd00::1/64\n"
	    "    - banana\n"
	    "    - 10.0.0.0/\n"
	    "    - \"::/129\"\n"
	    "    - 10.0.0.0/-8\n"
	    "    - 10.0.0.0/08x\n"
	    "    - [10.0.0.0/8]\n",
	    { "x.yaml:11: tunnel.allowed_private_cidrs[0]: \"10.0.0.0/33\" "
	    "has a bad prefix length",
	    "x.yaml:12: tunnel.allowed_private_cidrs[1]: \"10.0.0.1/8\" has "
	    "host bits set",
	    "x.yaml:13: tunnel.allowed_private_cidrs[2]: \"192.168.1.0/23\" "
	    "has host bits set",
	    "x.yaml:14: tunnel.allowed_private_cidrs[3]: \"fd00::1/64\" has "
	    "host bits set",
	    "x.yaml:15: tunnel.allowed_private_cidrs[4]: \"banana\" is not an "
	    "address or a CIDR range",
	    "x.yaml:16: tunnel.allowed_private_cidrs[5]: \"10.0.0.0/\" has a "
	    "bad prefix length",
	    "x.yaml:17: tunnel.allowed_private_cidrs[6]: \"::/129\" has a bad "
	    "prefix length",
	    "x.yaml:18: tunnel.allowed_private_cidrs[7]: \"10.0.0.0/-8\" has "
	    "a bad prefix length",
	    "x.yaml:19: tunnel.allowed_private_cidrs[8]: \"10.0.0.0/08x\" has "
	    "a bad prefix length",
	    "x.yaml:20: tunnel.allowed_private_cidrs[9]: expected a value",
	    NULL } },

	/* upstream: the password never appears in a message. */
	{ "upstream: empty credentials", UPSTREAM("http://:@proxy:3128"),
	    E_UP("has an empty user name and password") },
	{ "upstream: empty user info", UPSTREAM("http://@proxy:3128"),
	    E_UP("has an empty user name and password") },
	{ "upstream: bad escape", UPSTREAM("http://user:hunter2%zz@proxy"),
	    E_UP("has a bad percent-escape in its user name or password") },
	{ "upstream: cut escape", UPSTREAM("http://user:hunter2%4@proxy"),
	    E_UP("has a bad percent-escape in its user name or password") },
	{ "upstream: escaped NUL", UPSTREAM("http://user%00:hunter2@proxy"),
	    E_UP("has a bad percent-escape in its user name or password") },
	{ "upstream: path", UPSTREAM("http://proxy:3128/path"),
	    E_UP("must not have a path") },
	{ "upstream: socks", UPSTREAM("socks5://proxy:1080"),
	    E_UP("must begin with http:// or https://") },
	{ "upstream: password cut at a slash",
	    UPSTREAM("http://user:hun/ter2@proxy"),
	    E_UP("has an invalid port") },
	{ "upstream: no host", UPSTREAM("http://user:hunter2@"),
	    E_UP("has no host") },
	{ "upstream: query", UPSTREAM("\"http://proxy:3128?x=hunter2\""),
	    E_UP("must not have a query") },
	{ "upstream: bridge flag", REQ "upstream:\n  url: http://proxy\n"
	    "  bridge: yes\n",
	    { "x.yaml:11: upstream.bridge: \"yes\" is not true or false",
	    NULL } },

	/* timeouts, limits */
	{ "timeouts out of range",
	    REQ "timeouts:\n  header: 0s\n  idle: 2d\n  shutdown: 86400001ms\n",
	    { "x.yaml:10: timeouts.header: \"0s\" is out of range (more than "
	    "0, at most 1d)",
	    "x.yaml:11: timeouts.idle: \"2d\" is out of range (more than 0, "
	    "at most 1d)",
	    "x.yaml:12: timeouts.shutdown: \"86400001ms\" is out of range "
	    "(more than 0, at most 1d)", NULL } },
	{ "timeouts.drain_delay out of range",
	    REQ "timeouts:\n  drain_delay: 86400001ms\n",
	    { "x.yaml:10: timeouts.drain_delay: \"86400001ms\" is out of "
	    "range (at most 1d)", NULL } },
	{ "timeouts.drain_delay not a duration",
	    REQ "timeouts:\n  drain_delay: -1s\n",
	    { "x.yaml:10: timeouts.drain_delay: \"-1s\"" NOTDUR, NULL } },
	{ "timeouts not durations",
	    REQ "timeouts:\n  connect: 10\n  handshake: 1.5s\n"
	    "  header: \"10 s\"\n  idle: 5M\n",
	    { "x.yaml:10: timeouts.connect: \"10\"" NOTDUR,
	    "x.yaml:11: timeouts.handshake: \"1.5s\"" NOTDUR,
	    "x.yaml:12: timeouts.header: \"10 s\"" NOTDUR,
	    "x.yaml:13: timeouts.idle: \"5M\"" NOTDUR, NULL } },
	{ "limits",
	    REQ "limits:\n  connections: 0\n  header_bytes: 1023\n",
	    { "x.yaml:10: limits.connections: \"0\" is out of range "
	    "(1..1000000)",
	    "x.yaml:11: limits.header_bytes: \"1023\" is out of range "
	    "(1024..1048576)", NULL } },
	{ "limits not numbers",
	    REQ "limits:\n  connections: 1e6\n  header_bytes: 64k\n",
	    { "x.yaml:10: limits.connections: \"1e6\" is not a number",
	    "x.yaml:11: limits.header_bytes: \"64k\" is not a number",
	    NULL } },

	/* metrics, log */
	{ "metrics on a name", REQ "metrics:\n  listen: localhost:9464\n",
	    { "x.yaml:10: metrics.listen: \"localhost:9464\"" NOTADDR,
	    NULL } },
	{ "metrics on a listener", REQ "metrics:\n  listen: 127.0.0.1:8888\n",
	    { "x.yaml:10: metrics.listen: 127.0.0.1:8888 is already used by "
	    "listen[0] on line 2", NULL } },
	{ "log level", REQ "log:\n  level: loud\n",
	    { "x.yaml:10: log.level: \"loud\" is not a log level (error, "
	    "warning, info or debug)", NULL } },
	{ "log format", REQ "log:\n  format: JSON\n",
	    { "x.yaml:10: log.format: \"JSON\" is not a log format (text or "
	    "json)", NULL } },
	{ "log format list", REQ "log:\n  format: [json]\n",
	    { "x.yaml:10: log.format: expected a value", NULL } },
	{ "relative dump_dir", REQ "log:\n  dump_dir: dump\n",
	    { "x.yaml:10: log.dump_dir: \"dump\" is not an absolute path",
	    NULL } },

	/* Several errors come back in line order. */
	{ "two errors", REQ "workers: 0\nlog: {level: loud}\n",
	    { "x.yaml:9: workers: \"0\" is out of range (1..64)",
	    "x.yaml:10: log.level: \"loud\" is not a log level (error, "
	    "warning, info or debug)", NULL } },
	{ "errors sorted by line", "workers: 0\nuser: bad user\n",
	    { "x.yaml:1: workers: \"0\" is out of range (1..64)",
	    "x.yaml:1: listen: missing", "x.yaml:1: ca: missing",
	    "x.yaml:1: bridge: missing", "x.yaml:1: providers: missing",
	    "x.yaml:2: user: \"bad user\" is not a valid user name",
	    NULL } },
	{ "long value cut short",
	    REQ "log:\n  level: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    { "x.yaml:10: log.level: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is not a "
	    "log level (error, warning, info or debug)", NULL } },

	/* Values just past their limits (the good side is in edges[]). */
	{ "unprintable value quoted", REQ "user: \"a\\eb\"\n",
	    { "x.yaml:9: user: \"a?b\" is not a valid user name", NULL } },
	{ "long key cut short",
	    REQ "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk: 1\n",
	    { "x.yaml:9: kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...: "
	    "unknown key", NULL } },
	{ "empty required file",
	    REQ_LISTEN "ca:\n  cert:\n  key: @D@/ca.key\n" REQ_BRIDGE
	    REQ_PROVIDERS,
	    { "x.yaml:4: ca.cert: \"\" is not an absolute path", NULL } },
	{ "ports: eight digits, signs",
	    REQ "tunnel:\n  ports: [00000080, +80, -80, \"\"]\n",
	    { "x.yaml:10: tunnel.ports[0]: \"00000080\" is not a port",
	    "x.yaml:10: tunnel.ports[1]: \"+80\" is not a port",
	    "x.yaml:10: tunnel.ports[2]: \"-80\" is not a port",
	    "x.yaml:10: tunnel.ports[3]: \"\" is not a port", NULL } },
	{ "listen ports past the limits",
	    "listen:\n  - address: 127.0.0.1:65536\n"
	    "  - address: 127.0.0.1:00000080\n  - address: \"[::1]:\"\n"
	    "  - address: \"[::1]80\"\n  - address: \"[::1\"\n"
	    REQ_CA REQ_BRIDGE REQ_PROVIDERS,
	    { "x.yaml:2: listen[0].address: \"127.0.0.1:65536\"" NOTADDR,
	    "x.yaml:3: listen[1].address: \"127.0.0.1:00000080\"" NOTADDR,
	    "x.yaml:4: listen[2].address: \"[::1]:\"" NOTADDR,
	    "x.yaml:5: listen[3].address: \"[::1]80\"" NOTADDR,
	    "x.yaml:6: listen[4].address: \"[::1\"" NOTADDR, NULL } },
	{ "metrics on a listener written otherwise",
	    REQ "metrics:\n  listen: 127.0.0.1:08888\n",
	    { "x.yaml:10: metrics.listen: 127.0.0.1:08888 is already used by "
	    "listen[0] on line 2", NULL } },
	{ "metrics on a listener after a bad one",
	    "listen:\n  - address: nowhere\n  - address: \"[::]:9000\"\n"
	    REQ_CA REQ_BRIDGE REQ_PROVIDERS
	    "metrics:\n  listen: \"[0:0::0]:9000\"\n",
	    { "x.yaml:2: listen[0].address: \"nowhere\"" NOTADDR,
	    "x.yaml:11: metrics.listen: [0:0::0]:9000 is already used by "
	    "listen[1] on line 3", NULL } },
	{ "CIDRs past the limits",
	    REQ "tunnel:\n  allowed_private_cidrs:\n"
	    "    - 10.0.0.0/0008\n"
	    "    - 0.0.0.1/0\n"
	    "    - ::1/127\n"
	    "    - 10.0.0.0/+8\n"
	    "    - \"10.0.0.0/ 8\"\n"
	    "    - 1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:"
	    "dddd/8\n",
	    { "x.yaml:11: tunnel.allowed_private_cidrs[0]: \"10.0.0.0/0008\" "
	    "has a bad prefix length",
	    "x.yaml:12: tunnel.allowed_private_cidrs[1]: \"0.0.0.1/0\" has "
	    "host bits set",
	    "x.yaml:13: tunnel.allowed_private_cidrs[2]: \"::1/127\" has "
	    "host bits set",
	    "x.yaml:14: tunnel.allowed_private_cidrs[3]: \"10.0.0.0/+8\" has "
	    "a bad prefix length",
	    "x.yaml:15: tunnel.allowed_private_cidrs[4]: \"10.0.0.0/ 8\" has "
	    "a bad prefix length",
	    "x.yaml:16: tunnel.allowed_private_cidrs[5]: \"1111:2222:3333:"
	    "4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd/8\" is not an "
	    "address or a CIDR range", NULL } },
	{ "durations past the limits",
	    REQ_LISTEN REQ_CA "  leaf_lifetime: 3599s\n" REQ_BRIDGE
	    REQ_PROVIDERS "timeouts:\n  header: 0ms\n  idle: 1441m\n"
	    "  connect: 25h\n",
	    { "x.yaml:6: ca.leaf_lifetime: \"3599s\" is out of range "
	    "(1h..397d)",
	    "x.yaml:11: timeouts.header: \"0ms\" is out of range (more than "
	    "0, at most 1d)",
	    "x.yaml:12: timeouts.idle: \"1441m\" is out of range (more than "
	    "0, at most 1d)",
	    "x.yaml:13: timeouts.connect: \"25h\" is out of range (more than "
	    "0, at most 1d)", NULL } },
	{ "leaf_lifetime a day too long in hours",
	    REQ_LISTEN REQ_CA "  leaf_lifetime: 9529h\n" REQ_BRIDGE
	    REQ_PROVIDERS,
	    { "x.yaml:6: ca.leaf_lifetime: \"9529h\" is out of range "
	    "(1h..397d)", NULL } },
	{ "limits one past",
	    REQ "limits:\n  connections: 1000001\n  header_bytes: 1048577\n",
	    { "x.yaml:10: limits.connections: \"1000001\" is out of range "
	    "(1..1000000)",
	    "x.yaml:11: limits.header_bytes: \"1048577\" is out of range "
	    "(1024..1048576)", NULL } },
	{ "workers: sign, empty, minus zero", REQ "workers: +1\n",
	    { "x.yaml:9: workers: \"+1\" is not a number", NULL } },
	{ "workers empty", REQ "workers: \"\"\n",
	    { "x.yaml:9: workers: \"\" is not a number", NULL } },
	{ "workers minus zero", REQ "workers: -0\n",
	    { "x.yaml:9: workers: \"-0\" is out of range (1..64)", NULL } },
	{ "workers Auto", REQ "workers: Auto\n",
	    { "x.yaml:9: workers: \"Auto\" is not a number", NULL } },
	{ "booleans are lower case",
	    REQ "upstream:\n  url: http://proxy\n  bridge: True\n",
	    { "x.yaml:11: upstream.bridge: \"True\" is not true or false",
	    NULL } },
	{ "upstream: port 0", UPSTREAM("http://proxy:0"),
	    E_UP("has an invalid port") },
	{ "upstream: port 65536", UPSTREAM("http://proxy:65536"),
	    E_UP("has an invalid port") },
	{ "upstream: empty port", UPSTREAM("\"http://proxy:\""),
	    E_UP("has an invalid port") },
	{ "upstream: unclosed IPv6", UPSTREAM("\"http://[::1\""),
	    E_UP("has an invalid IPv6 address") },
	{ "upstream: junk after IPv6", UPSTREAM("\"http://[::1]x\""),
	    E_UP("has an invalid IPv6 address") },
	{ "upstream: not IPv6", UPSTREAM("\"http://[fe80::zz]\""),
	    E_UP("has an invalid IPv6 address") },
	{ "upstream: short IPv4", UPSTREAM("http://1.2.3"),
	    E_UP("has an invalid host name") },
	{ "upstream: password on a bad port",
	    UPSTREAM("http://user:hunter2@proxy:http"),
	    E_UP("has an invalid port") }
};

START_TEST(test_bad)
{
	struct config_errors	 errs;
	struct aib_config	*conf;

	conf = load(bad[_i].text, &errs);
	check_errors(bad[_i].name, conf, &errs, bad[_i].errs);
}
END_TEST

/* Lists too long to write out: built here. */
static void
check_generated(const char *head, const char *fmt, int n, const char *tail,
    const char *want)
{
	struct config_errors	 errs;
	struct aib_config	*conf;
	const char		*wants[2] = { want, NULL };
	char			*text;
	size_t			 len = 0, cap = 65536;
	int			 i;

	text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	len = strlcpy(text, head, cap);
	for (i = 1; i <= n; i++)
		len += snprintf(text + len, cap - len, fmt, i, i);
	strlcat(text, tail, cap);
	conf = load(text, &errs);
	check_errors(head, conf, &errs, wants);
	free(text);
}

START_TEST(test_too_many)
{
	check_generated("listen:\n", "  - address: 127.0.0.1:%d\n", 17,
	    REQ_CA REQ_BRIDGE REQ_PROVIDERS,
	    "x.yaml:18: listen: too many listeners (at most 16)");
	check_generated(REQ_LISTEN REQ_CA REQ_BRIDGE "providers:\n",
	    "  - {name: p%d, host: p%d.example}\n", 65, "",
	    "x.yaml:73: providers: too many providers (at most 64)");
	check_generated(REQ "tunnel:\n  ports:\n", "    - %d\n", 65, "",
	    "x.yaml:75: tunnel.ports: too many ports (at most 64)");
	check_generated(REQ "tunnel:\n  allowed_private_cidrs:\n",
	    "    - \"fd00::%x:%x\"\n", 257, "",
	    "x.yaml:267: tunnel.allowed_private_cidrs: too many ranges "
	    "(at most 256)");
}
END_TEST

/*
 * Values one byte too long for where they go: head, then n times c,
 * then tail.
 */
static void
check_long(const char *head, int c, size_t n, const char *tail,
    const char *want)
{
	struct config_errors	 errs;
	struct aib_config	*conf;
	const char		*wants[2] = { want, NULL };
	char			*text;
	size_t			 len;

	len = strlen(head) + n + strlen(tail) + 1;
	text = malloc(len);
	ck_assert_ptr_nonnull(text);
	(void)strlcpy(text, head, len);
	memset(text + strlen(head), c, n);
	text[strlen(head) + n] = '\0';
	(void)strlcat(text, tail, len);
	conf = load(text, &errs);
	check_errors(head, conf, &errs, wants);
	free(text);
}

#define BRIDGE_URL_PATH	REQ_LISTEN REQ_CA \
			"bridge:\n  url: https://coder.example.com/"

START_TEST(test_too_long)
{
	check_long(REQ "chroot: /", 'a', PATH_MAX - 1, "\n",
	    "x.yaml:9: chroot: path too long (at most 4095 bytes)");
	check_long(REQ "log: {dump_dir: /", 'a', AIB_PATH_MAX - 1, "}\n",
	    "x.yaml:9: log.dump_dir: path too long (at most 1023 bytes)");
	check_long(REQ_LISTEN "ca:\n  cert: /", 'a', PATH_MAX - 1,
	    "\n  key: @D@/ca.key\n" REQ_BRIDGE REQ_PROVIDERS,
	    "x.yaml:4: ca.cert: path too long (at most 4095 bytes)");
	/* The path fits bc_path; the whole URL does not fit bridge_url. */
	check_long(BRIDGE_URL_PATH, 'a', AIB_PATH_MAX - 26, "\n" REQ_PROVIDERS,
	    "x.yaml:7: bridge.url: URL is too long");
	check_long(BRIDGE_URL_PATH, 'a', AIB_PATH_MAX, "\n" REQ_PROVIDERS,
	    "x.yaml:7: bridge.url: URL has an invalid path");
	/* Too long is found before the credentials are decoded. */
	check_long(REQ "upstream:\n  url: http://", 'u', AIB_PATH_MAX, "@p\n",
	    "x.yaml:10: upstream.url: URL is too long");
}
END_TEST

/* Decoded credentials fill "Basic " + base64 in AIB_CRED_MAX bytes. */
START_TEST(test_long_credentials)
{
	struct config_errors	 errs;
	struct aib_config	*conf;
	const char		*wants[] = {
		"x.yaml:10: upstream.url: URL has a user name and password "
		"that are too long", NULL
	};
	char			 text[2048], user[301], pass[80];

	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	/* 300 + ':' + 77 = 378 bytes: 504 in base64, 511 with "Basic ". */
	memset(pass, 'p', 77);
	pass[77] = '\0';
	snprintf(text, sizeof(text), REQ "upstream:\n  url: http://%s:%s@p\n",
	    user, pass);
	conf = load(text, &errs);
	ck_assert_ptr_nonnull(conf);
	ck_assert_uint_eq(strlen(conf->upstream.uc_auth), 510);
	ck_assert_str_eq(conf->upstream.uc_auth + 500, "BwcHBwcHBw");
	config_free(conf);

	strlcat(pass, "p", sizeof(pass));
	snprintf(text, sizeof(text), REQ "upstream:\n  url: http://%s:%s@p\n",
	    user, pass);
	conf = load(text, &errs);
	check_errors("long credentials", conf, &errs, wants);
}
END_TEST

/* At most 20 errors, the first ones. */
START_TEST(test_error_cap)
{
	struct config_errors	 errs;
	struct config_error	*e;
	struct aib_config	*conf;
	char			 text[4096], want[64];
	size_t			 len;
	int			 i;

	len = strlcpy(text, REQ, sizeof(text));
	for (i = 0; i < 30; i++)
		len += snprintf(text + len, sizeof(text) - len, "k%d: 1\n", i);
	conf = load(text, &errs);
	ck_assert_ptr_null(conf);
	i = 0;
	TAILQ_FOREACH(e, &errs, entry) {
		snprintf(want, sizeof(want), "x.yaml:%d: k%d: unknown key",
		    9 + i, i);
		ck_assert_str_eq(e->msg, want);
		i++;
	}
	ck_assert_int_eq(i, 20);
	config_errors_clear(&errs);
}
END_TEST

/*
 * Durations.
 */

static const struct {
	const char	*text;
	int64_t		 ms;
} durations[] = {
	{ "250ms", 250 },
	{ "0ms", 0 },
	{ "10s", 10000 },
	{ "0s", 0 },
	{ "5m", 300000 },
	{ "2h", 7200000 },
	{ "7d", 604800000 },
	{ "007s", 7000 },
	{ "106751991167d", 106751991167LL * 86400000 },
	{ "106751991168d", -1 },
	{ "9223372036854775807ms", INT64_MAX },
	{ "9223372036854775808ms", -1 },
	{ "99999999999999999999s", -1 },
	{ "", -1 },
	{ "10", -1 },
	{ "s", -1 },
	{ "ms", -1 },
	{ "10S", -1 },
	{ "10 s", -1 },
	{ " 10s", -1 },
	{ "10s ", -1 },
	{ "-1s", -1 },
	{ "+1s", -1 },
	{ "1.5h", -1 },
	{ "1h30m", -1 },
	{ "10sec", -1 },
	{ "10us", -1 },
	{ "0x10s", -1 }
};

START_TEST(test_duration)
{
	ck_assert_msg(config_parse_duration(durations[_i].text) ==
	    durations[_i].ms, "\"%s\": got %lld, want %lld",
	    durations[_i].text,
	    (long long)config_parse_duration(durations[_i].text),
	    (long long)durations[_i].ms);
}
END_TEST

/*
 * Set-up: the files a configuration may name.
 */

static void
make_files(void)
{
	char	 path[PATH_MAX];
	size_t	 i;
	int	 fd;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	for (i = 0; i < nitems(tmpfiles); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, tmpfiles[i]);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
		    write(fd, "x\n", 2) != 2 || close(fd) == -1) {
			perror(path);
			exit(1);
		}
	}
	snprintf(path, sizeof(path), "%s/adir", tmpdir);
	if (mkdir(path, 0700) == -1) {
		perror(path);
		exit(1);
	}
}

static void
remove_files(void)
{
	char	 path[PATH_MAX];
	size_t	 i;

	for (i = 0; i < nitems(tmpfiles); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, tmpfiles[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/aibproxyd.yaml", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/adir", tmpdir);
	rmdir(path);
	rmdir(tmpdir);
}

static Suite *
config_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("config");

	tc = tcase_create("good");
	tcase_add_test(tc, test_minimal);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_global);
	tcase_add_test(tc, test_auth_validate);
	tcase_add_test(tc, test_proxy_protocol);
	tcase_add_test(tc, test_empty_optional);
	tcase_add_test(tc, test_sample);
	tcase_add_test(tc, test_manpage_sample);
	tcase_add_test(tc, test_load_file);
	tcase_add_test(tc, test_load_large);
	tcase_add_test(tc, test_errors_append);
	tcase_add_loop_test(tc, test_bridge_url, 0, nitems(bridge_good));
	tcase_add_loop_test(tc, test_upstream_url, 0, nitems(upstream_good));
	tcase_add_loop_test(tc, test_edges, 0, nitems(edges));
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_add_loop_test(tc, test_bad, 0, nitems(bad));
	tcase_add_test(tc, test_too_many);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_long_credentials);
	tcase_add_test(tc, test_error_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("duration");
	tcase_add_loop_test(tc, test_duration, 0, nitems(durations));
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	int	 failed;

	make_files();
	failed = unit_run(config_suite());
	remove_files();
	return (failed != 0);
}
