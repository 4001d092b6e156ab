/*
 * The series an operator alerts on (etc/prometheus/aibproxyd.rules.yml):
 * failed TLS handshakes with clients and 407 answers, by reason, summed
 * over the workers; and what the parent reads at each scrape: every
 * process's descriptors, memory and restarts, and the CA's expiry.
 */
#include <sys/types.h>

#include <stdio.h>

#include "compat.h"
#include "metrics.h"

#define P	METRICS_PREFIX

/* Every stage and reason always present, from 0. */
static int
metrics_tls(struct buf *b, const struct proxy_stats *st)
{
	static const char *const stage[TLSSTAGE_MAX] = {
		[TLSSTAGE_LISTENER] = "listener",
		[TLSSTAGE_INTERCEPT] = "intercept",
	};
	static const char *const reason[TLSFAIL_MAX] = {
		[TLSFAIL_UNTRUSTED] = "untrusted",
		[TLSFAIL_PROTOCOL] = "protocol",
		[TLSFAIL_SERVERNAME] = "server_name",
		[TLSFAIL_TIMEOUT] = "timeout",
		[TLSFAIL_CLOSED] = "closed",
		[TLSFAIL_OTHER] = "other",
	};
	int	 i, j;

	if (metrics_head(b, "client_tls_handshake_failures_total", "counter",
	    "TLS handshakes with clients that failed, by stage and reason.") ==
	    -1)
		return (-1);
	for (i = 0; i < TLSSTAGE_MAX; i++)
		for (j = 0; j < TLSFAIL_MAX; j++)
			if (buf_printf(b, P "client_tls_handshake_failures_total"
			    "{reason=\"%s\",stage=\"%s\"} %llu\n", reason[j],
			    stage[i], (unsigned long long)st->st_tls_fail[i][j])
			    == -1)
				return (-1);
	return (0);
}

static int
metrics_407(struct buf *b, const struct proxy_stats *st)
{
	static const char *const reason[AUTH407_MAX] = {
		[AUTH407_MISSING] = "missing",
		[AUTH407_MALFORMED] = "malformed",
		[AUTH407_REFUSED] = "refused",
	};
	int	 i;

	if (metrics_head(b, "proxy_authentication_required_total", "counter",
	    "407 answers, by reason.") == -1)
		return (-1);
	for (i = 0; i < AUTH407_MAX; i++)
		if (buf_printf(b, P "proxy_authentication_required_total"
		    "{reason=\"%s\"} %llu\n", reason[i],
		    (unsigned long long)st->st_407[i]) == -1)
			return (-1);
	return (0);
}

static int64_t
proc_fds(const struct stats_proc *sp)
{
	return (sp->spr_open_fds);
}

static int64_t
proc_max_fds(const struct stats_proc *sp)
{
	return (sp->spr_max_fds);
}

static int64_t
proc_rss(const struct stats_proc *sp)
{
	return (sp->spr_rss_bytes);
}

/*
 * One gauge family per figure; a process whose figure could not be
 * read (-1) has no line in it.
 */
static int
metrics_proc_gauge(struct buf *b, const struct proxy_stats *st,
    const char *name, const char *help,
    int64_t (*get)(const struct stats_proc *))
{
	const struct stats_proc	*sp;
	int64_t			 v;
	int			 i;

	if (metrics_head(b, name, "gauge", help) == -1)
		return (-1);
	for (i = 0; i < st->st_nprocs && i < STATS_PROCS_MAX; i++) {
		sp = &st->st_procs[i];
		v = get(sp);
		if (v >= 0 && buf_printf(b, P "%s{process=\"%s\"} %lld\n",
		    name, sp->spr_name, (long long)v) == -1)
			return (-1);
	}
	return (0);
}

static int
metrics_procs(struct buf *b, const struct proxy_stats *st)
{
	const struct stats_proc	*sp;
	int			 i;

	if (metrics_proc_gauge(b, st, "process_open_fds",
	    "Descriptors each process holds open.",
	    proc_fds) == -1 ||
	    metrics_proc_gauge(b, st, "process_max_fds",
	    "Each process's descriptor limit (RLIMIT_NOFILE).",
	    proc_max_fds) == -1 ||
	    metrics_proc_gauge(b, st, "process_resident_memory_bytes",
	    "Each process's resident memory.",
	    proc_rss) == -1 ||
	    metrics_head(b, "process_restarts_total", "counter",
	    "Times the parent replaced a process that died.") == -1)
		return (-1);
	for (i = 0; i < st->st_nprocs && i < STATS_PROCS_MAX; i++) {
		sp = &st->st_procs[i];
		if (buf_printf(b, P "process_restarts_total{process=\"%s\"} "
		    "%llu\n", sp->spr_name,
		    (unsigned long long)sp->spr_restarts) == -1)
			return (-1);
	}
	return (0);
}

int
metrics_health(struct buf *b, const struct proxy_stats *st)
{
	if (metrics_tls(b, st) == -1 || metrics_407(b, st) == -1 ||
	    metrics_procs(b, st) == -1)
		return (-1);
	if (st->st_ca_not_after == 0)
		return (0);
	if (metrics_head(b, "ca_not_after_timestamp_seconds", "gauge",
	    "When the first of ca.cert's certificates expires.") == -1)
		return (-1);
	return (buf_printf(b, P "ca_not_after_timestamp_seconds %lld\n",
	    (long long)st->st_ca_not_after));
}
