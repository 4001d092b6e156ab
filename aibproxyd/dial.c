/*
 * Outgoing connections: resolve, policy, connect, upstream, TLS (see
 * dial.h).  Each step that waits re-arms the socket's watcher, whose
 * callback runs the next step.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dial.h"
#include "dns.h"
#include "log.h"
#include "policy.h"
#include "worker.h"

#define DIAL_EXTRA_MAX	(64 * 1024)

static void	dial_io_cb(struct ev_loop *, ev_io *, int);
static void	dial_connect_next(struct dial *);
static int	addr_connected(int);

void
dial_init(struct dial *d)
{
	memset(d, 0, sizeof(*d));
	endpoint_init(&d->ep, -1, dial_io_cb, d);
	endpoint_init(&d->inner, -1, dial_io_cb, d);
	ev_init(&d->defer, NULL);
}

static const struct upstream_config *
dial_uc(const struct dial *d)
{
	return (&d->conf->upstream);
}

void
dial_clear(struct dial *d)
{
	if (d->px == NULL)
		return;
	ev_timer_stop(d->px->loop, &d->defer);
	if (d->dnsid != 0)
		dns_cancel(d->px->dns, d->dnsid);
	d->dnsid = 0;
	upstream_clear(&d->up);
	buf_free(&d->extra);
	endpoint_close(d->px->loop, &d->inner);
	endpoint_close(d->px->loop, &d->ep);
	if (d->conf != NULL)
		proxy_conf_unref(d->conf);
	d->conf = NULL;
	d->st = D_IDLE;
}

static void
dial_defer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dial	*d = w->data;

	d->cb(d->arg, d, d->status, d->why);
}

/*
 * The end of a dial.  The callback may free the dial's owner: nothing
 * here touches d after calling it.  Within dial_start() it is deferred
 * to the next loop iteration.
 *
 * A 503 is this worker out of resources (descriptors, memory), which a
 * flood repeats for every request: it is logged here, rate-limited,
 * with its cause; the callers log the other failures once each.
 */
static void
dial_finish(struct dial *d, int status, const char *fmt, ...)
    __attribute__((__format__ (printf, 3, 4)));

static void
dial_finish(struct dial *d, int status, const char *fmt, ...)
{
	static struct log_limit	 ll = LOG_LIMIT_INITIALIZER(10);
	va_list			 ap;

	d->status = status;
	d->why[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		(void)vsnprintf(d->why, sizeof(d->why), fmt, ap);
		va_end(ap);
	}
	if (status == 503)
		log_limited(&ll, "%s: connect to %s:%d: %s", d->label,
		    d->host, d->spec.port, d->why);
	if (status != 0) {
		if (d->dnsid != 0)
			dns_cancel(d->px->dns, d->dnsid);
		d->dnsid = 0;
		endpoint_close(d->px->loop, &d->inner);
		endpoint_close(d->px->loop, &d->ep);
		d->st = D_FAILED;
	} else
		d->st = D_DONE;
	if (d->starting) {
		ev_timer_init(&d->defer, dial_defer_cb, 0., 0.);
		d->defer.data = d;
		ev_timer_start(d->px->loop, &d->defer);
		return;
	}
	d->cb(d->arg, d, status, d->why);
}

static const char *
dial_addr_text(const struct dns_addr *a, char *buf, size_t len)
{
	if (inet_ntop(a->da_af, a->da_addr, buf, len) == NULL)
		strlcpy(buf, "?", len);
	return (buf);
}

/* Keep the addresses policy allows, naming each refused one once. */
static void
dial_filter(struct dial *d, const struct dns_res *res)
{
	const struct dns_addr	*da;
	const char		*range = NULL;
	char			 a[INET6_ADDRSTRLEN];
	int			 i;

	memset(&d->addrs, 0, sizeof(d->addrs));
	d->refused = 0;
	for (i = 0; i < res->dn_naddrs && i < AIB_DNS_ADDRS_MAX; i++) {
		da = &res->dn_addrs[i];
		if (d->spec.check && policy_addr_blocked(da->da_af,
		    da->da_addr, d->conf->cidrs, d->conf->ncidrs, &range)) {
			log_warnx("%s: blocking %s:%d (%s): destination is in "
			    "%s", d->label, d->host, d->spec.port,
			    dial_addr_text(da, a, sizeof(a)), range);
			d->refused++;
			continue;
		}
		d->addrs.dn_addrs[d->addrs.dn_naddrs++] = *da;
	}
}

static void
dial_resolved_up(void *arg, int error, const struct dns_res *res)
{
	struct dial	*d = arg;

	d->dnsid = 0;
	if (error != 0) {
		dial_finish(d, 502, "cannot resolve the upstream %s: %s",
		    dial_uc(d)->uc_host, dns_strerror(error, res));
		return;
	}
	d->addrs = *res;
	d->addri = 0;
	dial_connect_next(d);
}

