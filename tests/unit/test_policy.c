/*
 * aibproxyd/policy.c: which addresses, ports and hosts a tunnel may
 * reach.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aibproxyd/policy.h"
#include "compat.h"
#include "config.h"
#include "unit.h"

enum allow_set {
	ALLOW_NONE,
	ALLOW_127,		/* 127.0.0.1/32 */
	ALLOW_10,		/* 10.0.0.0/8 */
	ALLOW_FD,		/* fd00::/8 */
	ALLOW_ALL,		/* 0.0.0.0/0, ::/0 */
	ALLOW_MAX
};

static const char *const allow_sets[ALLOW_MAX][3] = {
	[ALLOW_NONE] = { NULL },
	[ALLOW_127] = { "127.0.0.1/32", NULL },
	[ALLOW_10] = { "10.0.0.0/8", NULL },
	[ALLOW_FD] = { "fd00::/8", NULL },
	[ALLOW_ALL] = { "0.0.0.0/0", "::/0", NULL },
};

struct addr_case {
	const char	*addr;
	enum allow_set	 allow;
	int		 blocked;
	const char	*range;		/* when blocked */
};

#define PUB(a)		{ a, ALLOW_NONE, 0, NULL }
#define BLK(a, r)	{ a, ALLOW_NONE, 1, r }

