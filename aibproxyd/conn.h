/*
 * A client connection, from accept to close: an explicit state machine
 * whose libev watchers live in the struct and are re-armed from buffer
 * state after every step, so back-pressure needs no extra logic.
 */
#ifndef AIB_CONN_H
#define AIB_CONN_H

#include <sys/socket.h>

#include <ev.h>

#include "buf.h"
#include "endpoint.h"
#include "http.h"
#include "proto.h"

#define CONN_BUF_SIZE	(64 * 1024)

enum conn_state {
	CONN_TLS_ACCEPT,	/* TLS listener: handshake with the client */
	CONN_HEAD,		/* reading the request head */
	CONN_REPLY,		/* writing our own answer, then closing */
	CONN_RESOLVE,		/* waiting for the resolver */
	CONN_CONNECT,		/* connecting to the destination */
	CONN_UPSTREAM,		/* CONNECT exchange with the upstream proxy */
	CONN_TUNNEL,		/* relaying bytes both ways */
	CONN_FORWARD,		/* plain HTTP request forwarded, relaying */
	CONN_CERT,		/* waiting for signerd */
	CONN_MITM_HANDSHAKE,	/* TLS with the client, our leaf */
	CONN_MITM,		/* the intercepted request loop (mitm.c) */
	CONN_STATS		/* metrics: waiting for the parent's sum */
};

enum conn_kind {
	KIND_NONE,
	KIND_PAGE,
	KIND_TUNNEL,
	KIND_FORWARD,
	KIND_MITM
};

struct proxy_conf;
struct plistener;
struct mitm;
struct leaf;
struct cert_waiter;
struct dns_res;
struct splice_pipe;
struct upconnect;

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	uint64_t		 id;
	enum conn_state		 state;
	enum conn_kind		 kind;
	struct proxy_conf	*conf;		/* the rules it started under */
	struct endpoint		 client;
	struct endpoint		 server;	/* tunnel / forward target */
	struct buf		 cbuf;		/* from the client */
	struct buf		 sbuf;		/* to the client */
	struct buf		 obuf;		/* to the server, first */
	ev_timer		 timer;
	ev_tstamp		 started;
	ev_tstamp		 active;	/* last byte moved */
	double			 timeout;	/* of the current state */
	char			 peer[64];	/* client address, for logs */
	char			 host[AIB_HOSTNAME_MAX + 1];
	int			 port;
	uint32_t		 dnsid;
	struct dns_res		*addrs;		/* candidates to connect */
	int			 addri;
	struct http_body	 fwdbody;	/* forward: request framing */
	size_t			 fwdready;	/* forward: body bytes to send */
	struct splice_pipe	*pipes[2];	/* in use: up, down */
	int			 spliced;	/* tunnel fast path chosen */
	struct upconnect	*up;		/* exchange with the upstream */
	int			 via_upstream;
	struct leaf		*leaf;
	struct cert_waiter	*certwait;
	struct mitm		*mitm;
	const char		*outcome;	/* for the tunnel log line */
	int			 metrics;	/* on the metrics listener */
};
TAILQ_HEAD(conn_list, conn);

extern struct conn_list	 conns;
extern unsigned int	 nconns;

void	 conn_accept_cb(struct ev_loop *, ev_io *, int);
void	 conn_free(struct conn *, const char *);
/* Answer with a short plain-text page and close. */
void	 conn_reply(struct conn *, int, const char *, const char *);
/* Re-arm watchers and the timer after a step. */
void	 conn_arm(struct conn *);
void	 conn_set_timeout(struct conn *, double);
void	 conn_touch(struct conn *);
double	 conn_ms(uint32_t);
const char *http_status_text(int);

/* The states each file runs. */
void	 tunnel_start(struct conn *, int);
void	 tunnel_run(struct conn *, int);
void	 tunnel_free(struct conn *);
void	 mitm_start(struct conn *, const struct provider_config *,
	    const char *);
void	 mitm_run(struct conn *, int);
void	 mitm_free(struct conn *);
void	 page_serve(struct conn *, const struct http_head *);

#endif /* AIB_CONN_H */
