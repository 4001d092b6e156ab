/*
 * Logging to syslog, or to stderr in the foreground (-d).  The syslog
 * socket is connected before any chroot (LOG_NDELAY) so chrooted
 * children keep it.  Each line is text, or with log.format json one
 * JSON object (log_render.c); syslog adds its own header either way.
 */
#include <sys/uio.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"

static int		 log_stderr;
static int		 log_level = LOG_LEVEL_INFO;
static int		 log_format = LOG_FORMAT_TEXT;
static const char	*log_procname = "parent";
static char		*log_kept;
static size_t		 log_keptlen;
static pid_t		 log_pid;	/* 0: not known yet */

/*
 * getpid(2) is a system call on every line otherwise (glibc stopped
 * caching it): keep it, and forget it in a fork(2) child, the
 * daemonising parent, which asks again at its first line.
 */
static void
log_forked(void)
{
	log_pid = 0;
}

static int
log_getpid(void)
{
	if (log_pid == 0)
		log_pid = getpid();
	return ((int)log_pid);
}

void
log_init(int to_stderr, int facility)
{
	static int	 hooked;

	log_stderr = to_stderr;
	if (!hooked && pthread_atfork(NULL, NULL, log_forked) == 0)
		hooked = 1;
	/* Children's argv[0] is their title: keep one name in syslog. */
	if (!log_stderr)
		openlog("aibproxyd", LOG_PID | LOG_NDELAY, facility);
	tzset();
	/*
	 * jansson seeds its hash function at its first object by opening
	 * /dev/urandom, which is not in a chroot and which the sandboxes
	 * would kill a process for: every process seeds it here, before
	 * either, from getrandom(2).  Zero would mean "seed yourself".
	 */
	json_object_seed(arc4random() | 1);
}

void
log_procinit(const char *name)
{
	if (name != NULL)
		log_procname = name;
}

void
log_setlevel(int level)
{
	log_level = level;
}

void
log_setformat(int format)
{
	log_format = format;
}

void
log_keepfirst(char *buf, size_t len)
{
	log_kept = len > 0 ? buf : NULL;
	log_keptlen = len;
	if (log_kept != NULL)
		log_kept[0] = '\0';
}

static int
log_wanted(int pri)
{
	switch (pri) {
	case LOG_DEBUG:
		return (log_level >= LOG_LEVEL_DEBUG);
	case LOG_INFO:
	case LOG_NOTICE:
		return (log_level >= LOG_LEVEL_INFO);
	case LOG_WARNING:
		return (log_level >= LOG_LEVEL_WARNING);
	default:
		return (1);
	}
}

/*
 * A JSON line goes to stderr in one write(2), so that the processes
 * sharing it (-d) cannot interleave inside a line.  Without the memory
 * to build the object, the line is written as text rather than lost.
 */
static int
log_emit_json(int pri, const char *msg, const struct audit *au)
{
	struct timespec	 ts;
	struct iovec	 iov[2];
	char		*line;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	if ((line = log_json(pri, &ts, log_procname, log_getpid(), msg,
	    au)) == NULL)
		return (-1);
	if (log_stderr) {
		iov[0].iov_base = line;
		iov[0].iov_len = strlen(line);
		iov[1].iov_base = "\n";
		iov[1].iov_len = 1;
		(void)writev(STDERR_FILENO, iov, 2);
	} else
		syslog(pri, "%s", line);
	free(line);
	return (0);
}

/*
 * A text line on stderr: "aibproxyd[pid]: name: msg", in one writev(2)
 * as fprintf(3) to the unbuffered stderr wrote it in one write(2), but
 * without formatting it each time: the start is made again only when
 * the pid or the name changed (a fork, log_procinit()).
 */
static void
log_emit_stderr(const char *msg)
{
	static char		 start[128];
	static size_t		 startlen;
	static pid_t		 startpid;
	static const char	*startname;
	struct iovec		 iov[3];
	int			 n;

	if (startlen == 0 || startpid != log_getpid() ||
	    startname != log_procname) {
		startlen = 0;
		n = snprintf(start, sizeof(start), "aibproxyd[%d]: %s: ",
		    log_getpid(), log_procname);
		if (n < 0 || (size_t)n >= sizeof(start)) {
			fprintf(stderr, "aibproxyd[%d]: %s: %s\n",
			    log_getpid(), log_procname, msg);
			return;
		}
		startlen = n;
		startpid = log_getpid();
		startname = log_procname;
	}
	iov[0].iov_base = start;
	iov[0].iov_len = startlen;
	iov[1].iov_base = (char *)msg;
	iov[1].iov_len = strlen(msg);
	iov[2].iov_base = "\n";
	iov[2].iov_len = 1;
	(void)writev(STDERR_FILENO, iov, 3);
}

static void
log_emit(int pri, const char *msg, const struct audit *au)
{
	if (log_format == LOG_FORMAT_JSON && log_emit_json(pri, msg, au) == 0)
		return;
	if (log_stderr)
		log_emit_stderr(msg);
	else
		syslog(pri, "%s: %s", log_procname, msg);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	 msg[2048];
	int	 saved_errno = errno, keep;

	/* LOG_CRIT, LOG_ERR and LOG_WARNING: fatal*, log_warn* */
	keep = log_kept != NULL && log_kept[0] == '\0' && pri <= LOG_WARNING;
	if (!log_wanted(pri) && !keep)
		return;
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (keep)
		(void)strlcpy(log_kept, msg, log_keptlen);
	if (log_wanted(pri))
		log_emit(pri, msg, NULL);
	errno = saved_errno;
}

void
log_audit(const struct audit *au)
{
	char	 msg[2048];
	int	 saved_errno = errno;

	if (!log_wanted(LOG_INFO))
		return;
	/* Cut short like any other line: the JSON fields are whole. */
	(void)log_audit_text(au, msg, sizeof(msg));
	log_emit(LOG_INFO, msg, au);
	errno = saved_errno;
}

void
logit(int pri, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

static void
vlog_errno(int pri, int code, const char *fmt, va_list ap)
{
	char	 msg[2048];

	if (fmt == NULL) {
		logit(pri, "%s", strerror(code));
		return;
	}
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	logit(pri, "%s: %s", msg, strerror(code));
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved_errno = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_ERR, saved_errno, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved_errno = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, saved_errno, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * A warning that can repeat as fast as a peer can trigger it (accept
 * failing at the descriptor limit, a dial failing for every request)
 * is written once, then at most once per interval with the count of
 * those left out in between, so a flood costs a few lines, not a disk.
 */
void
log_limited(struct log_limit *l, const char *fmt, ...)
{
	struct timespec	 ts;
	char		 msg[2048];
	va_list		 ap;
	int		 saved_errno = errno;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	if (l->last != 0 && ts.tv_sec - l->last < l->interval) {
		l->skipped++;
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->skipped > 0)
		logit(LOG_WARNING, "%s (%lu more in the last %d s)", msg,
		    l->skipped, l->interval);
	else
		logit(LOG_WARNING, "%s", msg);
	/* 0 means "never logged": a clock at 0 s still counts as logged. */
	l->last = ts.tv_sec > 0 ? ts.tv_sec : 1;
	l->skipped = 0;
	errno = saved_errno;
}
