/*
 * The first request on a client connection (see request.c).
 */
#ifndef AIB_REQUEST_H
#define AIB_REQUEST_H

struct plistener;
struct session;

/* A new session from this listener: TLS, then the head, then dispatch. */
void	 request_start(struct session *, struct plistener *);

#endif /* AIB_REQUEST_H */
