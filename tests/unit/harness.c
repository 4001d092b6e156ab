/*
 * The worker under test and its fake peers (see harness.h).
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../aibproxyd/bridge.h"
#include "../../aibproxyd/certs.h"
#include "../../aibproxyd/dns.h"
#include "../../aibproxyd/listener.h"
#include "../../aibproxyd/metrics.h"
#include "../../aibproxyd/pipes.h"
#include "../../aibproxyd/request.h"
#include "../../aibproxyd/session.h"
#include "../../aibproxyd/setup.h"
#include "../../aibproxyd/upstream.h"
#include "../../aibproxyd/validate.h"
#include "../../signerd/ca.h"
#include "harness.h"
#include "testcrypto.h"
#include "log.h"

#define WH_LIFETIME	(24 * 60 * 60)

char		*wh_ca_pem;
static char	*wh_ca_key;
static int	 wh_level = LOG_LEVEL_ERROR;	/* AIB_UNIT_LOG */

/* The test CA: EC P-256, self-signed, valid from yesterday for a year. */

static void
wh_make_ca(void)
{
	EVP_PKEY	*k = tc_p256();
	X509		*x;
	BIO		*bio;
	time_t		 now = time(NULL);

	if ((x = X509_new()) == NULL || !X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"Unit Test CA", -1, -1, 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), now - 86400) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), now + 365 * 86400) == NULL ||
	    !X509_set_pubkey(x, k))
		abort();
	tc_ext(x, NID_basic_constraints, "critical,CA:TRUE");
	tc_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign");
	tc_ext(x, NID_subject_key_identifier, "hash");
	if (X509_sign(x, k, EVP_sha256()) <= 0)
		abort();
	if ((bio = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(bio, x))
		abort();
	wh_ca_pem = tc_bio_text(bio);
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL))
		abort();
	wh_ca_key = tc_bio_text(bio);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* The worker's ends of its channels: what proxy.c does with them. */

static int
wh_worker_signer(struct imsgev *iev, struct imsg *imsg)
{
	if (imsg->hdr.type != IMSG_CERT_RES)
		return (-1);
	return (certs_dispatch(imsg));
}

static int
wh_worker_resolver(struct imsgev *iev, struct imsg *imsg)
{
	struct wh	*h = iev->arg;
	struct dns_res	 res;

	if (imsg->hdr.type != IMSG_DNS_RES ||
	    imsg_get_data(imsg, &res, sizeof(res)) == -1)
		return (-1);
	return (dns_dispatch(h->px.dns, imsg->hdr.peerid, &res));
}

static int
wh_worker_parent(struct imsgev *iev, struct imsg *imsg)
{
	struct wh	*h = iev->arg;

	switch (imsg->hdr.type) {
	case IMSG_STATS_RES:
		return (metrics_dispatch(&h->px, imsg));
	case IMSG_AUTH_THROTTLED:
		return (validator_dispatch(h->px.validator, imsg));
	default:
		return (-1);
	}
}

/*
 * The parent, for a scrape: the sum over one worker is its counters.
 * Failures reported are kept for the test to look at.
 */
static int
wh_fake_parent(struct imsgev *iev, struct imsg *imsg)
{
	struct wh	*h = iev->arg;

	if (imsg->hdr.type == IMSG_AUTH_FAILED) {
		if (imsg_get_data(imsg, &h->failed, sizeof(h->failed)) == -1)
			return (-1);
		h->nfailed++;
		return (0);
	}
	if (imsg->hdr.type != IMSG_STATS_REQ)
		return (-1);
	h->nscrapes++;
	metrics_gauges(&h->px);
	imsgev_compose(&h->parent, IMSG_STATS_RES, imsg->hdr.peerid, -1,
	    &h->px.stats, sizeof(h->px.stats));
	return (0);
}

static void
wh_closed(struct imsgev *iev, const char *why)
{
	log_warnx("%s channel: %s", iev->name, why);
}