/* The destination passed the policy: now find the upstream. */
static void
dial_lookup_upstream(struct dial *d)
{
	struct dns_res	 lit;

	d->st = D_RESOLVE_UP;
	if (dns_literal(dial_uc(d)->uc_host, &lit) == 0 ||
	    dns_cached(d->px->dns, dial_uc(d)->uc_host, &lit) == 0) {
		d->addrs = lit;
		d->addri = 0;
		dial_connect_next(d);
		return;
	}
	if ((d->dnsid = dns_lookup(d->px->dns, dial_uc(d)->uc_host,
	    dial_resolved_up, d)) == 0)
		dial_finish(d, 503, "cannot ask the resolver: out of "
		    "memory");
}

static void
dial_addresses(struct dial *d, const struct dns_res *res)
{
	dial_filter(d, res);
	if (d->addrs.dn_naddrs == 0)
		dial_finish(d, 403, "every address of %s is refused "
		    "by policy", d->host);
	else if (d->spec.via_upstream && d->refused > 0)
		/* The upstream resolves the name again: all or nothing. */
		dial_finish(d, 403, "%s has an address refused by "
		    "policy", d->host);
	else if (d->spec.via_upstream)
		dial_lookup_upstream(d);
	else {
		d->addri = 0;
		dial_connect_next(d);
	}
}

static void
dial_resolved(void *arg, int error, const struct dns_res *res)
{
	struct dial	*d = arg;

	d->dnsid = 0;
	if (error != 0) {
		dial_finish(d, 502, "cannot resolve %s: %s", d->host,
		    dns_strerror(error, res));
		return;
	}
	dial_addresses(d, res);
}

void
dial_start(struct dial *d, struct proxy *px, struct proxy_conf *conf,
    const struct dial_spec *spec, dial_cb cb, void *arg)
{
	struct dns_res	 lit;

	dial_init(d);
	d->px = px;
	d->conf = conf;
	proxy_conf_ref(conf);
	d->spec = *spec;
	d->cb = cb;
	d->arg = arg;
	buf_init(&d->extra, DIAL_EXTRA_MAX);
	if (strlcpy(d->host, spec->host, sizeof(d->host)) >= sizeof(d->host)) {
		d->starting = 1;
		dial_finish(d, 502, "host name too long");
		d->starting = 0;
		return;
	}
	d->spec.host = d->host;
	(void)strlcpy(d->label, spec->label != NULL ? spec->label : "dial",
	    sizeof(d->label));
	d->spec.label = d->label;
	d->st = D_RESOLVE;
	d->starting = 1;
	/* A cached answer is checked address by address like a new one. */
	if (dns_literal(d->host, &lit) == 0 ||
	    dns_cached(px->dns, d->host, &lit) == 0)
		dial_addresses(d, &lit);
	else if (spec->via_upstream && !spec->check)
		/* Only the upstream's name is ours to find. */
		dial_lookup_upstream(d);
	else if ((d->dnsid = dns_lookup(px->dns, d->host, dial_resolved,
	    d)) == 0)
		dial_finish(d, 503, "cannot ask the resolver: out of "
		    "memory");
	d->starting = 0;
}

static void
dial_sockaddr(const struct dns_addr *a, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->da_af == AF_INET) {
		struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->da_addr, 4);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->da_addr, 16);
		*len = sizeof(*s6);
	}
}

static int
dial_port(const struct dial *d)
{
	return (d->spec.via_upstream ? dial_uc(d)->uc_port : d->spec.port);
}

/* Out of descriptors or memory: this worker's trouble, not the peer's. */
static int
dial_exhausted(int error)
{
	return (error == EMFILE || error == ENFILE || error == ENOBUFS ||
	    error == ENOMEM);
}

