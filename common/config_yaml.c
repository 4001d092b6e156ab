/*
 * The YAML side of the configuration: errors with their file:line,
 * the line each node stands on, and a walker that goes through a
 * mapping by a table of keys (reporting unknown, duplicate and
 * missing keys) or through a list, handing each value to a parser.
 *
 * The file is read with libyaml's document API, so every node keeps
 * its line.  Errors are collected (up to CONFIG_ERRORS_MAX, in line
 * order) instead of stopping at the first, so an operator running
 * "aibproxyd -n" sees everything at once.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_int.h"

#define CONFIG_QUOTE_MAX	96
#define CONFIG_MSG_MAX		sizeof(((struct config_error *)0)->msg)

/*
 * Errors.
 */

static int
cfg_full(const struct cfg_ctx *ctx)
{
	return (ctx->nerr >= CONFIG_ERRORS_MAX);
}

/* Keep our entries sorted by line; later errors on a line go after. */
static void
cfg_adderror(struct cfg_ctx *ctx, int line, const char *msg)
{
	struct config_error	*e;
	size_t			 n;
	int			 i;

	ctx->failed = 1;
	if (cfg_full(ctx) || (e = calloc(1, sizeof(*e))) == NULL)
		return;
	(void)strlcpy(e->msg, msg, sizeof(e->msg));
	for (i = ctx->nerr; i > 0 && ctx->errline[i - 1] > line; i--)
		;
	if (i == ctx->nerr)
		TAILQ_INSERT_TAIL(ctx->errs, e, entry);
	else
		TAILQ_INSERT_BEFORE(ctx->err[i], e, entry);
	n = ctx->nerr - i;
	memmove(&ctx->err[i + 1], &ctx->err[i], n * sizeof(ctx->err[0]));
	memmove(&ctx->errline[i + 1], &ctx->errline[i],
	    n * sizeof(ctx->errline[0]));
	ctx->err[i] = e;
	ctx->errline[i] = line;
	ctx->nerr++;
}

void
cfg_error(struct cfg_ctx *ctx, int line, const char *path,
    const char *fmt, ...)
{
	char	 msg[CONFIG_MSG_MAX];
	va_list	 ap;
	int	 n;

	if (path != NULL && *path != '\0')
		n = snprintf(msg, sizeof(msg), "%s:%d: %s: ", ctx->name, line,
		    path);
	else
		n = snprintf(msg, sizeof(msg), "%s:%d: ", ctx->name, line);
	/* A message cut short is still the right message. */
	if (n >= 0 && (size_t)n < sizeof(msg)) {
		va_start(ap, fmt);
		(void)vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
		va_end(ap);
	}
	cfg_adderror(ctx, line, msg);
}

/*
 * Quote a value for a message: printable ASCII only, so a stray
 * escape sequence in the file cannot reach a terminal or the log, and
 * short, so one bad value cannot fill the message.
 */
static const char *
cfg_quote(const char *s, char *buf, size_t len)
{
	size_t	 i, o, max;

	max = len - sizeof("\"...\"");
	o = 0;
	buf[o++] = '"';
	for (i = 0; s[i] != '\0' && o - 1 < max; i++)
		buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return (buf);
}

