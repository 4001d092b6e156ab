/*
 * The worker's pool of splice pipes (see pipes.h).
 */
#include <stdlib.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "pipes.h"

#define PIPE_POOL_MAX	64

struct pipe_pool {
	TAILQ_HEAD(, splice_pipe) free;
	int			 nfree;
};

struct pipe_pool *
pipe_pool_new(void)
{
	struct pipe_pool	*pp;

	if ((pp = calloc(1, sizeof(*pp))) == NULL)
		fatal("%s", __func__);
	TAILQ_INIT(&pp->free);
	return (pp);
}

struct splice_pipe *
pipe_get(struct pipe_pool *pp)
{
	struct splice_pipe	*p;

	if ((p = TAILQ_FIRST(&pp->free)) != NULL) {
		TAILQ_REMOVE(&pp->free, p, entry);
		pp->nfree--;
		return (p);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	if (compat_pipe(p->fd) == -1) {
		free(p);
		return (NULL);
	}
	return (p);
}

static void
pipe_close(struct splice_pipe *p)
{
	close(p->fd[0]);
	close(p->fd[1]);
	free(p);
}

void
pipe_put(struct pipe_pool *pp, struct splice_pipe *p)
{
	if (p->len != 0 || pp->nfree >= PIPE_POOL_MAX) {
		pipe_close(p);
		return;
	}
	p->full = 0;
	TAILQ_INSERT_HEAD(&pp->free, p, entry);
	pp->nfree++;
}
