/*
 * The configuration file: reading it, and the order of the work.  The
 * parser itself is cut by job (see config_int.h): the YAML walker and
 * its errors, the value parsers, the URLs, the key tables, and the
 * defaults with the checks across keys.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "config_int.h"

#define CONFIG_SIZE_MAX		(1024 * 1024)

static void
config_document(struct cfg_ctx *ctx)
{
	yaml_node_t	*root;

	root = yaml_document_get_root_node(ctx->doc);
	if (root == NULL || cfg_isempty(root)) {
		cfg_error(ctx, 1, NULL, "empty configuration");
		return;
	}
	if (root->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, cfg_nodeline(root), NULL,
		    "the top level must be a mapping");
		return;
	}
	cfg_schema(ctx, root);
	cfg_check(ctx);
}

struct aib_config *
config_load_mem(const char *name, const char *buf, size_t len,
    struct config_errors *errs)
{
	struct cfg_ctx		 ctx;
	yaml_parser_t		 parser;
	yaml_document_t		 doc;
	int			 loaded = 0;

	memset(&ctx, 0, sizeof(ctx));
	ctx.name = name;
	ctx.errs = errs;
	ctx.doc = &doc;
	if ((ctx.conf = cfg_defaults(name)) == NULL) {
		cfg_rawerror(errs, "%s: %s", name, strerror(errno));
		return (NULL);
	}
	if (!yaml_parser_initialize(&parser)) {
		cfg_rawerror(errs, "%s: out of memory", name);
		goto fail;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc))
		cfg_syntax(&ctx, &parser, buf, len);
	else {
		loaded = 1;
		config_document(&ctx);
		if (!ctx.failed)
			cfg_trailer(&ctx, &parser, buf, len);
	}
	cfg_wipe(&parser, loaded ? &doc : NULL);
	yaml_parser_delete(&parser);
	if (ctx.failed)
		goto fail;
	return (ctx.conf);
 fail:
	config_free(ctx.conf);
	return (NULL);
}

struct aib_config *
config_load(const char *path, struct config_errors *errs)
{
	struct aib_config	*conf = NULL;
	struct stat		 st;
	char			*buf = NULL;
	size_t			 len = 0;
	ssize_t			 n;
	int			 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		cfg_rawerror(errs, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_rawerror(errs, "%s: not a regular file", path);
		goto done;
	}
	if ((buf = malloc(CONFIG_SIZE_MAX + 1)) == NULL) {
		cfg_rawerror(errs, "%s: %s", path, strerror(errno));
		goto done;
	}
	/* Read to EOF rather than trust st_size: the file may change. */
	while ((n = read(fd, buf + len, CONFIG_SIZE_MAX + 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cfg_rawerror(errs, "%s: %s", path, strerror(errno));
			goto done;
		}
		if ((len += n) > CONFIG_SIZE_MAX) {
			cfg_rawerror(errs, "%s: larger than %d bytes", path,
			    CONFIG_SIZE_MAX);
			goto done;
		}
	}
	conf = config_load_mem(path, buf, len, errs);
 done:
	if (fd != -1)
		close(fd);
	freezero(buf, buf != NULL ? CONFIG_SIZE_MAX + 1 : 0);
	return (conf);
}

void
config_free(struct aib_config *conf)
{
	struct listen_conf	*lc;
	struct provider_conf	*pr;
	struct cidr_conf	*cc;
	struct egress_conf	*ec;

	if (conf == NULL)
		return;
	while ((lc = TAILQ_FIRST(&conf->listens)) != NULL) {
		TAILQ_REMOVE(&conf->listens, lc, entry);
		free(lc);
	}
	while ((pr = TAILQ_FIRST(&conf->providers)) != NULL) {
		TAILQ_REMOVE(&conf->providers, pr, entry);
		free(pr);
	}
	while ((cc = TAILQ_FIRST(&conf->cidrs)) != NULL) {
		TAILQ_REMOVE(&conf->cidrs, cc, entry);
		free(cc);
	}
	while ((ec = TAILQ_FIRST(&conf->egress)) != NULL) {
		TAILQ_REMOVE(&conf->egress, ec, entry);
		free(ec);
	}
	/* uc_auth and upstream_url may hold the upstream password. */
	freezero(conf, sizeof(*conf));
}
