/*
 * Connections to the AI Bridge: verified TLS (or plain http:// for
 * local testing), kept alive and reused across requests so a steady
 * stream of requests costs no new handshakes.
 */
#ifndef AIB_BRIDGE_H
#define AIB_BRIDGE_H

#include <ev.h>

#include "endpoint.h"

struct bconn;
struct proxy_conf;

/* bc is NULL when no connection could be made (why says so). */
typedef void	(*bridge_cb)(void *, struct bconn *, const char *);

/* A new configuration: new trust store, old connections retire. */
int		 bridge_configure(struct proxy_conf *, char *, size_t);
/*
 * An idle pooled connection, or NULL and cb later (a new one is being
 * made; *pending can cancel it).  Either way the caller then owns it.
 */
struct bconn	*bridge_get(bridge_cb, void *, struct bconn **);
void		 bridge_cancel(struct bconn *);
/* Give it back: kept for reuse if reusable, else closed. */
void		 bridge_put(struct bconn *, int);
/* The endpoint to read and write; its watcher calls cb with data. */
struct endpoint	*bridge_endpoint(struct bconn *, ev_io_cb, void *);
/* How many connections this worker has made, and how many requests. */
void		 bridge_stats(unsigned long long *, unsigned long long *);

#endif /* AIB_BRIDGE_H */
