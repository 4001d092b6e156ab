/*
 * Which keys the configuration has, at which level, which of them are
 * required, and what each value is parsed as.  The tables follow
 * aibproxyd.yaml(5) section by section; config_yaml.c walks them.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_int.h"
#include "hostname.h"
#include "log.h"
#include "pkcs11_uri.h"

#define CONFIG_PROVIDERS_MAX	64
#define CONFIG_CIDRS_MAX	256

/* Where a shared parser puts its value: the key's offset in arg. */
#define CFG_DEST(it, arg)	((char *)(arg) + (it)->key->ck_off)

/*
 * Parsers shared by several keys.
 */

/* Also the parser of listen[].tls's files (config_listen.c). */
void
cfg_parse_file(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	cfg_file(ctx, it, (struct config_file *)CFG_DEST(it, arg));
}

/* A file that may be left empty to mean "none". */
static void
parse_optfile(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	if (!cfg_unset(it))
		cfg_parse_file(ctx, it, arg);
}

static void
parse_timeout(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	int64_t	 ms;

	if (cfg_duration(ctx, it, 1, MS_DAY, "more than 0, at most 1d",
	    &ms) == 0)
		*(uint32_t *)CFG_DEST(it, arg) = ms;
}

/* A wait that may be none at all (timeouts.drain_delay). */
static void
parse_delay(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	int64_t	 ms;

	if (cfg_duration(ctx, it, 0, MS_DAY, "at most 1d", &ms) == 0)
		*(uint32_t *)CFG_DEST(it, arg) = ms;
}

/*
 * Top-level scalars.
 */

static void
parse_user(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct aib_config	*conf = arg;

	if (cfg_user(ctx, it, conf->user, sizeof(conf->user)) == 0)
		ctx->user_line = it->line;
}

static void
parse_signer_user(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct aib_config	*conf = arg;

	if (cfg_user(ctx, it, conf->signer_user,
	    sizeof(conf->signer_user)) == 0)
		ctx->signer_user_line = it->line;
}

static void
parse_chroot(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct aib_config	*conf = arg;

	(void)cfg_abspath(ctx, it, conf->chroot, sizeof(conf->chroot));
}

static void
parse_workers(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct aib_config	*conf = arg;
	long long		 v;

	if (it->node->type == YAML_SCALAR_NODE &&
	    strcmp((const char *)it->node->data.scalar.value, "auto") == 0) {
		conf->workers = cfg_workers_auto();
		return;
	}
	if (cfg_number(ctx, it, 1, AIB_WORKERS_MAX, &v) == 0)
		conf->workers = v;
}

/*
 * ca, bridge
 */

static void
parse_leaf_lifetime(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct aib_config	*conf = arg;
	int64_t			 ms;

	/* 397 days: the CA/Browser Forum's cap on TLS leaf validity. */
	if (cfg_duration(ctx, it, MS_HOUR, 397 * MS_DAY, "1h..397d",
	    &ms) == 0)
		conf->leaf_lifetime = ms / MS_SECOND;
}

/* A file, or a key in a token named by an RFC 7512 URI. */
static void
parse_ca_key(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct aib_config	*conf = arg;
	struct pkcs11_uri	 u;
	const char		*s, *why;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return;
	if (!pkcs11_uri_is(s)) {
		cfg_file(ctx, it, &conf->ca_key);
		return;
	}
	conf->ca_key.line = it->line;
	/* Not quoted: a URI may carry a PIN its writer should not see logged. */
	if ((why = pkcs11_uri_parse(s, &u)) != NULL) {
		cfg_error(ctx, it->line, it->path, "PKCS#11 URI %s", why);
		return;
	}
	(void)strlcpy(conf->ca_key_uri, s, sizeof(conf->ca_key_uri));
	explicit_bzero(&u, sizeof(u));
}

static const struct cfg_key pkcs11_keys[] = {
	CFG_FIELD("module", 1, cfg_parse_file, struct aib_config,
	    ca_pkcs11_module),
	CFG_FIELD("pin_file", 1, cfg_parse_file, struct aib_config,
	    ca_pkcs11_pin)
};

static const struct cfg_key ca_keys[] = {
	CFG_FIELD("cert", 1, cfg_parse_file, struct aib_config, ca_cert),
	CFG_VALUE("key", 1, parse_ca_key),
	CFG_MAPPING("pkcs11", 0, pkcs11_keys),
	CFG_VALUE("leaf_lifetime", 0, parse_leaf_lifetime)
};

