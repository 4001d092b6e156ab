/*
 * Tunnels (CONNECT to a host that is not a provider) and forwarded
 * plain HTTP requests: the dial, then the byte relay with half-close
 * and an idle timeout.
 */
#ifndef AIB_TUNNEL_H
#define AIB_TUNNEL_H

#include "buf.h"
#include "http.h"

struct session;

/* A plain HTTP request to forward: its rewritten head, and framing. */
struct tunnel_forward {
	struct buf		 head;		/* taken over by the tunnel */
	struct http_body	 body;		/* the request body's framing */
};

/* Take the session over; fw is NULL for a CONNECT tunnel. */
void	 tunnel_start(struct session *, struct tunnel_forward *);

#endif /* AIB_TUNNEL_H */
