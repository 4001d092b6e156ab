/*
 * Admission of a CONNECT or forwarded request that gave credentials
 * (see admit.c).
 */
#ifndef AIB_ADMIT_H
#define AIB_ADMIT_H

#include <stddef.h>

#include "http.h"
#include "proto.h"
#include "tunnel.h"

struct session;

/*
 * The token from Proxy-Authorization (its id noted in the session), or
 * 407 answered, counted as missing or invalid, and -1.
 */
int	 admit_credentials(struct session *, const struct http_head *, char *,
	    size_t);
/*
 * Take the session over: an interception of pv, else a tunnel (fw for
 * a forwarded request, else a CONNECT).  token NULL: none was needed.
 * With auth.validate the bridge is asked first.
 */
void	 admit(struct session *, const char *, const struct provider_config *,
	    struct tunnel_forward *);

#endif /* AIB_ADMIT_H */
