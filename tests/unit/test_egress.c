/*
 * The egress keys of the configuration: tunnel.ports with ranges,
 * tunnel.allow and tunnel.deny, good and bad, with the exact errors
 * "aibproxyd -n" prints.  (The matcher itself is in test_policy.c.)
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

#define MAX_ERRS	12

static char	 tmpdir[] = "/tmp/test_egress.XXXXXX";
static char	 req[2 * PATH_MAX + 256];	/* required keys: lines 1-8 */

static struct aib_config *
load(const char *tail, struct config_errors *errs)
{
	struct aib_config	*conf;
	char			*text;

	TAILQ_INIT(errs);
	if (asprintf(&text, "%s%s", req, tail) == -1)
		ck_abort_msg("asprintf");
	conf = config_load_mem("x.yaml", text, strlen(text), errs);
	free(text);
	return (conf);
}

static struct aib_config *
load_good(const char *tail)
{
	struct config_errors	 errs;
	struct config_error	*e;
	struct aib_config	*conf;

	conf = load(tail, &errs);
	TAILQ_FOREACH(e, &errs, entry)
		fprintf(stderr, "unexpected: %s\n", e->msg);
	ck_assert_ptr_nonnull(conf);
	return (conf);
}

/*
 * Ports.
 */

static const struct {
	const char	*text;
	int		 n;
	int		 lo[3], hi[3];
} ports_good[] = {
	{ "[80, 443, \"8000-8999\"]", 3, { 80, 443, 8000 },
	    { 80, 443, 8999 } },
	{ "[8000-8999]", 1, { 8000 }, { 8999 } },	/* plain works too */
	{ "[\"1-65535\"]", 1, { 1 }, { 65535 } },
	{ "[\"443-443\"]", 1, { 443 }, { 443 } },
	{ "[\"0080-00090\", 91]", 2, { 80, 91 }, { 90, 91 } },
	{ "[\"100-200\", \"201-300\", 99]", 3, { 100, 201, 99 },
	    { 200, 300, 99 } },
};

START_TEST(test_ports_good)
{
	struct aib_config	*conf;
	struct global_config	 gc;
	char			 tail[128];
	int			 i;

	(void)snprintf(tail, sizeof(tail), "tunnel:\n  ports: %s\n",
	    ports_good[_i].text);
	conf = load_good(tail);
	ck_assert_int_eq(conf->nports, ports_good[_i].n);
	config_global(conf, &gc);
	ck_assert_int_eq(gc.gc_nports, ports_good[_i].n);
	for (i = 0; i < ports_good[_i].n; i++) {
		ck_assert_int_eq(conf->ports[i].pr_lo, ports_good[_i].lo[i]);
		ck_assert_int_eq(conf->ports[i].pr_hi, ports_good[_i].hi[i]);
		ck_assert_int_eq(gc.gc_ports[i].pr_lo, ports_good[_i].lo[i]);
		ck_assert_int_eq(gc.gc_ports[i].pr_hi, ports_good[_i].hi[i]);
	}
	config_free(conf);
}
END_TEST

#define NOTRANGE	" is not a port range (lo-hi, each from 1 to 65535)"
#define P(n)		"x.yaml:10: tunnel.ports[" #n "]: "

