/*
 * The configuration file, parsed with libyaml's document API so every
 * node keeps its line.  Each mapping is described by a table of keys;
 * a generic walker reports unknown, duplicate and missing keys and
 * hands each value to a small parser.  Errors are collected (up to
 * CONFIG_ERRORS_MAX, in line order) instead of stopping at the first,
 * so an operator running "aibproxyd -n" sees everything at once.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include <openssl/evp.h>

#include "config.h"
#include "hostname.h"
#include "http.h"
#include "log.h"

#define CONFIG_ERRORS_MAX	20
#define CONFIG_SIZE_MAX		(1024 * 1024)
#define CONFIG_LISTEN_MAX	16
#define CONFIG_PROVIDERS_MAX	64
#define CONFIG_CIDRS_MAX	256
#define CONFIG_USER_MAX		31
#define CONFIG_KEYPATH_MAX	192
#define CONFIG_QUOTE_MAX	96

#define MS_SECOND		1000LL
#define MS_HOUR			(3600 * MS_SECOND)
#define MS_DAY			(24 * MS_HOUR)

struct cfg_ctx {
	const char		*name;
	yaml_document_t		*doc;
	struct aib_config	*conf;
	struct config_errors	*errs;
	struct config_error	*err[CONFIG_ERRORS_MAX];
	int			 errline[CONFIG_ERRORS_MAX];
	int			 nerr;
	int			 failed;
	int			 user_line;	/* 0: default */
	int			 signer_user_line;
	int			 metrics_line;
};

/* One value to parse: its node, its dotted key path, its line. */
struct cfg_item {
	yaml_node_t		*node;
	const char		*path;
	int			 line;
};

struct cfg_key {
	const char		*ck_name;
	int			 ck_required;
	void			(*ck_parse)(struct cfg_ctx *,
				    const struct cfg_item *, void *);
};

/* What url_parse() found; the host is canonical, without brackets. */
struct url {
	int			 tls;
	int			 port;
	int			 defport;	/* port is the scheme's */
	int			 v6;
	char			 host[AIB_HOSTNAME_MAX + 1];
	const char		*userinfo;	/* NULL: none */
	size_t			 userinfolen;
	const char		*path;		/* up to '?' or '#' */
	size_t			 pathlen;
};

static void	 cfg_error(struct cfg_ctx *, int, const char *,
		    const char *, ...)
		    __attribute__((__format__ (printf, 4, 5)));

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

static void
cfg_error(struct cfg_ctx *ctx, int line, const char *path,
    const char *fmt, ...)
{
	char	 msg[sizeof(((struct config_error *)0)->msg)];
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

/* An error outside any document (the file could not be read). */
static void
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

static void
cfg_indexpath(char *buf, size_t len, const char *parent, int idx)
{
	(void)snprintf(buf, len, "%s[%d]", parent, idx);
}

/*
 * Nodes.
 */

static int
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

static const char *
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

/*
 * Walk a mapping in file order, dispatching each key through the
 * table; then report the required keys that never came, at the line
 * of the mapping.
 */
static int
cfg_map(struct cfg_ctx *ctx, const struct cfg_item *it,
    const struct cfg_key *keys, size_t nkeys, void *arg)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	struct cfg_item		 child;
	char			 path[CONFIG_KEYPATH_MAX];
	uint64_t		 seen = 0;
	size_t			 i;
	int			 idx;

	if (it->node->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, it->line, it->path, "expected a mapping");
		return (-1);
	}
	for (p = it->node->data.mapping.pairs.start;
	    p < it->node->data.mapping.pairs.top && !cfg_full(ctx); p++) {
		k = yaml_document_get_node(ctx->doc, p->key);
		v = yaml_document_get_node(ctx->doc, p->value);
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
		child.node = v;
		child.path = path;
		child.line = cfg_valueline(v, cfg_nodeline(k));
		keys[idx].ck_parse(ctx, &child, arg);
	}
	for (i = 0; i < nkeys; i++) {
		if (!keys[i].ck_required || (seen & (1ULL << i)))
			continue;
		cfg_keypath(path, sizeof(path), it->path, keys[i].ck_name,
		    strlen(keys[i].ck_name));
		cfg_error(ctx, it->line, path, "missing");
	}
	return (0);
}

/* Walk a list, at most max items of what. */
static int
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
		if (i == max) {
			cfg_error(ctx, child.line, it->path,
			    "too many %s (at most %d)", what, max);
			break;
		}
		cfg_indexpath(path, sizeof(path), it->path, i);
		child.path = path;
		fn(ctx, &child, i, arg);
	}
	return (i);
}

/*
 * Plain values.
 */

static int
cfg_isdigits(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return (0);
	return (1);
}

/* Integers are written as digits, with an optional minus sign. */
static int
cfg_number(struct cfg_ctx *ctx, const struct cfg_item *it, long long min,
    long long max, long long *out)
{
	const char	*s, *errstr;
	char		 q[CONFIG_QUOTE_MAX];

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return (-1);
	if (!cfg_isdigits(s[0] == '-' ? s + 1 : s)) {
		cfg_error(ctx, it->line, it->path, "%s is not a number",
		    cfg_quote(s, q, sizeof(q)));
		return (-1);
	}
	*out = strtonum(s, min, max, &errstr);
	if (errstr != NULL) {
		cfg_error(ctx, it->line, it->path,
		    "%s is out of range (%lld..%lld)",
		    cfg_quote(s, q, sizeof(q)), min, max);
		return (-1);
	}
	return (0);
}

