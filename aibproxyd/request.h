/*
 * The first request on a client connection (see request.c).
 */
#ifndef AIB_REQUEST_H
#define AIB_REQUEST_H

struct plistener;
struct session;

/*
 * A new session from this listener: the PROXY protocol header if the
 * listener asks for one, TLS, then the head, then dispatch.
 */
void	 request_start(struct session *, struct plistener *);
/* The same once any PROXY header is read: TLS, the head, dispatch. */
void	 request_accepted(struct session *, struct plistener *);

#endif /* AIB_REQUEST_H */
