/*
 * Leaf certificates for intercepted hosts.  The worker generates its
 * own key pair (the private key never leaves it), asks signerd for a
 * certificate per host, and keeps one configured libtls server context
 * per host, renewed before it expires.
 */
#ifndef AIB_CERTS_H
#define AIB_CERTS_H

#include <tls.h>

#include "imsg.h"

struct leaf;
struct cert_waiter;
struct proxy;

/* ctx is NULL when no certificate could be had (why says so). */
typedef void	(*cert_cb)(void *, struct leaf *, const char *);

/* A new key pair and an empty cache (start-up and every reload). */
void		 certs_reset(struct proxy *);
/*
 * The leaf for host, if a fresh one is cached (its reference is the
 * caller's); otherwise NULL, and cb runs later from the event loop,
 * never before certs_get() returns, unless the returned waiter is
 * cancelled first.  NULL with no waiter: no certificate can be asked
 * for now (out of memory).
 */
struct leaf	*certs_get(const char *, cert_cb, void *,
		    struct cert_waiter **);
void		 certs_cancel(struct cert_waiter *);
struct tls	*leaf_tls(struct leaf *);
void		 leaf_unref(struct leaf *);
/* An IMSG_CERT_RES from signerd. */
int		 certs_dispatch(struct imsg *);

#endif /* AIB_CERTS_H */