static const struct cfg_key bridge_keys[] = {
	CFG_VALUE("url",	1, cfg_bridge_url),
	CFG_FIELD("ca",		0, parse_optfile, struct aib_config, bridge_ca)
};

/*
 * providers
 */

/* The provider before pr whose name or host (at off) is s; its index. */
static const struct provider_conf *
provider_find(const struct cfg_ctx *ctx, const struct provider_conf *pr,
    size_t off, const char *s, int *idx)
{
	const struct provider_conf	*o;

	*idx = 0;
	TAILQ_FOREACH(o, &ctx->conf->providers, entry) {
		if (o == pr)
			break;
		if (strcmp((const char *)&o->pc + off, s) == 0)
			return (o);
		(*idx)++;
	}
	return (NULL);
}

static void
parse_provider_name(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct provider_conf		*pr = arg;
	const struct provider_conf	*o;
	const char			*s;
	int				 i;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return;
	if (!cfg_provider_name(s)) {
		cfg_badvalue(ctx, it, s, "is not a valid provider name");
		return;
	}
	if ((o = provider_find(ctx, pr, offsetof(struct provider_config,
	    pc_name), s, &i)) != NULL) {
		cfg_error(ctx, it->line, it->path, "\"%s\" is already "
		    "used by providers[%d] on line %d", s, i, o->line);
		return;
	}
	(void)strlcpy(pr->pc.pc_name, s, sizeof(pr->pc.pc_name));
}

static void
parse_provider_host(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct provider_conf		*pr = arg;
	const struct provider_conf	*o;
	char				 host[AIB_HOSTNAME_MAX + 1];
	const char			*s;
	int				 i;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return;
	if (host_is_ip(s)) {
		cfg_badvalue(ctx, it, s, "is an IP address; "
		    "providers are intercepted by host name");
		return;
	}
	if (host_canon(s, host, sizeof(host), NULL) == -1) {
		cfg_badvalue(ctx, it, s, "is not a valid host name");
		return;
	}
	if ((o = provider_find(ctx, pr, offsetof(struct provider_config,
	    pc_host), host, &i)) != NULL) {
		cfg_error(ctx, it->line, it->path, "\"%s\" is already "
		    "used by providers[%d] (%s) on line %d", host, i,
		    o->pc.pc_name[0] != '\0' ? o->pc.pc_name : "?", o->line);
		return;
	}
	(void)strlcpy(pr->pc.pc_host, host, sizeof(pr->pc.pc_host));
}

static void
parse_provider_type(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	static const char *const types[] = { "generic", "copilot" };
	struct provider_conf	*pr = arg;
	int			 t;

	if ((t = cfg_word(ctx, it, types, nitems(types),
	    "a provider type (generic or copilot)")) != -1)
		pr->pc.pc_type = (t == 0) ? PROVIDER_GENERIC : PROVIDER_COPILOT;
}

static const struct cfg_key provider_keys[] = {
	CFG_VALUE("name",	1, parse_provider_name),
	CFG_VALUE("host",	1, parse_provider_host),
	CFG_VALUE("type",	0, parse_provider_type)
};

static void
parse_provider_item(struct cfg_ctx *ctx, const struct cfg_item *it, int idx,
    void *arg)
{
	struct provider_conf	*pr;

	if ((pr = cfg_calloc(ctx, it, sizeof(*pr))) == NULL)
		return;
	pr->line = it->line;
	pr->pc.pc_type = PROVIDER_GENERIC;
	TAILQ_INSERT_TAIL(&ctx->conf->providers, pr, entry);
	cfg_map(ctx, it, provider_keys, nitems(provider_keys), pr);
}

static void
parse_providers(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	/* An empty list is fine: nothing is intercepted. */
	(void)cfg_list(ctx, it, CONFIG_PROVIDERS_MAX, "providers",
	    parse_provider_item, NULL);
}

/*
 * auth, tunnel
 */

static void
parse_auth_tunnels(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	static const char *const modes[] = { "open", "token" };
	struct aib_config	*conf = arg;
	int			 m;

	if ((m = cfg_word(ctx, it, modes, nitems(modes),
	    "open or token")) != -1)
		conf->tunnel_auth = (m == 0) ? TUNNEL_AUTH_OPEN :
		    TUNNEL_AUTH_TOKEN;
}

/*
 * The path the bridge answers a token's owner on: an absolute path of
 * RFC 3986 pchar bytes, no query, since it is sent as it is.
 */
