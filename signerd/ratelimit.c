/*
 * signerd's rate limit: a token bucket per worker, counted in
 * nanoseconds of credit so no floating point is needed.  A full bucket
 * holds burst events; each event takes 1 s / rate of credit, and credit
 * comes back at one nanosecond per nanosecond.
 *
 * Only a leaf that cost a signature is charged.  A leaf served again
 * from the CA's cache costs a hash and a copy, and a refusal for another
 * reason costs nothing worth limiting; a worker that loops on those
 * burns only its own time.  While the bucket is empty every request is
 * refused, even one the cache could answer: an honest worker asks for a
 * host again only when its leaf is two thirds through its life, and the
 * cache keeps a leaf for half of it, so it never needs a cache hit.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ca.h"
#include "log.h"
#include "ratelimit.h"

#define RL_NSEC		1000000000ULL

void
ratelimit_init(struct ratelimit *rl, unsigned int rate, unsigned int burst,
    uint64_t now)
{
	memset(rl, 0, sizeof(*rl));
	if (rate == 0 || burst == 0)
		fatalx("%s: rate %u, burst %u", __func__, rate, burst);
	rl->rl_cost = RL_NSEC / rate;
	rl->rl_max = rl->rl_cost * burst;
	/* A new worker may use its whole burst at once. */
	rl->rl_credit = rl->rl_max;
	rl->rl_last = now;
}

/*
 * Add the credit earned since the last call and say whether one event
 * may happen now: 0 if so, -1 if not.  Nothing is taken: the caller
 * charges only events that turned out to cost something.
 */
int
ratelimit_check(struct ratelimit *rl, uint64_t now)
{
	uint64_t	 earned;

	/* Not on a monotonic clock; a test may still go back in time. */
	if (now > rl->rl_last) {
		earned = now - rl->rl_last;
		if (earned >= rl->rl_max - rl->rl_credit)
			rl->rl_credit = rl->rl_max;
		else
			rl->rl_credit += earned;
	}
	rl->rl_last = now;
	return (rl->rl_credit >= rl->rl_cost ? 0 : -1);
}

/* Take one event's credit; only after a ratelimit_check() that passed. */
void
ratelimit_charge(struct ratelimit *rl)
{
	if (rl->rl_credit < rl->rl_cost)
		fatalx("%s: charged past the limit", __func__);
	rl->rl_credit -= rl->rl_cost;
}

/* Wall-clock steps (NTP, an administrator) must not refill a bucket. */
uint64_t
ratelimit_clock(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("%s: clock_gettime", __func__);
	return ((uint64_t)ts.tv_sec * RL_NSEC + (uint64_t)ts.tv_nsec);
}

void
issue_limit_init(struct issue_limit *il, int instance, uint64_t now)
{
	memset(il, 0, sizeof(*il));
	ratelimit_init(&il->il_bucket, ISSUE_RATE, ISSUE_BURST, now);
	il->il_log.interval = ISSUE_LOG_INTERVAL;
	il->il_instance = instance;
}

/*
 * ca_request() behind the worker's limit, with the same arguments and
 * results, mono being the monotonic time.  Over the limit the request
 * is refused with the reason "rate limit", logged here at most once per
 * interval with the count of the others, and ISSUE_LIMITED returned:
 * a worker in a loop must not fill the log either.
 */
int
issue_limit_request(struct issue_limit *il, struct ca *ca, const char *host,
    const uint8_t *spki, size_t spkilen, uint32_t lifetime, time_t now,
    uint64_t mono, struct ca_leaf *leaf, char *reason, size_t reasonlen)
{
	memset(leaf, 0, sizeof(*leaf));
	if (ratelimit_check(&il->il_bucket, mono) == -1) {
		(void)snprintf(reason, reasonlen, "rate limit");
		log_limited(&il->il_log, "worker %d asks for more than %d "
		    "certificates a second (burst %d): refusing",
		    il->il_instance, ISSUE_RATE, ISSUE_BURST);
		return (ISSUE_LIMITED);
	}
	if (ca_request(ca, host, spki, spkilen, lifetime, now, leaf, reason,
	    reasonlen) == -1)
		return (-1);
	if (!leaf->cl_cached)
		ratelimit_charge(&il->il_bucket);
	return (0);
}
