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

#include "log.h"
#include "session.h"
#include "validate.h"
#include "vcheck.h"

#define THROTTLE_MAX	65536	/* client addresses remembered */

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

struct failures {
	RB_ENTRY(failures)	 tree;
	TAILQ_ENTRY(failures)	 age;
	char			 addr[64];
	ev_tstamp		 start;		/* of the window */
	uint32_t		 count;
};

static int
ventry_cmp(struct ventry *a, struct ventry *b)
{
	return (memcmp(a->hash, b->hash, sizeof(a->hash)));
}

static int
failures_cmp(struct failures *a, struct failures *b)
{
	return (strcmp(a->addr, b->addr));
}

RB_HEAD(ventry_tree, ventry);
RB_PROTOTYPE_STATIC(ventry_tree, ventry, tree, ventry_cmp)
RB_GENERATE_STATIC(ventry_tree, ventry, tree, ventry_cmp)
RB_HEAD(failures_tree, failures);
RB_PROTOTYPE_STATIC(failures_tree, failures, tree, failures_cmp)
RB_GENERATE_STATIC(failures_tree, failures, tree, failures_cmp)

struct validator {
	struct proxy		*px;
	struct proxy_conf	*conf;
	struct ventry_tree	 entries;
	TAILQ_HEAD(ventry_lru, ventry) lru;	/* most recent first */
	uint32_t		 nresolved;
	struct failures_tree	 failures;
	TAILQ_HEAD(, failures)	 ages;		/* oldest window first */
	uint32_t		 nfailures;
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
	RB_INIT(&vd->failures);
	TAILQ_INIT(&vd->ages);
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

static struct failures *
failures_get(struct validator *vd, const char *addr, int create)
{
	struct failures	 key, *f;
	ev_tstamp	 now = ev_now(vd->px->loop);

	(void)strlcpy(key.addr, addr, sizeof(key.addr));
	if ((f = RB_FIND(failures_tree, &vd->failures, &key)) != NULL &&
	    now - f->start >= session_ms(vd->conf->auth.ac_fail_window)) {
		/* The window is over: start afresh. */
		f->start = now;
		f->count = 0;
		TAILQ_REMOVE(&vd->ages, f, age);
		TAILQ_INSERT_TAIL(&vd->ages, f, age);
	}
	if (f != NULL || !create)
		return (f);
	if (vd->nfailures >= THROTTLE_MAX) {
		f = TAILQ_FIRST(&vd->ages);
		TAILQ_REMOVE(&vd->ages, f, age);
		RB_REMOVE(failures_tree, &vd->failures, f);
		vd->nfailures--;
	} else if ((f = calloc(1, sizeof(*f))) == NULL)
		return (NULL);
	memset(f, 0, sizeof(*f));
	(void)strlcpy(f->addr, addr, sizeof(f->addr));
	f->start = now;
	RB_INSERT(failures_tree, &vd->failures, f);
	TAILQ_INSERT_TAIL(&vd->ages, f, age);
	vd->nfailures++;
	return (f);
}

void
validator_failed(struct validator *vd, const char *addr)
{
	struct failures	*f;

	if (vd->conf == NULL || !vd->conf->auth.ac_validate)
		return;
	if ((f = failures_get(vd, addr, 1)) != NULL)
		f->count++;
}

static int
validator_throttled(struct validator *vd, const char *addr)
{
	struct failures	*f;

	return ((f = failures_get(vd, addr, 0)) != NULL &&
	    f->count >= vd->conf->auth.ac_fail_limit);
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
