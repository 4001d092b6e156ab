#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "session.h"
#include "stats.h"
#include "versions.h"

#define METRICS_PAGE_MAX	(1024 * 1024)
#define P			METRICS_PREFIX

static void
metrics_timeout(struct session *s)
{
	log_warnx("conn %llu %s: no metrics from the parent in time",
	    (unsigned long long)s->id, s->peer);
	session_reply(s, 503, NULL, NULL);
}

/* A scrape waiting for the parent's sum over every worker. */
static const struct session_ops metrics_ops = {
	.name = "metrics",
	.timeout = metrics_timeout,
};

void
metrics_serve(struct session *s, const struct http_head *h)
{
	char	 path[64];

	strlcpy(path, h->target, sizeof(path));
	path[strcspn(path, "?")] = '\0';
	if (strcmp(h->method, "GET") != 0) {
		session_reply(s, 405, "Allow: GET\r\n", NULL);
		return;
	}
	if (strcmp(path, "/metrics") != 0) {
		session_reply(s, 404, NULL, NULL);
		return;
	}
	/* The parent asks every worker and answers with the sum. */
	imsgev_compose(&s->px->parent, IMSG_STATS_REQ, (uint32_t)s->id, -1,
	    NULL, 0);
	session_become(s, &metrics_ops, NULL);
	session_set_timeout(s, session_ms(s->conf->gc.gc_timeout_idle));
	endpoint_arm(s->px->loop, &s->client, 0, 0);
}

/* Client connections: the metrics listener's scrapes are none. */
void
metrics_gauges(struct proxy *px)
{
	struct session	*s;
	int64_t		 n = 0;

	TAILQ_FOREACH(s, &px->sessions, entry)
		if (!s->metrics)
			n++;
	px->stats.st_open_connections = n;
}

int
metrics_head(struct buf *b, const char *name, const char *type,
    const char *help)
{
	return (buf_printf(b, "# HELP " P "%s %s\n# TYPE " P "%s %s\n", name,
	    help, name, type));
}

static int
metrics_global(struct buf *b, const struct proxy_stats *st)
{
	const struct {
		const char	*name;
		const char	*type;
		const char	*help;
		long long	 value;
	} series[] = {
		{ "open_connections", "gauge", "Client connections open now.",
		    st->st_open_connections },
		{ "client_received_bytes_total", "counter",
		    "Bytes received from clients, on closed connections.",
		    (long long)st->st_bytes_from_clients },
		{ "client_sent_bytes_total", "counter",
		    "Bytes sent to clients, on closed connections.",
		    (long long)st->st_bytes_to_clients },
		{ "certificates_issued_total", "counter",
		    "Leaf certificates signerd issued to the workers.",
		    (long long)st->st_certs_issued },
		{ "certificates_refused_total", "counter",
		    "Leaf certificates signerd refused.",
		    (long long)st->st_certs_refused },
		{ "reloads_total", "counter", "Configurations reloaded.",
		    (long long)st->st_reloads },
		{ "reload_failures_total", "counter",
		    "Reloads refused, the running configuration kept.",
		    (long long)st->st_reload_failures },
		{ "last_reload_success_timestamp_seconds", "gauge",
		    "When a configuration last took effect (start or reload).",
		    st->st_last_reload_success },
	};
	size_t	 i;

	if (metrics_head(b, "connect_sessions_total", "counter",
	    "Total number of CONNECT sessions established.") == -1 ||
	    buf_printf(b, P "connect_sessions_total{type=\"mitm\"} %llu\n"
	    P "connect_sessions_total{type=\"tunneled\"} %llu\n",
	    (unsigned long long)st->st_sessions_mitm,
	    (unsigned long long)st->st_sessions_tunneled) == -1)
		return (-1);
	for (i = 0; i < nitems(series); i++)
		if (metrics_head(b, series[i].name, series[i].type,
		    series[i].help) == -1 || buf_printf(b, P "%s %lld\n",
		    series[i].name, series[i].value) == -1)
			return (-1);
	return (0);
}

/* Refusals by reason, every reason always present. */
static int
metrics_refused(struct buf *b, const struct proxy_stats *st)
{
	static const char *const reasons[REFUSED_MAX] = {
		[REFUSED_PORT] = "port",
		[REFUSED_PRIVATE] = "private",
		[REFUSED_POLICY] = "policy",
		[REFUSED_AUTH] = "auth",
	};
	int	 i;

	if (metrics_head(b, "tunnel_refused_total", "counter",
	    "Tunnels and forwarded requests refused, by reason.") == -1)
		return (-1);
	for (i = 0; i < REFUSED_MAX; i++)
		if (buf_printf(b, P "tunnel_refused_total{reason=\"%s\"} "
		    "%llu\n", reasons[i],
		    (unsigned long long)st->st_refused[i]) == -1)
			return (-1);
	return (0);
}

