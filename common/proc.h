/*
 * Starting children and dropping privileges.  Every child is fork+exec'd
 * so it starts from a clean memory image, and drops privileges in one
 * function, in one order.
 */
#ifndef AIB_PROC_H
#define AIB_PROC_H

#include <sys/types.h>
#include <sys/resource.h>

#include "compat.h"

/*
 * fork+exec path with argv.  Descriptor chanfd becomes AIB_PARENT_FD (3)
 * in the child; extra, if not -1, becomes 4.  Every other descriptor
 * above 2 is closed in the child.  The environment is reduced to what
 * a child needs.  Returns the pid, or -1 with errno set.
 */
pid_t	 proc_exec(const char *, char *const [], int, int);
/* The same, and the child keeps the variables named in the NULL-ended list. */
pid_t	 proc_exec_env(const char *, char *const [], int, int,
	    const char *const *);

/*
 * Drop to user, chrooted into root (NULL: no chroot), in the order
 * chroot, chdir("/"), setgroups, setresgid, setresuid, then check that
 * root cannot be regained.  fatal()s on any failure: it runs only at
 * start-up.
 */
void	 proc_privdrop(const char *, const char *);

/*
 * Look up a user for privdrop; on failure fills err (for a start-up
 * message) and returns -1.
 */
int	 proc_checkuser(const char *, char *, size_t);
/* Is path a directory owned by root, not writable by others? */
int	 proc_checkchroot(const char *, char *, size_t);

/*
 * A wait(2) status in words for the log: "exited with status 1",
 * "killed by signal SIGKILL".
 */
void	 proc_status(int, char *, size_t);

/*
 * RLIMIT_NOFILE (getrlimit(2)): the hard limit in *cur, the soft limit
 * found in *was.  With raise, the soft limit is raised to the hard one
 * first, for this process and the children it starts after.  -1 with
 * errno set if a call failed.
 */
int	 proc_nofile(int, rlim_t *, rlim_t *);

#endif /* AIB_PROC_H */
