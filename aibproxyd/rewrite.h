/*
 * What an intercepted request becomes on its way to the bridge
 * (SPEC 4.2): the target under /api/v2/aibridge/<provider>/, Host, the
 * hop-by-hop headers, the request id and the token rule.
 */
#ifndef AIB_REWRITE_H
#define AIB_REWRITE_H

#include <stddef.h>

#include "buf.h"
#include "http.h"
#include "proto.h"

#define UUID_STR_LEN	37	/* 36 + NUL */

struct rewrite_ctx {
	const struct bridge_config	*bridge;
	const struct provider_config	*provider;
	const char			*host;	/* the CONNECT's, canonical */
	int				 port;	/* the CONNECT's */
	const char			*token;	/* from the proxy credentials */
	const char			*request_id;
};

/*
 * The bridge path for a request target: bc_path + "/api/v2/aibridge/" +
 * provider name + path [+ "?" + query].  Origin-form or absolute-form
 * (whose authority must be the CONNECT's host and port).  Refuses dot
 * segments (also %2e-encoded), encoded slashes and backslashes, %00,
 * bad %-escapes, raw backslashes, fragments, '*' and authority forms.
 * Returns 0, or -1 with *why.
 */
int	 rewrite_target(const struct rewrite_ctx *, const char *, char *,
	    size_t, const char **);

/*
 * Write the whole request head for the bridge into out (request line,
 * headers, blank line).  Returns 0, or -1 with *why: an invalid target
 * (answer 400) or a head that does not fit out (answer 431).
 */
int	 rewrite_request(const struct rewrite_ctx *, const struct http_head *,
	    struct buf *, int *, const char **);

/* A random (version 4) UUID, lower-case, for request ids. */
void	 uuid4(char [UUID_STR_LEN]);

#endif /* AIB_REWRITE_H */