static const struct {
	const char	*text;
	const char	*errs[MAX_ERRS];
} bad[] = {
	{ "tunnel:\n  ports: [\"9000-8000\", \"0-100\", \"1-65536\", "
	    "\"80-\", \"-80\", \"80-90-100\", a-b, \" 80-90\", "
	    "\"80 - 90\", \"http-https\"]\n",
	    { P(0) "\"9000-8000\" is not a port range: it starts above its "
	    "end",
	    P(1) "\"0-100\"" NOTRANGE,
	    P(2) "\"1-65536\"" NOTRANGE,
	    P(3) "\"80-\"" NOTRANGE,
	    P(4) "\"-80\" is not a port",
	    P(5) "\"80-90-100\"" NOTRANGE,
	    P(6) "\"a-b\"" NOTRANGE,
	    P(7) "\" 80-90\"" NOTRANGE,
	    P(8) "\"80 - 90\"" NOTRANGE,
	    P(9) "\"http-https\"" NOTRANGE, NULL } },
	{ "tunnel:\n  ports: [80, \"70-90\", \"8000-8999\", 8080, "
	    "\"8000-8999\", \"8999-9000\", 443, 79]\n",
	    { P(1) "70-90 overlaps 80, listed before",
	    P(3) "8080 overlaps 8000-8999, listed before",
	    P(4) "8000-8999 is listed twice",
	    P(5) "8999-9000 overlaps 8000-8999, listed before", NULL } },

	/* Patterns. */
	{ "tunnel:\n  allow:\n"
	    "    - \"\"\n"
	    "    - a..example.com\n"
	    "    - \"*\"\n"
	    "    - \"*example.com\"\n"
	    "    - a.*.com\n"
	    "    - \"*.*.com\"\n"
	    "    - \"**.com\"\n"
	    "    - \"*.\"\n"
	    "    - \"*.1.2.3.4\"\n"
	    "    - 10.0.0.0/8\n",
	    { "x.yaml:11: tunnel.allow[0]: \"\" is not a host pattern: "
	    "empty name",
	    "x.yaml:12: tunnel.allow[1]: \"a..example.com\" is not a host "
	    "pattern: empty label",
	    "x.yaml:13: tunnel.allow[2]: \"*\" is not a host pattern: \"*\" "
	    "is allowed only as the first label, as in \"*.example.com\"",
	    "x.yaml:14: tunnel.allow[3]: \"*example.com\" is not a host "
	    "pattern: \"*\" is allowed only as the first label, as in "
	    "\"*.example.com\"",
	    "x.yaml:15: tunnel.allow[4]: \"a.*.com\" is not a host pattern: "
	    "\"*\" is allowed only as the first label, as in "
	    "\"*.example.com\"",
	    "x.yaml:16: tunnel.allow[5]: \"*.*.com\" is not a host pattern: "
	    "\"*\" is allowed only as the first label, as in "
	    "\"*.example.com\"",
	    "x.yaml:17: tunnel.allow[6]: \"**.com\" is not a host pattern: "
	    "\"*\" is allowed only as the first label, as in "
	    "\"*.example.com\"",
	    "x.yaml:18: tunnel.allow[7]: \"*.\" is not a host pattern: "
	    "empty name",
	    "x.yaml:19: tunnel.allow[8]: \"*.1.2.3.4\" is not a host "
	    "pattern: a wildcard needs a domain name after \"*.\"",
	    "x.yaml:20: tunnel.allow[9]: \"10.0.0.0/8\" is not a host "
	    "pattern: CIDR ranges are not accepted, list single addresses",
	    NULL } },
	{ "tunnel:\n  deny:\n"
	    "    - 127.1\n"
	    "    - \"0x7f000001\"\n"
	    "    - exa mple.com\n"
	    "    - -bad.example.com\n"
	    "    - a_b.example.com\n"
	    "    - \"[::1\"\n"
	    "    - [nested]\n"
	    "    - {a: b}\n",
	    { "x.yaml:11: tunnel.deny[0]: \"127.1\" is not a host pattern: a "
	    "name ending in a number is read as an IPv4 address; write "
	    "addresses as a.b.c.d",
	    "x.yaml:12: tunnel.deny[1]: \"0x7f000001\" is not a host "
	    "pattern: a name ending in a number is read as an IPv4 address; "
	    "write addresses as a.b.c.d",
	    "x.yaml:13: tunnel.deny[2]: \"exa mple.com\" is not a host "
	    "pattern: invalid character",
	    "x.yaml:14: tunnel.deny[3]: \"-bad.example.com\" is not a host "
	    "pattern: label starts or ends with '-'",
	    "x.yaml:15: tunnel.deny[4]: \"a_b.example.com\" is not a host "
	    "pattern: invalid character",
	    "x.yaml:16: tunnel.deny[5]: \"[::1\" is not a host pattern: "
	    "invalid character",
	    "x.yaml:17: tunnel.deny[6]: expected a value",
	    "x.yaml:18: tunnel.deny[7]: expected a value", NULL } },
	/* The same pattern twice in one list, however it is written. */
	{ "tunnel:\n  allow: [a.example.com, \"*.example.com\", "
	    "A.Example.COM.]\n"
	    "  deny: [127.0.0.1, \"::ffff:127.0.0.1\", \"*.EXAMPLE.com\", "
	    "\"*.example.com.\", \"2001:db8::1\", \"[2001:DB8:0::1]\"]\n",
	    { "x.yaml:10: tunnel.allow[2]: \"A.Example.COM.\" is already "
	    "listed as tunnel.allow[0] on line 10",
	    "x.yaml:11: tunnel.deny[1]: \"::ffff:127.0.0.1\" is already "
	    "listed as tunnel.deny[0] on line 11",
	    "x.yaml:11: tunnel.deny[3]: \"*.example.com.\" is already "
	    "listed as tunnel.deny[2] on line 11",
	    "x.yaml:11: tunnel.deny[5]: \"[2001:DB8:0::1]\" is already "
	    "listed as tunnel.deny[4] on line 11", NULL } },
	{ "tunnel:\n  allow: example.com\n  deny: {a: b}\n",
	    { "x.yaml:10: tunnel.allow: expected a list",
	    "x.yaml:11: tunnel.deny: expected a list", NULL } },
};

