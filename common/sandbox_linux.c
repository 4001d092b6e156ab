/*
 * The seccomp(2) filters, built with libseccomp: one allow-list per
 * process, in the tables below, so that what a process may do is read
 * in one place.
 *
 * How a refused call ends.  A filter's default action is
 * SCMP_ACT_TRAP: the kernel does not run the call and sends SIGSYS,
 * whose siginfo names it (si_syscall, si_arch; seccomp(2), "Filter
 * return values").  sandbox_sigsys() writes those two numbers to the
 * report descriptor, then makes the one call every filter answers with
 * SCMP_ACT_KILL_PROCESS, so the process ends as seccomp(2) ends it:
 * every thread at once, by SIGSYS.  A plain SCMP_ACT_KILL_PROCESS
 * default would leave nobody able to say which call it was (the audit
 * log says so only where auditing is on), and "a missing entry is found
 * at once" needs the name.  Nothing is weakened: the refused call never
 * runs either way, rt_sigaction is not on any list, so the handler
 * cannot be replaced, and a process that blocks or ignores SIGSYS is
 * killed by the kernel all the same (a forced signal).
 */
#ifdef __linux__

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

#include "compat.h"
#include "log.h"
#include "sandbox.h"

/* What a killed process leaves on its report descriptor. */
struct sandbox_note {
	int32_t		 sn_nr;
	uint32_t	 sn_arch;	/* AUDIT_ARCH_*, as libseccomp's */
};

/* Calls every sandboxed process makes: memory, time, its descriptors. */
static const int sb_base[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(lseek), SCMP_SYS(fcntl),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect),
	SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(brk),
	SCMP_SYS(futex), SCMP_SYS(sched_yield),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(getrandom),		/* libcrypto's entropy */
	SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(restart_syscall),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
	/* syslog(3) on the socket log_init() connected (LOG_NDELAY). */
	SCMP_SYS(sendto), SCMP_SYS(connect)
};

/* A worker: its event loop and sessions, on descriptors it was given. */
static const int sb_worker[] = {
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(eventfd2),		/* libev's ev_async */
	SCMP_SYS(timerfd_settime),	/* libev's clock-jump watch */
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(shutdown), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(accept4),
	SCMP_SYS(splice), SCMP_SYS(pipe2),	/* tunnels (compat_splice) */
	SCMP_SYS(mkdirat)		/* log.dump_dir, per provider */
};

/* The resolver: getaddrinfo(3) on threads started before the filter. */
static const int sb_resolver[] = {
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(eventfd2), SCMP_SYS(timerfd_settime),
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(sendmmsg),		/* res_send: A and AAAA at once */
	SCMP_SYS(bind),			/* the AF_NETLINK socket */
	SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(uname),		/* getaddrinfo(3) asks the host name */
	/*
	 * A thread pthread_create(3) returned may not have run yet: its
	 * first calls, with every signal blocked, can come after the
	 * filter.  Refused there, they would kill with no report.
	 */
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq)
};

/* signerd: its channels and nothing else. */
static const int sb_signer[] = {
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg)
};

#ifdef AIB_SANITIZE
/*
 * What the ASan and UBSan runtime (make SANITIZE=1) calls on its own,
 * found by running make check SANITIZE=1 with an empty list and reading
 * the parent's SIGSYS lines: sigaltstack(2) in every process it starts
 * or forks, sched_getaffinity(2) in the resolver.  The daemon itself
 * makes neither.
 */
static const int sb_sanitize[] = {
	SCMP_SYS(sigaltstack), SCMP_SYS(sched_getaffinity)
};
#endif

static int	 sandbox_reportfd = -1;

/*
 * One argument check.  libseccomp's SCMP_A0()... macros leave datum_b
 * out for a plain comparison, which clang's missing-field warning
 * refuses: every field is given here.
 */
static struct scmp_arg_cmp
sb_arg(unsigned int arg, enum scmp_compare op, scmp_datum_t a,
    scmp_datum_t b)
{
	struct scmp_arg_cmp	 c = { .arg = arg, .op = op, .datum_a = a,
	    .datum_b = b };

	return (c);
}

/*
 * SIGSYS from the filter: write the call down, then end by the filter's
 * kill.  Only async-signal-safe calls here (signal-safety(7)).
 */
static void
sandbox_sigsys(int sig, siginfo_t *si, void *uc)
{
	struct sandbox_note	 sn;

	sn.sn_nr = si->si_syscall;
	sn.sn_arch = si->si_arch;
	if (sandbox_reportfd != -1)
		(void)write(sandbox_reportfd, &sn, sizeof(sn));
	/* Answered by SCMP_ACT_KILL_PROCESS (sandbox_begin()). */
	(void)syscall(SYS_seccomp, 0, 0, NULL);
	/* Not reached: the filter killed us. */
	_exit(128 + SIGSYS);
}

static void
sandbox_allow(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	size_t	 i;
	int	 rc;

	for (i = 0; i < n; i++) {
		/* A call this architecture does not have: nothing to allow. */
		if (calls[i] < 0)
			continue;
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i],
		    0)) < 0)
			fatalx("%s: system call %d: %s", __func__, calls[i],
			    strerror(-rc));
	}
}

