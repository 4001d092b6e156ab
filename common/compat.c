#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

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

/*
 * glibc gives the top of its heap back to the kernel (brk(2)) as soon
 * as more than M_TRIM_THRESHOLD (128 KiB) of it is free, and the next
 * allocation takes it back, page faults included: a worker whose TLS
 * sessions free their record buffers after each request does both for
 * every request once its heap is large (mallopt(3)).  Keeping up to
 * keep bytes free at the top ends that; OpenBSD's malloc(3) caches
 * freed pages by itself.
 */
int
compat_malloc_keep(size_t keep)
{
#ifdef __GLIBC__
	if (keep > INT_MAX || mallopt(M_TRIM_THRESHOLD, (int)keep) == 0)
		return (-1);
#endif
	return (0);
}

/*
 * glibc's malloc_trim(3) gives back every whole page inside a free
 * chunk (madvise(2) MADV_DONTNEED), wherever it lies, and the top of
 * the heap above pad; free(3) only ever gives back the top.  It walks
 * every free chunk to do so.  Elsewhere nothing is done: OpenBSD's
 * malloc(3) unmaps freed pages beyond its small cache by itself.
 */
int
compat_malloc_trim(size_t pad)
{
#ifdef __GLIBC__
	return (malloc_trim(pad));
#else
	return (-1);
#endif
}

#if defined(__linux__) && defined(SO_REUSEPORT)
int
compat_reuseport_spreads(void)
{
	return (1);
}

int
compat_reuseport(int fd)
{
	int	 on = 1;

	return (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)));
}
#else
int
compat_reuseport_spreads(void)
{
	return (0);
}

int
compat_reuseport(int fd)
{
	errno = ENOPROTOOPT;
	return (-1);
}
#endif

#ifdef TCP_DEFER_ACCEPT
int
compat_defer_accepts(void)
{
	return (1);
}

/*
 * One second: the kernel keeps a client that has not spoken in its
 * SYN queue, resends the SYN-ACK once after a second and then queues
 * the connection at the next ACK, bytes or not (tcp(7); the seconds
 * count SYN-ACK retransmissions).  A silent client is so accepted
 * after about a second, and timeouts.header takes it from there.
 */
int
compat_defer_accept(int fd)
{
	int	 secs = 1;

	return (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs,
	    sizeof(secs)));
}
#else
int
compat_defer_accepts(void)
{
	return (0);
}

int
compat_defer_accept(int fd)
{
	errno = ENOPROTOOPT;
	return (-1);
}
#endif

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

#ifdef __linux__
/*
 * Linux: proc(5).  Counting the entries of /proc/PID/fd needs only
 * read and search on the directory, which root has (it is the child's
 * or root's, mode 0500), not ptrace access; statm and limits are
 * readable by all (prlimit(2) would need CAP_SYS_RESOURCE, which a
 * container or a service unit may not give).
 */
static int64_t
compat_count_fds(pid_t pid)
{
	char		 path[64];
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;
	int64_t		 n = 0;

	(void)snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	/*
	 * Since Linux 6.2 the directory's size is the number of open
	 * descriptors: one stat(2) in place of reading tens of thousands
	 * of entries at every scrape.  Older kernels say 0.
	 */
	if (stat(path, &st) == 0 && st.st_size > 0)
		return (st.st_size);
	if ((d = opendir(path)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	/* Our own count holds the directory being read. */
	return (pid == getpid() && n > 0 ? n - 1 : n);
}

/* The resident size in an open statm: "size resident shared ...". */
static int64_t
compat_statm_rss(int fd)
{
	char		 text[256];
	ssize_t		 n;
	long long	 size, resident;
	long		 page = sysconf(_SC_PAGESIZE);

	/* Read from the start, each read of it is made afresh (proc(5)). */
	if (page <= 0 || lseek(fd, 0, SEEK_SET) == -1 ||
	    (n = read(fd, text, sizeof(text) - 1)) <= 0)
		return (-1);
	text[n] = '\0';
	if (sscanf(text, "%lld %lld", &size, &resident) != 2 ||
	    resident < 0 || resident > INT64_MAX / page)
		return (-1);
	return (resident * page);
}

static int64_t
compat_rss(pid_t pid)
{
	char		 path[64];
	int64_t		 rss;
	int		 fd;

	(void)snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	rss = compat_statm_rss(fd);
	close(fd);
	return (rss);
}

/* /proc/self/statm, kept open from before a chroot hides /proc. */
static int	 compat_self_statm = -1;

int
compat_self_rss_open(void)
{
	if (compat_self_statm == -1)
		compat_self_statm = open("/proc/self/statm",
		    O_RDONLY | O_CLOEXEC);
	return (compat_self_statm == -1 ? -1 : 0);
}

int64_t
compat_self_rss(void)
{
	if (compat_self_statm == -1)
		return (-1);
	return (compat_statm_rss(compat_self_statm));
}

/* The soft limit of "Max open files  1024  524288  files". */
static int64_t
compat_max_fds(pid_t pid)
{
	char		 path[64], line[256];
	FILE		*f;
	long long	 soft = -1;

	(void)snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Max open files ", 15) == 0) {
			if (sscanf(line + 15, "%lld", &soft) != 1 || soft < 0)
				soft = -1;	/* "unlimited" */
			break;
		}
	fclose(f);
	return (soft);
}

void
compat_procinfo(pid_t pid, struct compat_procinfo *pi)
{
	pi->open_fds = compat_count_fds(pid);
	pi->max_fds = compat_max_fds(pid);
	pi->rss_bytes = compat_rss(pid);
}
#else
/*
 * Not written for other systems yet.  OpenBSD would take the resident
 * size from sysctl(2) KERN_PROC_PID (kinfo_proc p_vm_rssize, in
 * pages) and count descriptors with KERN_FILE_BYPID (root only, as
 * fstat(1) does); another process's limit cannot be read there, but
 * every child inherits the parent's own (getrlimit(2)).
 */
void
compat_procinfo(pid_t pid, struct compat_procinfo *pi)
{
	pi->open_fds = pi->max_fds = pi->rss_bytes = -1;
}

int
compat_self_rss_open(void)
{
	errno = ENOSYS;
	return (-1);
}

int64_t
compat_self_rss(void)
{
	return (-1);
}
#endif
