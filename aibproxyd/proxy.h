/*
 * A proxy worker: the only process that talks to clients, the bridge,
 * the upstream proxy and tunnel destinations.  It holds its own leaf
 * key, the leaves signerd gave it and the sessions, nothing more.
 */
#ifndef AIB_PROXY_H
#define AIB_PROXY_H

#include <sys/socket.h>

#include <ev.h>
#include <tls.h>

#include "imsgev.h"
#include "proto.h"
#include "stats.h"

#define PROXY_LISTEN_MAX	17	/* 16 listeners + metrics */
#define PROXY_BUNDLE_MAX	(8 * 1024 * 1024)
#define PROXY_PEM_MAX		(1024 * 1024)

struct proxy_conf;

struct plistener {
	struct listen_config	 lc;
	int			 fd;
	uint8_t			*cert;		/* until tls_configure() */
	size_t			 certlen;
	uint8_t			*key;
	size_t			 keylen;
	struct tls		*tls;		/* TLS listeners */
	ev_io			 io;
	struct proxy_conf	*conf;
};

/*
 * One configuration as a worker holds it.  Sessions keep a reference to
 * the one they started with, so a reload never changes the rules under
 * an established connection.
 */
struct proxy_conf {
	int			 refcnt;
	struct global_config	 gc;
	struct plistener	 listeners[PROXY_LISTEN_MAX];
	int			 nlisteners;
	struct provider_config	*providers;
	int			 nproviders;
	struct cidr_config	*cidrs;
	int			 ncidrs;
	struct bridge_config	 bridge;
	struct upstream_config	 upstream;
	uint8_t			*bridge_ca;
	size_t			 bridge_calen;
	uint8_t			*upstream_ca;
	size_t			 upstream_calen;
	uint8_t			*ca_cert;	/* the ca.cert file */
	size_t			 ca_certlen;
	int			 dumpfd;	/* log.dump_dir, or -1 */
};

struct proxy {
	struct ev_loop		*loop;
	int			 instance;
	struct imsgev		 parent;
	struct imsgev		 signer;
	struct imsgev		 resolver;
	struct proxy_conf	*conf;		/* serving */
	struct proxy_conf	*staged;	/* being offered */
	int			 draining;	/* stopping: no new work */
	ev_timer		 draintimer;
};

extern struct proxy	 proxy_env;
extern struct proxy_stats pstats;

void	 proxy_conf_ref(struct proxy_conf *);
/* Draining and the last connection went: stop. */
void	 proxy_drained(void);
/* Which provider, if any, is this canonical host? */
const struct provider_config *proxy_provider(const struct proxy_conf *,
	    const char *);
void	 proxy_conf_unref(struct proxy_conf *);

#endif /* AIB_PROXY_H */
