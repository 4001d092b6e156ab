/*
 * Clients behind a load balancer: the PROXY protocol header that
 * opens each connection on a listener with proxy_protocol (see
 * proxyhdr.c).
 */
#ifndef AIB_PROXYHDR_H
#define AIB_PROXYHDR_H

#include <sys/socket.h>

struct plistener;
struct proxy;
struct session;

/*
 * May this peer connect to the listener at all?  With proxy_from set,
 * only the balancers it names may; 0 counted and logged, 1 yes.
 */
int	 proxyhdr_allowed(struct proxy *, const struct plistener *,
	    const struct sockaddr_storage *);
/*
 * Read the header, then go on with request_accepted(); a session
 * without one is closed.  May free the session.
 */
void	 proxyhdr_start(struct session *, struct plistener *);

#endif /* AIB_PROXYHDR_H */
