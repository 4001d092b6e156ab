#ifndef AIB_AIBPROXYD_H
#define AIB_AIBPROXYD_H

#include "compat.h"

/* What the parent tells every child on its command line. */
struct child_opts {
	int		 debug;		/* -d: log to stderr */
	int		 verbose;	/* -v count */
	int		 instance;	/* -I */
	const char	*user;		/* -u */
	const char	*root;		/* -r; NULL: no chroot */
};

__dead void	 parent_main(const char *, int, int, int);
__dead void	 proxy_main(const struct child_opts *);
__dead void	 resolver_main(const struct child_opts *);

#endif /* AIB_AIBPROXYD_H */
