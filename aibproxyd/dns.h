/*
 * Name lookups from a worker, answered by the resolver process.  A
 * lookup can be cancelled (its connection went away); a late answer is
 * then dropped.  The callback runs only from the resolver's answer,
 * never from dns_lookup() itself.
 */
#ifndef AIB_DNS_H
#define AIB_DNS_H

#include <stdint.h>

#include "imsgev.h"
#include "proto.h"

struct dns_client;

/* error: 0 or a getaddrinfo error code (dns_strerror). */
typedef void	(*dns_cb)(void *, int, const struct dns_res *);

/* Lookups sent over the channel to the resolver. */
struct dns_client *dns_client_new(struct imsgev *);
/* The id to cancel with, or 0 when the lookup could not be sent. */
uint32_t	 dns_lookup(struct dns_client *, const char *, dns_cb, void *);
void		 dns_cancel(struct dns_client *, uint32_t);
/* An IMSG_DNS_RES from the resolver: -1 if malformed. */
int		 dns_dispatch(struct dns_client *, uint32_t,
		    const struct dns_res *);
/*
 * The words for a failed lookup: gai_strerror(3), or for EAI_SYSTEM
 * the system's error it stands for.
 */
const char	*dns_strerror(int, const struct dns_res *);
/* A literal needs no lookup: fill res and return 0, else -1. */
int		 dns_literal(const char *, struct dns_res *);

#endif /* AIB_DNS_H */
