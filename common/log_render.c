/*
 * What a log line says, apart from where it goes (log.c): the text of
 * an audit event, and any line as one JSON object built with jansson,
 * which escapes what came from the network (a path with quotes or
 * control bytes) as RFC 8259 requires.
 */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <jansson.h>

#include "log.h"

/* The text lines' placeholder for what is not known. */
static const char *
text_or(const char *s, const char *none)
{
	return (s != NULL && s[0] != '\0' ? s : none);
}

/*
 * A line put together piece by piece: snprintf(3) over the dozen
 * conversions of an audit line cost more than the rest of writing it.
 * Cut short like snprintf, and said so (cut).
 */
struct line {
	char	*p;
	size_t	 len;		/* > 0 */
	size_t	 off;
	int	 cut;
};

static void
line_str(struct line *l, const char *s)
{
	size_t	 n = strlen(s);

	if (n >= l->len - l->off) {
		n = l->len - 1 - l->off;
		l->cut = 1;
	}
	memcpy(l->p + l->off, s, n);
	l->off += n;
	l->p[l->off] = '\0';
}

static void
line_num(struct line *l, unsigned long long v)
{
	char	 d[24];
	size_t	 i = sizeof(d);

	d[--i] = '\0';
	do {
		d[--i] = '0' + v % 10;
		v /= 10;
	} while (v != 0);
	line_str(l, d + i);
}

static void
line_int(struct line *l, int v)
{
	if (v < 0) {
		line_str(l, "-");
		line_num(l, -(unsigned long long)v);
	} else
		line_num(l, v);
}

/*
 * Seconds as "%.3f" writes them, rounding included: room for the
 * widest, a sign and DBL_MAX_10_EXP + 1 digits, then ".000s", so the
 * number is never cut here, where the line would not say so.
 */
static void
line_seconds(struct line *l, double secs)
{
	char	 d[DBL_MAX_10_EXP + 16];
	int	 n;

	n = snprintf(d, sizeof(d), "%.3fs", secs);
	if (n < 0 || (size_t)n >= sizeof(d))
		l->cut = 1;
	line_str(l, d);
}

/* label and value, when there is a value. */
static void
line_opt(struct line *l, const char *label, const char *value)
{
	if (value[0] == '\0')
		return;
	line_str(l, label);
	line_str(l, value);
}

static void
audit_text_request(const struct audit *au, struct line *l,
    const char *tokenid, const char *user, const char *outcome)
{
	line_str(l, "request ");
	line_str(l, text_or(au->au_request_id, "-"));
	line_str(l, " client ");
	line_str(l, text_or(au->au_client, "-"));
	line_str(l, " provider ");
	line_str(l, text_or(au->au_provider, "-"));
	line_str(l, " ");
	line_str(l, text_or(au->au_method, "-"));
	line_str(l, " ");
	line_str(l, text_or(au->au_path, "-"));
	line_str(l, " status ");
	line_int(l, au->au_status);
	line_str(l, " up ");
	line_num(l, au->au_up);
	line_str(l, " down ");
	line_num(l, au->au_down);
	line_str(l, " ");
	line_seconds(l, au->au_seconds);
	line_str(l, " token ");
	line_str(l, text_or(tokenid, "-"));
	line_opt(l, " user ", user);
	line_opt(l, ": ", outcome);
}

static void
audit_text_tunnel(const struct audit *au, struct line *l,
    const char *tokenid, const char *user, const char *outcome)
{
	line_str(l, au->au_event == AUDIT_FORWARD ? "forward " : "tunnel ");
	line_str(l, text_or(au->au_client, "-"));
	line_str(l, " -> ");
	line_str(l, text_or(au->au_host, "-"));
	line_str(l, ":");
	line_int(l, au->au_port);
	line_str(l, ": ");
	line_str(l, outcome);
	line_str(l, ", ");
	line_num(l, au->au_up);
	line_str(l, " bytes up, ");
	line_num(l, au->au_down);
	line_str(l, " down, ");
	line_seconds(l, au->au_seconds);
	line_opt(l, ", token ", tokenid);
	line_opt(l, " user ", user);
}

