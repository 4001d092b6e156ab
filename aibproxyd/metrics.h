/*
 * Prometheus text exposition on metrics.listen, summed over all
 * workers by the parent at each scrape.
 */
#ifndef AIB_METRICS_H
#define AIB_METRICS_H

#include "buf.h"
#include "http.h"
#include "imsg.h"
#include "stats.h"

#define METRICS_PREFIX	"aibproxyd_"

struct proxy;
struct session;

/* A request on the metrics listener. */
void	 metrics_serve(struct session *, const struct http_head *);
/* Read the worker's gauges into its stats, for IMSG_STATS. */
void	 metrics_gauges(struct proxy *);
/* # HELP and # TYPE of a family (name without the prefix). */
int	 metrics_head(struct buf *, const char *, const char *, const char *);
/* metrics_health.c: what alerts are made of (TLS, 407, processes, CA). */
int	 metrics_health(struct buf *, const struct proxy_stats *);
/* IMSG_STATS_RES: the sum, for the scrape named by peerid. */
int	 metrics_dispatch(struct proxy *, struct imsg *);

#endif /* AIB_METRICS_H */
