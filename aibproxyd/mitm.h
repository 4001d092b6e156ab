/*
 * Interception (SPEC 4.1, 4.2): a leaf from signerd, "200 Connection
 * established", TLS with the client, then a keep-alive loop in which
 * every request goes to the bridge, rewritten, and its response comes
 * back as it streams.  mitm.c runs the session (certificate, handshake,
 * timeouts, audit, our own answers); exchange.c moves one request and
 * its response.
 */
#ifndef AIB_MITM_H
#define AIB_MITM_H

#include "auth.h"
#include "buf.h"
#include "dump.h"
#include "endpoint.h"
#include "http.h"
#include "proto.h"
#include "rewrite.h"

struct bconn;
struct cert_waiter;
struct leaf;
struct session;

enum mitm_state {
	M_CERT,			/* waiting for signerd */
	M_HANDSHAKE,		/* TLS with the client, our leaf */
	M_REQ_HEAD,		/* waiting for the next request */
	M_BRIDGE_WAIT,		/* a bridge connection is being made */
	M_EXCHANGE,		/* request and response streaming */
	M_ANSWER,		/* our own answer, then next or close */
	M_CUT			/* the bridge failed mid-response */
};

/*
 * The request in flight: from its first byte to its audit line, and
 * only then, so a connection idle between requests does not hold it.
 */
struct mitm_req {
	char			 reqid[UUID_STR_LEN];
	char			 method[16];
	char			 path[256];
	int			 head_request;
	int			 status;
	struct dump		 dreq;		/* log.dump_dir */
	struct dump		 dresp;
	struct http_body	 reqbody;
	size_t			 reqready;	/* body bytes cleared to send */
	struct http_body	 respbody;
	size_t			 respready;
	int			 resp_head;	/* response head sent */
	int			 bridge_close;	/* bridge ends the connection */
	double			 t0;
	uint64_t		 up0, down0;	/* byte counters at start */
};

struct mitm {
	struct session		*s;
	enum mitm_state		 st;
	char			 pvname[AIB_NAME_MAX];	/* the provider's */
	char			*token;		/* held as long as its length */
	size_t			 tokensize;
	struct leaf		*leaf;
	struct cert_waiter	*certwait;
	struct endpoint		*inner;		/* ours, inside a TLS listener's */
	struct endpoint		*cep;		/* the client: &inner or &client */
	int			 tls_started;
	int			 routed;	/* counted in the metrics */
	struct bconn		*bc;		/* in use */
	struct bconn		*bcwait;	/* being made */
	struct endpoint		*bep;		/* bc's endpoint */
	struct buf		 tob;		/* rewritten head to the bridge */
	struct buf		 toc;		/* response head to the client */
	struct mitm_req		*rq;		/* NULL between requests */
	int			 client_close;
	int			 close_after;	/* answer, then close */
	const char		*cut;		/* why the response was cut */
};

/* A CONNECT to a provider, authenticated: take the session over. */
void	 mitm_start(struct session *, const struct provider_config *,
	    const char *);

/* Shared by mitm.c and exchange.c. */
/* The request's audit line; its state goes with it. */
void	 mitm_audit(struct mitm *, const char *);
void	 mitm_answer(struct mitm *, int, int);
/* Log, audit a request in flight, and close: returns -1 (freed). */
int	 mitm_fail(struct mitm *, const char *);
void	 mitm_set_idle(struct mitm *);
/*
 * A request's first byte: its state, a new id, the clock, the head's
 * deadline; -1 if memory ran out.
 */
int	 mitm_request_begin(struct mitm *);
/* Run the request loop as far as it goes, then re-arm. */
void	 mitm_loop(struct mitm *);
/* The response broke after its head: send what was valid, then close. */
int	 mitm_cut(struct mitm *, const char *);

#endif /* AIB_MITM_H */
