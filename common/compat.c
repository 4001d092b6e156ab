#include <sys/types.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>

#include "compat.h"

/* Larger pipes move more per splice; the kernel may give less. */
#define COMPAT_PIPE_SIZE	(256 * 1024)

int
compat_nodump(void)
{
	struct rlimit	rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		return (-1);
#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return (-1);
#endif
	return (0);
}

int
compat_noproc(void)
{
	struct rlimit	rl = { 0, 0 };

	return (setrlimit(RLIMIT_NPROC, &rl));
}

#ifdef __linux__
int
compat_pipe(int p[2])
{
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		return (-1);
	(void)fcntl(p[0], F_SETPIPE_SZ, COMPAT_PIPE_SIZE);
	return (0);
}

ssize_t
compat_splice(int from, int to, size_t len)
{
	return (splice(from, NULL, to, NULL, len,
	    SPLICE_F_NONBLOCK | SPLICE_F_MOVE));
}
#else
int
compat_pipe(int p[2])
{
	errno = ENOSYS;
	return (-1);
}

ssize_t
compat_splice(int from, int to, size_t len)
{
	errno = ENOSYS;
	return (-1);
}
#endif
