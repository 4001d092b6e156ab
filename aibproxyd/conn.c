/*
 * Client connections: accept, the proxy request head, dispatch to a
 * page, a tunnel, a forwarded request or an interception, and the
 * answers we write ourselves.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "certs.h"
#include "conn.h"
#include "dns.h"
#include "hostname.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "proxy.h"
#include "upstream.h"

#define ACCEPT_BURST	64

struct conn_list	 conns = TAILQ_HEAD_INITIALIZER(conns);
unsigned int		 nconns;
static uint64_t		 conn_nextid;

static void	conn_io_cb(struct ev_loop *, ev_io *, int);
static void	conn_timer_cb(struct ev_loop *, ev_timer *, int);
static void	conn_head(struct conn *);

double
conn_ms(uint32_t ms)
{
	return (ms / 1000.0);
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return ("OK");
	case 400: return ("Bad Request");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 407: return ("Proxy Authentication Required");
	case 408: return ("Request Timeout");
	case 421: return ("Misdirected Request");
	case 431: return ("Request Header Fields Too Large");
	case 501: return ("Not Implemented");
	case 502: return ("Bad Gateway");
	case 503: return ("Service Unavailable");
	case 504: return ("Gateway Timeout");
	case 505: return ("HTTP Version Not Supported");
	default: return ("Error");
	}
}

static void
conn_peername(struct conn *c, const struct sockaddr_storage *ss)
{
	char	 a[INET6_ADDRSTRLEN];
	int	 port;

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		port = ntohs(s6->sin6_port);
		snprintf(c->peer, sizeof(c->peer), "[%s]:%d", a, port);
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
		snprintf(c->peer, sizeof(c->peer), "%s:%d", a, port);
	}
}

static struct conn *
conn_new(struct plistener *l, int fd, const struct sockaddr_storage *ss)
{
	struct conn	*c;
	int		 on = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->id = ++conn_nextid;
	c->conf = l->conf;
	c->metrics = l->lc.lc_metrics;
	proxy_conf_ref(c->conf);
	endpoint_init(&c->client, fd, conn_io_cb, c);
	endpoint_init(&c->server, -1, conn_io_cb, c);
	buf_init(&c->cbuf, c->conf->gc.gc_header_bytes > CONN_BUF_SIZE ?
	    c->conf->gc.gc_header_bytes : CONN_BUF_SIZE);
	buf_init(&c->sbuf, CONN_BUF_SIZE);
	buf_init(&c->obuf, c->conf->gc.gc_header_bytes + 8192);
	conn_peername(c, ss);
	c->started = c->active = ev_now(proxy_env.loop);
	ev_init(&c->timer, conn_timer_cb);
	c->timer.data = c;
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
	return (c);
}

void
conn_free(struct conn *c, const char *why)
{
	if (why != NULL)
		log_debug("conn %llu %s: closed: %s", (unsigned long long)c->id,
		    c->peer, why);
	if (c->mitm != NULL)
		mitm_free(c);
	tunnel_free(c);
	if (c->dnsid != 0)
		dns_cancel(c->dnsid);
	certs_cancel(c->certwait);
	pstats.st_bytes_from_clients += c->client.rbytes;
	pstats.st_bytes_to_clients += c->client.wbytes;
	if (c->leaf != NULL)
		leaf_unref(c->leaf);
	free(c->addrs);
	ev_timer_stop(proxy_env.loop, &c->timer);
	endpoint_close(proxy_env.loop, &c->server);
	endpoint_close(proxy_env.loop, &c->client);
	buf_free(&c->cbuf);
	buf_free(&c->sbuf);
	buf_free(&c->obuf);
	TAILQ_REMOVE(&conns, c, entry);
	nconns--;
	proxy_conf_unref(c->conf);
	free(c);
	proxy_drained();
}

void
conn_touch(struct conn *c)
{
	c->active = ev_now(proxy_env.loop);
}

void
conn_set_timeout(struct conn *c, double secs)
{
	c->timeout = secs;
	conn_touch(c);
	ev_timer_stop(proxy_env.loop, &c->timer);
	if (secs > 0) {
		ev_timer_set(&c->timer, secs, 0.);
		ev_timer_start(proxy_env.loop, &c->timer);
	}
}

static void
conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn	*c = w->data;
	double		 left;

	/* Activity only moves a timestamp; the timer catches up here. */
	left = c->active + c->timeout - ev_now(loop);
	if (left > 0.001) {
		ev_timer_set(w, left, 0.);
		ev_timer_start(loop, w);
		return;
	}
	switch (c->state) {
	case CONN_HEAD:
		if (buf_len(&c->cbuf) == 0 && c->kind == KIND_NONE) {
			conn_free(c, "idle before a request");
			return;
		}
		conn_reply(c, 408, NULL, NULL);
		return;
	case CONN_TLS_ACCEPT:
		conn_free(c, "TLS handshake timed out");
		return;
	case CONN_REPLY:
		conn_free(c, "timed out writing the answer");
		return;
	case CONN_STATS:
		conn_reply(c, 503, NULL, NULL);
		return;
	case CONN_MITM_HANDSHAKE:
	case CONN_MITM:
	case CONN_CERT:
		mitm_run(c, -1);
		return;
	default:
		tunnel_run(c, -1);
		return;
	}
}

