/*
 * The intercepted request as the bridge sees it (SPEC 4.2).  Two things
 * matter here.  The path must stay under /api/v2/aibridge/<provider>/:
 * the bridge host serves the whole Coder API, so anything a server
 * could resolve to a path outside that prefix (dot segments, encoded
 * slashes, another authority) is refused rather than cleaned up.  And
 * the identity the bridge sees must be the one the proxy credentials
 * proved: a client copy of the governance headers never gets through.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compat.h"
#include "hostname.h"
#include "rewrite.h"

#define BRIDGE_PREFIX	AIB_BRIDGE_ROUTE "/"

/* Where a request target's path and query are. */
struct target_parts {
	const char	*path;
	size_t		 pathlen;
	const char	*query;		/* after '?', NULL if none */
};

/* The client's credential headers, as they will be forwarded. */
struct client_cred {
	const char	*auth;		/* first Authorization */
	int		 nauth;
	const char	*apikey;	/* first X-Api-Key */
	int		 napikey;
	const char	*value;		/* the credential, or NULL */
	size_t		 len;
	enum http_field	 from;		/* the header it came from */
};


static int	 check_segment(const char *, size_t, const char **);
static int	 check_path(const char *, size_t, const char **);
static int	 check_bytes(const char *, const char **);
static int	 check_authority(const struct rewrite_ctx *, const char *,
		    size_t, int);
static int	 split_absolute(const struct rewrite_ctx *, const char *,
		    struct target_parts *, const char **);
static int	 split_target(const struct rewrite_ctx *, const char *,
		    struct target_parts *, const char **);
static int	 ct_equal(const char *, size_t, const char *, size_t);
static int	 bearer_value(const char *, const char **, size_t *);
static int	 header_dropped(const struct http_head *, int);
static int	 client_cred(const struct http_head *, struct client_cred *);
static int	 add_token(const struct rewrite_ctx *,
		    const struct client_cred *, struct buf *);
static int	 write_head(const struct rewrite_ctx *,
		    const struct http_head *, const char *,
		    const struct client_cred *, struct buf *);



/*
 * One path segment: its escapes must be well formed and must not hide
 * a separator or a NUL, and decoded it must not be "." or "..".
 */
static int
check_segment(const char *s, size_t len, const char **why)
{
	size_t	 i, n = 0;
	int	 c, dots = 1;

	for (i = 0; i < len; i++, n++) {
		if ((c = (unsigned char)s[i]) == '\\') {
			*why = "backslash in path";
			return (-1);
		}
		if (c == '%') {
			if ((c = http_pct_byte(s + i, len - i)) == -1) {
				*why = "bad percent-encoding in path";
				return (-1);
			}
			i += 2;
			if (c == '/' || c == '\\') {
				*why = "encoded slash or backslash in path";
				return (-1);
			}
			if (c == '\0') {
				*why = "encoded NUL in path";
				return (-1);
			}
		}
		if (c != '.')
			dots = 0;
	}
	if (dots && (n == 1 || n == 2)) {
		*why = "dot segment in path";
		return (-1);
	}
	return (0);
}

static int
check_path(const char *path, size_t len, const char **why)
{
	const char	*s, *e, *end = path + len;

	/* path starts with '/': segments follow each slash. */
	for (s = path + 1; s <= end; s = e + 1) {
		if ((e = memchr(s, '/', (size_t)(end - s))) == NULL)
			e = end;
		if (check_segment(s, (size_t)(e - s), why) == -1)
			return (-1);
	}
	return (0);
}

/* What the parser refuses too; the head may come from elsewhere. */
static int
check_bytes(const char *t, const char **why)
{
	for (; *t != '\0'; t++) {
		if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f) {
			*why = "invalid character in target";
			return (-1);
		}
		if (*t == '#') {
			*why = "fragment in target";
			return (-1);
		}
	}
	return (0);
}

