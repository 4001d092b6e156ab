/*
 * What crosses the process boundaries: one flat enum of message types
 * (direction in the comment) and the plain fixed-size structs they
 * carry.  No pointers ever cross a channel.
 */
#ifndef AIB_PROTO_H
#define AIB_PROTO_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>

#include "compat.h"

#define AIB_NAME_MAX		64	/* provider name, incl. NUL */
#define AIB_PATH_MAX		1024
#define AIB_PORTS_MAX		64	/* tunnel.ports entries */
#define AIB_EGRESS_MAX		1024	/* tunnel.allow, tunnel.deny: each */
#define AIB_SPKI_MAX		1024	/* SubjectPublicKeyInfo DER */
#define AIB_REASON_MAX		256
#define AIB_CRED_MAX		512	/* upstream "Basic ..." value */
#define AIB_DNS_ADDRS_MAX	16
#define AIB_PROXY_FROM_MAX	64	/* listen[].proxy_from entries */
#define AIB_ADDR_MAX		64	/* a client address as text, NUL too */
#define AIB_WINDOW_MAX		86400000	/* ms: failures.window, 1d */

/* Well-known descriptors in a freshly exec'd child. */
#define AIB_PARENT_FD		3
/* A child killed by its sandbox says which call here (common/sandbox.h). */
#define AIB_REPORT_FD		4

enum aib_proc {
	PROC_PARENT,
	PROC_SIGNER,
	PROC_PROXY,
	PROC_RESOLVER,
	PROC_MAX
};

enum imsg_type {
	IMSG_NONE,
	IMSG_CTL_VERBOSE,	/* parent -> all: int log level */
	IMSG_CTL_PROCFD,	/* parent -> child: struct ctl_procfd + fd */
	IMSG_CFG_GLOBAL,	/* parent -> all: struct global_config */
	IMSG_CFG_LISTEN,	/* parent -> proxy: struct listen_config + fd */
	IMSG_CFG_LISTEN_CERT,	/* parent -> proxy: fd; peerid = listener */
	IMSG_CFG_LISTEN_KEY,	/* parent -> proxy: fd; peerid = listener */
	IMSG_CFG_PROVIDER,	/* parent -> proxy, signer: provider_config */
	IMSG_CFG_CIDR,		/* parent -> proxy: struct cidr_config */
	IMSG_CFG_EGRESS,	/* parent -> proxy: struct egress_config */
	IMSG_CFG_BRIDGE,	/* parent -> proxy: struct bridge_config */
	IMSG_CFG_BRIDGE_CA,	/* parent -> proxy: fd of bridge.ca */
	IMSG_CFG_UPSTREAM,	/* parent -> proxy: struct upstream_config */
	IMSG_CFG_UPSTREAM_CA,	/* parent -> proxy: fd of upstream.ca */
	IMSG_CFG_CA_CERT,	/* parent -> proxy, signer: fd of ca.cert */
	IMSG_CFG_CA_KEY,	/* parent -> signer only: fd of ca.key */
	IMSG_CFG_PKCS11,	/* parent -> signer only: struct pkcs11_config,
				   in place of IMSG_CFG_CA_KEY */
	IMSG_CFG_DUMPDIR,	/* parent -> proxy: fd of log.dump_dir */
	IMSG_CFG_AUTH,		/* parent -> proxy: struct auth_config */
	IMSG_CFG_DONE,		/* parent -> child: end of a config;
				   child -> parent: struct cfg_ack */
	IMSG_CFG_ABORT,		/* parent -> child: drop the staged config */
	IMSG_CTL_START,		/* parent -> child: commit the staged config */
	IMSG_CTL_SHUTDOWN,	/* parent -> proxy: stop accepting, drain, exit */
	IMSG_STATS_REQ,		/* proxy -> parent: a scrape (peerid = its id);
				   parent -> proxy: send your counters */
	IMSG_STATS,		/* proxy -> parent: struct proxy_stats */
	IMSG_STATS_RES,		/* parent -> proxy: the sum, for a scrape */
	IMSG_CERT_REQ,		/* proxy -> signer: cert_req + SPKI DER;
				   peerid = request id */
	IMSG_CERT_RES,		/* signer -> proxy: cert_res + PEM chain */
	IMSG_DNS_REQ,		/* proxy -> resolver: struct dns_req */
	IMSG_DNS_RES,		/* resolver -> proxy: struct dns_res */
	IMSG_AUTH_FAILED,	/* proxy -> parent: struct auth_failed */
	IMSG_AUTH_THROTTLED,	/* parent -> proxy: struct auth_throttled */
	IMSG_MAX
};

