/*
 * Egress policy: tunnel.ports, tunnel.allow and tunnel.deny by the
 * name the client asked for, and the addresses it resolved to.
 *
 * The blocked ranges are every IPv4 and IPv6 block that is not plain
 * public unicast (RFC 6890 and the IANA special-purpose registries), so
 * a client cannot use the proxy to reach loopback, the LAN, link-local
 * metadata services or anything that translates to them.  IPv4-mapped
 * IPv6 addresses reach the IPv4 address they carry and are judged as
 * that address; IPv4-compatible ones are obsolete and refused outright.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <string.h>

#include "compat.h"
#include "hostname.h"
#include "policy.h"

struct blocked_range {
	int		 br_af;
	int		 br_prefixlen;
	uint8_t		 br_net[16];
	const char	*br_text;
};

/* More specific entries first, so the reported range says the most. */
static const struct blocked_range blocked_ranges[] = {
	{ AF_INET, 8, { 0 }, "0.0.0.0/8" },
	{ AF_INET, 8, { 10 }, "10.0.0.0/8" },
	{ AF_INET, 10, { 100, 64 }, "100.64.0.0/10" },
	{ AF_INET, 8, { 127 }, "127.0.0.0/8" },
	{ AF_INET, 16, { 169, 254 }, "169.254.0.0/16" },
	{ AF_INET, 12, { 172, 16 }, "172.16.0.0/12" },
	{ AF_INET, 24, { 192, 0, 0 }, "192.0.0.0/24" },
	{ AF_INET, 24, { 192, 0, 2 }, "192.0.2.0/24" },
	{ AF_INET, 16, { 192, 168 }, "192.168.0.0/16" },
	{ AF_INET, 15, { 198, 18 }, "198.18.0.0/15" },
	{ AF_INET, 24, { 198, 51, 100 }, "198.51.100.0/24" },
	{ AF_INET, 24, { 203, 0, 113 }, "203.0.113.0/24" },
	{ AF_INET, 4, { 224 }, "224.0.0.0/4" },
	{ AF_INET, 4, { 240 }, "240.0.0.0/4" },
	{ AF_INET6, 128, { 0 }, "::/128" },
	{ AF_INET6, 128, { [15] = 1 }, "::1/128" },
	{ AF_INET6, 96, { 0 }, "::/96" },
	{ AF_INET6, 96, { 0x00, 0x64, 0xff, 0x9b }, "64:ff9b::/96" },
	{ AF_INET6, 48, { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 },
	    "64:ff9b:1::/48" },
	{ AF_INET6, 64, { 0x01, 0x00 }, "100::/64" },
	{ AF_INET6, 32, { 0x20, 0x01, 0x0d, 0xb8 }, "2001:db8::/32" },
	{ AF_INET6, 23, { 0x20, 0x01 }, "2001::/23" },
	{ AF_INET6, 16, { 0x20, 0x02 }, "2002::/16" },
	{ AF_INET6, 7, { 0xfc }, "fc00::/7" },
	{ AF_INET6, 10, { 0xfe, 0x80 }, "fe80::/10" },
	{ AF_INET6, 10, { 0xfe, 0xc0 }, "fec0::/10" },
	{ AF_INET6, 8, { 0xff }, "ff00::/8" },
};

static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static int	prefix_match(const uint8_t *, const uint8_t *, int);
static const uint8_t *v4mapped(int, const uint8_t *);
static int	addr_bits(int);

/* Do the first prefixlen bits of a and net agree? */
static int
prefix_match(const uint8_t *a, const uint8_t *net, int prefixlen)
{
	int	 bytes, bits;
	uint8_t	 mask;

	bytes = prefixlen / 8;
	bits = prefixlen % 8;
	if (bytes > 0 && memcmp(a, net, bytes) != 0)
		return (0);
	if (bits == 0)
		return (1);
	mask = (uint8_t)(0xff << (8 - bits));
	return ((a[bytes] & mask) == (net[bytes] & mask));
}

/* The IPv4 address inside ::ffff:a.b.c.d, or NULL. */
static const uint8_t *
v4mapped(int af, const uint8_t *addr)
{
	if (af != AF_INET6 ||
	    memcmp(addr, v4mapped_prefix, sizeof(v4mapped_prefix)) != 0)
		return (NULL);
	return (addr + sizeof(v4mapped_prefix));
}

static int
addr_bits(int af)
{
	if (af == AF_INET)
		return (32);
	if (af == AF_INET6)
		return (128);
	return (-1);
}

int
policy_cidr_match(const struct cidr_config *cc, int af, const uint8_t *addr)
{
	const uint8_t	*v4;
	int		 max;

	if (cc->cc_af == AF_INET && (v4 = v4mapped(af, addr)) != NULL) {
		af = AF_INET;
		addr = v4;
	}
	if (cc->cc_af != af || (max = addr_bits(af)) == -1)
		return (0);
	if (cc->cc_prefixlen < 0 || cc->cc_prefixlen > max)
		return (0);
	return (prefix_match(addr, cc->cc_addr, cc->cc_prefixlen));
}

