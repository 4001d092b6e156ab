/*
 * Token validation with the bridge (auth.validate): before a provider
 * CONNECT is intercepted, or a tunnel opened under auth.tunnels: token,
 * the token is checked with GET <bridge.url><path> and the header
 * Coder-Session-Token, the way the bridge itself authenticates it.
 *
 * Answers are cached by the SHA-256 of the token (never the token):
 * valid ones for ttl, refusals for negative_ttl, at most max_entries,
 * the least recently used evicted first.  Checks of one new token made
 * at once share one request.  Failed credentials are counted per client
 * address, here and by the parent for the whole daemon (IMSG_AUTH_FAILED),
 * and an address past failures.limit in failures.window, here or in the
 * parent's count (IMSG_AUTH_THROTTLED), is refused without asking the
 * bridge.
 */
#ifndef AIB_VALIDATE_H
#define AIB_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

struct imsg;
struct proxy;
struct proxy_conf;
struct validator;
struct validate_waiter;

/* The result of a pending check; user is the token's owner if valid. */
typedef void	(*validate_cb)(void *, enum auth_result, const char *);

struct validator *validator_new(struct proxy *);
/* A new configuration; the cache is kept unless the bridge changed. */
void		 validator_configure(struct validator *, struct proxy_conf *);
/*
 * Check token for a client at addr.  A decision known now (valid from
 * the cache, invalid, throttled, unavailable) is returned, with the user
 * name copied out when valid; AUTH_PENDING means cb runs later, never
 * before this returns, unless *w is cancelled first.
 */
enum auth_result validator_check(struct validator *, const char *,
		    const char *, char *, size_t, validate_cb, void *,
		    struct validate_waiter **);
void		 validator_cancel(struct validate_waiter *);
/*
 * For an address refused AUTH_THROTTLED: the seconds until its window
 * ends, by our count or the parent's word, rounded up and at least 1
 * (the 429's Retry-After).
 */
uint32_t	 validator_retry_after(struct validator *, const char *);
/* Credentials a client sent that were malformed: count the failure. */
void		 validator_failed(struct validator *, const char *);
/* IMSG_AUTH_THROTTLED from the parent; -1 if malformed. */
int		 validator_dispatch(struct validator *, struct imsg *);

#endif /* AIB_VALIDATE_H */
