#ifndef AIB_LOG_H
#define AIB_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include "compat.h"

/* Verbosity levels, from log.level in the configuration. */
enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

/* How each line is written, from log.format; text until it is read. */
enum log_format {
	LOG_FORMAT_TEXT = 0,
	LOG_FORMAT_JSON
};

/*
 * One audit event, the organisation's record of a request: built by
 * mitm.c (an intercepted request) or tunnel.c (a tunnel, a forwarded
 * plain HTTP request) and written by log_audit() in the configured
 * format.  A string that is NULL or "" is not known, or not there for
 * this event: "-" or left out in text (as each line always had it),
 * null in JSON.  Never a token's secret, never a query.
 */
enum audit_event {
	AUDIT_REQUEST,
	AUDIT_TUNNEL,
	AUDIT_FORWARD
};

struct audit {
	enum audit_event	 au_event;
	const char		*au_request_id;	/* request */
	const char		*au_client;	/* address:port */
	const char		*au_user;	/* once validated */
	const char		*au_token_id;	/* the credentials' id part */
	const char		*au_provider;	/* request */
	const char		*au_method;	/* request: "" if no head */
	const char		*au_path;	/* request, without the query */
	int			 au_status;	/* request */
	const char		*au_host;	/* tunnel, forward: destination */
	int			 au_port;
	unsigned long long	 au_up;		/* bytes from the client */
	unsigned long long	 au_down;	/* bytes to the client */
	double			 au_seconds;
	const char		*au_outcome;	/* request: NULL if complete */
};

void	log_init(int, int);
void	log_procinit(const char *);
void	log_setlevel(int);
void	log_setformat(int);
/*
 * From now on, keep the first warning or error in buf (len bytes, cut
 * short if need be), whatever the level; NULL stops.  The parent keeps
 * the reason a start failed this way, for the process that started it.
 */
void	log_keepfirst(char *, size_t);
/* An audit event, at the info level. */
void	log_audit(const struct audit *);

/*
 * The renderers (log_render.c), apart for the unit test.  The text of
 * an audit event, as its line has always read; -1 if cut short.
 */
int	log_audit_text(const struct audit *, char *, size_t);
/*
 * One line as a JSON object, without a newline (free(3) it): the
 * message msg of priority pri (syslog(3)), logged at ts by the
 * process named proc, pid; audit NULL for a message that is not an
 * audit event.  NULL if out of memory.
 */
char	*log_json(int, const struct timespec *, const char *, int,
	    const char *, const struct audit *);
/*
 * The longest JSON line: 8192 bytes, rsyslog's default maxMessageSize,
 * less 256 for syslog(3)'s header (priority, date, name, pid).  A
 * longer one has msg, then path, cut, and "truncated": true.
 */
#define LOG_JSON_MAX	(8192 - 256)
/* A warning that may repeat: see log_limited(). */
struct log_limit {
	int		 interval;	/* seconds between lines */
	long long	 last;		/* when one was last written */
	unsigned long	 skipped;	/* left out since */
};
#define LOG_LIMIT_INITIALIZER(secs)	{ (secs), 0, 0 }

void	log_limited(struct log_limit *, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	log_warn(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	logit(int, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	vlog(int, const char *, va_list)
	    __attribute__((__format__ (printf, 2, 0)));
__dead void fatal(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
__dead void fatalx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));

#endif /* AIB_LOG_H */