/* signerd's answer to one request: ca_request() decides. */
static void
wh_sign(struct wh *h, uint32_t id, const char *host, const uint8_t *spki,
    size_t spkilen)
{
	struct cert_res	 res;
	struct ca_leaf	 leaf;

	memset(&res, 0, sizeof(res));
	memset(&leaf, 0, sizeof(leaf));
	if (h->signer_refuse)
		strlcpy(res.cs_reason, "refused by the test",
		    sizeof(res.cs_reason));
	else if (ca_request(h->ca, host, spki, spkilen, WH_LIFETIME,
	    time(NULL), &leaf, res.cs_reason, sizeof(res.cs_reason)) == 0) {
		res.cs_ok = 1;
		res.cs_notafter = leaf.cl_notafter;
	}
	imsgev_compose2(&h->signer, IMSG_CERT_RES, id, -1, &res, sizeof(res),
	    leaf.cl_pem, leaf.cl_pemlen);
	ca_leaf_clear(&leaf);
}

/* signerd, as far as a worker can tell. */
static int
wh_fake_signer(struct imsgev *iev, struct imsg *imsg)
{
	struct wh		*h = iev->arg;
	struct wh_held		*w;
	struct cert_req		 req;
	const uint8_t		*spki;

	if (imsg->hdr.type != IMSG_CERT_REQ || imsg->datalen < sizeof(req))
		return (-1);
	memcpy(&req, imsg->data, sizeof(req));
	spki = (const uint8_t *)imsg->data + sizeof(req);
	if (req.cr_spkilen != imsg->datalen - sizeof(req) ||
	    req.cr_spkilen > AIB_SPKI_MAX ||
	    memchr(req.cr_host, '\0', sizeof(req.cr_host)) == NULL)
		return (-1);
	h->nsigned++;
	if (h->signer_mute)
		return (0);
	if (h->signer_hold && h->nheld < WH_HELD_MAX) {
		w = &h->held[h->nheld++];
		w->id = imsg->hdr.peerid;
		strlcpy(w->host, req.cr_host, sizeof(w->host));
		memcpy(w->spki, spki, req.cr_spkilen);
		w->spkilen = req.cr_spkilen;
		return (0);
	}
	wh_sign(h, imsg->hdr.peerid, req.cr_host, spki, req.cr_spkilen);
	return (0);
}

void
wh_signer_release(struct wh *h)
{
	int	 i;

	h->signer_hold = 0;
	for (i = 0; i < h->nheld; i++)
		wh_sign(h, h->held[i].id, h->held[i].host, h->held[i].spki,
		    h->held[i].spkilen);
	h->nheld = 0;
}

/* The resolver: h->names, or "no such name". */
static int
wh_fake_resolver(struct imsgev *iev, struct imsg *imsg)
{
	struct wh		*h = iev->arg;
	const struct wh_name	*n;
	struct dns_req		 req;
	struct dns_res		 res, lit;
	int			 i;

	if (imsg->hdr.type != IMSG_DNS_REQ ||
	    imsg_get_data(imsg, &req, sizeof(req)) == -1)
		return (-1);
	req.dr_host[sizeof(req.dr_host) - 1] = '\0';
	h->nlookups++;
	memset(&res, 0, sizeof(res));
	res.dn_error = EAI_NONAME;
	for (n = h->names; n != NULL && n->host != NULL; n++) {
		if (strcmp(n->host, req.dr_host) != 0)
			continue;
		res.dn_error = 0;
		for (i = 0; i < 3 && n->addr[i] != NULL; i++) {
			if (dns_literal(n->addr[i], &lit) == -1)
				abort();
			res.dn_addrs[res.dn_naddrs++] = lit.dn_addrs[0];
		}
		break;
	}
	imsgev_compose(&h->resolver, IMSG_DNS_RES, imsg->hdr.peerid, -1, &res,
	    sizeof(res));
	return (0);
}

static void
wh_channel(struct wh *h, struct imsgev *worker, struct imsgev *fake,
    const char *name, imsgev_dispatch wd, imsgev_dispatch fd)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	imsgev_init(worker, h->px.loop, sv[0], 0, name, wd, wh_closed, h);
	imsgev_init(fake, h->px.loop, sv[1], 0, "test", fd, wh_closed, h);
}

