/*
 * A proxy worker: the only process that talks to clients, the bridge,
 * the upstream proxy and tunnel destinations.  It holds its own leaf
 * key, the leaves signerd gave it and the sessions, nothing more.
 */
#ifndef AIB_WORKER_H
#define AIB_WORKER_H

#include <sys/socket.h>

#include <ev.h>
#include <tls.h>

#include "imsgev.h"
#include "pconf.h"
#include "proto.h"
#include "stats.h"

struct session;
TAILQ_HEAD(session_list, session);
struct bridge_pool;
struct pipe_pool;
struct dns_client;
struct validator;

/*
 * A worker's whole state, handed to session code explicitly so that a
 * test can run sessions on its own loop with its own peers.
 */
struct proxy {
	struct ev_loop		*loop;
	int			 instance;
	struct imsgev		 parent;
	struct imsgev		 signer;
	struct imsgev		 resolver;
	struct proxy_conf	*conf;		/* serving */
	struct proxy_conf	*staged;	/* being offered */
	int			 stopping;	/* not ready: /readyz 503 */
	ev_timer		 delaytimer;	/* timeouts.drain_delay */
	int			 draining;	/* stopping: no new work */
	ev_timer		 draintimer;	/* timeouts.shutdown */
	struct proxy_stats	 stats;
	struct session_list	 sessions;
	unsigned int		 nsessions;
	uint64_t		 nextid;
	struct bridge_pool	*bridges;
	struct pipe_pool	*pipes;
	struct dns_client	*dns;
	struct validator	*validator;	/* auth.validate */
	ev_timer		 backoff;	/* accepting paused */
	int			 heap_decay;	/* heapdecay.c: on */
	ev_timer		 heap_timer;	/* quiet yet? */
	ev_tstamp		 heap_busy;	/* last activity */
	size_t			 heap_pad;	/* top of heap kept */
};


#endif /* AIB_WORKER_H */