/* An optional setting left empty ("ca:" or ca: "") is not set. */
static int
cfg_unset(const struct cfg_item *it)
{
	return (it->node->type == YAML_SCALAR_NODE &&
	    it->node->data.scalar.length == 0);
}

static int
cfg_abspath(struct cfg_ctx *ctx, const struct cfg_item *it, char *buf,
    size_t len)
{
	const char	*s;
	char		 q[CONFIG_QUOTE_MAX];

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return (-1);
	if (*s != '/') {
		cfg_error(ctx, it->line, it->path,
		    "%s is not an absolute path", cfg_quote(s, q, sizeof(q)));
		return (-1);
	}
	if (strlcpy(buf, s, len) >= len) {
		cfg_error(ctx, it->line, it->path, "path too long (at most "
		    "%zu bytes)", len - 1);
		return (-1);
	}
	return (0);
}

/*
 * A file the parent will open later.  Check now that it can be, so
 * "aibproxyd -n" catches a wrong path; stat first so a device or FIFO
 * is never opened.
 */
static void
cfg_file(struct cfg_ctx *ctx, const struct cfg_item *it,
    struct config_file *f)
{
	struct stat	 st;
	int		 fd;

	if (cfg_abspath(ctx, it, f->path, sizeof(f->path)) == -1)
		return;
	f->line = it->line;
	if (stat(f->path, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		cfg_error(ctx, it->line, it->path, "%s: not a regular file",
		    f->path);
		return;
	}
	if ((fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		goto fail;
	close(fd);
	return;
 fail:
	cfg_error(ctx, it->line, it->path, "%s: %s", f->path, strerror(errno));
}

int64_t
config_parse_duration(const char *s)
{
	static const struct {
		const char	*unit;
		int64_t		 ms;
	} units[] = {
		{ "ms", 1 },
		{ "s", MS_SECOND },
		{ "m", 60 * MS_SECOND },
		{ "h", MS_HOUR },
		{ "d", MS_DAY }
	};
	char		 num[20];
	const char	*errstr;
	size_t		 n, i;
	long long	 v;

	for (n = 0; isdigit((unsigned char)s[n]); n++)
		;
	if (n == 0 || n >= sizeof(num))
		return (-1);
	memcpy(num, s, n);
	num[n] = '\0';
	for (i = 0; i < nitems(units); i++) {
		if (strcmp(s + n, units[i].unit) != 0)
			continue;
		v = strtonum(num, 0, INT64_MAX / units[i].ms, &errstr);
		if (errstr != NULL)
			return (-1);
		return (v * units[i].ms);
	}
	return (-1);
}

static int
cfg_duration(struct cfg_ctx *ctx, const struct cfg_item *it, int64_t min,
    int64_t max, const char *range, int64_t *out)
{
	const char	*s;
	char		 q[CONFIG_QUOTE_MAX];

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return (-1);
	if ((*out = config_parse_duration(s)) == -1) {
		cfg_error(ctx, it->line, it->path, "%s is not a duration "
		    "(a number and ms, s, m, h or d)",
		    cfg_quote(s, q, sizeof(q)));
		return (-1);
	}
	if (*out < min || *out > max) {
		cfg_error(ctx, it->line, it->path, "%s is out of range (%s)",
		    cfg_quote(s, q, sizeof(q)), range);
		return (-1);
	}
	return (0);
}

static int
cfg_bool(struct cfg_ctx *ctx, const struct cfg_item *it, int *out)
{
	const char	*s;
	char		 q[CONFIG_QUOTE_MAX];

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return (-1);
	if (strcmp(s, "true") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0)
		*out = 0;
	else {
		cfg_error(ctx, it->line, it->path, "%s is not true or false",
		    cfg_quote(s, q, sizeof(q)));
		return (-1);
	}
	return (0);
}

/* One of a list of words; returns its index. */
static int
cfg_word(struct cfg_ctx *ctx, const struct cfg_item *it,
    const char *const *words, size_t nwords, const char *what)
{
	const char	*s;
	char		 q[CONFIG_QUOTE_MAX];
	size_t		 i;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return (-1);
	for (i = 0; i < nwords; i++)
		if (strcmp(s, words[i]) == 0)
			return ((int)i);
	cfg_error(ctx, it->line, it->path, "%s is not %s",
	    cfg_quote(s, q, sizeof(q)), what);
	return (-1);
}

static int
parse_port(const char *s, size_t len)
{
	char		 buf[8];
	const char	*errstr;
	int		 port;

	if (len == 0 || len >= sizeof(buf))
		return (-1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!cfg_isdigits(buf))
		return (-1);
	port = strtonum(buf, 1, 65535, &errstr);
	return (errstr != NULL ? -1 : port);
}

/* "IPv4:port" or "[IPv6]:port", numeric only (no DNS at start-up). */
static int
parse_address(const char *s, struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 host[INET6_ADDRSTRLEN];
	const char		*end, *port;
	int			 v6 = (*s == '['), p;

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return (-1);
		s++;
		port = end + 2;
	} else {
		if ((end = strchr(s, ':')) == NULL)
			return (-1);
		port = end + 1;
	}
	if ((size_t)(end - s) >= sizeof(host))
		return (-1);
	memcpy(host, s, end - s);
	host[end - s] = '\0';
	if ((p = parse_port(port, strlen(port))) == -1)
		return (-1);
	if (v6) {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return (-1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		*sslen = sizeof(*sin6);
	} else {
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return (-1);
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		*sslen = sizeof(*sin);
	}
	return (0);
}

static int
cfg_address(struct cfg_ctx *ctx, const struct cfg_item *it, char *text,
    size_t len, struct sockaddr_storage *ss, socklen_t *sslen)
{
	const char	*s;
	char		 q[CONFIG_QUOTE_MAX];

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return (-1);
	if (strlen(s) >= len || parse_address(s, ss, sslen) == -1) {
		cfg_error(ctx, it->line, it->path, "%s is not an IPv4:port or "
		    "[IPv6]:port address", cfg_quote(s, q, sizeof(q)));
		return (-1);
	}
	(void)strlcpy(text, s, len);
	return (0);
}

static int
sa_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->ss_family != b->ss_family)
		return (0);
	if (a->ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)a;
		b4 = (const struct sockaddr_in *)b;
		return (a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr);
	}
	a6 = (const struct sockaddr_in6 *)a;
	b6 = (const struct sockaddr_in6 *)b;
	return (a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0);
}

