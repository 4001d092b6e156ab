/*
 * One configuration as a worker holds it (see pconf.c).
 */
#ifndef AIB_PCONF_H
#define AIB_PCONF_H

#include <ev.h>
#include <tls.h>

#include "imsg.h"
#include "proto.h"

struct proxy;

#define PROXY_LISTEN_MAX	17	/* 16 listeners + metrics */
#define PROXY_BUNDLE_MAX	(8 * 1024 * 1024)
#define PROXY_PEM_MAX		(1024 * 1024)
#define PROXY_FPR_LEN		96	/* SHA-256 as "AB:CD:...", NUL */

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
	struct proxy		*px;
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
	struct egress_config	*egress;	/* tunnel.allow, tunnel.deny */
	int			 negress;
	struct bridge_config	 bridge;
	struct auth_config	 auth;
	struct upstream_config	 upstream;
	uint8_t			*bridge_ca;
	size_t			 bridge_calen;
	uint8_t			*upstream_ca;
	size_t			 upstream_calen;
	uint8_t			*ca_cert;	/* the ca.cert file */
	size_t			 ca_certlen;
	char			 ca_fpr[PROXY_FPR_LEN];	/* what / shows */
	int			 dumpfd;	/* log.dump_dir, or -1 */
};

struct proxy_conf	*proxy_conf_new(void);
void		 proxy_conf_ref(struct proxy_conf *);
void		 proxy_conf_unref(struct proxy_conf *);
/* One IMSG_CFG_* message into the staged configuration; -1 if bad. */
int		 proxy_conf_dispatch(struct proxy_conf *, struct imsg *);
/* Everything a worker can find wrong with a configuration it got. */
int		 proxy_conf_check(struct proxy_conf *, char *, size_t);
/* Which provider, if any, is this canonical host? */
const struct provider_config *proxy_provider(const struct proxy_conf *,
		    const char *);

#endif /* AIB_PCONF_H */
