/*
 * A token bucket per proxy worker in signerd, so that a compromised
 * worker cannot make the CA key sign in a loop.  Time is passed in,
 * in nanoseconds of a monotonic clock, so the tests choose it.
 */
#ifndef AIB_RATELIMIT_H
#define AIB_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ca.h"
#include "log.h"

/*
 * Signatures a worker may have, per second and at once.  A worker asks
 * for one leaf per provider host it intercepts and then one renewal per
 * host every two thirds of the lifetime, so the burst covers the first
 * connections to a hundred hosts at once and the rate any renewal.
 */
#define ISSUE_RATE		20
#define ISSUE_BURST		100
#define ISSUE_LOG_INTERVAL	10	/* seconds between refusal lines */

#define ISSUE_LIMITED		(-2)	/* issue_limit_request(): refused */

struct ratelimit {
	uint64_t	 rl_cost;	/* credit one event takes: 1 s / rate */
	uint64_t	 rl_max;	/* a full bucket: burst events */
	uint64_t	 rl_credit;	/* nanoseconds of credit */
	uint64_t	 rl_last;	/* when credit was last added */
};

void		 ratelimit_init(struct ratelimit *, unsigned int,
		    unsigned int, uint64_t);
int		 ratelimit_check(struct ratelimit *, uint64_t);
void		 ratelimit_charge(struct ratelimit *);
uint64_t	 ratelimit_clock(void);

/* One worker's allowance of signatures, and its refusal log. */
struct issue_limit {
	struct ratelimit	 il_bucket;
	struct log_limit	 il_log;
	int			 il_instance;
};

void	issue_limit_init(struct issue_limit *, int, uint64_t);
int	issue_limit_request(struct issue_limit *, struct ca *, const char *,
	    const uint8_t *, size_t, uint32_t, time_t, uint64_t,
	    struct ca_leaf *, char *, size_t);

#endif /* AIB_RATELIMIT_H */