void
conn_arm(struct conn *c)
{
	struct ev_loop	*loop = proxy_env.loop;

	switch (c->state) {
	case CONN_TLS_ACCEPT:
	case CONN_HEAD:
		endpoint_arm(loop, &c->client, 1, 0);
		break;
	case CONN_REPLY:
		endpoint_arm(loop, &c->client, 0, 1);
		break;
	default:
		break;
	}
}

void
conn_reply(struct conn *c, int status, const char *headers,
    const char *body)
{
	const char	*text = http_status_text(status);

	if (body == NULL)
		body = text;
	/* Whatever was queued for the client is superseded. */
	buf_free(&c->sbuf);
	buf_init(&c->sbuf, CONN_BUF_SIZE);
	if (buf_printf(&c->sbuf, "HTTP/1.1 %d %s\r\nContent-Type: text/plain"
	    "\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
	    text, strlen(body), headers ? headers : "") == -1 ||
	    buf_addstr(&c->sbuf, body) == -1) {
		conn_free(c, "answer does not fit");
		return;
	}
	log_debug("conn %llu %s: answering %d", (unsigned long long)c->id,
	    c->peer, status);
	endpoint_close(proxy_env.loop, &c->server);
	c->state = CONN_REPLY;
	conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_idle));
	conn_io_cb(proxy_env.loop, &c->client.io, EV_WRITE);
}

static void
conn_reply_run(struct conn *c)
{
	ssize_t	 n;

	n = endpoint_flush(&c->client, &c->sbuf);
	if (n == -1 || buf_len(&c->sbuf) == 0) {
		/* Let the client read the answer before the FIN. */
		endpoint_shutdown(&c->client);
		conn_free(c, n == -1 ? "write failed" : "answered");
		return;
	}
	conn_arm(c);
}

static void
conn_tls_accept_run(struct conn *c)
{
	int	 r;

	if ((r = endpoint_handshake(&c->client)) == EP_AGAIN) {
		conn_arm(c);
		return;
	}
	if (r == -1) {
		log_info("conn %llu %s: TLS handshake failed: %s",
		    (unsigned long long)c->id, c->peer,
		    endpoint_error(&c->client));
		conn_free(c, NULL);
		return;
	}
	c->state = CONN_HEAD;
	conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_header));
	conn_head(c);
}

static void
conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn	*c = w->data;

	switch (c->state) {
	case CONN_TLS_ACCEPT:
		conn_tls_accept_run(c);
		break;
	case CONN_HEAD:
		conn_head(c);
		break;
	case CONN_REPLY:
		conn_reply_run(c);
		break;
	case CONN_RESOLVE:
	case CONN_CERT:
	case CONN_STATS:
		break;
	case CONN_MITM_HANDSHAKE:
	case CONN_MITM:
		mitm_run(c, revents);
		break;
	default:
		tunnel_run(c, revents);
		break;
	}
}

/* The token from Proxy-Authorization, or a 407 answered. */
static int
conn_credentials(struct conn *c, const struct http_head *h, char *token,
    size_t len)
{
	const char	*v = http_header(h, "Proxy-Authorization");

	if (v != NULL && http_header_count(h, "Proxy-Authorization") == 1 &&
	    auth_proxy_token(v, token, len) == 0)
		return (0);
	log_warnx("conn %llu %s: rejecting %s %s:%d: %s",
	    (unsigned long long)c->id, c->peer, h->method, c->host, c->port,
	    v == NULL ? "missing_credentials" : "invalid_credentials");
	conn_reply(c, 407, "Proxy-Authenticate: Basic realm=\"aibproxyd\"\r\n",
	    NULL);
	return (-1);
}

