/*
 * Pipes for splice(2), lent to a tunnel direction only while bytes are
 * in flight and returned once drained: an idle tunnel holds none, and
 * the kernel's per-user pipe budget goes to the busy ones.
 */
#ifndef AIB_PIPES_H
#define AIB_PIPES_H

#include <sys/queue.h>
#include <stddef.h>

struct splice_pipe {
	TAILQ_ENTRY(splice_pipe) entry;
	int		 fd[2];
	size_t		 len;		/* bytes in the pipe */
	int		 full;		/* it took no more: wait for the reader */
};

struct pipe_pool;

struct pipe_pool	*pipe_pool_new(void);
/* An empty pipe, or NULL (out of descriptors: the caller copies). */
struct splice_pipe	*pipe_get(struct pipe_pool *);
/* Back to the pool if empty; a pipe still holding bytes is closed. */
void			 pipe_put(struct pipe_pool *, struct splice_pipe *);

#endif /* AIB_PIPES_H */
