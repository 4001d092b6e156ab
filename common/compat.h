/*
 * Portability: everything that differs between Debian (glibc + libbsd)
 * and OpenBSD lives here and in compat.c, so logic files stay free of
 * platform conditionals.
 */
#ifndef AIB_COMPAT_H
#define AIB_COMPAT_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif

#ifndef __unused
#define __unused	__attribute__((__unused__))
#endif

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#ifndef __OpenBSD__
#define pledge(promises, execpromises)	0
#define unveil(path, permissions)	0
#endif

/* glibc's HOST_NAME_MAX is 64; DNS names go up to 253 (+ dot, NUL). */
#define AIB_HOSTNAME_MAX	255

/* Make the calling process undumpable and core-less (signerd). */
int	 compat_nodump(void);
/* Forbid the calling process from ever forking again. */
int	 compat_noproc(void);
/* Keep up to so many bytes of freed heap rather than return them. */
int	 compat_malloc_keep(size_t);
/*
 * Give free heap back to the system, keeping up to pad bytes at its
 * top: 1 if some was given back, 0 if none, -1 where not supported.
 */
int	 compat_malloc_trim(size_t);

/*
 * A listening socket per worker.  Linux spreads new connections evenly
 * over the sockets bound to one address with SO_REUSEPORT, by a hash of
 * each connection's addresses and ports (socket(7)); there
 * compat_reuseport_spreads() is 1 and compat_reuseport() sets the
 * option, before bind(2).  Elsewhere it is 0 and the workers share one
 * socket: OpenBSD's SO_REUSEPORT hands every connection to one of the
 * sockets, not to all in turn.
 */
int	 compat_reuseport_spreads(void);
int	 compat_reuseport(int);

/*
 * Accept only once the client has sent its first bytes (Linux
 * TCP_DEFER_ACCEPT, tcp(7)): every protocol on our listeners has the
 * client speak first, so the worker is woken once per connection, with
 * bytes to read.  compat_defer_accept() sets it on a listening socket,
 * or fails with ENOPROTOOPT where there is no such option;
 * compat_defer_accepts() is 1 where it exists.
 */
int	 compat_defer_accepts(void);
int	 compat_defer_accept(int);


/*
 * Zero-copy relay between two sockets through a pipe (Linux splice(2)).
 * compat_splice() moves up to len bytes, never blocking; it returns -1
 * with ENOSYS where the system has no splice.
 */
int	 compat_pipe(int [2]);
ssize_t	 compat_splice(int, int, size_t);

/*
 * What the parent reads of itself and of each child at a scrape: open
 * descriptors, the descriptor limit (soft RLIMIT_NOFILE) and resident
 * memory in bytes; -1 for what cannot be read.
 */
struct compat_procinfo {
	int64_t		 open_fds;
	int64_t		 max_fds;
	int64_t		 rss_bytes;
};
void	 compat_procinfo(pid_t, struct compat_procinfo *);
/*
 * Our own resident memory in bytes, -1 if unknown.  A process that
 * will chroot calls compat_self_rss_open() before, which keeps what
 * compat_self_rss() reads open (-1 where there is none).
 */
int	 compat_self_rss_open(void);
int64_t	 compat_self_rss(void);

#endif /* AIB_COMPAT_H */