/* IMSG_CTL_PROCFD: the channel to another child, fd attached. */
struct ctl_procfd {
	int32_t		 pf_proc;	/* enum aib_proc of the other end */
	int32_t		 pf_instance;	/* which worker, for the signer */
};

enum tunnel_auth {
	TUNNEL_AUTH_OPEN,
	TUNNEL_AUTH_TOKEN
};

/* One entry of tunnel.ports: a port (lo == hi) or a range of them. */
struct port_range {
	uint16_t	 pr_lo;
	uint16_t	 pr_hi;
};

/* IMSG_CFG_GLOBAL: settings every child may need. */
struct global_config {
	int32_t		 gc_loglevel;
	int32_t		 gc_logformat;	/* enum log_format */
	int32_t		 gc_tunnel_auth;	/* enum tunnel_auth */
	uint32_t	 gc_leaf_lifetime;	/* seconds */
	uint32_t	 gc_timeout_header;	/* milliseconds */
	uint32_t	 gc_timeout_handshake;
	uint32_t	 gc_timeout_idle;
	uint32_t	 gc_timeout_connect;
	uint32_t	 gc_timeout_shutdown;
	uint32_t	 gc_timeout_drain_delay;	/* may be 0 */
	uint32_t	 gc_max_connections;
	uint32_t	 gc_header_bytes;
	struct port_range gc_ports[AIB_PORTS_MAX];
	int32_t		 gc_nports;
};

/* IMSG_CFG_CIDR: one allowed private/reserved range. */
struct cidr_config {
	int32_t		 cc_af;		/* AF_INET or AF_INET6 */
	int32_t		 cc_prefixlen;
	uint8_t		 cc_addr[16];	/* network byte order */
};

/* IMSG_CFG_LISTEN: one listening socket, fd attached; peerid = index. */
struct listen_config {
	int32_t		 lc_index;
	int32_t		 lc_tls;
	int32_t		 lc_metrics;	/* the metrics listener */
	char		 lc_name[AIB_HOSTNAME_MAX + 8];	/* as configured */
	/* A PROXY protocol header first, from these peers (0: any). */
	int32_t		 lc_proxy_protocol;
	int32_t		 lc_nproxy_from;
	struct cidr_config lc_proxy_from[AIB_PROXY_FROM_MAX];
};

enum provider_type {
	PROVIDER_GENERIC,
	PROVIDER_COPILOT
};

/* IMSG_CFG_PROVIDER: one intercepted host and its bridge route. */
struct provider_config {
	char		 pc_name[AIB_NAME_MAX];
	char		 pc_host[AIB_HOSTNAME_MAX + 1];	/* canonical */
	int32_t		 pc_type;	/* enum provider_type */
};

enum egress_kind {
	EGRESS_NAME,		/* exactly this name */
	EGRESS_DOMAIN,		/* "*.example.com": any name under it */
	EGRESS_ADDR		/* an IP address literal */
};

/*
 * IMSG_CFG_EGRESS: one pattern of tunnel.allow or tunnel.deny.  An
 * IPv4-mapped IPv6 address is kept as the IPv4 address it carries.
 */
struct egress_config {
	int32_t		 eg_deny;	/* 1: tunnel.deny, 0: tunnel.allow */
	int32_t		 eg_kind;	/* enum egress_kind */
	int32_t		 eg_af;		/* EGRESS_ADDR: AF_INET, AF_INET6 */
	uint8_t		 eg_addr[16];	/* EGRESS_ADDR: network order */
	/* A name canonical ("*." kept), an address as written. */
	char		 eg_pattern[AIB_HOSTNAME_MAX + 1];
};

/* IMSG_CFG_BRIDGE: where intercepted requests go. */
/*
 * The bridge's route for intercepted requests, which the proxy appends
 * to bc_path: <bridge.url>/api/v2/aibridge/<provider>/<path>.
 */