/*
 * URLs.  Messages never quote the URL or its parts: a password may
 * sit in it, and a mistyped one may land anywhere.
 */

static int
url_host(const char *s, size_t len, struct url *u)
{
	char		 buf[AIB_HOSTNAME_MAX + 1];
	unsigned char	 addr[sizeof(struct in6_addr)];
	size_t		 i;

	if (len == 0 || len >= sizeof(buf))
		return (-1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (u->v6) {
		if (inet_pton(AF_INET6, buf, addr) != 1 ||
		    inet_ntop(AF_INET6, addr, u->host, sizeof(u->host)) == NULL)
			return (-1);
		return (0);
	}
	for (i = 0; i < len && (isdigit((unsigned char)buf[i]) ||
	    buf[i] == '.'); i++)
		;
	if (i == len) {
		/* All digits and dots: an IPv4 address or nothing. */
		if (inet_pton(AF_INET, buf, addr) != 1 ||
		    inet_ntop(AF_INET, addr, u->host, sizeof(u->host)) == NULL)
			return (-1);
		return (0);
	}
	return (host_canon(buf, u->host, sizeof(u->host), NULL));
}

/* Split "[userinfo@]host[:port]". */
static const char *
url_authority(const char *s, size_t len, struct url *u)
{
	const char	*at, *host, *end, *colon;

	if ((at = memrchr(s, '@', len)) != NULL) {
		u->userinfo = s;
		u->userinfolen = at - s;
		len -= at + 1 - s;
		s = at + 1;
	}
	end = s + len;
	if ((u->v6 = (*s == '['))) {
		if ((colon = memchr(s, ']', len)) == NULL)
			return ("has an invalid IPv6 address");
		host = s + 1;
		len = colon - host;
		colon++;
		if (colon != end && *colon != ':')
			return ("has an invalid IPv6 address");
	} else {
		host = s;
		if ((colon = memchr(s, ':', len)) == NULL)
			colon = end;
		len = colon - host;
	}
	if (len == 0)
		return ("has no host");
	if (url_host(host, len, u) == -1)
		return (u->v6 ? "has an invalid IPv6 address" :
		    "has an invalid host name");
	u->port = u->tls ? 443 : 80;
	u->defport = 1;
	if (colon != end) {
		colon++;
		if ((u->port = parse_port(colon, end - colon)) == -1)
			return ("has an invalid port");
		u->defport = (u->port == (u->tls ? 443 : 80));
	}
	return (NULL);
}

/* Returns NULL or what is wrong with the URL. */
static const char *
url_parse(const char *s, struct url *u)
{
	const char	*p;
	size_t		 len;

	memset(u, 0, sizeof(*u));
	for (p = s; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return ("contains a space or a character that must be "
			    "percent-encoded");
	if (strncasecmp(s, "https://", 8) == 0) {
		u->tls = 1;
		s += 8;
	} else if (strncasecmp(s, "http://", 7) == 0)
		s += 7;
	else
		return ("must begin with http:// or https://");
	len = strcspn(s, "/?#");
	if (strchr(s + len, '#') != NULL)
		return ("must not have a fragment");
	if (strchr(s + len, '?') != NULL)
		return ("must not have a query");
	u->path = s + len;
	u->pathlen = strlen(u->path);
	return (url_authority(s, len, u));
}



/*
 * A bridge path prefix: RFC 3986 segments, no dot segments or empty
 * ones (which could lift a request out of the prefix), no trailing
 * slash.
 */
static int
url_bridgepath(const char *p, size_t len, char *out, size_t outlen)
{
	const char	*seg;
	size_t		 i, n;

	while (len > 0 && p[len - 1] == '/')
		len--;
	if (len >= outlen)
		return (-1);
	for (i = 0; i < len; i = seg + n - p) {
		seg = p + i + 1;
		for (n = 0; seg + n < p + len && seg[n] != '/'; n++) {
			if (seg[n] == '%' && http_pct_byte(seg + n,
			    p + len - (seg + n)) == -1)
				return (-1);
			if (strchr("\"<>[\\]^`{|}", seg[n]) != NULL)
				return (-1);
		}
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return (-1);
	}
	memcpy(out, p, len);
	out[len] = '\0';
	return (0);
}

static int
url_hostport(const struct url *u, char *buf, size_t len)
{
	int	 n;

	if (u->defport)
		n = snprintf(buf, len, u->v6 ? "[%s]" : "%s", u->host);
	else
		n = snprintf(buf, len, u->v6 ? "[%s]:%d" : "%s:%d", u->host,
		    u->port);
	return (n < 0 || (size_t)n >= len ? -1 : 0);
}

/* Percent-decode one part of the user info; NUL bytes are refused. */
static int
url_decode(const char *s, size_t len, char *out, size_t outlen, size_t *n)
{
	size_t	 i;
	int	 c;

	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '%') {
			if ((c = http_pct_byte(s + i, len - i)) <= 0)
				return (-1);
			i += 2;
		}
		if (*n >= outlen)
			return (-2);
		out[(*n)++] = c;
	}
	return (0);
}

