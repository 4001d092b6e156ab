/*
 * A client connection, from accept to close.  The lifecycle here knows
 * no kind of session: each kind (the first request, a tunnel, an
 * interception, a metrics scrape, our own answer) brings its operations
 * when it takes the session over, and its libev watchers are re-armed
 * from buffer state after every step, so back-pressure needs no extra
 * logic.
 *
 * session_reply() and session_send() never free the session: the answer
 * goes out from the loop, so their caller may still touch it.  A kind's
 * start function (request_start(), tunnel_start(), mitm_start(),
 * admit()) may free it at once (a client already gone, a handshake that
 * fails at once): its caller returns right after.
 */
#ifndef AIB_SESSION_H
#define AIB_SESSION_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <ev.h>

#include "buf.h"
#include "endpoint.h"
#include "hostname.h"
#include "worker.h"

#define SESSION_BUF_SIZE	(64 * 1024)

struct session;

struct session_ops {
	const char	*name;
	/* A watcher of the session fired (revents), or it was fed. */
	void		(*io)(struct session *, int);
	/* The timeout or deadline passed. */
	void		(*timeout)(struct session *);
	/* Release the kind's state and write its audit line. */
	void		(*close)(struct session *);
	/* Between requests: a stop may close it now without loss. */
	int		(*idle)(const struct session *);
	/* A stop began: finish what is under way, then close. */
	void		(*drain)(struct session *);
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	uint64_t		 id;
	struct proxy		*px;
	struct proxy_conf	*conf;		/* the rules it started under */
	const struct session_ops *ops;
	void			*kind;		/* the kind's own state */
	struct endpoint		 client;
	struct buf		 cbuf;		/* from the client */
	struct buf		 sbuf;		/* to the client */
	ev_timer		 timer;
	ev_tstamp		 started;
	ev_tstamp		 active;	/* last byte moved */
	double			 timeout;	/* idle limit, from active */
	ev_tstamp		 deadline;	/* or a fixed end; 0: none */
	char			 peer[64];	/* client address:port, for logs */
	char			 addr[64];	/* the address alone */
	char			 tokenid[32];	/* of the credentials, or "" */
	char			 user[64];	/* their owner, once validated */
	/*
	 * The destination, in as many bytes as it has (an idle
	 * interception keeps it): "" until session_set_host().
	 */
	char			*host;
	int			 port;
	int			 metrics;	/* on the metrics listener */
};

/* A new session on an accepted socket, or NULL (fd left open). */
struct session	*session_new(struct proxy *, struct plistener *, int,
		    const struct sockaddr_storage *);
/*
 * The client's address in peer and addr, for the logs, the audit, the
 * throttles and the metrics: the socket's peer at first, the one a
 * PROXY protocol header names once it is read.
 */
void		 session_set_peer(struct session *,
		    const struct sockaddr_storage *);
/*
 * The same text: "address:port" ("[v6]:port") and the address alone;
 * an IPv4-mapped IPv6 address is written as the IPv4 address.
 */
void		 session_addr_text(const struct sockaddr_storage *, char *,
		    size_t, char *, size_t);
/* The destination's name, copied; -1 if memory ran out. */
int		 session_set_host(struct session *, const char *);
/* Close and free: the kind's close runs first. */
void		 session_free(struct session *, const char *);
/*
 * Hand the session to a kind (ops) with its state; the kind before is
 * closed first (its close operation runs).
 */
void		 session_become(struct session *, const struct session_ops *,
		    void *);
/*
 * Our own answer (http_answer()), then close.  The kind's state is
 * released first; the answer goes out from the event loop.
 */
void		 session_reply(struct session *, int, const char *,
		    const char *);
/* sbuf holds a whole answer: write it, then close. */
void		 session_send(struct session *);
/* An idle limit, restarted by every byte moved (session_touch). */
void		 session_set_timeout(struct session *, double);
/*
 * A fixed limit of secs from a moment (ev_now() or earlier) that
 * activity does not move.
 */
void		 session_set_deadline(struct session *, ev_tstamp, double);
void		 session_touch(struct session *);
/* Milliseconds from the configuration, in libev's seconds. */
double		 session_ms(uint32_t);
/* Every session of the worker, for a stop. */
void		 session_drain_all(struct proxy *);

#endif /* AIB_SESSION_H */
