/*
 * What the configuration is before the file is read (the defaults),
 * the checks that need more than one key, and the configuration as
 * the children get it (struct global_config, common/proto.h).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "log.h"

/* The defaults, as aibproxyd.yaml(5) gives them. */
struct aib_config *
cfg_defaults(const char *name)
{
	struct aib_config	*conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return (NULL);
	(void)strlcpy(conf->path, name, sizeof(conf->path));
	(void)strlcpy(conf->user, AIB_DEFAULT_USER, sizeof(conf->user));
	(void)strlcpy(conf->signer_user, AIB_DEFAULT_SIGNER_USER,
	    sizeof(conf->signer_user));
	(void)strlcpy(conf->chroot, AIB_DEFAULT_CHROOT, sizeof(conf->chroot));
	conf->workers = cfg_workers_auto();
	TAILQ_INIT(&conf->listens);
	TAILQ_INIT(&conf->providers);
	TAILQ_INIT(&conf->cidrs);
	TAILQ_INIT(&conf->egress);
	conf->leaf_lifetime = 7 * 24 * 3600;
	conf->tunnel_auth = TUNNEL_AUTH_OPEN;
	(void)strlcpy(conf->auth.ac_path, "/api/v2/users/me",
	    sizeof(conf->auth.ac_path));
	conf->auth.ac_ttl = 300 * MS_SECOND;
	conf->auth.ac_negative_ttl = 10 * MS_SECOND;
	conf->auth.ac_max_entries = 100000;
	conf->auth.ac_fail_limit = 20;
	conf->auth.ac_fail_window = 60 * MS_SECOND;
	conf->ports[0].pr_lo = conf->ports[0].pr_hi = 80;
	conf->ports[1].pr_lo = conf->ports[1].pr_hi = 443;
	conf->nports = 2;
	conf->timeout_header = 10 * MS_SECOND;
	conf->timeout_handshake = 10 * MS_SECOND;
	conf->timeout_idle = 300 * MS_SECOND;
	conf->timeout_connect = 10 * MS_SECOND;
	conf->timeout_shutdown = 10 * MS_SECOND;
	conf->max_connections = 10000;
	conf->header_bytes = 65536;
	conf->loglevel = LOG_LEVEL_INFO;
	return (conf);
}

/*
 * One socket address, one listener: report an address (text as
 * written, at line and path) that a listener before stop already has.
 * stop NULL compares with every listener.
 */
void
cfg_listen_taken(struct cfg_ctx *ctx, int line, const char *path,
    const char *text, const struct sockaddr_storage *ss,
    const struct listen_conf *stop)
{
	const struct listen_conf	*lc;
	int				 i = 0;

	TAILQ_FOREACH(lc, &ctx->conf->listens, entry) {
		if (lc == stop)
			break;
		if (lc->sslen != 0 && cfg_sa_equal(&lc->ss, ss)) {
			cfg_error(ctx, line, path, "%s is already used by "
			    "listen[%d] on line %d", text, i, lc->line);
			return;
		}
		i++;
	}
}

/* proxy_from says who may send the header proxy_protocol asks for. */
void
cfg_check_listen(struct cfg_ctx *ctx, const struct cfg_item *it,
    const struct listen_conf *lc)
{
	char	 path[CONFIG_KEYPATH_MAX];

	if (lc->proxy_from_line == 0 || lc->proxy_protocol)
		return;
	(void)snprintf(path, sizeof(path), "%s.proxy_from", it->path);
	cfg_error(ctx, lc->proxy_from_line, path, "needs proxy_protocol: "
	    "true");
}

/* A URI in ca.key and the ca.pkcs11 mapping go together. */
static void
cfg_check_pkcs11(struct cfg_ctx *ctx)
{
	struct aib_config	*conf = ctx->conf;
	int			 mod;

	/* Either key set is enough to say the mapping is there. */
	if ((mod = conf->ca_pkcs11_module.line) == 0)
		mod = conf->ca_pkcs11_pin.line;

	if (conf->ca_key_uri[0] != '\0' && mod == 0)
		cfg_error(ctx, conf->ca_key.line, "ca.key", "a PKCS#11 URI "
		    "needs ca.pkcs11 (module and pin_file)");
	else if (conf->ca_key_uri[0] == '\0' && conf->ca_key.path[0] !=
	    '\0' && mod != 0)
		cfg_error(ctx, mod, "ca.pkcs11", "is only for a ca.key that "
		    "is a pkcs11: URI");
}

/*
 * Checks that need more than one key.  The error goes to the key the
 * file set, the other one may be a default.
 */
void
cfg_check(struct cfg_ctx *ctx)
{
	struct aib_config	*conf = ctx->conf;

	if (strcmp(conf->user, conf->signer_user) == 0) {
		if (ctx->signer_user_line != 0)
			cfg_error(ctx, ctx->signer_user_line, "signer_user",
			    "\"%s\" must differ from user", conf->signer_user);
		else
			cfg_error(ctx, ctx->user_line, "user",
			    "\"%s\" must differ from signer_user", conf->user);
	}
	cfg_check_pkcs11(ctx);
	if (conf->metrics)
		cfg_listen_taken(ctx, ctx->metrics_line, "metrics.listen",
		    conf->metrics_address, &conf->metrics_ss, NULL);
}

void
config_global(const struct aib_config *conf, struct global_config *gc)
{
	int	 i;

	memset(gc, 0, sizeof(*gc));
	gc->gc_loglevel = conf->loglevel;
	gc->gc_logformat = conf->logformat;
	gc->gc_tunnel_auth = conf->tunnel_auth;
	gc->gc_leaf_lifetime = conf->leaf_lifetime;
	gc->gc_timeout_header = conf->timeout_header;
	gc->gc_timeout_handshake = conf->timeout_handshake;
	gc->gc_timeout_idle = conf->timeout_idle;
	gc->gc_timeout_connect = conf->timeout_connect;
	gc->gc_timeout_shutdown = conf->timeout_shutdown;
	gc->gc_timeout_drain_delay = conf->timeout_drain_delay;
	gc->gc_max_connections = conf->max_connections;
	gc->gc_header_bytes = conf->header_bytes;
	for (i = 0; i < conf->nports && i < AIB_PORTS_MAX; i++)
		gc->gc_ports[i] = conf->ports[i];
	gc->gc_nports = i;
}