int
policy_addr_blocked(int af, const uint8_t *addr,
    const struct cidr_config *allowed, int nallowed, const char **range)
{
	const struct blocked_range	*br = NULL;
	const uint8_t			*judged, *v4;
	size_t				 i;
	int				 j, jaf;

	if (range != NULL)
		*range = NULL;
	if (addr_bits(af) == -1) {
		/* Fail closed on anything we cannot judge. */
		if (range != NULL)
			*range = "unknown address family";
		return (1);
	}
	judged = addr;
	jaf = af;
	if ((v4 = v4mapped(af, addr)) != NULL) {
		judged = v4;
		jaf = AF_INET;
	}
	for (i = 0; i < nitems(blocked_ranges); i++) {
		if (blocked_ranges[i].br_af == jaf &&
		    prefix_match(judged, blocked_ranges[i].br_net,
		    blocked_ranges[i].br_prefixlen)) {
			br = &blocked_ranges[i];
			break;
		}
	}
	if (br == NULL)
		return (0);
	for (j = 0; j < nallowed; j++)
		if (policy_cidr_match(&allowed[j], af, addr))
			return (0);
	if (range != NULL)
		*range = br->br_text;
	return (1);
}

int
policy_port_allowed(const struct global_config *gc, int port)
{
	int	 i, n;

	n = gc->gc_nports;
	if (n > AIB_PORTS_MAX)
		n = AIB_PORTS_MAX;
	for (i = 0; i < n; i++)
		if (port >= gc->gc_ports[i].pr_lo &&
		    port <= gc->gc_ports[i].pr_hi)
			return (1);
	return (0);
}

/*
 * The address an IP-literal destination stands for, as the resolver's
 * getaddrinfo(3) will read it: inet_aton(3) forms such as "127.1" and
 * "0x7f000001" included, and a mapped IPv6 address as its IPv4 one, so
 * that no spelling of a denied address gets past its entry.
 */
static int
egress_dest_addr(const char *host, int *af, uint8_t *addr)
{
	struct in_addr	 in4;
	const uint8_t	*v4;
	char		 buf[INET6_ADDRSTRLEN];
	size_t		 len = strlen(host);

	memset(addr, 0, 16);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']' &&
	    len - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		host = buf;
	}
	if (inet_pton(AF_INET6, host, addr) == 1) {
		*af = AF_INET6;
		if ((v4 = v4mapped(AF_INET6, addr)) != NULL) {
			memmove(addr, v4, 4);
			memset(addr + 4, 0, 12);
			*af = AF_INET;
		}
		return (0);
	}
	if (inet_aton(host, &in4) == 1) {
		memcpy(addr, &in4, 4);
		*af = AF_INET;
		return (0);
	}
	return (-1);
}

/* "*.example.com" holds names that end in ".example.com". */
static int
egress_domain_match(const char *pattern, const char *host)
{
	const char	*suffix = pattern + 1;
	size_t		 hl, sl;

	hl = strlen(host);
	sl = strlen(suffix);
	return (hl > sl && strcmp(host + hl - sl, suffix) == 0);
}

/* name: the canonical name, or NULL for an address (af, addr). */
static int
egress_match(const struct egress_config *eg, const char *name, int af,
    const uint8_t *addr)
{
	switch (eg->eg_kind) {
	case EGRESS_NAME:
		return (name != NULL && strcmp(eg->eg_pattern, name) == 0);
	case EGRESS_DOMAIN:
		return (name != NULL &&
		    strncmp(eg->eg_pattern, "*.", 2) == 0 &&
		    egress_domain_match(eg->eg_pattern, name));
	case EGRESS_ADDR:
		return (name == NULL && af != AF_UNSPEC && eg->eg_af == af &&
		    memcmp(eg->eg_addr, addr, af == AF_INET ? 4 : 16) == 0);
	}
	return (0);
}

enum policy_verdict
policy_egress(const struct egress_config *eg, int n, const char *host,
    const struct egress_config **hit)
{
	const struct egress_config	*allowed = NULL;
	char				 canon[AIB_HOSTNAME_MAX + 1];
	const char			*name = canon;
	uint8_t				 addr[16];
	int				 i, af = AF_UNSPEC, nallow = 0;

	if (hit != NULL)
		*hit = NULL;
	if (host_is_ip(host)) {
		name = NULL;
		if (egress_dest_addr(host, &af, addr) == -1)
			af = AF_UNSPEC;	/* matches no entry */
	} else if (host_canon(host, canon, sizeof(canon), NULL) == -1)
		return (POLICY_NOT_ALLOWED);	/* fail closed */
	for (i = 0; i < n; i++) {
		if (!eg[i].eg_deny)
			nallow++;
		if (!egress_match(&eg[i], name, af, addr))
			continue;
		if (eg[i].eg_deny) {
			if (hit != NULL)
				*hit = &eg[i];
			return (POLICY_DENIED);
		}
		if (allowed == NULL)
			allowed = &eg[i];
	}
	if (nallow > 0 && allowed == NULL)
		return (POLICY_NOT_ALLOWED);
	if (hit != NULL)
		*hit = allowed;
	return (POLICY_PASS);
}
