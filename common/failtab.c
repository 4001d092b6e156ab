/*
 * The failures table (see failtab.h): a tree by address for the look-up,
 * and a list by the age of each window for eviction, as the worker's
 * token cache keeps its entries.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "failtab.h"

struct failent {
	RB_ENTRY(failent)	 tree;
	TAILQ_ENTRY(failent)	 age;
	char			 addr[AIB_ADDR_MAX];
	double			 end;		/* of the window */
	uint32_t		 count;
};

static int
failent_cmp(struct failent *a, struct failent *b)
{
	return (strcmp(a->addr, b->addr));
}

RB_HEAD(failent_tree, failent);
RB_PROTOTYPE_STATIC(failent_tree, failent, tree, failent_cmp)
RB_GENERATE_STATIC(failent_tree, failent, tree, failent_cmp)

struct failtab {
	struct failent_tree	 tree;
	TAILQ_HEAD(, failent)	 ages;		/* opened longest ago first */
	uint32_t		 n;
	uint32_t		 max;
};

struct failtab *
failtab_new(uint32_t max)
{
	struct failtab	*ft;

	if (max == 0 || (ft = calloc(1, sizeof(*ft))) == NULL)
		return (NULL);
	RB_INIT(&ft->tree);
	TAILQ_INIT(&ft->ages);
	ft->max = max;
	return (ft);
}

static void
failtab_remove(struct failtab *ft, struct failent *e)
{
	RB_REMOVE(failent_tree, &ft->tree, e);
	TAILQ_REMOVE(&ft->ages, e, age);
	ft->n--;
}

void
failtab_clear(struct failtab *ft)
{
	struct failent	*e;

	while ((e = TAILQ_FIRST(&ft->ages)) != NULL) {
		failtab_remove(ft, e);
		free(e);
	}
}

void
failtab_free(struct failtab *ft)
{
	if (ft == NULL)
		return;
	failtab_clear(ft);
	free(ft);
}

uint32_t
failtab_size(const struct failtab *ft)
{
	return (ft->n);
}

static struct failent *
failtab_find(struct failtab *ft, const char *addr)
{
	struct failent	 key;

	if (strlcpy(key.addr, addr, sizeof(key.addr)) >= sizeof(key.addr))
		return (NULL);
	return (RB_FIND(failent_tree, &ft->tree, &key));
}

/* A window opens (or its end moves): the entry is now the youngest. */
static void
failtab_open(struct failtab *ft, struct failent *e, uint32_t count,
    double end)
{
	e->count = count;
	e->end = end;
	TAILQ_REMOVE(&ft->ages, e, age);
	TAILQ_INSERT_TAIL(&ft->ages, e, age);
}

/*
 * A new address.  Windows that ended go first, from the oldest; then,
 * when the table is full, the oldest open one.  NULL: no memory, or an
 * address that cannot be a key.
 */
static struct failent *
failtab_insert(struct failtab *ft, const char *addr, double now)
{
	struct failent	*e;

	if (strlen(addr) >= sizeof(e->addr))
		return (NULL);
	while ((e = TAILQ_FIRST(&ft->ages)) != NULL && now >= e->end) {
		failtab_remove(ft, e);
		free(e);
	}
	if (ft->n >= ft->max) {
		e = TAILQ_FIRST(&ft->ages);
		failtab_remove(ft, e);
	} else if ((e = malloc(sizeof(*e))) == NULL)
		return (NULL);
	memset(e, 0, sizeof(*e));
	(void)strlcpy(e->addr, addr, sizeof(e->addr));
	RB_INSERT(failent_tree, &ft->tree, e);
	TAILQ_INSERT_TAIL(&ft->ages, e, age);
	ft->n++;
	return (e);
}

uint32_t
failtab_count(struct failtab *ft, const char *addr, double now, double *end)
{
	struct failent	*e;

	if ((e = failtab_find(ft, addr)) == NULL || now >= e->end)
		return (0);
	if (end != NULL)
		*end = e->end;
	return (e->count);
}

uint32_t
failtab_add(struct failtab *ft, const char *addr, double now, double window,
    double *end)
{
	struct failent	*e;

	if ((e = failtab_find(ft, addr)) == NULL &&
	    (e = failtab_insert(ft, addr, now)) == NULL)
		return (0);
	if (now >= e->end)
		failtab_open(ft, e, 0, now + window);
	if (e->count < UINT32_MAX)
		e->count++;
	if (end != NULL)
		*end = e->end;
	return (e->count);
}

void
failtab_raise(struct failtab *ft, const char *addr, double now,
    uint32_t count, double end)
{
	struct failent	*e;

	if (end <= now || count == 0)
		return;
	if ((e = failtab_find(ft, addr)) == NULL &&
	    (e = failtab_insert(ft, addr, now)) == NULL)
		return;
	if (now < e->end && e->count > count)
		count = e->count;
	failtab_open(ft, e, count, end);
}

int
failtab_newrules(const struct auth_config *old, const struct auth_config *new)
{
	return (old->ac_validate != new->ac_validate ||
	    old->ac_fail_limit != new->ac_fail_limit ||
	    old->ac_fail_window != new->ac_fail_window);
}
