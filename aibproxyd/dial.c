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

/* Only while dialing (see dial.h). */
struct dial_work {
	struct dial_spec	 spec;
	char			 host[AIB_HOSTNAME_MAX + 1];
	char			 label[96];
	uint32_t		 dnsid;
	struct dns_res		 addrs;		/* candidates, policy passed */
	int			 addri;
	int			 refused;	/* addresses policy refused */
	int			 lasterr;	/* of the last connect tried */
	struct upconnect	 up;
	char			 why[300];
};

/* A 503 is repeated by a flood: logged once here, rate-limited. */
static struct log_limit	 dial_ll = LOG_LIMIT_INITIALIZER(10);

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

static void
dial_work_free(struct dial *d)
{
	struct dial_work	*w = d->w;

	if (w == NULL)
		return;
	if (w->dnsid != 0)
		dns_cancel(d->px->dns, w->dnsid);
	upstream_clear(&w->up);
	free(w);
	d->w = NULL;
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
	dial_work_free(d);
	buf_free(&d->extra);
	endpoint_close(d->px->loop, &d->inner);
	endpoint_close(d->px->loop, &d->ep);
	if (d->conf != NULL)
		proxy_conf_unref(d->conf);
	d->conf = NULL;
	d->st = D_IDLE;
}

/*
 * The work is freed before the callback, which may free the dial's
 * owner: the reason is handed over from the stack.  Without work,
 * dial_start() could not allocate it.
 */
static void
dial_deliver(struct dial *d)
{
	char	 why[sizeof(d->w->why)];

	(void)strlcpy(why, d->w != NULL ? d->w->why : "out of memory",
	    sizeof(why));
	dial_work_free(d);
	d->cb(d->arg, d, d->status, why);
}

static void
dial_defer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	dial_deliver(w->data);
}

/* Within dial_start() the callback waits for the next loop iteration. */
static void
dial_defer(struct dial *d)
{
	ev_timer_init(&d->defer, dial_defer_cb, 0., 0.);
	d->defer.data = d;
	ev_timer_start(d->px->loop, &d->defer);
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
	struct dial_work	*w = d->w;
	va_list			 ap;

	d->status = status;
	w->why[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		(void)vsnprintf(w->why, sizeof(w->why), fmt, ap);
		va_end(ap);
	}
	if (status == 503)
		log_limited(&dial_ll, "%s: connect to %s:%d: %s", w->label,
		    w->host, w->spec.port, w->why);
	if (status != 0) {
		if (w->dnsid != 0)
			dns_cancel(d->px->dns, w->dnsid);
		w->dnsid = 0;
		endpoint_close(d->px->loop, &d->inner);
		endpoint_close(d->px->loop, &d->ep);
		d->st = D_FAILED;
	} else
		d->st = D_DONE;
	if (d->starting)
		dial_defer(d);
	else
		dial_deliver(d);
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

	memset(&d->w->addrs, 0, sizeof(d->w->addrs));
	d->w->refused = 0;
	for (i = 0; i < res->dn_naddrs && i < AIB_DNS_ADDRS_MAX; i++) {
		da = &res->dn_addrs[i];
		if (d->w->spec.check && policy_addr_blocked(da->da_af,
		    da->da_addr, d->conf->cidrs, d->conf->ncidrs, &range)) {
			log_warnx("%s: blocking %s:%d (%s): destination is in "
			    "%s", d->w->label, d->w->host, d->w->spec.port,
			    dial_addr_text(da, a, sizeof(a)), range);
			d->w->refused++;
			continue;
		}
		d->w->addrs.dn_addrs[d->w->addrs.dn_naddrs++] = *da;
	}
}

static void
dial_resolved_up(void *arg, int error, const struct dns_res *res)
{
	struct dial	*d = arg;

	d->w->dnsid = 0;
	if (error != 0) {
		dial_finish(d, 502, "cannot resolve the upstream %s: %s",
		    dial_uc(d)->uc_host, dns_strerror(error, res));
		return;
	}
	d->w->addrs = *res;
	d->w->addri = 0;
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
		d->w->addrs = lit;
		d->w->addri = 0;
		dial_connect_next(d);
		return;
	}
	if ((d->w->dnsid = dns_lookup(d->px->dns, dial_uc(d)->uc_host,
	    dial_resolved_up, d)) == 0)
		dial_finish(d, 503, "cannot ask the resolver: out of "
		    "memory");
}

static void
dial_addresses(struct dial *d, const struct dns_res *res)
{
	dial_filter(d, res);
	if (d->w->addrs.dn_naddrs == 0)
		dial_finish(d, 403, "every address of %s is refused "
		    "by policy", d->w->host);
	else if (d->w->spec.via_upstream && d->w->refused > 0)
		/* The upstream resolves the name again: all or nothing. */
		dial_finish(d, 403, "%s has an address refused by "
		    "policy", d->w->host);
	else if (d->w->spec.via_upstream)
		dial_lookup_upstream(d);
	else {
		d->w->addri = 0;
		dial_connect_next(d);
	}
}

