/*
 * One token check with the bridge: GET <bridge.url><auth.validate.path>
 * with Coder-Session-Token on a pooled bridge connection, and what the
 * answer means: 200 with a JSON "username" (valid), 401 or 403
 * (refused), anything else or nothing within timeouts.connect (the
 * bridge cannot answer).
 */
#ifndef AIB_VCHECK_H
#define AIB_VCHECK_H

#include <stddef.h>

#include "auth.h"

struct proxy;
struct proxy_conf;
struct vcheck;

/* The answer: AUTH_VALID with the user, AUTH_INVALID or UNAVAILABLE. */
typedef void	(*vcheck_cb)(void *, enum auth_result, const char *);

/*
 * Start a check; the callback runs from the loop, never before this
 * returns, unless the check is cancelled first.  NULL: out of memory.
 */
struct vcheck	*vcheck_start(struct proxy *, struct proxy_conf *,
		    const char *, vcheck_cb, void *);
void		 vcheck_cancel(struct vcheck *);
/* The username field of a users/me answer, or -1. */
int		 vcheck_username(const char *, size_t, char *, size_t);

#endif /* AIB_VCHECK_H */