/* PROXY protocol headers refused, every reason always present. */
static int
metrics_proxyproto(struct buf *b, const struct proxy_stats *st)
{
	static const char *const reasons[PPERR_MAX] = {
		[PPERR_MISSING] = "missing",
		[PPERR_MALFORMED] = "malformed",
		[PPERR_TIMEOUT] = "timeout",
		[PPERR_CLOSED] = "closed",
		[PPERR_PEER] = "not_allowed",
	};
	int	 i;

	if (metrics_head(b, "proxy_protocol_errors_total", "counter",
	    "Connections refused on proxy_protocol listeners, by reason.") ==
	    -1)
		return (-1);
	for (i = 0; i < PPERR_MAX; i++)
		if (buf_printf(b, P "proxy_protocol_errors_total"
		    "{reason=\"%s\"} %llu\n", reasons[i],
		    (unsigned long long)st->st_proxyproto[i]) == -1)
			return (-1);
	return (0);
}

/* One block per metric family, a line per provider in each. */
static int
metrics_providers(struct buf *b, const struct proxy_stats *st)
{
	const struct stats_provider	*sp;
	int				 i, j;

	if (metrics_head(b, "mitm_requests_total", "counter",
	    "Intercepted requests routed to the bridge.") == -1)
		return (-1);
	for (i = 0; i < st->st_nproviders; i++) {
		sp = &st->st_providers[i];
		if (buf_printf(b, P "mitm_requests_total{provider=\"%s\"} "
		    "%llu\n", sp->sp_name,
		    (unsigned long long)sp->sp_requests) == -1)
			return (-1);
	}
	if (metrics_head(b, "inflight_mitm_requests", "gauge",
	    "Intercepted requests being served now.") == -1)
		return (-1);
	for (i = 0; i < st->st_nproviders; i++) {
		sp = &st->st_providers[i];
		if (buf_printf(b, P "inflight_mitm_requests{provider=\"%s\"} "
		    "%lld\n", sp->sp_name, (long long)sp->sp_inflight) == -1)
			return (-1);
	}
	if (metrics_head(b, "mitm_responses_total", "counter",
	    "Responses to intercepted requests, by status code.") == -1)
		return (-1);
	for (i = 0; i < st->st_nproviders; i++) {
		sp = &st->st_providers[i];
		for (j = 0; j < STATS_CODES_MAX && sp->sp_codes[j].sc_code;
		    j++)
			if (buf_printf(b, P "mitm_responses_total{code=\"%d\","
			    "provider=\"%s\"} %llu\n", sp->sp_codes[j].sc_code,
			    sp->sp_name, (unsigned long long)
			    sp->sp_codes[j].sc_count) == -1)
				return (-1);
	}
	return (0);
}

static int
metrics_histograms(struct buf *b, const struct proxy_stats *st)
{
	const struct stats_provider	*sp;
	uint64_t			 cum;
	int				 i, j;

	if (metrics_head(b, "mitm_request_duration_seconds", "histogram",
	    "Time from an intercepted request to the end of its response.") ==
	    -1)
		return (-1);
	for (i = 0; i < st->st_nproviders; i++) {
		sp = &st->st_providers[i];
		for (j = 0, cum = 0; j < STATS_BUCKETS; j++) {
			cum += sp->sp_buckets[j];
			if (buf_printf(b, P "mitm_request_duration_seconds_bucket"
			    "{provider=\"%s\",le=\"%g\"} %llu\n", sp->sp_name,
			    stats_bucket_le[j], (unsigned long long)cum) == -1)
				return (-1);
		}
		if (buf_printf(b, P "mitm_request_duration_seconds_bucket"
		    "{provider=\"%s\",le=\"+Inf\"} %llu\n" P
		    "mitm_request_duration_seconds_sum{provider=\"%s\"} %.6f\n"
		    P "mitm_request_duration_seconds_count{provider=\"%s\"} "
		    "%llu\n", sp->sp_name, (unsigned long long)sp->sp_count,
		    sp->sp_name, sp->sp_sum, sp->sp_name,
		    (unsigned long long)sp->sp_count) == -1)
			return (-1);
	}
	return (0);
}