static void
wh_conf(struct wh *h)
{
	struct proxy_conf	*pc;
	struct global_config	*gc;

	pc = h->pc = proxy_conf_new();
	gc = &pc->gc;
	gc->gc_loglevel = LOG_LEVEL_ERROR;
	gc->gc_tunnel_auth = TUNNEL_AUTH_OPEN;
	gc->gc_leaf_lifetime = WH_LIFETIME;
	gc->gc_timeout_header = 1000;
	gc->gc_timeout_handshake = 1000;
	gc->gc_timeout_idle = 2000;
	gc->gc_timeout_connect = 1000;
	gc->gc_timeout_shutdown = 1000;
	gc->gc_max_connections = 100;
	gc->gc_header_bytes = 16384;
	gc->gc_ports[0].pr_lo = gc->gc_ports[0].pr_hi = 443;
	gc->gc_nports = 1;

	h->l = &pc->listeners[0];
	h->l->fd = -1;
	h->l->conf = pc;
	strlcpy(h->l->lc.lc_name, "127.0.0.1:0", sizeof(h->l->lc.lc_name));
	pc->nlisteners = 1;

	if ((pc->providers = calloc(1, sizeof(*pc->providers))) == NULL ||
	    (pc->cidrs = calloc(1, sizeof(*pc->cidrs))) == NULL ||
	    (pc->bridge_ca = (uint8_t *)strdup(wh_ca_pem)) == NULL ||
	    (pc->ca_cert = (uint8_t *)strdup(wh_ca_pem)) == NULL)
		abort();
	strlcpy(pc->providers[0].pc_name, WH_PROVIDER,
	    sizeof(pc->providers[0].pc_name));
	strlcpy(pc->providers[0].pc_host, WH_HOST,
	    sizeof(pc->providers[0].pc_host));
	pc->providers[0].pc_type = PROVIDER_GENERIC;
	pc->nproviders = 1;
	/* 127.0.0.0/8: the test's own servers. */
	pc->cidrs[0].cc_af = AF_INET;
	pc->cidrs[0].cc_prefixlen = 8;
	pc->cidrs[0].cc_addr[0] = 127;
	pc->ncidrs = 1;
	pc->bridge_calen = pc->ca_certlen = strlen(wh_ca_pem);
	/* As proxy_conf_check() does for a configuration it is given. */
	if (setup_fingerprint(pc->ca_cert, pc->ca_certlen, pc->ca_fpr,
	    sizeof(pc->ca_fpr)) == -1)
		abort();
}

/* The worker's clock, as proxy.c gives it to the DNS client, moved on
 * by skew so that a test can age the cache without waiting. */
static double
wh_now(void *arg)
{
	struct wh	*h = arg;

	return (ev_now(h->px.loop) + h->skew);
}