/* A non-blocking connect to the next address that takes one. */
static void
dial_connect_next(struct dial *d)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 a[INET6_ADDRSTRLEN];
	int			 fd, on = 1, error = d->lasterr;

	endpoint_close(d->px->loop, &d->ep);
	d->st = D_CONNECT;
	for (; d->addri < d->addrs.dn_naddrs; d->addri++) {
		dial_sockaddr(&d->addrs.dn_addrs[d->addri], dial_port(d), &ss,
		    &len);
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			error = errno;
			if (dial_exhausted(error)) {
				dial_finish(d, 503, "socket: %s",
				    strerror(error));
				return;
			}
			continue;
		}
		/* Small writes (SSE events) must not wait for Nagle. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on));
		if (connect(fd, (struct sockaddr *)&ss, len) == 0 ||
		    errno == EINPROGRESS) {
			endpoint_init(&d->ep, fd, dial_io_cb, d);
			endpoint_arm(d->px->loop, &d->ep, 0, 1);
			return;
		}
		error = errno;
		close(fd);
		log_debug("connect %s (%s): %s", d->host, dial_addr_text(
		    &d->addrs.dn_addrs[d->addri], a, sizeof(a)),
		    strerror(error));
	}
	if (d->spec.via_upstream)
		dial_finish(d, 502, "cannot connect to the upstream %s:%d%s%s",
		    dial_uc(d)->uc_host, dial_uc(d)->uc_port,
		    error ? ": " : "", error ? strerror(error) : "");
	else
		dial_finish(d, 502, "cannot connect to %s:%d%s%s", d->host,
		    d->spec.port, error ? ": " : "",
		    error ? strerror(error) : "");
}

static struct endpoint *
dial_tls_ep(struct dial *d)
{
	return (d->inner.outer != NULL ? &d->inner : &d->ep);
}

static void
dial_handshake(struct dial *d)
{
	struct endpoint	*ep = dial_tls_ep(d);
	int		 r;

	if ((r = endpoint_handshake(ep)) == EP_AGAIN) {
		endpoint_arm(d->px->loop, ep, 1, 0);
		return;
	}
	if (r == -1) {
		dial_finish(d, 502, "TLS handshake: %s", endpoint_error(ep));
		return;
	}
	endpoint_arm(d->px->loop, ep, 0, 0);
	dial_finish(d, 0, NULL);
}

/* The socket (or the upstream's tunnel) leads to the destination. */
static void
dial_path_ready(struct dial *d)
{
	struct endpoint	*ep;
	struct tls	*ctx;

	if (d->spec.tls == NULL) {
		endpoint_arm(d->px->loop, &d->ep, 0, 0);
		dial_finish(d, 0, NULL);
		return;
	}
	/* TLS inside the upstream's TLS runs over its own endpoint. */
	if (d->ep.tls != NULL) {
		endpoint_arm(d->px->loop, &d->ep, 0, 0);
		endpoint_init(&d->inner, d->ep.fd, dial_io_cb, d);
		d->inner.outer = &d->ep;
	}
	ep = dial_tls_ep(d);
	/* Bytes the upstream sent past its answer start the handshake. */
	ep->pre = d->extra;
	buf_init(&d->extra, 0);
	if ((ctx = tls_client()) == NULL) {
		dial_finish(d, 503, "TLS: out of memory");
		return;
	}
	if (tls_configure(ctx, d->spec.tls) == -1 ||
	    endpoint_tls_connect(ep, ctx, d->host) == -1) {
		dial_finish(d, 502, "TLS: %s", tls_error(ctx));
		if (ep->tls != ctx)
			tls_free(ctx);
		return;
	}
	d->st = D_HANDSHAKE;
	dial_handshake(d);
}

static void
dial_upstream_step(struct dial *d)
{
	char	 why[256];
	int	 r, rd, wr;

	if ((r = upstream_step(&d->up, &d->ep, why, sizeof(why))) == 0) {
		upstream_interest(&d->up, &rd, &wr);
		endpoint_arm(d->px->loop, &d->ep, rd, wr);
		return;
	}
	if (r == -1) {
		dial_finish(d, 502, "through the upstream %s:%d: %s",
		    dial_uc(d)->uc_host, dial_uc(d)->uc_port, why);
		return;
	}
	if (buf_add(&d->extra, buf_rptr(&d->up.in), buf_len(&d->up.in)) ==
	    -1) {
		dial_finish(d, 502, "the upstream sent too much");
		return;
	}
	upstream_clear(&d->up);
	dial_path_ready(d);
}

static void
dial_connected(struct dial *d)
{
	char	 why[256];
	int	 error;

	if ((error = addr_connected(d->ep.fd)) == EINPROGRESS) {
		endpoint_arm(d->px->loop, &d->ep, 0, 1);
		return;
	}
	if (error != 0) {
		log_debug("connect %s:%d: %s", d->host, dial_port(d),
		    strerror(error));
		d->lasterr = error;
		d->addri++;
		dial_connect_next(d);
		return;
	}
	if (!d->spec.via_upstream) {
		dial_path_ready(d);
		return;
	}
	if (upstream_begin(&d->up, &d->ep, dial_uc(d), d->spec.up_connect ?
	    d->host : NULL, d->spec.port, why, sizeof(why)) == -1) {
		dial_finish(d, 502, "upstream %s:%d: %s", dial_uc(d)->uc_host,
		    dial_uc(d)->uc_port, why);
		return;
	}
	d->st = D_UPSTREAM;
	dial_upstream_step(d);
}

static void
dial_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dial	*d = w->data;

	switch (d->st) {
	case D_CONNECT:
		dial_connected(d);
		break;
	case D_UPSTREAM:
		dial_upstream_step(d);
		break;
	case D_HANDSHAKE:
		dial_handshake(d);
		break;
	default:
		break;
	}
}

/* Once writable: 0 connected, EINPROGRESS not yet, else the error. */
static int
addr_connected(int fd)
{
	int		 error = 0;
	socklen_t	 len = sizeof(error);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		return (errno);
	return (error == EALREADY ? EINPROGRESS : error);
}

struct endpoint *
dial_endpoint(struct dial *d, ev_io_cb cb, void *data)
{
	struct endpoint	*ep = dial_tls_ep(d);

	ev_set_cb(&ep->io, cb);
	ep->io.data = data;
	/* The outer endpoint's watcher is unused under TLS-in-TLS. */
	return (ep);
}