static void
sandbox_rule(scmp_filter_ctx ctx, uint32_t action, int call,
    unsigned int nargs, ...)
{
	struct scmp_arg_cmp	 cmp[2];
	va_list			 ap;
	unsigned int		 i;
	int			 rc;

	if (call < 0)
		return;
	va_start(ap, nargs);
	for (i = 0; i < nargs && i < nitems(cmp); i++)
		cmp[i] = va_arg(ap, struct scmp_arg_cmp);
	va_end(ap);
	if ((rc = seccomp_rule_add_array(ctx, action, call, i, cmp)) < 0)
		fatalx("%s: system call %d: %s", __func__, call,
		    strerror(-rc));
}

/* Sockets of the given families only (socket(2)'s first argument). */
static void
sandbox_sockets(scmp_filter_ctx ctx, const int *families, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    sb_arg(0, SCMP_CMP_EQ, (scmp_datum_t)families[i], 0));
}

static scmp_filter_ctx
sandbox_begin(int reportfd)
{
	struct sigaction	 sa;
	scmp_filter_ctx		 ctx;

	/*
	 * syslog(3) reads the time zone at its first message; log_init()
	 * has done so, but an open(2) of /etc/localtime under the filter
	 * would kill, so make sure.
	 */
	tzset();
	sandbox_reportfd = reportfd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("%s: sigaction", __func__);

	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL)
		fatalx("%s: seccomp_init", __func__);
	/* Calls made through another ABI (int 0x80, x32) are not listed. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) < 0)
		fatalx("%s: seccomp_attr_set", __func__);
	sandbox_rule(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(seccomp), 0);
	sandbox_allow(ctx, sb_base, nitems(sb_base));
	/* abort(3) on ourselves only: the parent logs SIGABRT. */
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
	    sb_arg(0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0),
	    sb_arg(2, SCMP_CMP_EQ, SIGABRT, 0));
#ifdef AIB_SANITIZE
	sandbox_allow(ctx, sb_sanitize, nitems(sb_sanitize));
#endif
	return (ctx);
}

/*
 * Load the filter into every thread (TSYNC, seccomp(2)): libseccomp also
 * sets no_new_privs, which seccomp(2) requires of a process without
 * CAP_SYS_ADMIN.
 */
static void
sandbox_load(scmp_filter_ctx ctx, const char *who)
{
	int	 rc;

	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("%s: %s: seccomp_load: %s", __func__, who,
		    strerror(-rc));
	seccomp_release(ctx);
	log_debug("%s: %s: seccomp filter loaded", __func__, who);
}

void
sandbox_worker(int reportfd)
{
	static const int	 families[] = { AF_UNIX, AF_INET, AF_INET6 };
	scmp_filter_ctx		 ctx;

	ctx = sandbox_begin(reportfd);
	sandbox_allow(ctx, sb_worker, nitems(sb_worker));
	/* Dials (dial.c) and syslog's reconnect: no raw, no netlink. */
	sandbox_sockets(ctx, families, nitems(families));
	/*
	 * log.dump_dir: dump_open() creates new files under the directory
	 * the parent opened.  O_CREAT|O_EXCL|O_NOFOLLOW for writing only,
	 * so no existing file can be opened, read or truncated.
	 */
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
	    sb_arg(2, SCMP_CMP_MASKED_EQ,
	    O_ACCMODE | O_CREAT | O_EXCL | O_NOFOLLOW,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW));
	sandbox_load(ctx, "worker");
}

void
sandbox_resolver(int reportfd)
{
	static const int	 families[] = { AF_UNIX, AF_INET, AF_INET6,
	    AF_NETLINK };	/* AI_ADDRCONFIG asks netlink(7) */
	scmp_filter_ctx		 ctx;

	ctx = sandbox_begin(reportfd);
	sandbox_allow(ctx, sb_resolver, nitems(sb_resolver));
	sandbox_sockets(ctx, families, nitems(families));
	/* res_send(3) asks how much a UDP answer holds. */
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    sb_arg(1, SCMP_CMP_EQ, FIONREAD, 0));
	/* /etc/hosts, resolv.conf, nsswitch.conf: read, never create. */
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
	    sb_arg(2, SCMP_CMP_MASKED_EQ,
	    O_ACCMODE | O_CREAT | O_TRUNC | (O_TMPFILE & ~O_DIRECTORY),
	    O_RDONLY));
	sandbox_load(ctx, "resolver");
}

void
sandbox_signer(int reportfd)
{
	scmp_filter_ctx		 ctx;

	ctx = sandbox_begin(reportfd);
	sandbox_allow(ctx, sb_signer, nitems(sb_signer));
	/*
	 * syslog(3) opens a new socket when syslogd went away; refused
	 * softly, so a lost log line does not take the CA down.  Any
	 * other socket is the default's SIGSYS.
	 */
	sandbox_rule(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
	    sb_arg(0, SCMP_CMP_EQ, AF_UNIX, 0));
	sandbox_load(ctx, "signer");
}

int
sandbox_report(int fd, char *buf, size_t len)
{
	struct sandbox_note	 sn;
	char			*name;

	if (fd == -1 || read(fd, &sn, sizeof(sn)) != (ssize_t)sizeof(sn))
		return (-1);
	name = seccomp_syscall_resolve_num_arch(sn.sn_arch, sn.sn_nr);
	(void)snprintf(buf, len, "system call %d (%s)", (int)sn.sn_nr,
	    name != NULL ? name : "unknown");
	free(name);
	return (0);
}

const char *
sandbox_library(char *buf, size_t len)
{
	const struct scmp_version	*v = seccomp_version();

	(void)snprintf(buf, len, "%u.%u.%u", v->major, v->minor, v->micro);
	return ("libseccomp");
}

#endif /* __linux__ */