void
wh_init(struct wh *h)
{
	char		 why[256];
	const char	*lvl;

	log_init(1, LOG_DAEMON);
	log_procinit("unit");
	/* AIB_UNIT_LOG=3 shows the worker's debug lines. */
	if ((lvl = getenv("AIB_UNIT_LOG")) != NULL)
		wh_level = strtonum(lvl, LOG_LEVEL_ERROR, LOG_LEVEL_DEBUG,
		    NULL);
	log_setlevel(wh_level);
	/* As in a worker; and a client thread writing late must not die. */
	signal(SIGPIPE, SIG_IGN);
	if (wh_ca_pem == NULL)
		wh_make_ca();
	memset(h, 0, sizeof(*h));
	/* As in a worker: idle TLS sessions hold no record buffers. */
	if (endpoint_tls_lean() == -1)
		abort();
	if ((h->px.loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		abort();
	TAILQ_INIT(&h->px.sessions);
	h->px.bridges = bridge_pool_new(&h->px);
	h->px.pipes = pipe_pool_new();
	h->px.dns = dns_client_new(&h->px.resolver, wh_now, h);
	h->px.validator = validator_new(&h->px);
	ev_init(&h->px.backoff, NULL);
	wh_channel(h, &h->px.signer, &h->signer, "signer",
	    wh_worker_signer, wh_fake_signer);
	wh_channel(h, &h->px.resolver, &h->resolver, "resolver",
	    wh_worker_resolver, wh_fake_resolver);
	wh_channel(h, &h->px.parent, &h->parent, "parent", wh_worker_parent,
	    wh_fake_parent);
	wh_conf(h);
	h->px.conf = h->pc;
	wh_set_bridge(h, "127.0.0.1", 9);
	if (upstream_configure(h->pc, why, sizeof(why)) == -1)
		abort();
	certs_reset(&h->px);
	if ((h->ca = ca_load((const uint8_t *)wh_ca_pem, strlen(wh_ca_pem),
	    (const uint8_t *)wh_ca_key, strlen(wh_ca_key), time(NULL), why,
	    sizeof(why))) == NULL || ca_allow(h->ca, WH_HOST, why,
	    sizeof(why)) == -1) {
		fprintf(stderr, "test CA: %s\n", why);
		abort();
	}
}

void
wh_set_bridge(struct wh *h, const char *host, int port)
{
	struct bridge_config	*bc = &h->pc->bridge;
	char			 why[256];

	memset(bc, 0, sizeof(*bc));
	bc->bc_port = port;
	strlcpy(bc->bc_host, host, sizeof(bc->bc_host));
	snprintf(bc->bc_hostport, sizeof(bc->bc_hostport), "%s:%d", host,
	    port);
	validator_configure(h->px.validator, h->pc);
	if (bridge_configure(h->px.bridges, h->pc, why, sizeof(why)) == -1) {
		fprintf(stderr, "bridge_configure: %s\n", why);
		abort();
	}
}

void
wh_tls_listener(struct wh *h)
{
	struct tls_config	*cfg;
	struct ca_leaf		 leaf;
	EVP_PKEY		*k = tc_p256();
	BIO			*bio;
	unsigned char		*spki = NULL;
	char			*keypem, why[256];
	int			 len;

	if ((len = i2d_PUBKEY(k, &spki)) <= 0 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL))
		abort();
	keypem = tc_bio_text(bio);
	memset(&leaf, 0, sizeof(leaf));
	if (ca_allow(h->ca, WH_PROXY_NAME, why, sizeof(why)) == -1 ||
	    ca_request(h->ca, WH_PROXY_NAME, spki, len, WH_LIFETIME,
	    time(NULL), &leaf, why, sizeof(why)) == -1) {
		fprintf(stderr, "listener certificate: %s\n", why);
		abort();
	}
	if ((cfg = tls_config_new()) == NULL ||
	    (h->l->tls = tls_server()) == NULL ||
	    tls_config_set_keypair_mem(cfg, (const uint8_t *)leaf.cl_pem,
	    leaf.cl_pemlen, (const uint8_t *)keypem, strlen(keypem)) == -1 ||
	    tls_configure(h->l->tls, cfg) == -1)
		abort();
	h->l->lc.lc_tls = 1;
	tls_config_free(cfg);
	ca_leaf_clear(&leaf);
	freezero(keypem, strlen(keypem));
	OPENSSL_free(spki);
	EVP_PKEY_free(k);
}

void
wh_allow_port(struct wh *h, int port)
{
	struct global_config	*gc = &h->pc->gc;

	if (gc->gc_nports < AIB_PORTS_MAX) {
		gc->gc_ports[gc->gc_nports].pr_lo = port;
		gc->gc_ports[gc->gc_nports++].pr_hi = port;
	}
}

void
wh_free(struct wh *h)
{
	dns_cache_clear(h->px.dns);
	imsgev_clear(&h->signer);
	imsgev_clear(&h->resolver);
	imsgev_clear(&h->px.signer);
	imsgev_clear(&h->px.resolver);
	imsgev_clear(&h->parent);
	imsgev_clear(&h->px.parent);
	wh_release_fds(h);
	ca_free(h->ca);
	h->ca = NULL;
	/* The bridge pool keeps its reference: it has no free function. */
	if (h->px.nsessions == 0 && h->px.conf != NULL) {
		proxy_conf_unref(h->px.conf);
		h->px.conf = NULL;
	}
}

int
wh_listen(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, on = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/*
	 * TCP_NODELAY as parent_bind() sets it: session_new() relies on the
	 * accepted socket inheriting it.
	 */
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		abort();
	*port = ntohs(sin.sin_port);
	return (fd);
}

void
wh_timeout(int fd, int secs)
{
	struct timeval	 tv = { secs, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int
wh_connect(int port)
{
	struct sockaddr_in	 sin;
	int			 fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		abort();
	wh_timeout(fd, WH_PEER_WAIT);
	return (fd);
}

int
wh_stalled(int *port, int *queued)
{
	int	 fd;

	fd = wh_listen(port);
	if (listen(fd, 0) == -1)
		abort();
	*queued = wh_connect(*port);
	return (fd);
}

int
wh_client_pending(struct wh *h, struct session **sp)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	int			 lfd, c, a, port, small = 16384;

	lfd = wh_listen(&port);
	c = wh_connect(port);
	if ((a = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1)
		abort();
	close(lfd);
	/* A slow client: the kernel cannot take a whole response. */
	if (h->small_buffers && (setsockopt(a, SOL_SOCKET, SO_SNDBUF,
	    &small, sizeof(small)) == -1 || setsockopt(c, SOL_SOCKET,
	    SO_RCVBUF, &small, sizeof(small)) == -1))
		abort();
	/* As in the accept callback: the loop's clock is the current one. */
	ev_now_update(h->px.loop);
	if ((*sp = session_new(&h->px, h->l, a, &ss)) == NULL)
		abort();
	return (c);
}

int
wh_client(struct wh *h)
{
	struct session	*s;
	int		 c;

	c = wh_client_pending(h, &s);
	request_start(s, h->l);
	return (c);
}

/* Running the loop. */

struct wh_wait {
	struct wh	*h;
	int		(*done)(struct wh *, void *);
	void		*arg;
	int		 ok;
};

static void
wh_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct wh_wait	*ww = w->data;

	if (ww->done(ww->h, ww->arg)) {
		ww->ok = 1;
		ev_break(loop, EVBREAK_ONE);
	}
}

static void
wh_break_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	if (w->data != NULL)
		*(int *)w->data = 1;
	ev_break(loop, EVBREAK_ONE);
}

static void
wh_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	/* Only wakes the loop, so threads' progress is noticed. */
}