/* Token checks: decisions by result and source, and their latency. */
static int
metrics_auth(struct buf *b, const struct proxy_stats *st)
{
	static const char *const result[STATS_AUTH_MAX] = {
		"valid", "invalid", "missing", "unavailable", "throttled"
	};
	const struct stats_hist	*h = &st->st_auth_latency;
	uint64_t		 cum = 0;
	int			 i;

	if (metrics_head(b, "auth_total", "counter", "Proxy credential "
	    "decisions, by result and by source: the cache (or a local "
	    "rule) or the bridge's answer.") == -1)
		return (-1);
	for (i = 0; i < STATS_AUTH_MAX; i++)
		if (buf_printf(b, P "auth_total{result=\"%s\",source=\"cache\"}"
		    " %llu\n" P "auth_total{result=\"%s\",source=\"bridge\"} "
		    "%llu\n", result[i],
		    (unsigned long long)st->st_auth[i].sa_cache, result[i],
		    (unsigned long long)st->st_auth[i].sa_bridge) == -1)
			return (-1);
	if (metrics_head(b, "auth_validation_seconds", "histogram",
	    "Time the bridge took to answer a token check.") == -1)
		return (-1);
	for (i = 0; i < STATS_BUCKETS; i++) {
		cum += h->sh_buckets[i];
		if (buf_printf(b, P "auth_validation_seconds_bucket{le=\"%g\"} "
		    "%llu\n", stats_bucket_le[i], (unsigned long long)cum) ==
		    -1)
			return (-1);
	}
	return (buf_printf(b, P "auth_validation_seconds_bucket{le=\"+Inf\"} "
	    "%llu\n" P "auth_validation_seconds_sum %g\n"
	    P "auth_validation_seconds_count %llu\n",
	    (unsigned long long)h->sh_count, h->sh_sum,
	    (unsigned long long)h->sh_count));
}

/*
 * Always 1: the labels say which build and libraries are running
 * (values that need no escaping: buildinfo.h).
 */
static int
metrics_build_info(struct buf *b)
{
	struct buildinfo	 bi;
	int			 i;

	versions_proxy(&bi);
	if (metrics_head(b, "build_info", "gauge", "The version of "
	    "aibproxyd and of its libraries, as labels; always 1.") == -1 ||
	    buf_printf(b, P "build_info{version=\"%s\"", bi.bi_version) == -1)
		return (-1);
	for (i = 0; i < bi.bi_nlibs; i++)
		if (buf_printf(b, ",%s=\"%s\"", bi.bi_libs[i].name,
		    bi.bi_libs[i].value) == -1)
			return (-1);
	return (buf_addstr(b, "} 1\n"));
}

static void
metrics_answer(struct session *s, const struct proxy_stats *st)
{
	struct buf	 body;

	buf_init(&body, METRICS_PAGE_MAX);
	if (metrics_build_info(&body) == -1 ||
	    metrics_global(&body, st) == -1 ||
	    metrics_refused(&body, st) == -1 ||
	    metrics_proxyproto(&body, st) == -1 ||
	    metrics_providers(&body, st) == -1 ||
	    metrics_histograms(&body, st) == -1 ||
	    metrics_auth(&body, st) == -1 ||
	    metrics_health(&body, st) == -1) {
		buf_free(&body);
		session_reply(s, 503, NULL, "metrics page too large\n");
		return;
	}
	buf_free(&s->sbuf);
	buf_init(&s->sbuf, METRICS_PAGE_MAX + 512);
	if (http_answer_head(&s->sbuf, 200, "text/plain; version=0.0.4",
	    buf_len(&body), NULL, 1) == -1 || buf_add(&s->sbuf,
	    buf_rptr(&body), buf_len(&body)) == -1) {
		buf_free(&body);
		session_reply(s, 503, NULL, NULL);
		return;
	}
	buf_free(&body);
	session_send(s);
}

int
metrics_dispatch(struct proxy *px, struct imsg *imsg)
{
	struct proxy_stats	*st;
	struct session		*s;

	if (imsg->datalen != sizeof(*st))
		return (-1);
	st = imsg->data;
	if (st->st_nproviders < 0 || st->st_nproviders > STATS_PROVIDERS_MAX)
		return (-1);
	TAILQ_FOREACH(s, &px->sessions, entry)
		if ((uint32_t)s->id == imsg->hdr.peerid &&
		    s->ops == &metrics_ops)
			break;
	if (s == NULL)
		return (0);	/* the scraper went away */
	metrics_answer(s, st);
	return (0);
}
