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

enum mitm_state {
	M_REQ_HEAD,		/* waiting for the next request */
	M_BRIDGE_WAIT,		/* a bridge connection is being made */
	M_EXCHANGE,		/* request and response streaming */
	M_ANSWER		/* our own answer, then next or close */
};

/* Per interception: the tunnel's state, kept apart from the request's. */
struct mitm {
	enum mitm_state		 st;
	struct provider_config	 pv;
	char			 token[AUTH_TOKEN_MAX];
	char			 tokenid[32];
	struct endpoint		 inner;		/* ours, inside a TLS listener's */
	struct endpoint		*cep;		/* the client: &inner or c->client */
	int			 tls_started;
	int			 inflight;	/* a request is being served */
	int			 routed;	/* counted in the metrics */
	struct dump		 dreq;		/* log.dump_dir */
	struct dump		 dresp;
	struct bconn		*bc;		/* in use */
	struct bconn		*bcwait;	/* being made */
	struct endpoint		*bep;		/* bc's endpoint */
	struct buf		 tob;		/* rewritten head to the bridge */
	struct buf		 toc;		/* response head to the client */
	/* the request in flight */
	char			 reqid[UUID_STR_LEN];
	char			 method[16];
	char			 path[256];
	int			 head_request;
	int			 client_close;
	struct http_body	 reqbody;
	size_t			 reqready;	/* body bytes cleared to send */
	struct http_body	 respbody;
	size_t			 respready;
	int			 resp_head;	/* response head sent */
	int			 status;
	int			 close_after;	/* answer, then close */
	int			 bridge_close;	/* bridge ends the connection */
	double			 t0;
	uint64_t		 up0, down0;	/* byte counters at start */
};

#endif /* AIB_MITM_H */
