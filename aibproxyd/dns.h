/*
 * Name lookups from a worker, answered by the resolver process.  A
 * lookup can be cancelled (its connection went away); a late answer is
 * then dropped.  The callback runs only from the resolver's answer,
 * never from dns_lookup() itself.
 *
 * Answers with addresses are kept for DNS_CACHE_TTL seconds, at most
 * DNS_CACHE_MAX names, so that a burst of connections to one host costs
 * one round trip to the resolver; failures are never kept.  A cached
 * answer is only a list of candidates: the dialer checks every address
 * against the policy each time, as it does a fresh one.
 */
#ifndef AIB_DNS_H
#define AIB_DNS_H

#include <stdint.h>

#include "imsgev.h"
#include "proto.h"

#define DNS_CACHE_TTL	5.0	/* seconds an answer is reused */
#define DNS_CACHE_MAX	256	/* names kept, the oldest go first */

struct dns_client;

/* error: 0 or a getaddrinfo error code (dns_strerror). */
typedef void	(*dns_cb)(void *, int, const struct dns_res *);

/* Lookups sent over the channel to the resolver; now() is the clock. */
struct dns_client *dns_client_new(struct imsgev *, double (*)(void *),
		    void *);
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
/* A fresh cached answer for the name: fill res and return 0, else -1. */
int		 dns_cached(struct dns_client *, const char *, struct dns_res *);
/* Forget every cached answer. */
void		 dns_cache_clear(struct dns_client *);

#endif /* AIB_DNS_H */