/*
 * The lines as they always were (aibproxyd(8) LOGGING quotes them;
 * tests match them): one for an intercepted request, one for a tunnel
 * or forwarded request.
 */
int
log_audit_text(const struct audit *au, char *buf, size_t len)
{
	struct line	 l;
	const char	*user = text_or(au->au_user, "");
	const char	*tokenid = text_or(au->au_token_id, "");
	const char	*outcome = text_or(au->au_outcome, "");

	if (len == 0)
		return (-1);
	l.p = buf;
	l.len = len;
	l.off = 0;
	l.cut = 0;
	buf[0] = '\0';
	if (au->au_event == AUDIT_REQUEST)
		audit_text_request(au, &l, tokenid, user, outcome);
	else
		audit_text_tunnel(au, &l, tokenid, user, outcome);
	return (l.cut ? -1 : 0);
}

static const char *
level_name(int pri)
{
	switch (pri) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
		return ("critical");
	case LOG_ERR:
		return ("error");
	case LOG_WARNING:
		return ("warning");
	case LOG_NOTICE:
		return ("notice");
	case LOG_INFO:
		return ("info");
	default:
		return ("debug");
	}
}

/*
 * A JSON string: text that is not UTF-8 (bytes from the network)
 * loses each byte past ASCII to '?' rather than the whole line.  NULL
 * or "" is null where nullable says it may be.
 */
static json_t *
json_text(const char *s, int nullable)
{
	json_t	*j;
	char	*copy, *p;

	if (s == NULL || (nullable && s[0] == '\0'))
		return (nullable ? json_null() : json_string(""));
	if ((j = json_string(s)) != NULL)
		return (j);
	if ((copy = strdup(s)) == NULL)
		return (NULL);
	for (p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return (j);
}

/* RFC 3339, UTC, milliseconds: 2026-11-29T14:20:59.123Z */
static json_t *
json_time(const struct timespec *ts)
{
	struct tm	 tm;
	char		 when[40];
	size_t		 n;

	if (gmtime_r(&ts->tv_sec, &tm) == NULL ||
	    (n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm)) == 0)
		return (NULL);
	(void)snprintf(when + n, sizeof(when) - n, ".%03ldZ",
	    ts->tv_nsec / 1000000);
	return (json_string(when));
}

/* host:port, an IPv6 address in brackets (RFC 3986, 3.2.2). */
static json_t *
json_destination(const struct audit *au)
{
	const char	*h = au->au_host;
	int		 v6;

	if (au->au_event == AUDIT_REQUEST || h == NULL || h[0] == '\0')
		return (json_null());
	v6 = strchr(h, ':') != NULL && h[0] != '[';
	return (json_sprintf(v6 ? "[%s]:%d" : "%s:%d", h, au->au_port));
}

/* The audit fields, every one on every audit event; see aibproxyd(8). */
static int
json_audit(json_t *o, const struct audit *au)
{
	int	 req = au->au_event == AUDIT_REQUEST, rc = 0;

	rc |= json_object_set_new(o, "request_id",
	    json_text(req ? au->au_request_id : NULL, 1));
	rc |= json_object_set_new(o, "client", json_text(au->au_client, 1));
	rc |= json_object_set_new(o, "user", json_text(au->au_user, 1));
	rc |= json_object_set_new(o, "token_id",
	    json_text(au->au_token_id, 1));
	rc |= json_object_set_new(o, "provider",
	    json_text(req ? au->au_provider : NULL, 1));
	rc |= json_object_set_new(o, "method",
	    json_text(req ? au->au_method : NULL, 1));
	rc |= json_object_set_new(o, "path",
	    json_text(req ? au->au_path : NULL, 1));
	rc |= json_object_set_new(o, "status",
	    req ? json_integer(au->au_status) : json_null());
	rc |= json_object_set_new(o, "destination", json_destination(au));
	rc |= json_object_set_new(o, "bytes_up", json_integer(au->au_up));
	rc |= json_object_set_new(o, "bytes_down",
	    json_integer(au->au_down));
	rc |= json_object_set_new(o, "duration_ms",
	    json_integer((json_int_t)(au->au_seconds * 1000.0 + 0.5)));
	rc |= json_object_set_new(o, "outcome", json_text(req &&
	    au->au_outcome == NULL ? "completed" : au->au_outcome, 0));
	return (rc != 0 ? -1 : 0);
}

