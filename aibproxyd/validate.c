/*
 * The token cache and the failure throttle (see validate.h); the check
 * itself is vcheck.c.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "failtab.h"
#include "log.h"
#include "session.h"
#include "validate.h"
#include "vcheck.h"

enum ventry_state {
	V_PENDING,
	V_VALID,
	V_INVALID
};

struct validate_waiter {
	TAILQ_ENTRY(validate_waiter) entry;
	struct ventry		*e;
	validate_cb		 cb;
	void			*arg;
	char			 addr[64];	/* the client, for failures */
	int			 first;		/* it made the request */
};
TAILQ_HEAD(waiter_list, validate_waiter);

struct ventry {
	RB_ENTRY(ventry)	 tree;
	TAILQ_ENTRY(ventry)	 lru;		/* resolved entries only */
	struct validator	*vd;
	uint8_t			 hash[SHA256_DIGEST_LENGTH];
	enum ventry_state	 st;
	ev_tstamp		 expires;
	ev_tstamp		 asked;		/* for the latency */
	char			 user[AUTH_USER_MAX];
	struct vcheck		*check;
	struct waiter_list	 waiters;
};

static int
ventry_cmp(struct ventry *a, struct ventry *b)
{
	return (memcmp(a->hash, b->hash, sizeof(a->hash)));
}

RB_HEAD(ventry_tree, ventry);
RB_PROTOTYPE_STATIC(ventry_tree, ventry, tree, ventry_cmp)
RB_GENERATE_STATIC(ventry_tree, ventry, tree, ventry_cmp)

struct validator {
	struct proxy		*px;
	struct proxy_conf	*conf;
	struct ventry_tree	 entries;
	TAILQ_HEAD(ventry_lru, ventry) lru;	/* most recent first */
	uint32_t		 nresolved;
	struct failtab		*failures;	/* ours and the parent's word */
};

struct validator *
validator_new(struct proxy *px)
{
	struct validator	*vd;

	if ((vd = calloc(1, sizeof(*vd))) == NULL)
		fatal("%s", __func__);
	vd->px = px;
	RB_INIT(&vd->entries);
	TAILQ_INIT(&vd->lru);
	if ((vd->failures = failtab_new(FAILTAB_MAX)) == NULL)
		fatal("%s", __func__);
	/* jansson's hash seed was set by log_init(), before the sandbox. */
	return (vd);
}

static void
ventry_free(struct ventry *e)
{
	struct validator	*vd = e->vd;

	RB_REMOVE(ventry_tree, &vd->entries, e);
	if (e->st != V_PENDING) {
		TAILQ_REMOVE(&vd->lru, e, lru);
		vd->nresolved--;
	}
	vcheck_cancel(e->check);
	explicit_bzero(e, sizeof(*e));
	free(e);
}

/* Resolved entries only: a pending one has clients waiting on it. */
static void
validator_flush(struct validator *vd)
{
	struct ventry	*e;

	while ((e = TAILQ_FIRST(&vd->lru)) != NULL)
		ventry_free(e);
}

void
validator_configure(struct validator *vd, struct proxy_conf *pc)
{
	/* Another bridge or another question: old answers do not hold. */
	if (vd->conf != NULL && (memcmp(&vd->conf->bridge, &pc->bridge,
	    sizeof(pc->bridge)) != 0 || memcmp(&vd->conf->auth, &pc->auth,
	    sizeof(pc->auth)) != 0))
		validator_flush(vd);
	/* Counts made under other rules do not hold: the parent's neither. */
	if (vd->conf != NULL && failtab_newrules(&vd->conf->auth, &pc->auth))
		failtab_clear(vd->failures);
	proxy_conf_ref(pc);
	if (vd->conf != NULL)
		proxy_conf_unref(vd->conf);
	vd->conf = pc;
}

/* Count one decision, by where it came from. */
static void
validator_count(struct validator *vd, enum auth_result r, int bridge)
{
	struct stats_auth_row	*row;

	switch (r) {
	case AUTH_VALID:
		row = &vd->px->stats.st_auth[STATS_AUTH_VALID];
		break;
	case AUTH_INVALID:
		row = &vd->px->stats.st_auth[STATS_AUTH_INVALID];
		break;
	case AUTH_THROTTLED:
		row = &vd->px->stats.st_auth[STATS_AUTH_THROTTLED];
		break;
	default:
		row = &vd->px->stats.st_auth[STATS_AUTH_UNAVAILABLE];
		break;
	}
	if (bridge)
		row->sa_bridge++;
	else
		row->sa_cache++;
}

