/*
 * auth.failures for the whole daemon.
 *
 * Peers:
 *	proxy[N]	IMSG_AUTH_FAILED in, IMSG_AUTH_THROTTLED out
 *
 * A worker counts the failed credentials it sees and reports each one
 * here.  The parent keeps the one count per client address that
 * failures.limit applies to, whichever worker the kernel handed each
 * connection to; when an address reaches the limit, every worker is told
 * to refuse it until its window ends.  A worker that reports a failure
 * of an address past the limit had not heard (it is a replacement, or
 * the news was on its way to it): it is told again, alone.
 */
#include <sys/types.h>

#include <string.h>

#include "failtab.h"
#include "log.h"
#include "parent.h"

/*
 * The running configuration becomes conf (at start-up, conf is the
 * running one): counts made under other failures rules are dropped, as
 * each worker drops its own (validator_configure()).
 */
void
parent_auth_configure(struct parent *p, const struct aib_config *conf)
{
	if (p->failures == NULL &&
	    (p->failures = failtab_new(FAILTAB_MAX)) == NULL)
		fatal("%s", __func__);
	if (p->conf != conf && failtab_newrules(&p->conf->auth, &conf->auth))
		failtab_clear(p->failures);
}

/* Tell one worker, or all of them (c NULL), that addr is throttled. */
static void
parent_auth_tell(struct parent *p, struct child *c, const char *addr,
    uint32_t count, double remaining)
{
	struct auth_throttled	 at;
	double			 ms = remaining * 1000. + 1.;
	int			 i;

	memset(&at, 0, sizeof(at));
	(void)strlcpy(at.at_addr, addr, sizeof(at.at_addr));
	at.at_count = count;
	/* Rounded up: refused a millisecond too long, never too short. */
	at.at_remaining = ms < AIB_WINDOW_MAX ? (uint32_t)ms : AIB_WINDOW_MAX;
	/* Written at once: the sooner a worker knows, the fewer it lets by. */
	for (i = 0; i < p->nproxies; i++) {
		if (!p->proxies[i].alive || (c != NULL && c != &p->proxies[i]))
			continue;
		imsgev_compose(&p->proxies[i].iev, IMSG_AUTH_THROTTLED, 0, -1,
		    &at, sizeof(at));
		imsgev_flush(&p->proxies[i].iev);
	}
}

/* IMSG_AUTH_FAILED from worker c. */
int
parent_auth_failed(struct parent *p, struct child *c, struct imsg *imsg)
{
	struct auth_failed	 af;
	const struct auth_config *ac = &p->conf->auth;
	double			 now = ev_now(p->loop), end;
	uint32_t		 n;

	if (c->proc != PROC_PROXY ||
	    imsg_get_data(imsg, &af, sizeof(af)) == -1 ||
	    memchr(af.af_addr, '\0', sizeof(af.af_addr)) == NULL ||
	    af.af_addr[0] == '\0' || af.af_window == 0 ||
	    af.af_window > AIB_WINDOW_MAX)
		return (-1);
	/*
	 * Not started yet, or counted under other rules than the running
	 * ones: the worker has not taken the reload that changed them.
	 */
	if (p->failures == NULL || !ac->ac_validate ||
	    af.af_window != ac->ac_fail_window)
		return (0);
	if ((n = failtab_add(p->failures, af.af_addr, now,
	    ac->ac_fail_window / 1000., &end)) == 0) {
		log_warnx("%s: cannot count the failures of %s: out of memory",
		    __func__, af.af_addr);
		return (0);
	}
	if (n >= ac->ac_fail_limit)
		parent_auth_tell(p, n == ac->ac_fail_limit ? NULL : c,
		    af.af_addr, n, end - now);
	return (0);
}
