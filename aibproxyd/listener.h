/*
 * Accepting clients on the configured listeners (see listener.c).
 */
#ifndef AIB_LISTENER_H
#define AIB_LISTENER_H

struct proxy;
struct proxy_conf;

/* Start or stop accepting on every listener of a configuration. */
void	 listener_enable(struct proxy *, struct proxy_conf *, int);
void	 listener_retire(struct proxy *, struct proxy_conf *);

#endif /* AIB_LISTENER_H */