static void
dial_resolved(void *arg, int error, const struct dns_res *res)
{
	struct dial	*d = arg;

	d->w->dnsid = 0;
	if (error != 0) {
		dial_finish(d, 502, "cannot resolve %s: %s", d->w->host,
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

	struct dial_work	*w;
	const char		*label = spec->label != NULL ? spec->label :
				    "dial";

	dial_init(d);
	d->px = px;
	d->conf = conf;
	proxy_conf_ref(conf);
	d->cb = cb;
	d->arg = arg;
	buf_init(&d->extra, DIAL_EXTRA_MAX);
	if ((w = d->w = calloc(1, sizeof(*w))) == NULL) {
		log_limited(&dial_ll, "%s: connect to %s:%d: out of memory",
		    label, spec->host, spec->port);
		d->status = 503;
		d->st = D_FAILED;
		dial_defer(d);
		return;
	}
	w->spec = *spec;
	(void)strlcpy(w->label, label, sizeof(w->label));
	w->spec.label = w->label;
	d->starting = 1;
	if (strlcpy(w->host, spec->host, sizeof(w->host)) >= sizeof(w->host)) {
		dial_finish(d, 502, "host name too long");
		d->starting = 0;
		return;
	}
	w->spec.host = w->host;
	d->st = D_RESOLVE;
	/* A cached answer is checked address by address like a new one. */
	if (dns_literal(w->host, &lit) == 0 ||
	    dns_cached(px->dns, w->host, &lit) == 0)
		dial_addresses(d, &lit);
	else if (spec->via_upstream && !spec->check)
		/* Only the upstream's name is ours to find. */
		dial_lookup_upstream(d);
	else if ((w->dnsid = dns_lookup(px->dns, w->host, dial_resolved, d)) ==
	    0)
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
	const struct dial_spec	*spec = &d->w->spec;

	return (spec->via_upstream ? dial_uc(d)->uc_port : spec->port);
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
	int			 fd, on = 1, error = d->w->lasterr;

	endpoint_close(d->px->loop, &d->ep);
	d->st = D_CONNECT;
	for (; d->w->addri < d->w->addrs.dn_naddrs; d->w->addri++) {
		dial_sockaddr(&d->w->addrs.dn_addrs[d->w->addri], dial_port(d),
		    &ss, &len);
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
		log_debug("connect %s (%s): %s", d->w->host, dial_addr_text(
		    &d->w->addrs.dn_addrs[d->w->addri], a, sizeof(a)),
		    strerror(error));
	}
	if (d->w->spec.via_upstream)
		dial_finish(d, 502, "cannot connect to the upstream %s:%d%s%s",
		    dial_uc(d)->uc_host, dial_uc(d)->uc_port,
		    error ? ": " : "", error ? strerror(error) : "");
	else
		dial_finish(d, 502, "cannot connect to %s:%d%s%s", d->w->host,
		    d->w->spec.port, error ? ": " : "",
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
	int		 owned;

	if (d->w->spec.tls == NULL) {
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
	if (tls_configure(ctx, d->w->spec.tls) == -1 ||
	    endpoint_tls_connect(ep, ctx, d->w->host) == -1) {
		/* The callback may free d: ep is not looked at after it. */
		owned = ep->tls != ctx;
		dial_finish(d, 502, "TLS: %s", tls_error(ctx));
		if (owned)
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

	if ((r = upstream_step(&d->w->up, &d->ep, why, sizeof(why))) == 0) {
		upstream_interest(&d->w->up, &rd, &wr);
		endpoint_arm(d->px->loop, &d->ep, rd, wr);
		return;
	}
	if (r == -1) {
		dial_finish(d, 502, "through the upstream %s:%d: %s",
		    dial_uc(d)->uc_host, dial_uc(d)->uc_port, why);
		return;
	}
	if (buf_add(&d->extra, buf_rptr(&d->w->up.in), buf_len(&d->w->up.in)) ==
	    -1) {
		dial_finish(d, 502, "the upstream sent too much");
		return;
	}
	upstream_clear(&d->w->up);
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
		log_debug("connect %s:%d: %s", d->w->host, dial_port(d),
		    strerror(error));
		d->w->lasterr = error;
		d->w->addri++;
		dial_connect_next(d);
		return;
	}
	if (!d->w->spec.via_upstream) {
		dial_path_ready(d);
		return;
	}
	if (upstream_begin(&d->w->up, &d->ep, dial_uc(d),
	    d->w->spec.up_connect ? d->w->host : NULL, d->w->spec.port, why,
	    sizeof(why)) == -1) {
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