/* Is "host[:port]" the CONNECT's authority? */
static int
check_authority(const struct rewrite_ctx *ctx, const char *auth, size_t len,
    int https)
{
	char	 a[AIB_HOSTNAME_MAX + 8], host[AIB_HOSTNAME_MAX + 1];
	char	 canon[AIB_HOSTNAME_MAX + 1];
	int	 port;

	if (len == 0 || len >= sizeof(a))
		return (-1);
	memcpy(a, auth, len);
	a[len] = '\0';
	if (a[0] == '[' || strchr(a, ':') != NULL) {
		if (host_split_port(a, host, sizeof(host), &port) == -1)
			return (-1);
	} else {
		if (strlcpy(host, a, sizeof(host)) >= sizeof(host))
			return (-1);
		port = https ? 443 : 80;
	}
	if (host_canon(host, canon, sizeof(canon), NULL) == -1)
		return (-1);
	if (strcmp(canon, ctx->host) != 0 || port != ctx->port)
		return (-1);
	return (0);
}

/* "http[s]://authority[/path][?query]", authority the CONNECT's. */
static int
split_absolute(const struct rewrite_ctx *ctx, const char *t,
    struct target_parts *tp, const char **why)
{
	const char	*auth, *end;
	int		 https;

	if (strncasecmp(t, "https://", 8) == 0) {
		https = 1;
		auth = t + 8;
	} else if (strncasecmp(t, "http://", 7) == 0) {
		https = 0;
		auth = t + 7;
	} else {
		*why = "target is not origin-form or absolute-form";
		return (-1);
	}
	end = auth + strcspn(auth, "/?");
	if (check_authority(ctx, auth, (size_t)(end - auth), https) == -1) {
		*why = "absolute-form target names another authority";
		return (-1);
	}
	if (*end == '/') {
		tp->path = end;
		tp->pathlen = strcspn(end, "?");
	} else {
		tp->path = "/";
		tp->pathlen = 1;
	}
	end += strcspn(end, "?");
	tp->query = *end == '?' ? end + 1 : NULL;
	return (0);
}

static int
split_target(const struct rewrite_ctx *ctx, const char *t,
    struct target_parts *tp, const char **why)
{
	if (t == NULL || *t == '\0') {
		*why = "empty request target";
		return (-1);
	}
	if (check_bytes(t, why) == -1)
		return (-1);
	if (t[0] != '/')
		return (split_absolute(ctx, t, tp, why));
	tp->path = t;
	tp->pathlen = strcspn(t, "?");
	tp->query = t[tp->pathlen] == '?' ? t + tp->pathlen + 1 : NULL;
	return (0);
}

int
rewrite_target(const struct rewrite_ctx *ctx, const char *target, char *out,
    size_t outlen, const char **why)
{
	struct target_parts	 tp;
	const char		*reason;
	size_t			 blen, plen, qlen, n;

	if (why == NULL)
		why = &reason;
	if (split_target(ctx, target, &tp, why) == -1)
		return (-1);
	if (check_path(tp.path, tp.pathlen, why) == -1)
		return (-1);
	/*
	 * bc_path BRIDGE_PREFIX pc_name path [? query], piece by piece:
	 * snprintf(3) cost more than the rest of the rewrite.  Refused
	 * where snprintf would have cut it or failed (past INT_MAX).
	 */
	blen = strlen(ctx->bridge->bc_path);
	plen = strlen(ctx->provider->pc_name);
	qlen = tp.query != NULL ? 1 + strlen(tp.query) : 0;
	n = blen + strlen(BRIDGE_PREFIX) + plen + tp.pathlen + qlen;
	if (tp.pathlen > INT_MAX || n > INT_MAX || n >= outlen) {
		*why = "target too long";
		return (-1);
	}
	memcpy(out, ctx->bridge->bc_path, blen);
	out += blen;
	memcpy(out, BRIDGE_PREFIX, strlen(BRIDGE_PREFIX));
	out += strlen(BRIDGE_PREFIX);
	memcpy(out, ctx->provider->pc_name, plen);
	out += plen;
	memcpy(out, tp.path, tp.pathlen);
	out += tp.pathlen;
	if (qlen > 0) {
		*out++ = '?';
		memcpy(out, tp.query, qlen - 1);
		out += qlen - 1;
	}
	*out = '\0';
	return (0);
}