/* "file:line: key: "value" what is wrong", the value quoted. */
void
cfg_badvalue(struct cfg_ctx *ctx, const struct cfg_item *it, const char *s,
    const char *fmt, ...)
{
	char	 q[CONFIG_QUOTE_MAX], why[CONFIG_MSG_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	cfg_error(ctx, it->line, it->path, "%s %s", cfg_quote(s, q, sizeof(q)),
	    why);
}

/* An error outside any document (the file could not be read). */
void
cfg_rawerror(struct config_errors *errs, const char *fmt, ...)
{
	struct config_error	*e;
	va_list			 ap;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	TAILQ_INSERT_TAIL(errs, e, entry);
}

void
config_errors_clear(struct config_errors *errs)
{
	struct config_error	*e;

	while ((e = TAILQ_FIRST(errs)) != NULL) {
		TAILQ_REMOVE(errs, e, entry);
		free(e);
	}
}

/*
 * Key paths: "tunnel.ports[1]".  Keys come from the file, so they are
 * made printable and cut short like quoted values.
 */
static void
cfg_keypath(char *buf, size_t len, const char *parent, const char *key,
    size_t keylen)
{
	char	 k[48];
	size_t	 i;

	for (i = 0; i < keylen && i < sizeof(k) - 4; i++)
		k[i] = (key[i] > 0x20 && key[i] < 0x7f) ? key[i] : '?';
	if (i < keylen) {
		memcpy(k + i, "...", 3);
		i += 3;
	}
	k[i] = '\0';
	if (*parent == '\0')
		(void)snprintf(buf, len, "%s", k);
	else
		(void)snprintf(buf, len, "%s.%s", parent, k);
}

/*
 * Nodes.
 */

int
cfg_nodeline(const yaml_node_t *n)
{
	return ((int)n->start_mark.line + 1);
}

/*
 * Where to point for a value: the value's own line for a scalar, but
 * the line of the key for a block mapping or list (which starts on
 * the next line) and for an empty value (which libyaml places at the
 * following token).
 */
static int
cfg_valueline(const yaml_node_t *v, int keyline)
{
	if (v->type == YAML_SCALAR_NODE && (v->data.scalar.length > 0 ||
	    v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE))
		return (cfg_nodeline(v));
	return (keyline);
}

/* Is this node "nothing": an empty plain scalar, as "---" alone gives? */
int
cfg_isempty(const yaml_node_t *n)
{
	return (n->type == YAML_SCALAR_NODE && n->data.scalar.length == 0 &&
	    n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
}

const char *
cfg_scalar(struct cfg_ctx *ctx, const struct cfg_item *it)
{
	const yaml_node_t	*n = it->node;

	if (n->type != YAML_SCALAR_NODE) {
		cfg_error(ctx, it->line, it->path, "expected a value");
		return (NULL);
	}
	if (strlen((const char *)n->data.scalar.value) !=
	    n->data.scalar.length) {
		cfg_error(ctx, it->line, it->path, "value contains a NUL byte");
		return (NULL);
	}
	return ((const char *)n->data.scalar.value);
}

/* An optional setting left empty ("ca:" or ca: "") is not set. */
int
cfg_unset(const struct cfg_item *it)
{
	return (it->node->type == YAML_SCALAR_NODE &&
	    it->node->data.scalar.length == 0);
}

/*
 * Walking.
 */

static int
cfg_keyindex(const struct cfg_key *keys, size_t nkeys, const yaml_node_t *k)
{
	size_t	 i;

	for (i = 0; i < nkeys; i++)
		if (strlen(keys[i].ck_name) == k->data.scalar.length &&
		    memcmp(keys[i].ck_name, k->data.scalar.value,
		    k->data.scalar.length) == 0)
			return ((int)i);
	return (-1);
}

/* One key of the table and its value: a parser, or a mapping to walk. */
static void
cfg_pair(struct cfg_ctx *ctx, const struct cfg_key *key, yaml_node_t *v,
    const char *path, int keyline, void *arg)
{
	struct cfg_item	 child;

	child.node = v;
	child.path = path;
	child.line = cfg_valueline(v, keyline);
	child.key = key;
	if (key->ck_parse != NULL)
		key->ck_parse(ctx, &child, arg);
	else
		cfg_map(ctx, &child, key->ck_keys, key->ck_nkeys, arg);
}

/*
 * Walk a mapping in file order, dispatching each key through the
 * table; then report the required keys that never came, at the line
 * of the mapping.
 */
void
cfg_map(struct cfg_ctx *ctx, const struct cfg_item *it,
    const struct cfg_key *keys, size_t nkeys, void *arg)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;
	char			 path[CONFIG_KEYPATH_MAX];
	uint64_t		 seen = 0;
	size_t			 i;
	int			 idx;

	if (it->node->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, it->line, it->path, "expected a mapping");
		return;
	}
	for (p = it->node->data.mapping.pairs.start;
	    p < it->node->data.mapping.pairs.top && !cfg_full(ctx); p++) {
		k = yaml_document_get_node(ctx->doc, p->key);
		if (k->type != YAML_SCALAR_NODE) {
			cfg_error(ctx, cfg_nodeline(k), it->path,
			    "a key must be a word, not a list or a mapping");
			continue;
		}
		cfg_keypath(path, sizeof(path), it->path,
		    (const char *)k->data.scalar.value, k->data.scalar.length);
		if ((idx = cfg_keyindex(keys, nkeys, k)) == -1) {
			cfg_error(ctx, cfg_nodeline(k), path, "unknown key");
			continue;
		}
		if (seen & (1ULL << idx)) {
			cfg_error(ctx, cfg_nodeline(k), path, "duplicate key");
			continue;
		}
		seen |= 1ULL << idx;
		cfg_pair(ctx, &keys[idx], yaml_document_get_node(ctx->doc,
		    p->value), path, cfg_nodeline(k), arg);
	}
	for (i = 0; i < nkeys; i++) {
		if (!keys[i].ck_required || (seen & (1ULL << i)))
			continue;
		cfg_keypath(path, sizeof(path), it->path, keys[i].ck_name,
		    strlen(keys[i].ck_name));
		cfg_error(ctx, it->line, path, "missing");
	}
}

