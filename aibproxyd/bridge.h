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
struct bridge_pool;
struct proxy;
struct proxy_conf;

/*
 * A new connection is ready (status 0), or none could be made: bc is
 * NULL, status is the HTTP status to answer (502, 503) and why says
 * what failed.
 */
typedef void	(*bridge_cb)(void *, struct bconn *, int, const char *);

struct bridge_pool *bridge_pool_new(struct proxy *);
/* A new configuration: new trust store, old connections retire. */
int		 bridge_configure(struct bridge_pool *, struct proxy_conf *,
		    char *, size_t);
/*
 * A connection for one request.  0: *bc is an idle pooled one, the
 * caller's now.  1: *bc is being made; cb runs later, never before
 * bridge_get() returns, and bridge_cancel(*bc) stops it.  -1: none
 * could even be started (out of memory, not configured).
 */
int		 bridge_get(struct bridge_pool *, bridge_cb, void *,
		    struct bconn **);
void		 bridge_cancel(struct bconn *);
/*
 * Give it back: kept for reuse if reusable, else closed.  extra: bytes
 * the caller read past the end of the response; any there, or still
 * in the endpoint, close it too (logged: the bridge broke HTTP).
 */
void		 bridge_put(struct bconn *, int, size_t);
/* The endpoint to read and write; its watcher calls cb with data. */
struct endpoint	*bridge_endpoint(struct bconn *, ev_io_cb, void *);

#endif /* AIB_BRIDGE_H */
