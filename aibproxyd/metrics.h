/*
 * Prometheus text exposition on metrics.listen, summed over all
 * workers by the parent at each scrape.
 */
#ifndef AIB_METRICS_H
#define AIB_METRICS_H

#include "http.h"
#include "imsg.h"

struct proxy;
struct session;

/* A request on the metrics listener. */
void	 metrics_serve(struct session *, const struct http_head *);
/* IMSG_STATS_RES: the sum, for the scrape named by peerid. */
int	 metrics_dispatch(struct proxy *, struct imsg *);

#endif /* AIB_METRICS_H */
