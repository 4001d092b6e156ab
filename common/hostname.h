/*
 * Canonical host names, shared by the proxy (which decides what to
 * intercept) and signerd (which decides what to sign), so both sides
 * agree on what a name is.
 */
#ifndef AIB_HOSTNAME_H
#define AIB_HOSTNAME_H

#include <stddef.h>

#include "compat.h"

/*
 * Canonicalise a DNS name: lower-case it and strip one trailing dot.
 * Refuses IP literals (v4 dotted or bracketed/bare v6), empty labels,
 * labels over 63 octets, names over 253 octets, bytes outside
 * [A-Za-z0-9-] and labels that start or end with '-'.  On failure
 * returns -1 and, if why is not NULL, points it at a static reason.
 */
int	 host_canon(const char *, char *, size_t, const char **);

/* Is the string an IPv4 or IPv6 address literal (brackets allowed)? */
int	 host_is_ip(const char *);

/*
 * Split an authority "host:port" or "[v6]:port" into its parts.  The
 * host is copied without brackets; the port must be 1..65535.  Returns
 * -1 on malformed input.
 */
int	 host_split_port(const char *, char *, size_t, int *);

/*
 * A Host header value (RFC 9110 7.2: uri-host [ ":" port ]) made safe
 * to print back: a DNS name (as host_canon() makes it), a dotted-quad
 * IPv4 address or a bracketed IPv6 address, with a port of 1..65535
 * (the given default when there is none).  Writes "host:port" or
 * "[v6]:port"; -1 for anything else, a name that reads as a number
 * included.
 */
int	 host_authority(const char *, int, char *, size_t);

#endif /* AIB_HOSTNAME_H */