/* Walk a list, at most max items of what; returns the items seen. */
int
cfg_list(struct cfg_ctx *ctx, const struct cfg_item *it, int max,
    const char *what, void (*fn)(struct cfg_ctx *, const struct cfg_item *,
    int, void *), void *arg)
{
	yaml_node_item_t	*p;
	struct cfg_item		 child;
	char			 path[CONFIG_KEYPATH_MAX];
	int			 i;

	if (it->node->type != YAML_SEQUENCE_NODE) {
		cfg_error(ctx, it->line, it->path, "expected a list");
		return (-1);
	}
	p = it->node->data.sequence.items.start;
	for (i = 0; p + i < it->node->data.sequence.items.top &&
	    !cfg_full(ctx); i++) {
		child.node = yaml_document_get_node(ctx->doc, p[i]);
		child.line = cfg_nodeline(child.node);
		child.key = NULL;
		if (i == max) {
			cfg_error(ctx, child.line, it->path,
			    "too many %s (at most %d)", what, max);
			break;
		}
		(void)snprintf(path, sizeof(path), "%s[%d]", it->path, i);
		child.path = path;
		fn(ctx, &child, i, arg);
	}
	return (i);
}

/* The zeroed entry of a list, or NULL and an error. */
void *
cfg_calloc(struct cfg_ctx *ctx, const struct cfg_item *it, size_t size)
{
	void	*p;

	if ((p = calloc(1, size)) == NULL)
		cfg_error(ctx, it->line, it->path, "%s", strerror(errno));
	return (p);
}

/*
 * The document as a whole.
 */

void
cfg_syntax(struct cfg_ctx *ctx, const yaml_parser_t *p, const char *buf,
    size_t len)
{
	size_t	 i;
	int	 line;

	line = p->problem_mark.line + 1;
	if (p->error == YAML_READER_ERROR) {
		/* The reader has an offset, not a mark. */
		line = 1;
		for (i = 0; i < p->problem_offset && i < len; i++)
			if (buf[i] == '\n')
				line++;
	}
	cfg_error(ctx, line, NULL, "syntax error: %s",
	    p->problem != NULL ? p->problem : "unknown error");
}

/* The file may hold secrets (the upstream password): wipe our copies. */
void
cfg_wipe(yaml_parser_t *p, yaml_document_t *doc)
{
	yaml_node_t	*n;

	if (doc != NULL) {
		for (n = doc->nodes.start; n < doc->nodes.top; n++)
			if (n->type == YAML_SCALAR_NODE)
				explicit_bzero(n->data.scalar.value,
				    n->data.scalar.length);
		yaml_document_delete(doc);
	}
	if (p->buffer.start != NULL)
		explicit_bzero(p->buffer.start,
		    p->buffer.end - p->buffer.start);
	if (p->raw_buffer.start != NULL)
		explicit_bzero(p->raw_buffer.start,
		    p->raw_buffer.end - p->raw_buffer.start);
}

/* Anything after the first document is a mistake, not a comment. */
void
cfg_trailer(struct cfg_ctx *ctx, yaml_parser_t *p, const char *buf,
    size_t len)
{
	yaml_document_t	 doc;
	yaml_node_t	*root;

	if (!yaml_parser_load(p, &doc)) {
		cfg_syntax(ctx, p, buf, len);
		return;
	}
	if ((root = yaml_document_get_root_node(&doc)) != NULL)
		cfg_error(ctx, cfg_nodeline(root), NULL,
		    "only one YAML document is allowed");
	cfg_wipe(p, &doc);
}