/*
 * "Basic base64(user:password)", RFC 7617, from the percent-decoded
 * parts; the colon is always there, even when the password is not.
 */
static const char *
url_credentials(const struct url *u, char *auth, size_t authlen)
{
	unsigned char	 plain[(AIB_CRED_MAX - 7) / 4 * 3];
	const char	*colon, *msg = NULL;
	size_t		 n = 0, ulen;
	int		 r;

	if ((colon = memchr(u->userinfo, ':', u->userinfolen)) == NULL)
		colon = u->userinfo + u->userinfolen;
	ulen = colon - u->userinfo;
	if ((r = url_decode(u->userinfo, ulen, (char *)plain,
	    sizeof(plain), &n)) != 0)
		goto fail;
	if (n >= sizeof(plain)) {
		r = -2;
		goto fail;
	}
	plain[n++] = ':';
	if (colon < u->userinfo + u->userinfolen &&
	    (r = url_decode(colon + 1, u->userinfolen - ulen - 1,
	    (char *)plain, sizeof(plain), &n)) != 0)
		goto fail;
	if (n == 1) {
		msg = "has an empty user name and password";
		goto done;
	}
	if (sizeof("Basic ") + (n + 2) / 3 * 4 > authlen) {
		r = -2;
		goto fail;
	}
	memcpy(auth, "Basic ", 6);
	(void)EVP_EncodeBlock((unsigned char *)auth + 6, plain, n);
	goto done;
 fail:
	msg = (r == -2) ? "has a user name and password that are too long" :
	    "has a bad percent-escape in its user name or password";
 done:
	explicit_bzero(plain, sizeof(plain));
	return (msg);
}

/*
 * Top-level scalars.
 */

static int
valid_user(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' &&
		    s[n] != '-')
			return (0);
	return (n >= 1 && n <= CONFIG_USER_MAX);
}

static int
cfg_user(struct cfg_ctx *ctx, const struct cfg_item *it, char *buf,
    size_t len)
{
	const char	*s;
	char		 q[CONFIG_QUOTE_MAX];

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return (-1);
	if (!valid_user(s)) {
		cfg_error(ctx, it->line, it->path,
		    "%s is not a valid user name", cfg_quote(s, q, sizeof(q)));
		return (-1);
	}
	(void)strlcpy(buf, s, len);
	return (0);
}

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