/*
 * Refused without asking the bridge: the address reached failures.limit
 * here, or the parent said it did in the whole daemon.
 */
static int
validator_throttled(struct validator *vd, const char *addr)
{
	return (failtab_count(vd->failures, addr, ev_now(vd->px->loop),
	    NULL) >= vd->conf->auth.ac_fail_limit);
}

uint32_t
validator_retry_after(struct validator *vd, const char *addr)
{
	double		 end, left;
	uint32_t	 secs;

	if (failtab_count(vd->failures, addr, ev_now(vd->px->loop),
	    &end) == 0)
		return (1);
	/* Rounded up: a client that waits this long is let in again. */
	left = end - ev_now(vd->px->loop);
	secs = (uint32_t)left;
	if ((double)secs < left)
		secs++;
	return (secs > 0 ? secs : 1);
}

/*
 * Counted here, and reported to the parent, which counts for the whole
 * daemon and tells every worker when the address reaches the limit.
 * An address refused here already is not reported again: every failure
 * counted here was, so the parent knows it is at the limit.  The report
 * is written before the client's answer, which leaves from the loop:
 * the parent hears of it before the client can try again.
 */
void
validator_failed(struct validator *vd, const char *addr)
{
	struct auth_failed	 af;

	if (vd->conf == NULL || !vd->conf->auth.ac_validate ||
	    validator_throttled(vd, addr))
		return;
	memset(&af, 0, sizeof(af));
	if (strlcpy(af.af_addr, addr, sizeof(af.af_addr)) >=
	    sizeof(af.af_addr)) {
		log_warnx("%s: address too long: %s", __func__, addr);
		return;
	}
	af.af_window = vd->conf->auth.ac_fail_window;
	(void)failtab_add(vd->failures, addr, ev_now(vd->px->loop),
	    session_ms(af.af_window), NULL);
	imsgev_compose(&vd->px->parent, IMSG_AUTH_FAILED, 0, -1, &af,
	    sizeof(af));
	imsgev_flush(&vd->px->parent);
}

/* IMSG_AUTH_THROTTLED: the parent counted enough for the address. */
int
validator_dispatch(struct validator *vd, struct imsg *imsg)
{
	struct auth_throttled	 at;
	ev_tstamp		 now = ev_now(vd->px->loop);

	if (imsg_get_data(imsg, &at, sizeof(at)) == -1 ||
	    memchr(at.at_addr, '\0', sizeof(at.at_addr)) == NULL ||
	    at.at_addr[0] == '\0' || at.at_count == 0 ||
	    at.at_remaining == 0 || at.at_remaining > AIB_WINDOW_MAX)
		return (-1);
	failtab_raise(vd->failures, at.at_addr, now, at.at_count,
	    now + session_ms(at.at_remaining));
	return (0);
}

/* A resolved entry joins the cache, evicting the least recently used. */
static void
ventry_resolved(struct ventry *e, enum ventry_state st, const char *user)
{
	struct validator	*vd = e->vd;
	struct ventry		*old;

	e->st = st;
	e->expires = ev_now(vd->px->loop) + session_ms(st == V_VALID ?
	    vd->conf->auth.ac_ttl : vd->conf->auth.ac_negative_ttl);
	(void)strlcpy(e->user, user, sizeof(e->user));
	TAILQ_INSERT_HEAD(&vd->lru, e, lru);
	vd->nresolved++;
	while (vd->nresolved > vd->conf->auth.ac_max_entries &&
	    (old = TAILQ_LAST(&vd->lru, ventry_lru)) != NULL && old != e)
		ventry_free(old);
}

