/*
 * Free heap given back once a worker has gone quiet.
 *
 * A burst of connections leaves free heap between the objects that
 * stay: the handshakes' and the requests' buffers, freed while later
 * connections kept what they had taken above them.  free(3) gives back
 * only the top of the heap, and a busy worker keeps even that
 * (PROXY_HEAP_KEEP in proxy.c), so without this an idle worker would
 * hold the high-water mark of its busiest moment.  glibc's malloc_trim(3) also gives back
 * every whole page inside a free chunk (compat_malloc_trim()), the way
 * other allocators decay dirty pages; the next burst takes them again,
 * page faults included, so it runs only once the worker has been quiet
 * for HEAPDECAY_QUIET seconds, and not again before some activity.
 *
 * Activity only stamps the time and starts the timer if it is stopped.
 * The timer, when it fires, waits out the rest of the quiet period if
 * there was activity since it started (the "last activity" idiom of
 * ev(3), ev_timer): a busy worker's timer fires about once a period,
 * an idle worker's not at all.  malloc_trim walks every free chunk:
 * some milliseconds with ten thousand connections open (aibproxyd(8)).
 */
#include <sys/types.h>

#include <ev.h>
#include <stdint.h>

#include "compat.h"
#include "heapdecay.h"
#include "log.h"
#include "worker.h"

/*
 * The debug line needs no rate limit of its own: there is one trim per
 * quiet period, after activity that logged a line per connection.
 */
static void
heapdecay_trim(struct proxy *px)
{
	int64_t		 before, after;
	ev_tstamp	 t0, t1;
	int		 r;

	before = compat_self_rss();
	t0 = ev_time();
	r = compat_malloc_trim(px->heap_pad);
	t1 = ev_time();
	after = compat_self_rss();
	if (before == -1 || after == -1)
		log_debug("quiet: heap trimmed (%s) in %.1f ms",
		    r == 1 ? "some given back" : "nothing to give back",
		    (t1 - t0) * 1e3);
	else
		log_debug("quiet: heap trimmed, resident %lld -> %lld KiB "
		    "(%lld KiB given back) in %.1f ms",
		    (long long)before / 1024, (long long)after / 1024,
		    (long long)(before - after) / 1024, (t1 - t0) * 1e3);
}

static void
heapdecay_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct proxy	*px = w->data;
	ev_tstamp	 left;

	left = px->heap_busy + HEAPDECAY_QUIET - ev_now(loop);
	if (left > 0) {
		/* Busy since: wait for the rest of the quiet period. */
		ev_timer_set(w, left, 0.);
		ev_timer_start(loop, w);
		return;
	}
	heapdecay_trim(px);
}

void
heapdecay_init(struct proxy *px, size_t pad)
{
	ev_init(&px->heap_timer, heapdecay_cb);
	px->heap_timer.data = px;
	px->heap_pad = pad;
	px->heap_decay = 1;
}

void
heapdecay_busy(struct proxy *px)
{
	if (!px->heap_decay)
		return;
	px->heap_busy = ev_now(px->loop);
	if (!ev_is_active(&px->heap_timer)) {
		ev_timer_set(&px->heap_timer, HEAPDECAY_QUIET, 0.);
		ev_timer_start(px->loop, &px->heap_timer);
	}
}