int
wh_run(struct wh *h, int (*done)(struct wh *, void *), void *arg,
    double secs)
{
	struct wh_wait	 ww = { h, done, arg, 0 };
	ev_prepare	 prep;
	ev_timer	 limit, tick;

	if (done(h, arg))
		return (0);
	ev_prepare_init(&prep, wh_prepare_cb);
	prep.data = &ww;
	ev_timer_init(&limit, wh_break_cb, secs, 0.);
	limit.data = NULL;
	ev_timer_init(&tick, wh_tick_cb, 0.002, 0.002);
	ev_prepare_start(h->px.loop, &prep);
	ev_timer_start(h->px.loop, &limit);
	ev_timer_start(h->px.loop, &tick);
	ev_run(h->px.loop, 0);
	ev_prepare_stop(h->px.loop, &prep);
	ev_timer_stop(h->px.loop, &limit);
	ev_timer_stop(h->px.loop, &tick);
	/* A drained worker breaks the loop itself (session_free()). */
	return (ww.ok || done(h, arg) ? 0 : -1);
}

int
wh_quiet(struct wh *h)
{
	ev_timer	 guard;
	int		 fired = 0;

	listener_enable(&h->px, h->pc, 0);
	imsgev_clear(&h->signer);
	imsgev_clear(&h->resolver);
	imsgev_clear(&h->px.signer);
	imsgev_clear(&h->px.resolver);
	imsgev_clear(&h->parent);
	imsgev_clear(&h->px.parent);
	/*
	 * Unreferenced, the guard does not keep the loop running: ev_run()
	 * returns by itself once no watcher is active, and only a
	 * leftover one lets the guard fire.
	 */
	ev_timer_init(&guard, wh_break_cb, 0.3, 0.3);
	guard.data = &fired;
	ev_timer_start(h->px.loop, &guard);
	ev_unref(h->px.loop);
	ev_run(h->px.loop, 0);
	ev_ref(h->px.loop);
	ev_timer_stop(h->px.loop, &guard);
	if (fired)
		fprintf(stderr, "%s: watchers still active\n", __func__);
	return (!fired && h->px.nsessions == 0 &&
	    TAILQ_EMPTY(&h->px.sessions));
}

