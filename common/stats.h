/*
 * Counters a worker keeps and the parent sums on each scrape: plain
 * fixed-size data, as everything that crosses a channel.
 */
#ifndef AIB_STATS_H
#define AIB_STATS_H

#include <stdint.h>

#include "proto.h"

#define STATS_PROVIDERS_MAX	64
#define STATS_CODES_MAX		24
#define STATS_BUCKETS		14

/* Upper bounds of the request duration buckets, in seconds. */
extern const double	 stats_bucket_le[STATS_BUCKETS];

struct stats_code {
	int32_t		 sc_code;
	uint64_t	 sc_count;
};

struct stats_provider {
	char			 sp_name[AIB_NAME_MAX];
	uint64_t		 sp_requests;
	int64_t			 sp_inflight;
	struct stats_code	 sp_codes[STATS_CODES_MAX];
	uint64_t		 sp_buckets[STATS_BUCKETS];	/* not cumulative */
	uint64_t		 sp_count;
	double			 sp_sum;
};

/* A latency histogram: non-cumulative buckets, as stats_bucket_le. */
struct stats_hist {
	uint64_t		 sh_buckets[STATS_BUCKETS];
	uint64_t		 sh_count;
	double			 sh_sum;
};

/* Token checks (auth.validate), by result. */
enum stats_auth {
	STATS_AUTH_VALID,
	STATS_AUTH_INVALID,
	STATS_AUTH_MISSING,
	STATS_AUTH_UNAVAILABLE,
	STATS_AUTH_THROTTLED,
	STATS_AUTH_MAX
};

/* Decided from the cache (or locally), or by the bridge's answer. */
struct stats_auth_row {
	uint64_t		 sa_cache;
	uint64_t		 sa_bridge;
};

/*
 * Why a tunnel, a forwarded request or an intercepted CONNECT was
 * refused: tunnel.ports, a private address, tunnel.allow or
 * tunnel.deny, or missing credentials.
 */
enum stats_refusal {
	REFUSED_PORT,
	REFUSED_PRIVATE,
	REFUSED_POLICY,
	REFUSED_AUTH,
	REFUSED_MAX
};

/*
 * Why a TLS handshake with a client failed (stats_tls_reason()): it
 * does not trust our certificate (an unknown CA or bad certificate
 * alert), no protocol version or cipher in common (or no TLS at all),
 * the server name differs from the CONNECT, timeouts.handshake passed,
 * the client hung up, or anything else.
 */
enum stats_tls_fail {
	TLSFAIL_UNTRUSTED,
	TLSFAIL_PROTOCOL,
	TLSFAIL_SERVERNAME,
	TLSFAIL_TIMEOUT,
	TLSFAIL_CLOSED,
	TLSFAIL_OTHER,
	TLSFAIL_MAX
};

/* A TLS listener's own handshake, or an interception's inside CONNECT. */
enum stats_tls_stage {
	TLSSTAGE_LISTENER,
	TLSSTAGE_INTERCEPT,
	TLSSTAGE_MAX
};

/*
 * Why a 407 was answered: no Proxy-Authorization, one that does not
 * parse (or more than one), or credentials the bridge refused.
 */
enum stats_407 {
	AUTH407_MISSING,
	AUTH407_MALFORMED,
	AUTH407_REFUSED,
	AUTH407_MAX
};

/* One process's figures, read by the parent at a scrape (-1: unknown). */
#define STATS_PROCS_MAX		(3 + 64)	/* parent, signer, resolver,
						   AIB_WORKERS_MAX workers */
struct stats_proc {
	char			 spr_name[16];	/* "parent", "proxy 3" */
	int64_t			 spr_open_fds;
	int64_t			 spr_max_fds;
	int64_t			 spr_rss_bytes;
	uint64_t		 spr_restarts;	/* replaced after a death */
};

/* PROXY protocol headers refused (listen[].proxy_protocol), by reason. */
enum stats_proxyproto {
	PPERR_MISSING,		/* the connection began with something else */
	PPERR_MALFORMED,	/* a header, but not a valid one */
	PPERR_TIMEOUT,		/* not whole within timeouts.header */
	PPERR_CLOSED,		/* closed or failed before it was whole */
	PPERR_PEER,		/* a peer outside proxy_from */
	PPERR_MAX
};

struct proxy_stats {
	uint64_t		 st_sessions_mitm;
	uint64_t		 st_sessions_tunneled;
	int64_t			 st_open_connections;
	uint64_t		 st_bytes_from_clients;
	uint64_t		 st_bytes_to_clients;
	uint64_t		 st_certs_issued;
	uint64_t		 st_certs_refused;
	struct stats_auth_row	 st_auth[STATS_AUTH_MAX];
	struct stats_hist	 st_auth_latency;	/* bridge checks */
	uint64_t		 st_refused[REFUSED_MAX];	/* by reason */
	/* client TLS handshakes that failed, 407 answers */
	uint64_t		 st_tls_fail[TLSSTAGE_MAX][TLSFAIL_MAX];
	uint64_t		 st_407[AUTH407_MAX];
	uint64_t		 st_proxyproto[PPERR_MAX];	/* by reason */
	/* filled in by the parent */
	uint64_t		 st_reloads;
	uint64_t		 st_reload_failures;
	int64_t			 st_last_reload_success;	/* Unix time */
	int64_t			 st_ca_not_after;	/* Unix time; 0: unknown */
	int32_t			 st_nprocs;
	struct stats_proc	 st_procs[STATS_PROCS_MAX];
	int32_t			 st_nproviders;
	struct stats_provider	 st_providers[STATS_PROVIDERS_MAX];
};

/* The entry for a provider name, added if new; NULL when full. */
struct stats_provider	*stats_provider(struct proxy_stats *, const char *);
void			 stats_response(struct stats_provider *, int, double);
void			 stats_latency(struct stats_hist *, double);
/* The reason a client's TLS handshake failed, from libtls's error. */
enum stats_tls_fail	 stats_tls_reason(const char *);
/* sum += add, providers merged by name. */
void			 stats_add(struct proxy_stats *,
			    const struct proxy_stats *);

#endif /* AIB_STATS_H */