/* timingsafe_bcmp, which libbsd lacks: no early exit on a mismatch. */
static int
ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t		 i;
	unsigned char	 d = 0;

	if (alen != blen)
		return (0);
	for (i = 0; i < alen; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return (d == 0);
}

/* "Bearer <v>": exactly two fields, the scheme in any case. */
static int
bearer_value(const char *s, const char **v, size_t *len)
{
	size_t	 n;

	if (strncasecmp(s, "Bearer", 6) != 0 || (s[6] != ' ' && s[6] != '\t'))
		return (0);
	s += 6;
	s += strspn(s, " \t");
	n = strcspn(s, " \t");
	if (n == 0 || s[n + strspn(s + n, " \t")] != '\0')
		return (0);
	*v = s;
	*len = n;
	return (1);
}

/*
 * Host is rebuilt for the bridge and the governance headers are ours to
 * set: a client's own copies never pass.  Then the hop-by-hop fields.
 */
static int
header_dropped(const struct http_head *h, int i)
{
	switch (h->headers[i].field) {
	case HF_HOST:
	case HF_X_GOV_REQUEST_ID:
	case HF_X_GOV_TOKEN:
		return (1);
	default:
		return (http_hop_header(h, i));
	}
}

/*
 * The client's credential: the Bearer value, else a non-empty
 * X-Api-Key, the order in which the bridge looks.  A credential header
 * sent twice could be read either way, so it is refused.
 */
static int
client_cred(const struct http_head *h, struct client_cred *cc)
{
	enum http_field	 f;
	int		 i;

	memset(cc, 0, sizeof(*cc));
	cc->from = HF_OTHER;
	for (i = 0; i < h->nheaders; i++) {
		f = h->headers[i].field;
		if ((f != HF_AUTHORIZATION && f != HF_X_API_KEY) ||
		    header_dropped(h, i))
			continue;
		if (f == HF_AUTHORIZATION && cc->nauth++ == 0)
			cc->auth = h->headers[i].value;
		if (f == HF_X_API_KEY && cc->napikey++ == 0)
			cc->apikey = h->headers[i].value;
	}
	if (cc->nauth > 1 || cc->napikey > 1)
		return (-1);
	if (cc->auth != NULL && bearer_value(cc->auth, &cc->value, &cc->len)) {
		cc->from = HF_AUTHORIZATION;
		return (0);
	}
	if (cc->apikey != NULL && *cc->apikey != '\0') {
		cc->value = cc->apikey;
		cc->len = strlen(cc->apikey);
		cc->from = HF_X_API_KEY;
	}
	return (0);
}

/*
 * The token rule of SPEC 4.2.  A client with no credential but some
 * other Authorization (Basic, say) gets the governance header rather
 * than a second Authorization that the bridge might not read.
 * Copilot clients always carry their GitHub token, so for Copilot the
 * token always travels in the governance header.
 */
static int
add_token(const struct rewrite_ctx *ctx, const struct client_cred *cc,
    struct buf *out)
{
	int	 equal;

	equal = cc->value != NULL && ct_equal(cc->value, cc->len, ctx->token,
	    strlen(ctx->token));
	if (ctx->provider->pc_type != PROVIDER_COPILOT) {
		if (equal)
			return (0);
		if (cc->value == NULL && cc->auth == NULL) {
			if (buf_addstr(out, "Authorization: Bearer ") == -1 ||
			    buf_addstr(out, ctx->token) == -1 ||
			    buf_add(out, "\r\n", 2) == -1)
				return (-1);
			return (0);
		}
	}
	return (http_header_line(out, HDR_GOV_TOKEN, ctx->token));
}

/*
 * Copilot requests always carry the governance header, so the bridge
 * treats them as BYOK and passes the client's credential on to GitHub:
 * a client credential that is the Coder token itself must not go.
 */
