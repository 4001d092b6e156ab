/*
 * The keys of a listener, listen[] in aibproxyd.yaml(5): its address,
 * its TLS files, and whether it takes the PROXY protocol and from whom.
 * The checks between them are cfg_check_listen() (config_check.c).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <yaml.h>

#include "config_int.h"

#define CONFIG_LISTEN_MAX	16

static const struct cfg_key tls_keys[] = {
	CFG_FIELD("cert",	1, cfg_parse_file, struct listen_conf, cert),
	CFG_FIELD("key",	1, cfg_parse_file, struct listen_conf, key)
};

static void
parse_listen_tls(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct listen_conf	*lc = arg;

	lc->tls = 1;
	cfg_map(ctx, it, tls_keys, nitems(tls_keys), arg);
}

static void
parse_listen_address(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct listen_conf	*lc = arg;

	if (cfg_address(ctx, it, lc->address, sizeof(lc->address), &lc->ss,
	    &lc->sslen) == 0)
		cfg_listen_taken(ctx, it->line, it->path, lc->address, &lc->ss,
		    lc);
}

static void
parse_listen_proxy(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct listen_conf	*lc = arg;

	/*
	 * A value that is not a boolean is an error already: taken as
	 * true, it does not make proxy_from a second one.
	 */
	if (cfg_bool(ctx, it, &lc->proxy_protocol) == -1)
		lc->proxy_protocol = 1;
}

static void
parse_proxy_from_item(struct cfg_ctx *ctx, const struct cfg_item *it,
    int idx, void *arg)
{
	struct listen_conf	*lc = arg;
	const char		*s, *msg;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return;
	if ((msg = cfg_cidr_parse(s, &lc->proxy_from[idx])) != NULL) {
		cfg_badvalue(ctx, it, s, "%s", msg);
		return;
	}
	lc->nproxy_from = idx + 1;
}

static void
parse_listen_proxy_from(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct listen_conf	*lc = arg;

	lc->proxy_from_line = it->line;
	if (cfg_list(ctx, it, AIB_PROXY_FROM_MAX, "ranges",
	    parse_proxy_from_item, lc) == 0)
		cfg_error(ctx, it->line, it->path, "must not be empty");
}

static const struct cfg_key listen_keys[] = {
	CFG_VALUE("address",		1, parse_listen_address),
	CFG_VALUE("tls",		0, parse_listen_tls),
	CFG_VALUE("proxy_protocol",	0, parse_listen_proxy),
	CFG_VALUE("proxy_from",		0, parse_listen_proxy_from)
};

static void
parse_listen_item(struct cfg_ctx *ctx, const struct cfg_item *it, int idx,
    void *arg)
{
	struct listen_conf	*lc;

	if ((lc = cfg_calloc(ctx, it, sizeof(*lc))) == NULL)
		return;
	lc->line = it->line;
	TAILQ_INSERT_TAIL(&ctx->conf->listens, lc, entry);
	cfg_map(ctx, it, listen_keys, nitems(listen_keys), lc);
	cfg_check_listen(ctx, it, lc);
}

void
cfg_parse_listen(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	if (cfg_list(ctx, it, CONFIG_LISTEN_MAX, "listeners",
	    parse_listen_item, NULL) == 0)
		cfg_error(ctx, it->line, it->path, "must not be empty");
}