START_TEST(test_bad)
{
	struct config_errors	 errs;
	struct config_error	*e;
	struct aib_config	*conf;
	int			 i = 0;

	conf = load(bad[_i].text, &errs);
	ck_assert_msg(conf == NULL, "bad[%d]: loaded", _i);
	TAILQ_FOREACH(e, &errs, entry) {
		ck_assert_msg(i < MAX_ERRS && bad[_i].errs[i] != NULL,
		    "bad[%d]: unexpected error: %s", _i, e->msg);
		ck_assert_msg(strcmp(e->msg, bad[_i].errs[i]) == 0,
		    "bad[%d]: error %d\n got: %s\nwant: %s", _i, i, e->msg,
		    bad[_i].errs[i]);
		i++;
	}
	ck_assert_msg(i < MAX_ERRS && bad[_i].errs[i] == NULL,
	    "bad[%d]: missing error: %s", _i, bad[_i].errs[i]);
	config_errors_clear(&errs);
}
END_TEST

/*
 * Patterns that load, in order, canonical.
 */

static const struct {
	const char	*pattern;	/* canonical, or as written */
	int		 deny;
	int		 kind;
	int		 af;
	const char	*addr;
} patterns[] = {
	{ "*.github.com", 0, EGRESS_DOMAIN, 0, NULL },
	{ "registry.npmjs.org", 0, EGRESS_NAME, 0, NULL },
	{ "localhost", 0, EGRESS_NAME, 0, NULL },
	{ "*.ai", 0, EGRESS_DOMAIN, 0, NULL },
	{ "generativelanguage.googleapis.com", 1, EGRESS_NAME, 0, NULL },
	{ "*.openai.azure.com", 1, EGRESS_DOMAIN, 0, NULL },
	{ "192.0.2.1", 1, EGRESS_ADDR, AF_INET, "192.0.2.1" },
	{ "::ffff:192.0.2.2", 1, EGRESS_ADDR, AF_INET, "192.0.2.2" },
	{ "[2001:db8::1]", 1, EGRESS_ADDR, AF_INET6, "2001:db8::1" },
	{ "2001:DB8::2", 1, EGRESS_ADDR, AF_INET6, "2001:db8::2" },
	{ "localhost", 1, EGRESS_NAME, 0, NULL },
};

#define GOOD_PATTERNS	"tunnel:\n" \
	"  allow: [\"*.GitHub.com\", registry.npmjs.org., localhost, " \
	"\"*.ai\"]\n" \
	"  deny:\n" \
	"    - generativelanguage.googleapis.com\n" \
	"    - \"*.openai.azure.com\"\n" \
	"    - 192.0.2.1\n" \
	"    - \"::ffff:192.0.2.2\"\n" \
	"    - \"[2001:db8::1]\"\n" \
	"    - 2001:DB8::2\n" \
	"    - LOCALHOST\n"

START_TEST(test_patterns)
{
	struct aib_config	*conf;
	struct egress_conf	*ec;
	uint8_t			 addr[16];
	size_t			 i = 0;

	conf = load_good(GOOD_PATTERNS);
	TAILQ_FOREACH(ec, &conf->egress, entry) {
		ck_assert_uint_lt(i, nitems(patterns));
		ck_assert_str_eq(ec->eg.eg_pattern, patterns[i].pattern);
		ck_assert_int_eq(ec->eg.eg_deny, patterns[i].deny);
		ck_assert_int_eq(ec->eg.eg_kind, patterns[i].kind);
		ck_assert_int_eq(ec->line, i < 4 ? 10 : (int)i + 8);
		if (patterns[i].addr != NULL) {
			memset(addr, 0, sizeof(addr));
			ck_assert_int_eq(inet_pton(patterns[i].af,
			    patterns[i].addr, addr), 1);
			ck_assert_int_eq(ec->eg.eg_af, patterns[i].af);
			ck_assert_mem_eq(ec->eg.eg_addr, addr, 16);
		}
		i++;
	}
	ck_assert_uint_eq(i, nitems(patterns));
	config_free(conf);
}
END_TEST