/* Would o be written in at most LOG_JSON_MAX bytes? */
static int
json_fits(const json_t *o)
{
	return (json_dumpb(o, NULL, 0, JSON_COMPACT) <= LOG_JSON_MAX);
}

/*
 * o's key set to the first n bytes of s, less the start of a character
 * that n would cut (UTF-8); 0 if o then fits.
 */
static int
json_try(json_t *o, const char *key, const char *s, size_t n, char *cut)
{
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(cut, s, n);
	cut[n] = '\0';
	if (json_object_set_new(o, key, json_text(cut, 0)) == -1)
		return (-1);
	return (json_fits(o) ? 0 : -1);
}

/*
 * o's key set to the longest start of s with which o fits: 0, or -1 if
 * even "" does not.  A binary search over the length, since escaping
 * (six bytes for \x01) tells the written length only once written.
 */
static int
json_fit(json_t *o, const char *key, const char *s)
{
	size_t	 lo = 0, hi = strlen(s), mid;
	char	*cut;
	int	 rc;

	if ((cut = malloc(hi + 1)) == NULL)
		return (-1);
	while (lo < hi) {
		mid = lo + (hi - lo + 1) / 2;
		if (json_try(o, key, s, mid, cut) == 0)
			lo = mid;
		else
			hi = mid - 1;
	}
	rc = json_try(o, key, s, lo, cut);
	free(cut);
	return (rc);
}

/*
 * A line longer than LOG_JSON_MAX is cut to it, msg first, then the
 * path, and says so: "truncated": true.  The other fields are bounded
 * far below it (aibproxyd(8) LOGGING).
 */
static int
json_cap(json_t *o, const char *msg, const struct audit *au)
{
	if (json_object_set_new(o, "truncated", json_true()) == -1)
		return (-1);
	if (json_fit(o, "msg", msg) == 0)
		return (0);
	if (au != NULL && au->au_event == AUDIT_REQUEST &&
	    au->au_path != NULL && json_fit(o, "path", au->au_path) == 0)
		return (0);
	return (-1);
}

char *
log_json(int pri, const struct timespec *ts, const char *proc, int pid,
    const char *msg, const struct audit *au)
{
	static const char *const events[] = {
		[AUDIT_REQUEST] = "request",
		[AUDIT_TUNNEL] = "tunnel",
		[AUDIT_FORWARD] = "forward"
	};
	json_t	*o;
	char	*line = NULL;
	int	 rc = 0;

	if ((o = json_object()) == NULL)
		return (NULL);
	/* json_object_set_new() takes a NULL value as a failure. */
	rc |= json_object_set_new(o, "time", json_time(ts));
	rc |= json_object_set_new(o, "level", json_string(level_name(pri)));
	rc |= json_object_set_new(o, "process", json_text(proc, 0));
	rc |= json_object_set_new(o, "pid", json_integer(pid));
	rc |= json_object_set_new(o, "event", json_string(au == NULL ?
	    "message" : events[au->au_event]));
	rc |= json_object_set_new(o, "msg", json_text(msg, 0));
	if (rc == 0 && (au == NULL || json_audit(o, au) == 0))
		line = json_dumps(o, JSON_COMPACT);
	/* Written once; only a line too long is written again, cut. */
	if (line != NULL && strlen(line) > LOG_JSON_MAX) {
		free(line);
		line = NULL;
		if (json_cap(o, msg, au) == 0)
			line = json_dumps(o, JSON_COMPACT);
	}
	json_decref(o);
	return (line);
}
