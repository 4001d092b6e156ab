/*
 * A bounded table of failures per client address, each counted in a
 * window that opens at the address's first failure and lasts a fixed
 * time (auth.failures in aibproxyd.yaml(5)).  The parent keeps the
 * daemon-wide count in one, each worker its own share and what the
 * parent told it in another.
 *
 * At most max addresses are remembered: a new one evicts the address
 * whose window opened longest ago.  Time is passed in, in seconds on
 * one clock, so that the table is a pure function of its calls.
 */
#ifndef AIB_FAILTAB_H
#define AIB_FAILTAB_H

#include <stdint.h>

#include "proto.h"

/* Addresses remembered by the parent and by each worker. */
#define FAILTAB_MAX	65536

struct failtab;

struct failtab	*failtab_new(uint32_t);
void		 failtab_free(struct failtab *);
/* Forget every address (failures.limit or window changed). */
void		 failtab_clear(struct failtab *);
uint32_t	 failtab_size(const struct failtab *);
/*
 * The failures of addr in its open window, 0 if none is open; *end is
 * set to the window's end when the count is not 0 and end is not NULL.
 */
uint32_t	 failtab_count(struct failtab *, const char *, double,
		    double *);
/*
 * One more failure of addr at now, in a window of window seconds opened
 * now if none is open.  Returns the count in the window, with *end as
 * above, or 0 if the address could not be remembered (no memory).
 */
uint32_t	 failtab_add(struct failtab *, const char *, double, double,
		    double *);
/*
 * Another process's word: addr has at least count failures in a window
 * that ends at end.  Its window becomes that one.
 */
void		 failtab_raise(struct failtab *, const char *, double,
		    uint32_t, double);
/*
 * Whether counts made under the auth.failures rules of old no longer
 * hold under those of new (limit, window or validate changed).
 */
int		 failtab_newrules(const struct auth_config *,
		    const struct auth_config *);

#endif /* AIB_FAILTAB_H */