#define AIB_BRIDGE_ROUTE	"/api/v2/aibridge"

struct bridge_config {
	int32_t		 bc_tls;	/* https:// */
	int32_t		 bc_port;
	char		 bc_host[AIB_HOSTNAME_MAX + 1];
	char		 bc_hostport[AIB_HOSTNAME_MAX + 8];	/* Host: */
	char		 bc_path[AIB_PATH_MAX];	/* prefix, no trailing / */
};

/* IMSG_CFG_UPSTREAM: the corporate proxy, if any. */
struct upstream_config {
	int32_t		 uc_enabled;
	int32_t		 uc_tls;	/* https:// */
	int32_t		 uc_bridge;	/* bridge hop goes through it too */
	int32_t		 uc_port;
	char		 uc_host[AIB_HOSTNAME_MAX + 1];
	char		 uc_auth[AIB_CRED_MAX];	/* "Basic ..." or "" */
};

/* IMSG_CFG_AUTH: asking the bridge whether a token is valid. */
struct auth_config {
	int32_t		 ac_validate;	/* auth.validate is set */
	char		 ac_path[AIB_PATH_MAX];	/* GET <bridge.url><path> */
	uint32_t	 ac_ttl;		/* ms a valid answer holds */
	uint32_t	 ac_negative_ttl;	/* ms a refusal holds */
	uint32_t	 ac_max_entries;
	uint32_t	 ac_fail_limit;		/* failures per address ... */
	uint32_t	 ac_fail_window;	/* ... in this many ms */
};

/*
 * IMSG_AUTH_FAILED: credentials from af_addr were malformed or refused
 * (auth.failures), counted by a worker whose failures.window is
 * af_window; the parent counts them for the whole daemon.
 */
struct auth_failed {
	char		 af_addr[AIB_ADDR_MAX];
	uint32_t	 af_window;	/* ms */
};

/*
 * IMSG_AUTH_THROTTLED: at_addr has at_count failures in a window that
 * ends in at_remaining ms, at least failures.limit: refuse it until then.
 */
struct auth_throttled {
	char		 at_addr[AIB_ADDR_MAX];
	uint32_t	 at_count;
	uint32_t	 at_remaining;	/* ms */
};

/*
 * IMSG_CFG_PKCS11: the CA key is in a token.  p11_pin is the token's
 * user PIN, read from ca.pkcs11.pin_file by the parent; both ends wipe
 * it once used.
 */
#define AIB_PIN_MAX		256
struct pkcs11_config {
	char		 p11_module[AIB_PATH_MAX];	/* absolute path */
	char		 p11_uri[AIB_PATH_MAX];		/* RFC 7512 */
	char		 p11_pin[AIB_PIN_MAX];
};

/* IMSG_CFG_DONE from a child: did the staged config take? */
struct cfg_ack {
	int32_t		 ca_ok;
	char		 ca_reason[AIB_REASON_MAX];
};

/* IMSG_CERT_REQ: followed by cr_spkilen bytes of SPKI DER. */
struct cert_req {
	char		 cr_host[AIB_HOSTNAME_MAX + 1];
	uint32_t	 cr_spkilen;
};

/* IMSG_CERT_RES: followed by the PEM chain (leaf first) when ok. */
struct cert_res {
	int32_t		 cs_ok;
	int64_t		 cs_notafter;	/* leaf expiry, Unix time */
	char		 cs_reason[AIB_REASON_MAX];
};

/* IMSG_DNS_REQ: peerid = request id. */
struct dns_req {
	char		 dr_host[AIB_HOSTNAME_MAX + 1];
};

struct dns_addr {
	int32_t		 da_af;
	uint8_t		 da_addr[16];
};

/*
 * IMSG_DNS_RES: peerid = request id; dn_error is a gai error or 0, and
 * with EAI_SYSTEM dn_errno is the errno it stands for.
 */
struct dns_res {
	int32_t		 dn_error;
	int32_t		 dn_errno;
	int32_t		 dn_naddrs;
	struct dns_addr	 dn_addrs[AIB_DNS_ADDRS_MAX];
};

#endif /* AIB_PROTO_H */
