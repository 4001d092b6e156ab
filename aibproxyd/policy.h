/*
 * Egress policy for tunnels and plain HTTP forwarding: which ports, and
 * which resolved addresses, a client may reach.  Applied to the address
 * actually connected, so DNS rebinding cannot slip past it.
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
/* Is port one of gc_ports? */
int	 policy_port_allowed(const struct global_config *, int);

#endif /* AIB_POLICY_H */
