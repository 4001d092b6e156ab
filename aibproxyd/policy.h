/*
 * Egress policy for tunnels and plain HTTP forwarding: which ports,
 * which hosts by name (tunnel.allow, tunnel.deny) and which resolved
 * addresses a client may reach.  The address check is applied to the
 * address actually connected, so DNS rebinding cannot slip past it;
 * the name check comes first, before anything is looked up.
 */
#ifndef AIB_POLICY_H
#define AIB_POLICY_H

#include <stdint.h>

#include "proto.h"

/*
 * Is the address (AF_INET: 4 bytes, AF_INET6: 16 bytes, network order)
 * in a private, reserved or otherwise non-public range and not inside
 * one of the allowed CIDRs?  IPv4-mapped IPv6 addresses are judged as
 * the IPv4 address they carry.  Returns 1 if blocked (and sets *range,
 * if not NULL, to the blocked range's text), 0 if allowed.
 */
int	 policy_addr_blocked(int, const uint8_t *, const struct cidr_config *,
	    int, const char **);
/* Does a CIDR contain the address?  Mapped addresses count as IPv4. */
int	 policy_cidr_match(const struct cidr_config *, int, const uint8_t *);
/* Is port in one of gc_ports' ranges? */
int	 policy_port_allowed(const struct global_config *, int);

enum policy_verdict {
	POLICY_PASS,		/* no list refuses the host */
	POLICY_DENIED,		/* a tunnel.deny pattern matched */
	POLICY_NOT_ALLOWED	/* tunnel.allow is set; nothing in it did */
};

/*
 * Judge a destination host (as the client wrote it: case and one
 * trailing dot do not matter) by the n patterns of tunnel.allow and
 * tunnel.deny.  A deny match wins; when any allow pattern exists, the
 * host must match one.  A host that is an IP literal (host_is_ip())
 * matches only address entries, a name only name and "*." entries; a
 * host that is neither is not allowed.  *hit, if hit is not NULL, is
 * set to the pattern that decided (the deny, or the allow that
 * matched), or NULL.
 */
enum policy_verdict policy_egress(const struct egress_config *, int,
	    const char *, const struct egress_config **);

#endif /* AIB_POLICY_H */