static void
parse_validate_path(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct aib_config	*conf = arg;
	const char		*s;
	size_t			 i;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return;
	if (s[0] != '/') {
		cfg_badvalue(ctx, it, s, "is not an absolute path");
		return;
	}
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("/-._~!$&'()*+,;=:@%", s[i]) == NULL) {
			cfg_badvalue(ctx, it, s, "has a byte a path cannot "
			    "hold as it is");
			return;
		}
	if (strlcpy(conf->auth.ac_path, s, sizeof(conf->auth.ac_path)) >=
	    sizeof(conf->auth.ac_path))
		cfg_badvalue(ctx, it, s, "is too long");
}

static void
parse_validate_ttl(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	int64_t	 ms;

	if (cfg_duration(ctx, it, MS_SECOND, MS_DAY, "at least 1s, at most "
	    "1d", &ms) == 0)
		*(uint32_t *)CFG_DEST(it, arg) = ms;
}

static void
parse_validate_max(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct aib_config	*conf = arg;
	long long		 v;

	if (cfg_number(ctx, it, 1, 10000000, &v) == 0)
		conf->auth.ac_max_entries = v;
}

static const struct cfg_key validate_keys[] = {
	CFG_VALUE("path",	0, parse_validate_path),
	CFG_FIELD("ttl", 0, parse_validate_ttl, struct aib_config,
	    auth.ac_ttl),
	CFG_FIELD("negative_ttl", 0, parse_validate_ttl, struct aib_config,
	    auth.ac_negative_ttl),
	CFG_VALUE("max_entries", 0, parse_validate_max)
};

/* Present, even empty: tokens are checked with the bridge. */
static void
parse_auth_validate(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct aib_config	*conf = arg;

	conf->auth.ac_validate = 1;
	if (!cfg_isempty(it->node))
		cfg_map(ctx, it, validate_keys, nitems(validate_keys), conf);
}

static void
parse_failures_limit(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct aib_config	*conf = arg;
	long long		 v;

	if (cfg_number(ctx, it, 1, 1000000, &v) == 0)
		conf->auth.ac_fail_limit = v;
}

static const struct cfg_key failures_keys[] = {
	CFG_VALUE("limit",	0, parse_failures_limit),
	CFG_FIELD("window", 0, parse_validate_ttl, struct aib_config,
	    auth.ac_fail_window)
};

static const struct cfg_key auth_keys[] = {
	CFG_VALUE("tunnels",	0, parse_auth_tunnels),
	CFG_VALUE("validate",	0, parse_auth_validate),
	CFG_MAPPING("failures",	0, failures_keys)
};

/* "443" or "8000-8999", for messages. */
static const char *
port_range_text(const struct port_range *pr, char *buf, size_t len)
{
	if (pr->pr_lo == pr->pr_hi)
		(void)snprintf(buf, len, "%d", pr->pr_lo);
	else
		(void)snprintf(buf, len, "%d-%d", pr->pr_lo, pr->pr_hi);
	return (buf);
}

/* A port or a range; one that meets an earlier entry is a mistake. */
static void
parse_port_item(struct cfg_ctx *ctx, const struct cfg_item *it, int idx,
    void *arg)
{
	struct aib_config	*conf = arg;
	struct port_range	 pr, *o;
	char			 a[16], b[16];
	const char		*s, *why;
	int			 i;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return;
	if ((why = cfg_port_range_parse(s, &pr)) != NULL) {
		cfg_badvalue(ctx, it, s, "%s", why);
		return;
	}
	for (i = 0; i < conf->nports; i++) {
		o = &conf->ports[i];
		if (pr.pr_lo > o->pr_hi || pr.pr_hi < o->pr_lo)
			continue;
		if (pr.pr_lo == o->pr_lo && pr.pr_hi == o->pr_hi)
			cfg_error(ctx, it->line, it->path, "%s is listed "
			    "twice", port_range_text(&pr, a, sizeof(a)));
		else
			cfg_error(ctx, it->line, it->path, "%s overlaps %s, "
			    "listed before", port_range_text(&pr, a, sizeof(a)),
			    port_range_text(o, b, sizeof(b)));
		return;
	}
	conf->ports[conf->nports++] = pr;
}

static void
parse_ports(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct aib_config	*conf = arg;

	conf->nports = 0;
	if (cfg_list(ctx, it, AIB_PORTS_MAX, "ports", parse_port_item,
	    conf) == 0)
		cfg_error(ctx, it->line, it->path, "must not be empty");
}