static const struct addr_case addr_cases[] = {
	/* public */
	PUB("8.8.8.8"),
	PUB("1.1.1.1"),
	PUB("2606:4700::1111"),
	PUB("2a00:1450:4001::1"),
	/* IPv4: first, last, and the neighbours outside each range */
	BLK("0.0.0.0", "0.0.0.0/8"),
	BLK("0.255.255.255", "0.0.0.0/8"),
	PUB("1.0.0.0"),
	PUB("9.255.255.255"),
	BLK("10.0.0.0", "10.0.0.0/8"),
	BLK("10.255.255.255", "10.0.0.0/8"),
	PUB("11.0.0.0"),
	PUB("100.63.255.255"),
	BLK("100.64.0.0", "100.64.0.0/10"),
	BLK("100.127.255.255", "100.64.0.0/10"),
	PUB("100.128.0.0"),
	PUB("126.255.255.255"),
	BLK("127.0.0.0", "127.0.0.0/8"),
	BLK("127.0.0.1", "127.0.0.0/8"),
	BLK("127.255.255.255", "127.0.0.0/8"),
	PUB("128.0.0.0"),
	PUB("169.253.255.255"),
	BLK("169.254.0.0", "169.254.0.0/16"),
	BLK("169.254.169.254", "169.254.0.0/16"),
	BLK("169.254.255.255", "169.254.0.0/16"),
	PUB("169.255.0.0"),
	PUB("172.15.255.255"),
	BLK("172.16.0.0", "172.16.0.0/12"),
	BLK("172.31.255.255", "172.16.0.0/12"),
	PUB("172.32.0.0"),
	PUB("191.255.255.255"),
	BLK("192.0.0.0", "192.0.0.0/24"),
	BLK("192.0.0.255", "192.0.0.0/24"),
	PUB("192.0.1.0"),
	PUB("192.0.1.255"),
	BLK("192.0.2.0", "192.0.2.0/24"),
	BLK("192.0.2.255", "192.0.2.0/24"),
	PUB("192.0.3.0"),
	PUB("192.167.255.255"),
	BLK("192.168.0.0", "192.168.0.0/16"),
	BLK("192.168.255.255", "192.168.0.0/16"),
	PUB("192.169.0.0"),
	PUB("198.17.255.255"),
	BLK("198.18.0.0", "198.18.0.0/15"),
	BLK("198.19.255.255", "198.18.0.0/15"),
	PUB("198.20.0.0"),
	PUB("198.51.99.255"),
	BLK("198.51.100.0", "198.51.100.0/24"),
	BLK("198.51.100.255", "198.51.100.0/24"),
	PUB("198.51.101.0"),
	PUB("203.0.112.255"),
	BLK("203.0.113.0", "203.0.113.0/24"),
	BLK("203.0.113.255", "203.0.113.0/24"),
	PUB("203.0.114.0"),
	PUB("223.255.255.255"),
	BLK("224.0.0.0", "224.0.0.0/4"),
	BLK("239.255.255.255", "224.0.0.0/4"),
	BLK("240.0.0.0", "240.0.0.0/4"),
	BLK("255.255.255.254", "240.0.0.0/4"),
	BLK("255.255.255.255", "240.0.0.0/4"),
	/* IPv6 */
	BLK("::", "::/128"),
	BLK("::1", "::1/128"),
	BLK("::2", "::/96"),
	BLK("::7f00:1", "::/96"),
	BLK("::8.8.8.8", "::/96"),
	BLK("::ffff:ffff", "::/96"),
	BLK("64:ff9b::", "64:ff9b::/96"),
	BLK("64:ff9b::7f00:1", "64:ff9b::/96"),
	BLK("64:ff9b::ffff:ffff", "64:ff9b::/96"),
	PUB("64:ff9b::1:0:0"),
	BLK("64:ff9b:1::1", "64:ff9b:1::/48"),
	BLK("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "64:ff9b:1::/48"),
	PUB("64:ff9b:2::1"),
	BLK("100::", "100::/64"),
	BLK("100::ffff:ffff:ffff:ffff", "100::/64"),
	PUB("100:0:0:1::"),
	BLK("2001::1", "2001::/23"),
	BLK("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::/23"),
	BLK("2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "2001::/23"),
	PUB("2001:200::1"),
	PUB("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"),
	BLK("2001:db8::", "2001:db8::/32"),
	BLK("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32"),
	PUB("2001:db9::"),
	PUB("2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	BLK("2002::", "2002::/16"),
	BLK("2002:7f00:1::1", "2002::/16"),
	BLK("2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2002::/16"),
	PUB("2003::"),
	PUB("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	BLK("fc00::", "fc00::/7"),
	BLK("fd00::1", "fc00::/7"),
	BLK("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::/7"),
	BLK("fe80::", "fe80::/10"),
	BLK("fe80::1", "fe80::/10"),
	BLK("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::/10"),
	BLK("fec0::", "fec0::/10"),
	BLK("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fec0::/10"),
	BLK("ff00::", "ff00::/8"),
	BLK("ff02::1", "ff00::/8"),
	BLK("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff00::/8"),
	/* IPv4-mapped: judged as the IPv4 address */
	BLK("::ffff:127.0.0.1", "127.0.0.0/8"),
	BLK("::ffff:0.0.0.0", "0.0.0.0/8"),
	BLK("::ffff:10.1.2.3", "10.0.0.0/8"),
	BLK("::ffff:169.254.169.254", "169.254.0.0/16"),
	BLK("::ffff:255.255.255.255", "240.0.0.0/4"),
	PUB("::ffff:8.8.8.8"),
	PUB("::ffff:1.1.1.1"),
	/* allowed CIDRs */
	{ "127.0.0.1", ALLOW_127, 0, NULL },
	{ "::ffff:127.0.0.1", ALLOW_127, 0, NULL },
	{ "127.0.0.2", ALLOW_127, 1, "127.0.0.0/8" },
	{ "127.0.0.0", ALLOW_127, 1, "127.0.0.0/8" },
	{ "::ffff:127.0.0.2", ALLOW_127, 1, "127.0.0.0/8" },
	{ "::1", ALLOW_127, 1, "::1/128" },
	{ "::7f00:1", ALLOW_127, 1, "::/96" },
	{ "8.8.8.8", ALLOW_127, 0, NULL },
	{ "10.0.0.0", ALLOW_10, 0, NULL },
	{ "10.200.0.1", ALLOW_10, 0, NULL },
	{ "::ffff:10.1.2.3", ALLOW_10, 0, NULL },
	{ "172.16.0.1", ALLOW_10, 1, "172.16.0.0/12" },
	{ "::a01:203", ALLOW_10, 1, "::/96" },
	{ "fd00::1", ALLOW_FD, 0, NULL },
	{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ALLOW_FD, 0, NULL },
	{ "fc00::1", ALLOW_FD, 1, "fc00::/7" },
	{ "fe80::1", ALLOW_FD, 1, "fe80::/10" },
	{ "10.1.2.3", ALLOW_FD, 1, "10.0.0.0/8" },
	{ "127.0.0.1", ALLOW_ALL, 0, NULL },
	{ "::1", ALLOW_ALL, 0, NULL },
	{ "::ffff:192.168.1.1", ALLOW_ALL, 0, NULL },
	{ "ff02::1", ALLOW_ALL, 0, NULL },
};

static int
parse_addr(const char *s, uint8_t *addr)
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1)
		return (AF_INET);
	if (inet_pton(AF_INET6, s, addr) == 1)
		return (AF_INET6);
	ck_abort_msg("test address \"%s\" does not parse", s);
	return (-1);
}

static void
parse_cidr(const char *s, struct cidr_config *cc)
{
	char		 addr[INET6_ADDRSTRLEN];
	char		*slash;
	const char	*errstr;

	memset(cc, 0, sizeof(*cc));
	ck_assert_uint_lt(strlcpy(addr, s, sizeof(addr)), sizeof(addr));
	ck_assert_ptr_nonnull(slash = strchr(addr, '/'));
	*slash = '\0';
	cc->cc_af = parse_addr(addr, cc->cc_addr);
	cc->cc_prefixlen = strtonum(slash + 1, 0, 128, &errstr);
	ck_assert_ptr_null(errstr);
}

static int
load_allow(enum allow_set set, struct cidr_config *cc)
{
	int	 n;

	for (n = 0; allow_sets[set][n] != NULL; n++)
		parse_cidr(allow_sets[set][n], &cc[n]);
	return (n);
}

START_TEST(test_addr)
{
	const struct addr_case	*c = &addr_cases[_i];
	struct cidr_config	 cc[3];
	uint8_t			 addr[16];
	const char		*range = "unset";
	int			 af, n, rv;

	af = parse_addr(c->addr, addr);
	n = load_allow(c->allow, cc);
	rv = policy_addr_blocked(af, addr, cc, n, &range);
	ck_assert_msg(rv == c->blocked, "%s (allow set %d): blocked %d, "
	    "expected %d (range %s)", c->addr, c->allow, rv, c->blocked,
	    range ? range : "(null)");
	if (c->blocked) {
		ck_assert_ptr_nonnull(range);
		ck_assert_str_eq(range, c->range);
	} else
		ck_assert_ptr_null(range);
	/* range may be NULL */
	ck_assert_int_eq(policy_addr_blocked(af, addr, cc, n, NULL),
	    c->blocked);
}
END_TEST

START_TEST(test_addr_family)
{
	uint8_t		 addr[16];
	const char	*range = NULL;

	memset(addr, 0, sizeof(addr));
	addr[0] = 8;
	ck_assert_int_eq(policy_addr_blocked(AF_UNIX, addr, NULL, 0, &range),
	    1);
	ck_assert_str_eq(range, "unknown address family");
}
END_TEST

struct cidr_case {
	const char	*cidr;
	const char	*addr;
	int		 match;
};

static const struct cidr_case cidr_cases[] = {
	{ "127.0.0.1/32", "127.0.0.1", 1 },
	{ "127.0.0.1/32", "127.0.0.2", 0 },
	{ "127.0.0.1/32", "::ffff:127.0.0.1", 1 },
	{ "127.0.0.1/32", "::7f00:1", 0 },
	{ "127.0.0.1/32", "::1", 0 },
	{ "10.0.0.0/8", "10.255.255.255", 1 },
	{ "10.0.0.0/8", "11.0.0.0", 0 },
	{ "10.0.0.0/8", "9.255.255.255", 0 },
	{ "10.0.0.0/8", "::ffff:10.1.2.3", 1 },
	{ "172.16.0.0/12", "172.31.255.255", 1 },
	{ "172.16.0.0/12", "172.32.0.0", 0 },
	{ "192.168.1.128/25", "192.168.1.128", 1 },
	{ "192.168.1.128/25", "192.168.1.127", 0 },
	{ "0.0.0.0/0", "255.255.255.255", 1 },
	{ "0.0.0.0/0", "::ffff:1.2.3.4", 1 },
	{ "0.0.0.0/0", "2001:db8::1", 0 },
	{ "fd00::/8", "fd12:3456::1", 1 },
	{ "fd00::/8", "fc00::1", 0 },
	{ "fd00::/8", "10.0.0.1", 0 },
	{ "fe80::/10", "febf::1", 1 },
	{ "fe80::/10", "fec0::1", 0 },
	{ "::1/128", "::1", 1 },
	{ "::1/128", "::2", 0 },
	{ "::1/128", "127.0.0.1", 0 },
	{ "::/0", "2606:4700::1111", 1 },
	{ "::/0", "8.8.8.8", 0 },
	{ "::ffff:0:0/96", "::ffff:10.0.0.1", 1 },
	{ "::ffff:0:0/96", "10.0.0.1", 0 },
	{ "2001:db8::/127", "2001:db8::1", 1 },
	{ "2001:db8::/127", "2001:db8::2", 0 },
};

START_TEST(test_cidr)
{
	const struct cidr_case	*c = &cidr_cases[_i];
	struct cidr_config	 cc;
	uint8_t			 addr[16];
	int			 af;

	parse_cidr(c->cidr, &cc);
	af = parse_addr(c->addr, addr);
	ck_assert_msg(policy_cidr_match(&cc, af, addr) == c->match,
	    "%s in %s != %d", c->addr, c->cidr, c->match);
}
END_TEST

START_TEST(test_cidr_bad_prefix)
{
	struct cidr_config	 cc;
	uint8_t			 addr[16];
	int			 af;

	parse_cidr("10.0.0.0/8", &cc);
	af = parse_addr("10.0.0.1", addr);
	cc.cc_prefixlen = 33;
	ck_assert_int_eq(policy_cidr_match(&cc, af, addr), 0);
	cc.cc_prefixlen = -1;
	ck_assert_int_eq(policy_cidr_match(&cc, af, addr), 0);
	parse_cidr("::/0", &cc);
	af = parse_addr("::1", addr);
	cc.cc_prefixlen = 129;
	ck_assert_int_eq(policy_cidr_match(&cc, af, addr), 0);
}
END_TEST

struct port_case {
	int	 port;
	int	 allowed;
};

#define PR(lo, hi)	((struct port_range){ .pr_lo = (lo), .pr_hi = (hi) })

static const struct port_case port_cases[] = {
	{ 443, 1 },
	{ 80, 1 },
	{ 8443, 1 },
	{ 8080, 0 },
	{ 2999, 0 },
	{ 3000, 1 },
	{ 3500, 1 },
	{ 3999, 1 },
	{ 4000, 0 },
	{ 442, 0 },
	{ 444, 0 },
	{ 0, 0 },
	{ 22, 0 },
	{ 65535, 0 },
	{ 65536 + 443, 0 },
	{ -1, 0 },
};

START_TEST(test_port)
{
	const struct port_case	*c = &port_cases[_i];
	struct global_config	 gc;

	memset(&gc, 0, sizeof(gc));
	gc.gc_ports[0] = PR(80, 80);
	gc.gc_ports[1] = PR(443, 443);
	gc.gc_ports[2] = PR(8443, 8443);
	gc.gc_ports[3] = PR(3000, 3999);
	/* beyond gc_nports: not allowed */
	gc.gc_ports[4] = PR(8080, 8080);
	gc.gc_nports = 4;
	ck_assert_msg(policy_port_allowed(&gc, c->port) == c->allowed,
	    "port %d != %d", c->port, c->allowed);
}
END_TEST

START_TEST(test_port_none)
{
	struct global_config	 gc;

	memset(&gc, 0, sizeof(gc));
	gc.gc_ports[0] = PR(443, 443);
	ck_assert_int_eq(policy_port_allowed(&gc, 443), 0);
	gc.gc_nports = 1;
	ck_assert_int_eq(policy_port_allowed(&gc, 443), 1);
	ck_assert_int_eq(policy_port_allowed(&gc, 0), 0);
}
END_TEST

/*
 * tunnel.allow and tunnel.deny.  Each set is patterns as written in
 * the configuration, "+" for allow and "-" for deny.
 */
enum egress_set {
	EG_NONE,
	EG_ISSUE,		/* the issue's example, and more */
	EG_DENY,		/* deny only */
	EG_ADDR_DENY,		/* address entries */
	EG_ADDR_ALLOW,
	EG_TLD,			/* "*.ai" */
	EG_MAX
};

static const char *const egress_sets[EG_MAX][8] = {
	[EG_NONE] = { NULL },
	[EG_ISSUE] = { "+*.github.com", "+registry.npmjs.org",
	    "+*.Example.COM.", "-generativelanguage.googleapis.com",
	    "-*.openai.azure.com", "-secret.example.com", NULL },
	[EG_DENY] = { "-generativelanguage.googleapis.com",
	    "-*.openai.azure.com", NULL },
	[EG_ADDR_DENY] = { "-127.0.0.1", "-2001:db8::1", "-::ffff:10.0.0.1",
	    "-localhost", NULL },
	[EG_ADDR_ALLOW] = { "+203.0.113.7", "+[2001:db8::7]", "+example.com",
	    NULL },
	[EG_TLD] = { "-*.ai", NULL },
};

struct egress_case {
	const char		*host;
	enum egress_set		 set;
	enum policy_verdict	 want;
	const char		*hit;	/* the deciding pattern, canonical */
};

#define PASS(h, set, hit)	{ h, set, POLICY_PASS, hit }
#define DENY(h, set, hit)	{ h, set, POLICY_DENIED, hit }
#define NOTA(h, set)		{ h, set, POLICY_NOT_ALLOWED, NULL }

static const struct egress_case egress_cases[] = {
	/* No lists: every host passes. */
	PASS("example.com", EG_NONE, NULL),
	PASS("127.0.0.1", EG_NONE, NULL),
	PASS("::1", EG_NONE, NULL),
	/* "*." holds names under the domain at any depth, not the apex. */
	PASS("api.github.com", EG_ISSUE, "*.github.com"),
	PASS("a.b.github.com", EG_ISSUE, "*.github.com"),
	NOTA("github.com", EG_ISSUE),
	NOTA("github.com.", EG_ISSUE),
	NOTA("evilgithub.com", EG_ISSUE),
	NOTA("api.github.com.evil.net", EG_ISSUE),
	NOTA("apigithub.com", EG_ISSUE),
	/* Case and one trailing dot do not matter, in host or pattern. */
	PASS("API.GitHub.COM", EG_ISSUE, "*.github.com"),
	PASS("api.github.com.", EG_ISSUE, "*.github.com"),
	PASS("www.example.com", EG_ISSUE, "*.example.com"),
	NOTA("example.com", EG_ISSUE),
	/* An exact name matches itself only. */
	PASS("registry.npmjs.org", EG_ISSUE, "registry.npmjs.org"),
	PASS("Registry.NPMJS.org.", EG_ISSUE, "registry.npmjs.org"),
	NOTA("x.registry.npmjs.org", EG_ISSUE),
	NOTA("npmjs.org", EG_ISSUE),
	NOTA("registry.npmjs.org.evil.net", EG_ISSUE),
	/* deny wins over allow. */
	DENY("secret.example.com", EG_ISSUE, "secret.example.com"),
	DENY("SECRET.Example.com.", EG_ISSUE, "secret.example.com"),
	PASS("a.secret.example.com", EG_ISSUE, "*.example.com"),
	DENY("generativelanguage.googleapis.com", EG_ISSUE,
	    "generativelanguage.googleapis.com"),
	DENY("eastus.openai.azure.com", EG_ISSUE, "*.openai.azure.com"),
	NOTA("openai.azure.com", EG_ISSUE),
	/* Names match no address entry, addresses no name entry. */
	NOTA("140.82.112.3", EG_ISSUE),
	NOTA("[2001:db8::1]", EG_ISSUE),
	/* What is neither a name nor an address is refused. */
	NOTA("bad..name", EG_ISSUE),
	NOTA("", EG_ISSUE),
	NOTA("under_score.example.com", EG_ISSUE),
	/* deny alone: everything else passes. */
	PASS("openai.azure.com", EG_DENY, NULL),
	PASS("evilopenai.azure.com", EG_DENY, NULL),
	DENY("my.openai.azure.com", EG_DENY, "*.openai.azure.com"),
	DENY("GenerativeLanguage.GoogleAPIs.com.", EG_DENY,
	    "generativelanguage.googleapis.com"),
	PASS("x.generativelanguage.googleapis.com", EG_DENY, NULL),
	PASS("generativelanguage.googleapis.com.evil.net", EG_DENY, NULL),
	PASS("example.com", EG_DENY, NULL),
	PASS("203.0.113.7", EG_DENY, NULL),
	/* Address entries, whatever the spelling the resolver accepts. */
	DENY("127.0.0.1", EG_ADDR_DENY, "127.0.0.1"),
	DENY("127.1", EG_ADDR_DENY, "127.0.0.1"),
	DENY("2130706433", EG_ADDR_DENY, "127.0.0.1"),
	DENY("0x7f.0.0.1", EG_ADDR_DENY, "127.0.0.1"),
	DENY("::ffff:127.0.0.1", EG_ADDR_DENY, "127.0.0.1"),
	DENY("[::ffff:127.0.0.1]", EG_ADDR_DENY, "127.0.0.1"),
	PASS("127.0.0.2", EG_ADDR_DENY, NULL),
	PASS("::1", EG_ADDR_DENY, NULL),
	DENY("2001:db8::1", EG_ADDR_DENY, "2001:db8::1"),
	DENY("2001:DB8:0:0::1", EG_ADDR_DENY, "2001:db8::1"),
	PASS("2001:db8::2", EG_ADDR_DENY, NULL),
	DENY("10.0.0.1", EG_ADDR_DENY, "::ffff:10.0.0.1"),
	DENY("::ffff:a00:1", EG_ADDR_DENY, "::ffff:10.0.0.1"),
	DENY("localhost", EG_ADDR_DENY, "localhost"),
	DENY("LocalHost.", EG_ADDR_DENY, "localhost"),
	PASS("localhost.localdomain", EG_ADDR_DENY, NULL),
	PASS("a.1", EG_ADDR_DENY, NULL),	/* no address: matches none */
	/* An allow list of addresses and a name. */
	PASS("203.0.113.7", EG_ADDR_ALLOW, "203.0.113.7"),
	NOTA("203.0.113.8", EG_ADDR_ALLOW),
	PASS("2001:db8::7", EG_ADDR_ALLOW, "[2001:db8::7]"),
	PASS("[2001:db8:0::7]", EG_ADDR_ALLOW, "[2001:db8::7]"),
	NOTA("2001:db8::8", EG_ADDR_ALLOW),
	PASS("example.com", EG_ADDR_ALLOW, "example.com"),
	NOTA("www.example.com", EG_ADDR_ALLOW),
	NOTA("a.1", EG_ADDR_ALLOW),
	NOTA("1.2.3", EG_ADDR_ALLOW),
	/* "*." over a top-level domain. */
	DENY("openrouter.ai", EG_TLD, "*.ai"),
	DENY("x.y.ai", EG_TLD, "*.ai"),
	PASS("ai", EG_TLD, NULL),
	PASS("ai.com", EG_TLD, NULL),
	PASS("mail", EG_TLD, NULL),
};

static int
load_egress(enum egress_set set, struct egress_config *eg)
{
	const char	*p, *why;
	int		 n;

	for (n = 0; (p = egress_sets[set][n]) != NULL; n++) {
		why = config_parse_egress(p + 1, &eg[n]);
		ck_assert_msg(why == NULL, "pattern \"%s\": %s", p + 1, why);
		eg[n].eg_deny = p[0] == '-';
	}
	return (n);
}

START_TEST(test_egress)
{
	const struct egress_case	*c = &egress_cases[_i];
	const struct egress_config	*hit = (void *)1;
	struct egress_config		 eg[8];
	enum policy_verdict		 v;
	int				 n;

	n = load_egress(c->set, eg);
	v = policy_egress(eg, n, c->host, &hit);
	ck_assert_msg(v == c->want, "\"%s\" (set %d): verdict %d, want %d",
	    c->host, c->set, v, c->want);
	if (c->hit == NULL)
		ck_assert_msg(hit == NULL, "\"%s\": hit \"%s\", want none",
		    c->host, hit->eg_pattern);
	else {
		ck_assert_msg(hit != NULL, "\"%s\": no hit, want \"%s\"",
		    c->host, c->hit);
		ck_assert_str_eq(hit->eg_pattern, c->hit);
	}
	/* hit may be NULL */
	ck_assert_int_eq(policy_egress(eg, n, c->host, NULL), c->want);
}
END_TEST

/* Only the first n entries count; an empty allow list allows all. */
START_TEST(test_egress_count)
{
	struct egress_config	 eg[8];
	int			 n;

	n = load_egress(EG_ADDR_ALLOW, eg);
	ck_assert_int_eq(policy_egress(eg, n, "203.0.113.8", NULL),
	    POLICY_NOT_ALLOWED);
	ck_assert_int_eq(policy_egress(eg, 0, "203.0.113.8", NULL),
	    POLICY_PASS);
	ck_assert_int_eq(policy_egress(eg, 0, "www.example.com", NULL),
	    POLICY_PASS);
	n = load_egress(EG_ISSUE, eg);
	ck_assert_int_eq(policy_egress(eg, 3, "secret.example.com", NULL),
	    POLICY_PASS);
	ck_assert_int_eq(policy_egress(eg, n, "secret.example.com", NULL),
	    POLICY_DENIED);
}
END_TEST

/* A pattern of an unknown kind matches nothing. */
START_TEST(test_egress_bad_kind)
{
	struct egress_config	 eg;

	ck_assert_ptr_null(config_parse_egress("example.com", &eg));
	eg.eg_deny = 1;
	eg.eg_kind = 99;
	ck_assert_int_eq(policy_egress(&eg, 1, "example.com", NULL),
	    POLICY_PASS);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("policy");

	tc = tcase_create("addr_blocked");
	tcase_add_loop_test(tc, test_addr, 0, (int)nitems(addr_cases));
	tcase_add_test(tc, test_addr_family);
	suite_add_tcase(s, tc);

	tc = tcase_create("cidr_match");
	tcase_add_loop_test(tc, test_cidr, 0, (int)nitems(cidr_cases));
	tcase_add_test(tc, test_cidr_bad_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("port_allowed");
	tcase_add_loop_test(tc, test_port, 0, (int)nitems(port_cases));
	tcase_add_test(tc, test_port_none);
	suite_add_tcase(s, tc);

	tc = tcase_create("egress");
	tcase_add_loop_test(tc, test_egress, 0, (int)nitems(egress_cases));
	tcase_add_test(tc, test_egress_count);
	tcase_add_test(tc, test_egress_bad_kind);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	int	 failed;

	failed = unit_run(policy_suite());
	return (failed != 0);
}
