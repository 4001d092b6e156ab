/*
 * A worker's stop: not ready first, then the drain (see stop.c).
 */
#ifndef AIB_STOP_H
#define AIB_STOP_H

struct proxy;

/* IMSG_CTL_SHUTDOWN: begin the stop; a second call does nothing. */
void	 worker_stop(struct proxy *);

#endif /* AIB_STOP_H */
