/*
 * A worker's stop, on IMSG_CTL_SHUTDOWN (the parent got SIGTERM or
 * SIGINT), in two steps.
 *
 * Not ready: /readyz answers 503 at once, and every intercepted answer
 * from now on ends with "Connection: close", but accepting and serving
 * go on for timeouts.drain_delay.  A load balancer that polls /readyz
 * takes the instance out during that time, before anything is
 * refused, and keep-alive clients move to a new connection, which the
 * balancer sends elsewhere.
 *
 * The drain: accept nothing more, close what is idle between requests,
 * let the rest finish within timeouts.shutdown, then exit.  Every
 * worker drains at once, so a client that queues on a worker's own
 * listening socket (parent_sock.c) after it stopped accepting is in
 * the same place as one queued on a shared socket: it waits, and is
 * reset when the parent exits.  No worker drains alone while the others
 * serve.
 */
#include <ev.h>

#include "listener.h"
#include "log.h"
#include "session.h"
#include "stop.h"

static void
stop_grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct proxy	*px = w->data;

	log_warnx("grace period over, closing %u connections",
	    px->nsessions);
	ev_break(loop, EVBREAK_ALL);
}

static void
stop_drain(struct proxy *px)
{
	px->draining = 1;
	if (px->conf != NULL) {
		listener_enable(px, px->conf, 0);
		ev_timer_init(&px->draintimer, stop_grace_cb,
		    session_ms(px->conf->gc.gc_timeout_shutdown), 0.);
		px->draintimer.data = px;
		ev_timer_start(px->loop, &px->draintimer);
	}
	session_drain_all(px);
	log_info("stopping: %u connections to finish", px->nsessions);
	if (px->nsessions == 0)
		ev_break(px->loop, EVBREAK_ALL);
}

static void
stop_delay_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	stop_drain(w->data);
}

void
worker_stop(struct proxy *px)
{
	uint32_t	 delay;

	if (px->stopping)
		return;
	px->stopping = 1;
	delay = px->conf != NULL ? px->conf->gc.gc_timeout_drain_delay : 0;
	if (delay == 0) {
		stop_drain(px);
		return;
	}
	log_info("stopping: not ready, draining in %.3fs with %u connections",
	    session_ms(delay), px->nsessions);
	ev_timer_init(&px->delaytimer, stop_delay_cb, session_ms(delay), 0.);
	px->delaytimer.data = px;
	ev_timer_start(px->loop, &px->delaytimer);
}
