/*
 * Logging to syslog, or to stderr in the foreground (-d).  The syslog
 * socket is connected before any chroot (LOG_NDELAY) so chrooted
 * children keep it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int		 log_stderr;
static int		 log_level = LOG_LEVEL_INFO;
static const char	*log_procname = "parent";

void
log_init(int to_stderr, int facility)
{
	log_stderr = to_stderr;
	/* Children's argv[0] is their title: keep one name in syslog. */
	if (!log_stderr)
		openlog("aibproxyd", LOG_PID | LOG_NDELAY, facility);
	tzset();
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

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	 msg[2048];
	int	 saved_errno = errno;

	if (!log_wanted(pri))
		return;
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_stderr)
		fprintf(stderr, "aibproxyd[%d]: %s: %s\n", (int)getpid(),
		    log_procname, msg);
	else
		syslog(pri, "%s: %s", log_procname, msg);
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