/* The bridge answered (or could not): every waiter learns it. */
static void
ventry_answered(void *arg, enum auth_result r, const char *user)
{
	struct ventry		*e = arg;
	struct validator	*vd = e->vd;
	struct validate_waiter	*w;
	struct waiter_list	 waiters;

	e->check = NULL;
	stats_latency(&vd->px->stats.st_auth_latency,
	    ev_now(vd->px->loop) - e->asked);
	TAILQ_INIT(&waiters);
	TAILQ_CONCAT(&waiters, &e->waiters, entry);
	if (r == AUTH_VALID || r == AUTH_INVALID)
		ventry_resolved(e, r == AUTH_VALID ? V_VALID : V_INVALID,
		    user);
	else
		ventry_free(e);	/* not an answer: ask again next time */
	/* A waiter's callback may cancel others: take each off first. */
	while ((w = TAILQ_FIRST(&waiters)) != NULL) {
		TAILQ_REMOVE(&waiters, w, entry);
		validator_count(vd, r, w->first);
		if (r == AUTH_INVALID)
			validator_failed(vd, w->addr);
		w->cb(w->arg, r, user);
		free(w);
	}
}

void
validator_cancel(struct validate_waiter *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(&w->e->waiters, w, entry);
	/* The check goes on: its answer is cached for the next client. */
	free(w);
}

static enum auth_result
validator_cached(struct validator *vd, struct ventry *e, const char *addr,
    char *user, size_t ulen)
{
	/* Most recently used first. */
	TAILQ_REMOVE(&vd->lru, e, lru);
	TAILQ_INSERT_HEAD(&vd->lru, e, lru);
	if (e->st == V_VALID) {
		(void)strlcpy(user, e->user, ulen);
		validator_count(vd, AUTH_VALID, 0);
		return (AUTH_VALID);
	}
	validator_count(vd, AUTH_INVALID, 0);
	validator_failed(vd, addr);
	return (AUTH_INVALID);
}

static struct validate_waiter *
validator_wait(struct ventry *e, const char *addr, validate_cb cb,
    void *arg, int first)
{
	struct validate_waiter	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return (NULL);
	w->e = e;
	w->cb = cb;
	w->arg = arg;
	w->first = first;
	(void)strlcpy(w->addr, addr, sizeof(w->addr));
	TAILQ_INSERT_TAIL(&e->waiters, w, entry);
	return (w);
}

/* A token not in the cache: one request to the bridge, waited on. */
static enum auth_result
validator_ask(struct validator *vd, const uint8_t *hash, const char *addr,
    const char *token, validate_cb cb, void *arg,
    struct validate_waiter **wp)
{
	struct ventry	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		goto unavailable;
	e->vd = vd;
	memcpy(e->hash, hash, sizeof(e->hash));
	e->st = V_PENDING;
	e->asked = ev_now(vd->px->loop);
	TAILQ_INIT(&e->waiters);
	if ((*wp = validator_wait(e, addr, cb, arg, 1)) == NULL) {
		free(e);
		goto unavailable;
	}
	if ((e->check = vcheck_start(vd->px, vd->conf, token,
	    ventry_answered, e)) == NULL) {
		free(*wp);
		free(e);
		*wp = NULL;
		goto unavailable;
	}
	RB_INSERT(ventry_tree, &vd->entries, e);
	return (AUTH_PENDING);
 unavailable:
	log_warnx("token check: out of memory");
	validator_count(vd, AUTH_UNAVAILABLE, 0);
	return (AUTH_UNAVAILABLE);
}

enum auth_result
validator_check(struct validator *vd, const char *addr, const char *token,
    char *user, size_t ulen, validate_cb cb, void *arg,
    struct validate_waiter **wp)
{
	struct ventry	 key, *e;

	*wp = NULL;
	if (validator_throttled(vd, addr)) {
		validator_count(vd, AUTH_THROTTLED, 0);
		return (AUTH_THROTTLED);
	}
	SHA256((const unsigned char *)token, strlen(token), key.hash);
	if ((e = RB_FIND(ventry_tree, &vd->entries, &key)) != NULL &&
	    e->st != V_PENDING && ev_now(vd->px->loop) >= e->expires) {
		ventry_free(e);
		e = NULL;
	}
	if (e == NULL)
		return (validator_ask(vd, key.hash, addr, token, cb, arg, wp));
	explicit_bzero(&key, sizeof(key));
	if (e->st != V_PENDING)
		return (validator_cached(vd, e, addr, user, ulen));
	if ((*wp = validator_wait(e, addr, cb, arg, 0)) == NULL) {
		validator_count(vd, AUTH_UNAVAILABLE, 0);
		return (AUTH_UNAVAILABLE);
	}
	return (AUTH_PENDING);
}