/* No lists, or empty ones, hold nothing: every host may tunnel. */
START_TEST(test_empty_lists)
{
	struct aib_config	*conf;

	conf = load_good("");
	ck_assert(TAILQ_EMPTY(&conf->egress));
	config_free(conf);
	conf = load_good("tunnel: {allow: [], deny: []}\n");
	ck_assert(TAILQ_EMPTY(&conf->egress));
	config_free(conf);
}
END_TEST

/* A name under a wildcard has 253 octets at most: so has the pattern. */
START_TEST(test_pattern_length)
{
	struct egress_config	 eg;
	char			 name[300];
	size_t			 n, len;

	/* "*.", three labels of 63 and their dots, 59 more: 253 octets. */
	(void)strlcpy(name, "*.", sizeof(name));
	for (n = 0; n < 3; n++) {
		len = strlen(name);
		memset(name + len, 'a', 63);
		name[len + 63] = '.';
		name[len + 64] = '\0';
	}
	len = strlen(name);
	memset(name + len, 'b', 59);
	name[len + 59] = '\0';
	ck_assert_uint_eq(strlen(name), 253);
	ck_assert_ptr_null(config_parse_egress(name, &eg));
	ck_assert_int_eq(eg.eg_kind, EGRESS_DOMAIN);
	ck_assert_str_eq(eg.eg_pattern, name);
	(void)strlcat(name, "b", sizeof(name));
	ck_assert_str_eq(config_parse_egress(name, &eg),
	    "name longer than 253 octets");
	/* As a name, 252 octets and a trailing dot are fine. */
	(void)strlcat(name, ".", sizeof(name));
	ck_assert_ptr_null(config_parse_egress(name + 2, &eg));
	ck_assert_int_eq(eg.eg_kind, EGRESS_NAME);
	ck_assert_uint_eq(strlen(eg.eg_pattern), 252);
}
END_TEST

/* Too many patterns in a list; the count is per list. */
START_TEST(test_too_many)
{
	struct config_errors	 errs;
	struct config_error	*e;
	struct aib_config	*conf;
	char			*text, *p;
	size_t			 len;
	int			 i;

	len = 64 + 2 * (AIB_EGRESS_MAX + 1) * 32;
	ck_assert_ptr_nonnull(text = malloc(len));
	p = text + snprintf(text, len, "tunnel:\n  allow:\n");
	for (i = 0; i < AIB_EGRESS_MAX; i++)
		p += snprintf(p, len - (p - text), "    - h%d.example\n", i);
	p += snprintf(p, len - (p - text), "  deny:\n");
	for (i = 0; i < AIB_EGRESS_MAX + 1; i++)
		p += snprintf(p, len - (p - text), "    - h%d.example\n", i);
	conf = load(text, &errs);
	free(text);
	ck_assert_ptr_null(conf);
	e = TAILQ_FIRST(&errs);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->msg, "x.yaml:2060: tunnel.deny: too many "
	    "patterns (at most 1024)");
	ck_assert_ptr_null(TAILQ_NEXT(e, entry));
	config_errors_clear(&errs);
}
END_TEST

static void
make_files(void)
{
	char	 path[PATH_MAX];
	int	 fd;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	(void)snprintf(path, sizeof(path), "%s/ca.pem", tmpdir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    write(fd, "x\n", 2) != 2 || close(fd) == -1) {
		perror(path);
		exit(1);
	}
	if (snprintf(req, sizeof(req), "listen:\n"
	    "  - address: 127.0.0.1:8888\n"
	    "ca:\n  cert: %s\n  key: %s\n"
	    "bridge:\n  url: https://coder.example.com\n"
	    "providers: []\n", path, path) >= (int)sizeof(req))
		exit(1);
}

static void
remove_files(void)
{
	char	 path[PATH_MAX];

	(void)snprintf(path, sizeof(path), "%s/ca.pem", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

static Suite *
egress_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("egress");
	tc = tcase_create("config");
	tcase_add_loop_test(tc, test_ports_good, 0, nitems(ports_good));
	tcase_add_loop_test(tc, test_bad, 0, nitems(bad));
	tcase_add_test(tc, test_patterns);
	tcase_add_test(tc, test_empty_lists);
	tcase_add_test(tc, test_pattern_length);
	tcase_add_test(tc, test_too_many);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	int	 failed;

	make_files();
	failed = unit_run(egress_suite());
	remove_files();
	return (failed != 0);
}
