/*
 * The two URLs of the configuration: bridge.url and upstream.url
 * (RFC 3986, http and https only).  Messages never quote the URL or
 * its parts: a password may sit in it, and a mistyped one may land
 * anywhere.  So these return what is wrong as a phrase, and the
 * caller says which key it was.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "config_int.h"
#include "hostname.h"
#include "http.h"

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
		if ((u->port = cfg_port_parse(colon, end - colon)) == -1)
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

/*
 * The path the proxy appends (rewrite.c) already in the prefix, at its
 * end or before more segments: every request would go to
 * .../api/v2/aibridge/api/v2/aibridge/<provider>/..., which the bridge
 * does not serve.
 */
static int
url_has_route(const char *path)
{
	const char	*p;
	size_t		 n = sizeof(AIB_BRIDGE_ROUTE) - 1;

	for (p = path; (p = strstr(p, AIB_BRIDGE_ROUTE)) != NULL; p++)
		if (p[n] == '\0' || p[n] == '/')
			return (1);
	return (0);
}

/* The Host header for the URL: the port only when not the scheme's. */
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
 * The keys.  Each check returns NULL or what is wrong, in the order
 * the checks are made: the first problem found is the one reported.
 */

static const char *
url_bridge(const char *s, struct aib_config *conf)
{
	struct bridge_config	*bc = &conf->bridge;
	struct url		 u;
	const char		*msg;

	if ((msg = url_parse(s, &u)) != NULL)
		return (msg);
	if (u.userinfo != NULL)
		return ("must not have a user name or password");
	if (url_bridgepath(u.path, u.pathlen, bc->bc_path,
	    sizeof(bc->bc_path)) == -1)
		return ("has an invalid path");
	if (url_has_route(bc->bc_path))
		return ("path already has " AIB_BRIDGE_ROUTE ", which "
		    "aibproxyd appends itself: drop it from the URL");
	if (strlcpy(conf->bridge_url, s, sizeof(conf->bridge_url)) >=
	    sizeof(conf->bridge_url) ||
	    url_hostport(&u, bc->bc_hostport, sizeof(bc->bc_hostport)) == -1)
		return ("is too long");
	bc->bc_tls = u.tls;
	bc->bc_port = u.port;
	(void)strlcpy(bc->bc_host, u.host, sizeof(bc->bc_host));
	return (NULL);
}

static const char *
url_upstream(const char *s, struct aib_config *conf)
{
	struct upstream_config	*uc = &conf->upstream;
	struct url		 u;
	const char		*msg;

	if ((msg = url_parse(s, &u)) != NULL)
		return (msg);
	if (u.pathlen > 1)
		return ("must not have a path");
	if (strlcpy(conf->upstream_url, s, sizeof(conf->upstream_url)) >=
	    sizeof(conf->upstream_url))
		return ("is too long");
	if (u.userinfo != NULL &&
	    (msg = url_credentials(&u, uc->uc_auth, sizeof(uc->uc_auth))) !=
	    NULL)
		return (msg);
	uc->uc_tls = u.tls;
	uc->uc_port = u.port;
	(void)strlcpy(uc->uc_host, u.host, sizeof(uc->uc_host));
	return (NULL);
}

static void
url_key(struct cfg_ctx *ctx, const struct cfg_item *it,
    const char *(*check)(const char *, struct aib_config *), void *arg)
{
	const char	*s, *msg;

	if ((s = cfg_scalar(ctx, it)) != NULL && (msg = check(s, arg)) != NULL)
		cfg_error(ctx, it->line, it->path, "URL %s", msg);
}

void
cfg_bridge_url(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	url_key(ctx, it, url_bridge, arg);
}

void
cfg_upstream_url(struct cfg_ctx *ctx, const struct cfg_item *it, void *arg)
{
	url_key(ctx, it, url_upstream, arg);
}