/* host:port of a CONNECT or of an absolute-form URL's authority. */
static int
conn_target(struct conn *c, const char *authority)
{
	char		 host[AIB_HOSTNAME_MAX + 1];
	const char	*why;

	if (host_split_port(authority, host, sizeof(host), &c->port) == -1)
		return (-1);
	if (host_is_ip(host))
		return (strlcpy(c->host, host, sizeof(c->host)) <
		    sizeof(c->host) ? 0 : -1);
	return (host_canon(host, c->host, sizeof(c->host), &why));
}

static void
conn_connect_request(struct conn *c, const struct http_head *h)
{
	const struct provider_config	*pv;
	char				 token[AUTH_TOKEN_MAX];

	if (conn_target(c, h->target) == -1) {
		conn_reply(c, 400, NULL, NULL);
		return;
	}
	if (!policy_port_allowed(&c->conf->gc, c->port)) {
		log_warnx("conn %llu %s: refusing CONNECT %s:%d: port not "
		    "allowed", (unsigned long long)c->id, c->peer, c->host,
		    c->port);
		conn_reply(c, 403, NULL, NULL);
		return;
	}
	if ((pv = proxy_provider(c->conf, c->host)) != NULL) {
		if (conn_credentials(c, h, token, sizeof(token)) == -1)
			return;
		mitm_start(c, pv, token);
		explicit_bzero(token, sizeof(token));
		return;
	}
	if (c->conf->gc.gc_tunnel_auth == TUNNEL_AUTH_TOKEN) {
		if (conn_credentials(c, h, token, sizeof(token)) == -1)
			return;
		explicit_bzero(token, sizeof(token));
	}
	tunnel_start(c, 0);
}

/*
 * Write the forwarded request head, hop-by-hop headers removed:
 * origin-form to the origin, or absolute-form with our own credentials
 * to the upstream proxy (never the client's).
 */
static int
conn_forward_head(struct conn *c, const struct http_head *h,
    const char *authority, const char *path)
{
	const struct upstream_config	*uc = &c->conf->upstream;
	const char			*conn_hdr = http_header(h, "Connection");
	int				 i;

	if (upstream_for_tunnels(c->conf)) {
		if (buf_printf(&c->obuf, "%s http://%s%s HTTP/1.1\r\n",
		    h->method, authority, path) == -1)
			return (-1);
		if (uc->uc_auth[0] != '\0' && buf_printf(&c->obuf,
		    "Proxy-Authorization: %s\r\n", uc->uc_auth) == -1)
			return (-1);
	} else if (buf_printf(&c->obuf, "%s %s HTTP/1.1\r\n", h->method,
	    path) == -1)
		return (-1);
	for (i = 0; i < h->nheaders; i++) {
		const char	*n = h->headers[i].name;

		if (strncasecmp(n, "Proxy-", 6) == 0 ||
		    strcasecmp(n, "Connection") == 0 ||
		    strcasecmp(n, "Keep-Alive") == 0 ||
		    strcasecmp(n, "TE") == 0 ||
		    strcasecmp(n, "Upgrade") == 0 ||
		    (conn_hdr != NULL && http_token_in(conn_hdr, n)))
			continue;
		if (buf_printf(&c->obuf, "%s: %s\r\n", n,
		    h->headers[i].value) == -1)
			return (-1);
	}
	return (buf_addstr(&c->obuf, "Connection: close\r\n\r\n"));
}