static void
parse_cidr_item(struct cfg_ctx *ctx, const struct cfg_item *it, int idx,
    void *arg)
{
	struct cidr_conf	*cc;
	const char		*s, *msg;

	if ((s = cfg_scalar(ctx, it)) == NULL ||
	    (cc = cfg_calloc(ctx, it, sizeof(*cc))) == NULL)
		return;
	cc->line = it->line;
	TAILQ_INSERT_TAIL(&ctx->conf->cidrs, cc, entry);
	if (strlen(s) >= sizeof(cc->text))
		msg = "is not an address or a CIDR range";
	else
		msg = cfg_cidr_parse(s, &cc->cc);
	if (msg != NULL) {
		cfg_badvalue(ctx, it, s, "%s", msg);
		return;
	}
	(void)strlcpy(cc->text, s, sizeof(cc->text));
}

static void
parse_cidrs(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	(void)cfg_list(ctx, it, CONFIG_CIDRS_MAX, "ranges", parse_cidr_item,
	    NULL);
}

/* The list argument of parse_egress_item: eg_deny. */
static int	 egress_allow = 0, egress_deny = 1;

static int
egress_same(const struct egress_config *a, const struct egress_config *b)
{
	if (a->eg_kind != b->eg_kind)
		return (0);
	if (a->eg_kind == EGRESS_ADDR)
		return (a->eg_af == b->eg_af &&
		    memcmp(a->eg_addr, b->eg_addr, sizeof(a->eg_addr)) == 0);
	return (strcmp(a->eg_pattern, b->eg_pattern) == 0);
}

/* The entry of eg's list that means the same as eg. */
static const struct egress_conf *
egress_find(const struct cfg_ctx *ctx, const struct egress_config *eg)
{
	const struct egress_conf	*o;

	TAILQ_FOREACH(o, &ctx->conf->egress, entry)
		if (o->eg.eg_deny == eg->eg_deny && egress_same(&o->eg, eg))
			return (o);
	return (NULL);
}

static void
parse_egress_item(struct cfg_ctx *ctx, const struct cfg_item *it, int idx,
    void *arg)
{
	struct egress_conf		*ec;
	const struct egress_conf	*o;
	const char			*s, *why;

	if ((s = cfg_scalar(ctx, it)) == NULL ||
	    (ec = cfg_calloc(ctx, it, sizeof(*ec))) == NULL)
		return;
	if ((why = config_parse_egress(s, &ec->eg)) != NULL) {
		cfg_badvalue(ctx, it, s, "is not a host pattern: %s", why);
		free(ec);
		return;
	}
	ec->eg.eg_deny = *(const int *)arg;
	ec->idx = idx;
	ec->line = it->line;
	if ((o = egress_find(ctx, &ec->eg)) != NULL) {
		cfg_badvalue(ctx, it, s, "is already listed as %s[%d] on "
		    "line %d", ec->eg.eg_deny ? "tunnel.deny" : "tunnel.allow",
		    o->idx, o->line);
		free(ec);
		return;
	}
	TAILQ_INSERT_TAIL(&ctx->conf->egress, ec, entry);
}

/* An empty list is the same as none: allow: [] allows every host. */
static void
parse_allow(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	(void)cfg_list(ctx, it, AIB_EGRESS_MAX, "patterns",
	    parse_egress_item, &egress_allow);
}

static void
parse_deny(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	(void)cfg_list(ctx, it, AIB_EGRESS_MAX, "patterns",
	    parse_egress_item, &egress_deny);
}

static const struct cfg_key tunnel_keys[] = {
	CFG_VALUE("ports",			0, parse_ports),
	CFG_VALUE("allow",			0, parse_allow),
	CFG_VALUE("deny",			0, parse_deny),
	CFG_VALUE("allowed_private_cidrs",	0, parse_cidrs)
};

/*
 * upstream
 */

static void
parse_upstream_bridge(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct aib_config	*conf = arg;
	int			 b;

	if (cfg_bool(ctx, it, &b) == 0)
		conf->upstream.uc_bridge = b;
}

static const struct cfg_key upstream_keys[] = {
	CFG_VALUE("url",	1, cfg_upstream_url),
	CFG_FIELD("ca",		0, parse_optfile, struct aib_config,
	    upstream_ca),
	CFG_VALUE("bridge",	0, parse_upstream_bridge)
};

/* Writing the section at all turns the upstream proxy on. */
static void
parse_upstream(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct aib_config	*conf = arg;

	conf->upstream.uc_enabled = 1;
	cfg_map(ctx, it, upstream_keys, nitems(upstream_keys), arg);
}

/*
 * timeouts, limits, metrics, log
 */

