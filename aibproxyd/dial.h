/*
 * The one way a worker opens a connection, for tunnels, forwarded
 * requests and the bridge pool alike: resolve the name (or take the
 * literal), check each address against the private-address policy,
 * connect to the first that takes it, optionally through the upstream
 * proxy (RFC 9110 9.3.6 CONNECT), optionally with TLS on top.
 *
 * dial_start() never calls the callback before it returns: failures it
 * finds at once are delivered from the next loop iteration, so the
 * caller's state is always complete when the callback runs.
 */
#ifndef AIB_DIAL_H
#define AIB_DIAL_H

#include <ev.h>
#include <tls.h>

#include "buf.h"
#include "endpoint.h"
#include "hostname.h"
#include "proto.h"
#include "upstream.h"

struct dial;
struct proxy;
struct proxy_conf;

/*
 * status 0: connected; else the HTTP status to answer for it: 403 every
 * address is refused by policy, 502 no connection could be made, 503
 * the worker ran out of descriptors or memory.  why says what happened,
 * for the log.
 */
typedef void	(*dial_cb)(void *, struct dial *, int, const char *);

struct dial_spec {
	const char		*label;		/* who dials, for the log */
	const char		*host;		/* name or literal */
	int			 port;
	int			 check;		/* private ones refused */
	int			 via_upstream;	/* through the upstream */
	int			 up_connect;	/* ... with a CONNECT */
	struct tls_config	*tls;		/* TLS to host, or NULL */
};

enum dial_state {
	D_IDLE,
	D_RESOLVE,		/* the destination's name */
	D_RESOLVE_UP,		/* the upstream's name */
	D_CONNECT,
	D_UPSTREAM,		/* TLS to and CONNECT through the upstream */
	D_HANDSHAKE,		/* TLS to the destination */
	D_DONE,
	D_FAILED		/* the callback is due from the loop */
};

/*
 * What a connected socket keeps; what is needed only while dialing (the
 * name, the candidates, the upstream's handshake, the reason) is in
 * struct dial_work, allocated by dial_start() and freed just before the
 * callback runs, so an idle tunnel does not carry it.
 */
struct dial_work;

struct dial {
	enum dial_state		 st;
	struct proxy		*px;
	struct proxy_conf	*conf;		/* held while dialing */
	struct dial_work	*w;		/* while dialing, else NULL */
	struct endpoint		 ep;		/* the socket's */
	struct endpoint		 inner;		/* TLS inside the upstream's */
	struct buf		 extra;		/* past the upstream's answer */
	ev_timer		 defer;
	int			 starting;	/* inside dial_start() */
	int			 status;
	dial_cb			 cb;
	void			*arg;
};

void		 dial_init(struct dial *);
/*
 * Start; the callback always runs later.  Host and label are copied.
 * The why it is given lives until it returns.
 */
void		 dial_start(struct dial *, struct proxy *, struct proxy_conf *,
		    const struct dial_spec *, dial_cb, void *);
/* Stop whatever is under way and close; the callback will not run. */
void		 dial_clear(struct dial *);
/* Once connected: the endpoint to use, its watcher calling cb(data). */
struct endpoint	*dial_endpoint(struct dial *, ev_io_cb, void *);

#endif /* AIB_DIAL_H */
