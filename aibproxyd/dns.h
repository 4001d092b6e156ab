/*
 * Name lookups from a worker, answered by the resolver process.  A
 * lookup can be cancelled (its connection went away); a late answer is
 * then dropped.
 */
#ifndef AIB_DNS_H
#define AIB_DNS_H

#include <stdint.h>

#include "proto.h"

/* error: 0 or a getaddrinfo error code (gai_strerror). */
typedef void	(*dns_cb)(void *, int, const struct dns_res *);

uint32_t	 dns_lookup(const char *, dns_cb, void *);
void		 dns_cancel(uint32_t);
/* An IMSG_DNS_RES from the resolver. */
int		 dns_dispatch(uint32_t, const struct dns_res *);
/* A literal needs no lookup: fill res and return 0, else -1. */
int		 dns_literal(const char *, struct dns_res *);

/*
 * Start a non-blocking TCP connection to the first of the addresses,
 * from *i on, that takes it: returns the socket, with *i at its
 * address, or -1 when none is left.
 */
int		 addr_connect(const struct dns_res *, int *, int);
/* Once writable: 0 connected, EINPROGRESS not yet, else the error. */
int		 addr_connected(int);

#endif /* AIB_DNS_H */
