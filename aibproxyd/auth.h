/*
 * Proxy credentials.  The token is the password of
 * Proxy-Authorization: Basic base64(user:token); the user is ignored.
 */
#ifndef AIB_AUTH_H
#define AIB_AUTH_H

#include <stddef.h>

#define AUTH_TOKEN_MAX	1024
#define AUTH_USER_MAX	64	/* a token's owner, as the bridge names it */

/* What is known of a token (auth.validate; see validate.h). */
enum auth_result {
	AUTH_VALID,
	AUTH_INVALID,		/* the bridge refused the token */
	AUTH_UNAVAILABLE,	/* the bridge could not answer */
	AUTH_THROTTLED,		/* too many failures from this address */
	AUTH_PENDING		/* asked; the callback follows */
};

/*
 * Take the token from a Proxy-Authorization value.  Exactly two fields,
 * scheme "Basic" (any case), standard padded base64, a ':' in the
 * decoded text, a non-empty token without control bytes.  Returns 0, or
 * -1 (token untouched).  Decoded bytes are wiped before returning.
 */
int	 auth_proxy_token(const char *, char *, size_t);
/* The token's non-secret id, the text before the first '-' ("" if none). */
void	 auth_token_id(const char *, char *, size_t);

#endif /* AIB_AUTH_H */