const char *
wh_answer(int status, const char *text, const char *extra)
{
	static char	 buf[1024];

	snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "text/plain\r\nContent-Length: %zu\r\n%sConnection: close\r\n"
	    "\r\n%s", status, text, strlen(text), extra, text);
	return (buf);
}

int
wh_nsessions(struct wh *h, void *arg)
{
	return (h->px.nsessions == (unsigned int)(uintptr_t)arg);
}

/* A client in the test's own thread, read as the loop runs. */

void
wh_reader_init(struct wh_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
}

struct wh_want {
	struct wh_reader	*r;
	size_t			 n;
};

static int
wh_reader_cond(struct wh *h, void *arg)
{
	struct wh_want		*w = arg;
	struct wh_reader	*r = w->r;
	ssize_t			 n;

	while (!r->eof && r->len < sizeof(r->got) - 1) {
		n = recv(r->fd, r->got + r->len, sizeof(r->got) - 1 - r->len,
		    MSG_DONTWAIT);
		if (n == 0)
			r->eof = 1;
		if (n <= 0)
			break;
		if (r->len == 0)
			r->tfirst = ev_time();
		r->len += n;
		r->got[r->len] = '\0';
	}
	return (r->eof || r->len >= w->n);
}

int
wh_read_n(struct wh *h, struct wh_reader *r, size_t n, double secs)
{
	struct wh_want	 w = { r, n };

	return (wh_run(h, wh_reader_cond, &w, secs));
}

int
wh_read_eof(struct wh *h, struct wh_reader *r, double secs)
{
	return (wh_read_n(h, r, SIZE_MAX, secs));
}

/* The log, which goes to stderr. */

static int	 wh_log_fd = -1;
static int	 wh_log_saved = -1;

void
wh_log_start(void)
{
	char	 path[] = "/tmp/aib-unit-log.XXXXXX";

	if ((wh_log_fd = mkstemp(path)) == -1 ||
	    (wh_log_saved = dup(STDERR_FILENO)) == -1 ||
	    dup2(wh_log_fd, STDERR_FILENO) == -1)
		abort();
	unlink(path);
	if (wh_level < LOG_LEVEL_INFO)
		log_setlevel(LOG_LEVEL_INFO);
}

const char *
wh_log_text(void)
{
	static char	 text[WH_GOT_MAX];
	ssize_t		 n;

	if (wh_log_fd == -1)
		return ("");
	fflush(stderr);
	if (dup2(wh_log_saved, STDERR_FILENO) == -1 ||
	    lseek(wh_log_fd, 0, SEEK_SET) == -1 ||
	    (n = read(wh_log_fd, text, sizeof(text) - 1)) == -1)
		abort();
	text[n] = '\0';
	close(wh_log_fd);
	close(wh_log_saved);
	wh_log_fd = wh_log_saved = -1;
	log_setlevel(wh_level);
	return (text);
}

/* Out of descriptors. */

int
wh_fill_fds(struct wh *h)
{
	struct rlimit	 rl;
	int		 fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return (-1);
	if (rl.rlim_cur > WH_FILL_MAX / 2) {
		rl.rlim_cur = WH_FILL_MAX / 2;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			return (-1);
	}
	while (h->nfill < WH_FILL_MAX) {
		if ((fd = dup(STDERR_FILENO)) == -1)
			return (errno == EMFILE ? 0 : -1);
		h->fill[h->nfill++] = fd;
	}
	return (-1);
}

void
wh_release_fds(struct wh *h)
{
	while (h->nfill > 0)
		close(h->fill[--h->nfill]);
}