static void
conn_forward_request(struct conn *c, const struct http_head *h)
{
	char		 authority[AIB_HOSTNAME_MAX + 8];
	const char	*p = h->target + 7, *slash;
	char		 token[AUTH_TOKEN_MAX];
	size_t		 n;

	if ((slash = strchr(p, '/')) == NULL)
		slash = p + strlen(p);
	n = slash - p;
	if (n == 0 || n >= sizeof(authority) || memchr(p, '@', n) != NULL) {
		conn_reply(c, 400, NULL, NULL);
		return;
	}
	memcpy(authority, p, n);
	authority[n] = '\0';
	/* No port means 80 for http://. */
	if (strchr(authority, ':') == NULL || (authority[0] == '[' &&
	    authority[n - 1] == ']'))
		strlcat(authority, ":80", sizeof(authority));
	if (conn_target(c, authority) == -1) {
		conn_reply(c, 400, NULL, NULL);
		return;
	}
	if (!policy_port_allowed(&c->conf->gc, c->port)) {
		conn_reply(c, 403, NULL, NULL);
		return;
	}
	/* Provider hosts are reached only through the bridge. */
	if (proxy_provider(c->conf, c->host) != NULL) {
		conn_reply(c, 403, NULL, NULL);
		return;
	}
	if (c->conf->gc.gc_tunnel_auth == TUNNEL_AUTH_TOKEN) {
		if (conn_credentials(c, h, token, sizeof(token)) == -1)
			return;
		explicit_bzero(token, sizeof(token));
	}
	if (h->upgrade) {
		conn_reply(c, 501, NULL, NULL);
		return;
	}
	if (conn_forward_head(c, h, authority, *slash ? slash : "/") == -1) {
		conn_reply(c, 431, NULL, NULL);
		return;
	}
	http_body_init(&c->fwdbody, h);
	tunnel_start(c, 1);
}

static void
conn_dispatch(struct conn *c, const struct http_head *h)
{
	if (c->metrics) {
		metrics_serve(c, h);
		return;
	}
	if (strcmp(h->method, "CONNECT") == 0) {
		c->kind = KIND_TUNNEL;
		conn_connect_request(c, h);
	} else if (strncasecmp(h->target, "http://", 7) == 0) {
		c->kind = KIND_FORWARD;
		conn_forward_request(c, h);
	} else if (h->target[0] == '/') {
		c->kind = KIND_PAGE;
		page_serve(c, h);
	} else
		conn_reply(c, 400, NULL, NULL);
}

static void
conn_head(struct conn *c)
{
	struct http_head	 h;
	struct http_error	 err;
	ssize_t			 n;

	for (;;) {
		switch (http_parse_request((const char *)buf_rptr(&c->cbuf),
		    buf_len(&c->cbuf), c->conf->gc.gc_header_bytes, &h,
		    &err)) {
		case HTTP_COMPLETE:
			buf_consume(&c->cbuf, h.size);
			conn_dispatch(c, &h);
			http_head_free(&h);
			return;
		case HTTP_ERROR:
			log_info("conn %llu %s: bad request: %s",
			    (unsigned long long)c->id, c->peer, err.why);
			conn_reply(c, err.status, NULL, NULL);
			return;
		case HTTP_INCOMPLETE:
			break;
		}
		n = endpoint_fill(&c->client, &c->cbuf);
		if (n == EP_AGAIN) {
			conn_arm(c);
			return;
		}
		if (n <= 0) {
			conn_free(c, n == 0 ? "client closed" : "read error");
			return;
		}
		conn_touch(c);
	}
}

static void
conn_start(struct plistener *l, int fd, const struct sockaddr_storage *ss)
{
	struct conn	*c;

	if ((c = conn_new(l, fd, ss)) == NULL) {
		close(fd);
		return;
	}
	if (l->tls != NULL) {
		if (endpoint_tls_accept(&c->client, l->tls) == -1) {
			conn_free(c, "TLS accept failed");
			return;
		}
		c->state = CONN_TLS_ACCEPT;
		conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_handshake));
		conn_tls_accept_run(c);
		return;
	}
	c->state = CONN_HEAD;
	conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_header));
	conn_head(c);
}

static void
conn_overload(int fd)
{
	static const char	 msg[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 19\r\n"
	    "Connection: close\r\n\r\nService Unavailable";

	/* Best effort on a fresh socket: the buffer is empty. */
	(void)send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

void
conn_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct plistener	*l = w->data;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, i;

	for (i = 0; i < ACCEPT_BURST; i++) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != ECONNABORTED &&
			    errno != EINTR)
				log_warn("%s: accept on %s", __func__,
				    l->lc.lc_name);
			return;
		}
		if (nconns >= l->conf->gc.gc_max_connections) {
			log_warnx("%s: %u connections, refusing more",
			    __func__, nconns);
			conn_overload(fd);
			continue;
		}
		conn_start(l, fd, &ss);
	}
}
