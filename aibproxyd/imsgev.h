/*
 * An imsg channel driven by a libev watcher: reads dispatch complete
 * messages, writes are re-armed while anything is queued.
 */
#ifndef AIB_IMSGEV_H
#define AIB_IMSGEV_H

#include <ev.h>

#include "imsg.h"

struct imsgev;
/* Returns -1 for a message type the peer must not send. */
typedef int	(*imsgev_dispatch)(struct imsgev *, struct imsg *);
/* The peer closed the channel or broke the protocol. */
typedef void	(*imsgev_closed)(struct imsgev *, const char *);

struct imsgev {
	struct imsgchan		 chan;
	ev_io			 io;
	struct ev_loop		*loop;
	imsgev_dispatch		 dispatch;
	imsgev_closed		 closed;
	const char		*name;		/* the peer, for messages */
	void			*arg;
	int			 events;
	int			 dead;
};

void	 imsgev_init(struct imsgev *, struct ev_loop *, int, int,
	    const char *, imsgev_dispatch, imsgev_closed, void *);
/* Queue a message; running out of memory here is fatal. */
void	 imsgev_compose(struct imsgev *, uint32_t, uint32_t, int,
	    const void *, size_t);
void	 imsgev_compose2(struct imsgev *, uint32_t, uint32_t, int,
	    const void *, size_t, const void *, size_t);
/*
 * Write what is queued now rather than from the loop, so that it leaves
 * before what the caller writes next elsewhere; what cannot be written
 * now, or fails, is left to the watcher.
 */
void	 imsgev_flush(struct imsgev *);
/* Stop the watcher, free the channel and close its descriptor. */
void	 imsgev_clear(struct imsgev *);

#endif /* AIB_IMSGEV_H */