static const struct cfg_key timeout_keys[] = {
	CFG_FIELD("header", 0, parse_timeout, struct aib_config,
	    timeout_header),
	CFG_FIELD("handshake", 0, parse_timeout, struct aib_config,
	    timeout_handshake),
	CFG_FIELD("idle", 0, parse_timeout, struct aib_config,
	    timeout_idle),
	CFG_FIELD("connect", 0, parse_timeout, struct aib_config,
	    timeout_connect),
	CFG_FIELD("shutdown", 0, parse_timeout, struct aib_config,
	    timeout_shutdown),
	CFG_FIELD("drain_delay", 0, parse_delay, struct aib_config,
	    timeout_drain_delay)
};

static void
parse_limit_connections(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct aib_config	*conf = arg;
	long long		 v;

	if (cfg_number(ctx, it, 1, 1000000, &v) == 0) {
		conf->max_connections = v;
		conf->max_connections_set = 1;
	}
}

static void
parse_limit_header_bytes(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct aib_config	*conf = arg;
	long long		 v;

	if (cfg_number(ctx, it, 1024, 1024 * 1024, &v) == 0)
		conf->header_bytes = v;
}

static const struct cfg_key limit_keys[] = {
	CFG_VALUE("connections",	0, parse_limit_connections),
	CFG_VALUE("header_bytes",	0, parse_limit_header_bytes)
};

static void
parse_metrics_listen(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct aib_config	*conf = arg;

	if (cfg_address(ctx, it, conf->metrics_address,
	    sizeof(conf->metrics_address), &conf->metrics_ss,
	    &conf->metrics_sslen) == -1)
		return;
	conf->metrics = 1;
	ctx->metrics_line = it->line;
}

static const struct cfg_key metrics_keys[] = {
	CFG_VALUE("listen",	0, parse_metrics_listen)
};

static void
parse_log_level(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	static const char *const levels[] = {
		"error", "warning", "info", "debug"
	};
	static const int	 values[] = {
		LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO,
		LOG_LEVEL_DEBUG
	};
	struct aib_config	*conf = arg;
	int			 l;

	if ((l = cfg_word(ctx, it, levels, nitems(levels),
	    "a log level (error, warning, info or debug)")) != -1)
		conf->loglevel = values[l];
}

static void
parse_log_format(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	static const char *const formats[] = { "text", "json" };
	static const int	 values[] = { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };
	struct aib_config	*conf = arg;
	int			 f;

	if ((f = cfg_word(ctx, it, formats, nitems(formats),
	    "a log format (text or json)")) != -1)
		conf->logformat = values[f];
}

static void
parse_log_dump_dir(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct aib_config	*conf = arg;

	if (!cfg_unset(it))
		(void)cfg_abspath(ctx, it, conf->dump_dir,
		    sizeof(conf->dump_dir));
}

static const struct cfg_key log_keys[] = {
	CFG_VALUE("level",	0, parse_log_level),
	CFG_VALUE("format",	0, parse_log_format),
	CFG_VALUE("dump_dir",	0, parse_log_dump_dir)
};

/*
 * The top level.  A mapping given by its keys alone is walked with
 * the same argument, the configuration.
 */

static const struct cfg_key top_keys[] = {
	CFG_VALUE("user",		0, parse_user),
	CFG_VALUE("signer_user",	0, parse_signer_user),
	CFG_VALUE("chroot",		0, parse_chroot),
	CFG_VALUE("workers",		0, parse_workers),
	CFG_VALUE("listen",		1, cfg_parse_listen),
	CFG_MAPPING("ca",		1, ca_keys),
	CFG_MAPPING("bridge",		1, bridge_keys),
	CFG_VALUE("providers",		1, parse_providers),
	CFG_MAPPING("auth",		0, auth_keys),
	CFG_MAPPING("tunnel",		0, tunnel_keys),
	CFG_VALUE("upstream",		0, parse_upstream),
	CFG_MAPPING("timeouts",		0, timeout_keys),
	CFG_MAPPING("limits",		0, limit_keys),
	CFG_MAPPING("metrics",		0, metrics_keys),
	CFG_MAPPING("log",		0, log_keys)
};

/* The document's root, a mapping of the keys above. */
void
cfg_schema(struct cfg_ctx *ctx, yaml_node_t *root)
{
	struct cfg_item	 it;

	it.node = root;
	it.path = "";
	it.line = cfg_nodeline(root);
	it.key = NULL;
	cfg_map(ctx, &it, top_keys, nitems(top_keys), ctx->conf);
}
