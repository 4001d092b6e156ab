/*
 * The corporate upstream proxy (SPEC 4.4): reach it (over TLS for an
 * https:// upstream, verified with its own trust store), ask it to
 * CONNECT, with our credentials and never the client's, and read its
 * answer.  Tunnels and, with upstream.bridge, the bridge hop use it,
 * through the dialer.  There are no callbacks: the caller runs
 * upstream_step() whenever the socket is ready, and it returns what
 * happened.
 */
#ifndef AIB_UPSTREAM_H
#define AIB_UPSTREAM_H

#include "buf.h"
#include "endpoint.h"
#include "proto.h"

struct proxy_conf;

enum upconnect_state {
	UP_HANDSHAKE,		/* TLS with the upstream */
	UP_REQUEST,		/* writing the CONNECT */
	UP_RESPONSE,		/* reading its answer */
	UP_DONE
};

struct upconnect {
	enum upconnect_state	 st;
	struct buf		 out;
	struct buf		 in;	/* after UP_DONE: bytes past the head */
	int			 status;
	int			 tunnel;	/* a CONNECT to send */
};

/* A new configuration: the trust store for https:// upstreams. */
int	 upstream_configure(struct proxy_conf *, char *, size_t);
/* Is there an upstream, and should this hop use it? */
int	 upstream_for_tunnels(const struct proxy_conf *);
int	 upstream_for_bridge(const struct proxy_conf *);
/*
 * Start on a socket connected to the upstream: TLS first if needed,
 * then "CONNECT host:port".  Returns -1 (why set) on failure.
 */
int	 upstream_begin(struct upconnect *, struct endpoint *,
	    const struct upstream_config *, const char *, int, char *,
	    size_t);
/* 1 tunnel open, 0 in progress (see upstream_interest), -1 failed. */
int	 upstream_step(struct upconnect *, struct endpoint *, char *, size_t);
void	 upstream_interest(const struct upconnect *, int *, int *);
void	 upstream_clear(struct upconnect *);

#endif /* AIB_UPSTREAM_H */