static int
workers_auto(void)
{
	long	 n;

	if ((n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		return (1);
	return (n > AIB_WORKERS_MAX ? AIB_WORKERS_MAX : (int)n);
}

static void
parse_workers(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct aib_config	*conf = arg;
	long long		 v;

	if (it->node->type == YAML_SCALAR_NODE &&
	    strcmp((const char *)it->node->data.scalar.value, "auto") == 0) {
		conf->workers = workers_auto();
		return;
	}
	if (cfg_number(ctx, it, 1, AIB_WORKERS_MAX, &v) == 0)
		conf->workers = v;
}

/*
 * listen
 */

static void
parse_tls_cert(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct listen_conf	*lc = arg;

	cfg_file(ctx, it, &lc->cert);
}

static void
parse_tls_key(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct listen_conf	*lc = arg;

	cfg_file(ctx, it, &lc->key);
}

static const struct cfg_key tls_keys[] = {
	{ "cert",	1, parse_tls_cert },
	{ "key",	1, parse_tls_key }
};

static void
parse_listen_tls(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct listen_conf	*lc = arg;

	lc->tls = 1;
	(void)cfg_map(ctx, it, tls_keys, nitems(tls_keys), arg);
}

static void
parse_listen_address(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct listen_conf	*lc = arg, *o;
	int			 i = 0;

	if (cfg_address(ctx, it, lc->address, sizeof(lc->address), &lc->ss,
	    &lc->sslen) == -1)
		return;
	TAILQ_FOREACH(o, &ctx->conf->listens, entry) {
		if (o == lc)
			break;
		if (o->sslen != 0 && sa_equal(&o->ss, &lc->ss)) {
			cfg_error(ctx, it->line, it->path, "%s is already "
			    "used by listen[%d] on line %d", lc->address, i,
			    o->line);
			return;
		}
		i++;
	}
}

static const struct cfg_key listen_keys[] = {
	{ "address",	1, parse_listen_address },
	{ "tls",	0, parse_listen_tls }
};

static void
parse_listen_item(struct cfg_ctx *ctx, const struct cfg_item *it, int idx,
    void *arg)
{
	struct listen_conf	*lc;

	if ((lc = calloc(1, sizeof(*lc))) == NULL) {
		cfg_error(ctx, it->line, it->path, "%s", strerror(errno));
		return;
	}
	lc->line = it->line;
	TAILQ_INSERT_TAIL(&ctx->conf->listens, lc, entry);
	(void)cfg_map(ctx, it, listen_keys, nitems(listen_keys), lc);
}

static void
parse_listen(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	if (cfg_list(ctx, it, CONFIG_LISTEN_MAX, "listeners",
	    parse_listen_item, NULL) == 0)
		cfg_error(ctx, it->line, it->path, "must not be empty");
}

/*
 * ca
 */

static void
parse_ca_cert(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct aib_config	*conf = arg;

	cfg_file(ctx, it, &conf->ca_cert);
}

static void
parse_ca_key(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct aib_config	*conf = arg;

	cfg_file(ctx, it, &conf->ca_key);
}

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

static const struct cfg_key ca_keys[] = {
	{ "cert",		1, parse_ca_cert },
	{ "key",		1, parse_ca_key },
	{ "leaf_lifetime",	0, parse_leaf_lifetime }
};

static void
parse_ca(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	(void)cfg_map(ctx, it, ca_keys, nitems(ca_keys), arg);
}

/*
 * bridge
 */

static void
parse_bridge_url(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct aib_config	*conf = arg;
	struct bridge_config	*bc = &conf->bridge;
	struct url		 u;
	const char		*s, *msg;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return;
	if ((msg = url_parse(s, &u)) != NULL)
		goto fail;
	msg = "must not have a user name or password";
	if (u.userinfo != NULL)
		goto fail;
	msg = "has an invalid path";
	if (url_bridgepath(u.path, u.pathlen, bc->bc_path,
	    sizeof(bc->bc_path)) == -1)
		goto fail;
	msg = "is too long";
	if (strlcpy(conf->bridge_url, s, sizeof(conf->bridge_url)) >=
	    sizeof(conf->bridge_url) ||
	    url_hostport(&u, bc->bc_hostport, sizeof(bc->bc_hostport)) == -1)
		goto fail;
	bc->bc_tls = u.tls;
	bc->bc_port = u.port;
	(void)strlcpy(bc->bc_host, u.host, sizeof(bc->bc_host));
	return;
 fail:
	cfg_error(ctx, it->line, it->path, "URL %s", msg);
}

static void
parse_bridge_ca(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct aib_config	*conf = arg;

	if (!cfg_unset(it))
		cfg_file(ctx, it, &conf->bridge_ca);
}

static const struct cfg_key bridge_keys[] = {
	{ "url",	1, parse_bridge_url },
	{ "ca",		0, parse_bridge_ca }
};

static void
parse_bridge(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	(void)cfg_map(ctx, it, bridge_keys, nitems(bridge_keys), arg);
}

/*
 * providers
 */

/* ^[a-z0-9]+(-[a-z0-9]+)*$: it becomes a path segment on the bridge. */
static int
valid_provider(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++) {
		if ((s[n] >= 'a' && s[n] <= 'z') || isdigit((unsigned char)s[n]))
			continue;
		if (s[n] == '-' && n > 0 && s[n - 1] != '-' && s[n + 1] != '\0')
			continue;
		return (0);
	}
	return (n >= 1 && n < AIB_NAME_MAX);
}

static void
parse_provider_name(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct provider_conf	*pr = arg, *o;
	const char		*s;
	char			 q[CONFIG_QUOTE_MAX];
	int			 i = 0;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return;
	if (!valid_provider(s)) {
		cfg_error(ctx, it->line, it->path,
		    "%s is not a valid provider name",
		    cfg_quote(s, q, sizeof(q)));
		return;
	}
	TAILQ_FOREACH(o, &ctx->conf->providers, entry) {
		if (o == pr)
			break;
		if (strcmp(o->pc.pc_name, s) == 0) {
			cfg_error(ctx, it->line, it->path, "\"%s\" is already "
			    "used by providers[%d] on line %d", s, i, o->line);
			return;
		}
		i++;
	}
	(void)strlcpy(pr->pc.pc_name, s, sizeof(pr->pc.pc_name));
}

static void
parse_provider_host(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct provider_conf	*pr = arg, *o;
	char			 host[AIB_HOSTNAME_MAX + 1];
	char			 q[CONFIG_QUOTE_MAX];
	const char		*s;
	int			 i = 0;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return;
	if (host_is_ip(s)) {
		cfg_error(ctx, it->line, it->path, "%s is an IP address; "
		    "providers are intercepted by host name",
		    cfg_quote(s, q, sizeof(q)));
		return;
	}
	if (host_canon(s, host, sizeof(host), NULL) == -1) {
		cfg_error(ctx, it->line, it->path, "%s is not a valid host "
		    "name", cfg_quote(s, q, sizeof(q)));
		return;
	}
	TAILQ_FOREACH(o, &ctx->conf->providers, entry) {
		if (o == pr)
			break;
		if (strcmp(o->pc.pc_host, host) == 0) {
			cfg_error(ctx, it->line, it->path, "\"%s\" is already "
			    "used by providers[%d] (%s) on line %d", host, i,
			    o->pc.pc_name[0] != '\0' ? o->pc.pc_name : "?",
			    o->line);
			return;
		}
		i++;
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
	{ "name",	1, parse_provider_name },
	{ "host",	1, parse_provider_host },
	{ "type",	0, parse_provider_type }
};

static void
parse_provider_item(struct cfg_ctx *ctx, const struct cfg_item *it, int idx,
    void *arg)
{
	struct provider_conf	*pr;

	if ((pr = calloc(1, sizeof(*pr))) == NULL) {
		cfg_error(ctx, it->line, it->path, "%s", strerror(errno));
		return;
	}
	pr->line = it->line;
	pr->pc.pc_type = PROVIDER_GENERIC;
	TAILQ_INSERT_TAIL(&ctx->conf->providers, pr, entry);
	(void)cfg_map(ctx, it, provider_keys, nitems(provider_keys), pr);
}

static void
parse_providers(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	/* An empty list is fine: nothing is intercepted. */
	(void)cfg_list(ctx, it, CONFIG_PROVIDERS_MAX, "providers",
	    parse_provider_item, NULL);
}

/*
 * auth
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

static const struct cfg_key auth_keys[] = {
	{ "tunnels",	0, parse_auth_tunnels }
};

static void
parse_auth(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	(void)cfg_map(ctx, it, auth_keys, nitems(auth_keys), arg);
}

/*
 * tunnel
 */

static void
parse_port_item(struct cfg_ctx *ctx, const struct cfg_item *it, int idx,
    void *arg)
{
	struct aib_config	*conf = arg;
	const char		*s;
	char			 q[CONFIG_QUOTE_MAX];
	int			 port, i;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return;
	if ((port = parse_port(s, strlen(s))) == -1) {
		cfg_error(ctx, it->line, it->path, "%s is not a port",
		    cfg_quote(s, q, sizeof(q)));
		return;
	}
	for (i = 0; i < conf->nports; i++) {
		if (conf->ports[i] == port) {
			cfg_error(ctx, it->line, it->path, "%d is listed "
			    "twice", port);
			return;
		}
	}
	conf->ports[conf->nports++] = port;
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

/* "addr/len" or a bare address; returns NULL or what is wrong. */
static const char *
parse_cidr(const char *s, struct cidr_config *cc)
{
	char		 addr[INET6_ADDRSTRLEN], plen[4];
	const char	*slash, *errstr;
	int		 max, i, bits;

	memset(cc, 0, sizeof(*cc));
	if ((slash = strchr(s, '/')) == NULL)
		slash = s + strlen(s);
	if ((size_t)(slash - s) >= sizeof(addr))
		return ("is not an address or a CIDR range");
	memcpy(addr, s, slash - s);
	addr[slash - s] = '\0';
	if (inet_pton(AF_INET, addr, cc->cc_addr) == 1) {
		cc->cc_af = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, cc->cc_addr) == 1) {
		cc->cc_af = AF_INET6;
		max = 128;
	} else
		return ("is not an address or a CIDR range");
	cc->cc_prefixlen = max;
	if (*slash == '/') {
		if (strlcpy(plen, slash + 1, sizeof(plen)) >= sizeof(plen) ||
		    !cfg_isdigits(plen))
			return ("has a bad prefix length");
		cc->cc_prefixlen = strtonum(plen, 0, max, &errstr);
		if (errstr != NULL)
			return ("has a bad prefix length");
	}
	for (i = 0; i < max / 8; i++) {
		bits = cc->cc_prefixlen - i * 8;
		if (bits >= 8)
			continue;
		if (cc->cc_addr[i] & (bits <= 0 ? 0xff : 0xff >> bits))
			return ("has host bits set");
	}
	return (NULL);
}

static void
parse_cidr_item(struct cfg_ctx *ctx, const struct cfg_item *it, int idx,
    void *arg)
{
	struct cidr_conf	*cc;
	const char		*s, *msg;
	char			 q[CONFIG_QUOTE_MAX];

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return;
	if ((cc = calloc(1, sizeof(*cc))) == NULL) {
		cfg_error(ctx, it->line, it->path, "%s", strerror(errno));
		return;
	}
	cc->line = it->line;
	TAILQ_INSERT_TAIL(&ctx->conf->cidrs, cc, entry);
	if (strlen(s) >= sizeof(cc->text))
		msg = "is not an address or a CIDR range";
	else
		msg = parse_cidr(s, &cc->cc);
	if (msg != NULL) {
		cfg_error(ctx, it->line, it->path, "%s %s",
		    cfg_quote(s, q, sizeof(q)), msg);
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

static const struct cfg_key tunnel_keys[] = {
	{ "ports",			0, parse_ports },
	{ "allowed_private_cidrs",	0, parse_cidrs }
};

static void
parse_tunnel(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	(void)cfg_map(ctx, it, tunnel_keys, nitems(tunnel_keys), arg);
}

/*
 * upstream
 */

static void
parse_upstream_url(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct aib_config	*conf = arg;
	struct upstream_config	*uc = &conf->upstream;
	struct url		 u;
	const char		*s, *msg;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return;
	if ((msg = url_parse(s, &u)) != NULL)
		goto fail;
	msg = "must not have a path";
	if (u.pathlen > 1)
		goto fail;
	msg = "is too long";
	if (strlcpy(conf->upstream_url, s, sizeof(conf->upstream_url)) >=
	    sizeof(conf->upstream_url))
		goto fail;
	if (u.userinfo != NULL &&
	    (msg = url_credentials(&u, uc->uc_auth, sizeof(uc->uc_auth))) !=
	    NULL)
		goto fail;
	uc->uc_tls = u.tls;
	uc->uc_port = u.port;
	(void)strlcpy(uc->uc_host, u.host, sizeof(uc->uc_host));
	return;
 fail:
	cfg_error(ctx, it->line, it->path, "URL %s", msg);
}

static void
parse_upstream_ca(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct aib_config	*conf = arg;

	if (!cfg_unset(it))
		cfg_file(ctx, it, &conf->upstream_ca);
}

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
	{ "url",	1, parse_upstream_url },
	{ "ca",		0, parse_upstream_ca },
	{ "bridge",	0, parse_upstream_bridge }
};

static void
parse_upstream(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	struct aib_config	*conf = arg;

	conf->upstream.uc_enabled = 1;
	(void)cfg_map(ctx, it, upstream_keys, nitems(upstream_keys), arg);
}

/*
 * timeouts, limits, metrics, log
 */

static void
cfg_timeout(struct cfg_ctx *ctx, const struct cfg_item *it, uint32_t *out)
{
	int64_t	 ms;

	if (cfg_duration(ctx, it, 1, MS_DAY, "more than 0, at most 1d",
	    &ms) == 0)
		*out = ms;
}

static void
parse_timeout_header(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	cfg_timeout(ctx, it, &((struct aib_config *)arg)->timeout_header);
}

static void
parse_timeout_handshake(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	cfg_timeout(ctx, it, &((struct aib_config *)arg)->timeout_handshake);
}

static void
parse_timeout_idle(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	cfg_timeout(ctx, it, &((struct aib_config *)arg)->timeout_idle);
}

static void
parse_timeout_connect(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	cfg_timeout(ctx, it, &((struct aib_config *)arg)->timeout_connect);
}

static void
parse_timeout_shutdown(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	cfg_timeout(ctx, it, &((struct aib_config *)arg)->timeout_shutdown);
}

static const struct cfg_key timeout_keys[] = {
	{ "header",	0, parse_timeout_header },
	{ "handshake",	0, parse_timeout_handshake },
	{ "idle",	0, parse_timeout_idle },
	{ "connect",	0, parse_timeout_connect },
	{ "shutdown",	0, parse_timeout_shutdown }
};

static void
parse_timeouts(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	(void)cfg_map(ctx, it, timeout_keys, nitems(timeout_keys), arg);
}

static void
parse_limit_connections(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct aib_config	*conf = arg;
	long long		 v;

	if (cfg_number(ctx, it, 1, 1000000, &v) == 0)
		conf->max_connections = v;
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
	{ "connections",	0, parse_limit_connections },
	{ "header_bytes",	0, parse_limit_header_bytes }
};

static void
parse_limits(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	(void)cfg_map(ctx, it, limit_keys, nitems(limit_keys), arg);
}

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
	{ "listen",	0, parse_metrics_listen }
};

static void
parse_metrics(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	(void)cfg_map(ctx, it, metrics_keys, nitems(metrics_keys), arg);
}

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
parse_log_dump_dir(struct cfg_ctx *ctx, const struct cfg_item *it,
    void *arg)
{
	struct aib_config	*conf = arg;

	if (!cfg_unset(it))
		(void)cfg_abspath(ctx, it, conf->dump_dir,
		    sizeof(conf->dump_dir));
}

static const struct cfg_key log_keys[] = {
	{ "level",	0, parse_log_level },
	{ "dump_dir",	0, parse_log_dump_dir }
};

static void
parse_log(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	(void)cfg_map(ctx, it, log_keys, nitems(log_keys), arg);
}

static const struct cfg_key top_keys[] = {
	{ "user",		0, parse_user },
	{ "signer_user",	0, parse_signer_user },
	{ "chroot",		0, parse_chroot },
	{ "workers",		0, parse_workers },
	{ "listen",		1, parse_listen },
	{ "ca",			1, parse_ca },
	{ "bridge",		1, parse_bridge },
	{ "providers",		1, parse_providers },
	{ "auth",		0, parse_auth },
	{ "tunnel",		0, parse_tunnel },
	{ "upstream",		0, parse_upstream },
	{ "timeouts",		0, parse_timeouts },
	{ "limits",		0, parse_limits },
	{ "metrics",		0, parse_metrics },
	{ "log",		0, parse_log }
};

/*
 * The whole file.
 */

static struct aib_config *
config_new(const char *name)
{
	struct aib_config	*conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return (NULL);
	(void)strlcpy(conf->path, name, sizeof(conf->path));
	(void)strlcpy(conf->user, AIB_DEFAULT_USER, sizeof(conf->user));
	(void)strlcpy(conf->signer_user, AIB_DEFAULT_SIGNER_USER,
	    sizeof(conf->signer_user));
	(void)strlcpy(conf->chroot, AIB_DEFAULT_CHROOT, sizeof(conf->chroot));
	conf->workers = workers_auto();
	TAILQ_INIT(&conf->listens);
	TAILQ_INIT(&conf->providers);
	TAILQ_INIT(&conf->cidrs);
	conf->leaf_lifetime = 7 * 24 * 3600;
	conf->tunnel_auth = TUNNEL_AUTH_OPEN;
	conf->ports[0] = 80;
	conf->ports[1] = 443;
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

/* Checks that need more than one key. */
static void
config_check(struct cfg_ctx *ctx)
{
	struct aib_config	*conf = ctx->conf;
	struct listen_conf	*lc;
	int			 i = 0;

	if (strcmp(conf->user, conf->signer_user) == 0) {
		if (ctx->signer_user_line != 0)
			cfg_error(ctx, ctx->signer_user_line, "signer_user",
			    "\"%s\" must differ from user", conf->signer_user);
		else
			cfg_error(ctx, ctx->user_line, "user",
			    "\"%s\" must differ from signer_user", conf->user);
	}
	if (!conf->metrics)
		return;
	TAILQ_FOREACH(lc, &conf->listens, entry) {
		if (lc->sslen != 0 && sa_equal(&lc->ss, &conf->metrics_ss)) {
			cfg_error(ctx, ctx->metrics_line, "metrics.listen",
			    "%s is already used by listen[%d] on line %d",
			    conf->metrics_address, i, lc->line);
			break;
		}
		i++;
	}
}

/* Is this node "nothing": an empty plain scalar, as "---" alone gives? */
static int
node_isempty(const yaml_node_t *n)
{
	return (n->type == YAML_SCALAR_NODE && n->data.scalar.length == 0 &&
	    n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
}

static void
config_document(struct cfg_ctx *ctx)
{
	yaml_node_t	*root;
	struct cfg_item	 it;

	root = yaml_document_get_root_node(ctx->doc);
	if (root == NULL || node_isempty(root)) {
		cfg_error(ctx, 1, NULL, "empty configuration");
		return;
	}
	if (root->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, cfg_nodeline(root), NULL,
		    "the top level must be a mapping");
		return;
	}
	it.node = root;
	it.path = "";
	it.line = cfg_nodeline(root);
	(void)cfg_map(ctx, &it, top_keys, nitems(top_keys), ctx->conf);
	config_check(ctx);
}

static void
config_syntax(struct cfg_ctx *ctx, const yaml_parser_t *p, const char *buf,
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
static void
yaml_wipe(yaml_parser_t *p, yaml_document_t *doc)
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
static void
config_trailer(struct cfg_ctx *ctx, yaml_parser_t *p, const char *buf,
    size_t len)
{
	yaml_document_t	 doc;
	yaml_node_t	*root;

	if (!yaml_parser_load(p, &doc)) {
		config_syntax(ctx, p, buf, len);
		return;
	}
	if ((root = yaml_document_get_root_node(&doc)) != NULL)
		cfg_error(ctx, cfg_nodeline(root), NULL,
		    "only one YAML document is allowed");
	yaml_wipe(p, &doc);
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
	if ((ctx.conf = config_new(name)) == NULL) {
		cfg_rawerror(errs, "%s: %s", name, strerror(errno));
		return (NULL);
	}
	if (!yaml_parser_initialize(&parser)) {
		cfg_rawerror(errs, "%s: out of memory", name);
		goto fail;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc))
		config_syntax(&ctx, &parser, buf, len);
	else {
		loaded = 1;
		config_document(&ctx);
		if (!ctx.failed)
			config_trailer(&ctx, &parser, buf, len);
	}
	yaml_wipe(&parser, loaded ? &doc : NULL);
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
	/* uc_auth and upstream_url may hold the upstream password. */
	freezero(conf, sizeof(*conf));
}

void
config_global(const struct aib_config *conf, struct global_config *gc)
{
	int	 i;

	memset(gc, 0, sizeof(*gc));
	gc->gc_loglevel = conf->loglevel;
	gc->gc_workers = conf->workers;
	gc->gc_tunnel_auth = conf->tunnel_auth;
	gc->gc_leaf_lifetime = conf->leaf_lifetime;
	gc->gc_timeout_header = conf->timeout_header;
	gc->gc_timeout_handshake = conf->timeout_handshake;
	gc->gc_timeout_idle = conf->timeout_idle;
	gc->gc_timeout_connect = conf->timeout_connect;
	gc->gc_timeout_shutdown = conf->timeout_shutdown;
	gc->gc_max_connections = conf->max_connections;
	gc->gc_header_bytes = conf->header_bytes;
	for (i = 0; i < conf->nports && i < AIB_PORTS_MAX; i++)
		gc->gc_ports[i] = conf->ports[i];
	gc->gc_nports = i;
	(void)strlcpy(gc->gc_dump_dir, conf->dump_dir,
	    sizeof(gc->gc_dump_dir));
}