static int
cred_withheld(const struct rewrite_ctx *ctx, const struct client_cred *cc,
    enum http_field f)
{
	return (ctx->provider->pc_type == PROVIDER_COPILOT &&
	    cc->from != HF_OTHER && f == cc->from &&
	    ct_equal(cc->value, cc->len, ctx->token, strlen(ctx->token)));
}

static int
write_head(const struct rewrite_ctx *ctx, const struct http_head *h,
    const char *target, const struct client_cred *cc, struct buf *out)
{
	int	 i;

	if (buf_addstr(out, h->method) == -1 || buf_add(out, " ", 1) == -1 ||
	    buf_addstr(out, target) == -1 ||
	    buf_addstr(out, " HTTP/1.1\r\n") == -1 ||
	    http_header_line(out, "Host", ctx->bridge->bc_hostport) == -1)
		return (-1);
	for (i = 0; i < h->nheaders; i++) {
		if (header_dropped(h, i) ||
		    cred_withheld(ctx, cc, h->headers[i].field))
			continue;
		if (http_header_line(out, h->headers[i].name,
		    h->headers[i].value) == -1)
			return (-1);
	}
	if (http_header_line(out, HDR_GOV_REQUEST_ID,
	    ctx->request_id) == -1 || add_token(ctx, cc, out) == -1 ||
	    buf_add(out, "\r\n", 2) == -1)
		return (-1);
	return (0);
}

int
rewrite_request(const struct rewrite_ctx *ctx, const struct http_head *h,
    struct buf *out, int *status, const char **why)
{
	struct client_cred	 cc;
	char			*target = NULL;
	const char		*reason;
	size_t			 saved, len;

	if (why == NULL)
		why = &reason;
	saved = buf_len(out);
	*status = 400;
	if (h->method == NULL || h->target == NULL) {
		*why = "not a request";
		return (-1);
	}
	len = strlen(ctx->bridge->bc_path) + strlen(BRIDGE_PREFIX) +
	    strlen(ctx->provider->pc_name) + strlen(h->target) + 2;
	if ((target = malloc(len)) == NULL) {
		*status = 500;
		*why = "out of memory";
		return (-1);
	}
	if (rewrite_target(ctx, h->target, target, len, why) == -1)
		goto fail;
	if (client_cred(h, &cc) == -1) {
		*why = "repeated credential header";
		goto fail;
	}
	if (write_head(ctx, h, target, &cc, out) == -1) {
		*status = 431;
		*why = "request head too large for the bridge";
		goto fail;
	}
	free(target);
	return (0);
 fail:
	/* Appends never touch what was there: drop the partial head. */
	out->len = saved;
	if (saved == 0)
		buf_free(out);
	free(target);
	return (-1);
}

/*
 * Random bytes for request ids, drawn UUID_POOL at a time: libbsd's
 * arc4random_buf(3) makes a getpid(2) on every call to notice a fork.
 * The pool is emptied in a fork(2) child, so two processes never hand
 * out the same ids.
 */
#define UUID_POOL	(16 * 64)

static uint8_t	 uuid_pool[UUID_POOL];
static size_t	 uuid_left;

static void
uuid_forked(void)
{
	uuid_left = 0;
}

void
uuid4(char out[UUID_STR_LEN])
{
	static const char	 hex[] = "0123456789abcdef";
	static int		 hooked;
	uint8_t			 u[16];
	size_t			 i, o = 0;

	if (!hooked && pthread_atfork(NULL, NULL, uuid_forked) == 0)
		hooked = 1;
	if (uuid_left < sizeof(u)) {
		arc4random_buf(uuid_pool, sizeof(uuid_pool));
		uuid_left = sizeof(uuid_pool);
	}
	uuid_left -= sizeof(u);
	memcpy(u, uuid_pool + uuid_left, sizeof(u));
	u[6] = (u[6] & 0x0f) | 0x40;	/* version 4 */
	u[8] = (u[8] & 0x3f) | 0x80;	/* variant 10xx */
	/* 8-4-4-4-12 hex digits; snprintf would cost ten times more. */
	for (i = 0; i < sizeof(u); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 0x0f];
	}
	out[o] = '\0';
}
