#ifndef AIB_LOG_H
#define AIB_LOG_H

#include <stdarg.h>

#include "compat.h"

/* Verbosity levels, from log.level in the configuration. */
enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

void	log_init(int, int);
void	log_procinit(const char *);
void	log_setlevel(int);
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
