/*
 * The configuration file (/etc/aibproxyd.yaml), parsed in the parent
 * only.  Every error names the file, the line and the key:
 *
 *	/etc/aibproxyd.yaml:14: tunnel.ports: "http" is not a port
 */
#ifndef AIB_CONFIG_H
#define AIB_CONFIG_H

#include <sys/types.h>
#include <sys/socket.h>
#include <limits.h>
#include <stdint.h>

#include "compat.h"
#include "proto.h"

#define AIB_CONFIG_FILE		"/etc/aibproxyd.yaml"
#define AIB_DEFAULT_USER	"_aibproxyd"
#define AIB_DEFAULT_SIGNER_USER	"_aibsignerd"
#define AIB_DEFAULT_CHROOT	"/var/empty"
#define AIB_WORKERS_MAX		64

struct config_error {
	TAILQ_ENTRY(config_error)	 entry;
	char				 msg[1024];
};
TAILQ_HEAD(config_errors, config_error);

/* A file named in the configuration and the line that named it. */
struct config_file {
	char		 path[PATH_MAX];	/* "" when not set */
	int		 line;
};

struct listen_conf {
	TAILQ_ENTRY(listen_conf)	 entry;
	char				 address[AIB_HOSTNAME_MAX + 8];
	struct sockaddr_storage		 ss;
	socklen_t			 sslen;
	int				 tls;
	struct config_file		 cert;
	struct config_file		 key;
	int				 line;
	int				 proxy_protocol;
	struct cidr_config		 proxy_from[AIB_PROXY_FROM_MAX];
	int				 nproxy_from;
	int				 proxy_from_line;	/* 0: not set */
};
TAILQ_HEAD(listen_list, listen_conf);

struct provider_conf {
	TAILQ_ENTRY(provider_conf)	 entry;
	struct provider_config		 pc;	/* as sent to children */
	int				 line;
};
TAILQ_HEAD(provider_list, provider_conf);

struct cidr_conf {
	TAILQ_ENTRY(cidr_conf)		 entry;
	struct cidr_config		 cc;
	char				 text[64];	/* as written */
	int				 line;
};
TAILQ_HEAD(cidr_list, cidr_conf);

struct egress_conf {
	TAILQ_ENTRY(egress_conf)	 entry;
	struct egress_config		 eg;	/* as sent to workers */
	int				 idx;	/* in its list */
	int				 line;
};
TAILQ_HEAD(egress_list, egress_conf);

struct aib_config {
	char			 path[PATH_MAX];	/* the file parsed */
	char			 user[64];
	char			 signer_user[64];
	char			 chroot[PATH_MAX];
	int			 workers;	/* resolved: >= 1 */

	struct listen_list	 listens;
	struct config_file	 ca_cert;
	struct config_file	 ca_key;	/* path "" with a URI */
	/* ca.key as an RFC 7512 URI: the key stays in a PKCS#11 token. */
	char			 ca_key_uri[AIB_PATH_MAX];	/* "" = file */
	struct config_file	 ca_pkcs11_module;
	struct config_file	 ca_pkcs11_pin;	/* never read here */
	uint32_t		 leaf_lifetime;	/* seconds */

	char			 bridge_url[AIB_PATH_MAX];
	struct bridge_config	 bridge;
	struct config_file	 bridge_ca;	/* "" = system default */

	struct provider_list	 providers;

	int			 tunnel_auth;	/* enum tunnel_auth */
	struct auth_config	 auth;
	struct port_range	 ports[AIB_PORTS_MAX];
	int			 nports;
	struct cidr_list	 cidrs;
	struct egress_list	 egress;	/* tunnel.allow, tunnel.deny */

	char			 upstream_url[AIB_PATH_MAX];
	struct upstream_config	 upstream;	/* uc_enabled 0 if none */
	struct config_file	 upstream_ca;

	uint32_t		 timeout_header;	/* milliseconds */
	uint32_t		 timeout_handshake;
	uint32_t		 timeout_idle;
	uint32_t		 timeout_connect;
	uint32_t		 timeout_shutdown;
	uint32_t		 timeout_drain_delay;	/* may be 0 */

	uint32_t		 max_connections;
	int			 max_connections_set;	/* in the file */
	uint32_t		 header_bytes;

	int			 metrics;	/* metrics.listen set */
	char			 metrics_address[AIB_HOSTNAME_MAX + 8];
	struct sockaddr_storage	 metrics_ss;
	socklen_t		 metrics_sslen;

	int			 loglevel;	/* enum log_level */
	int			 logformat;	/* enum log_format */
	char			 dump_dir[AIB_PATH_MAX];	/* "" = off */
};

/*
 * Parse and validate a configuration file.  On success returns a new
 * config (free with config_free()).  On failure returns NULL and
 * appends one or more "file:line: key: message" entries to errs.
 */
struct aib_config	*config_load(const char *, struct config_errors *);
/* The same from memory; name is used in messages in place of a path. */
struct aib_config	*config_load_mem(const char *, const char *, size_t,
			    struct config_errors *);
void			 config_free(struct aib_config *);
void			 config_errors_clear(struct config_errors *);

/* Duration "10s", "5m", "2h", "7d", "250ms" in ms; -1 if malformed. */
int64_t			 config_parse_duration(const char *);
/*
 * One tunnel.allow or tunnel.deny pattern into eg (eg_deny left 0):
 * NULL, or what is wrong with it, to follow the quoted pattern.
 */
const char		*config_parse_egress(const char *,
			    struct egress_config *);
/* Fill gc, the settings every child gets, from conf. */
void			 config_global(const struct aib_config *,
			    struct global_config *);

#endif /* AIB_CONFIG_H */
