/*
 * The log renderers (log_render.c): the text of each audit event as
 * its line has always read, and the same record as one JSON object
 * with every documented field, whatever bytes the network put in it;
 * then a line through log_audit() to stderr, as -d writes it; and the
 * first warning kept for a start that fails after detaching.
 */
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "unit.h"

static const struct timespec	 ts = { 1764000000, 123456789 };

static const struct {
	struct audit	 au;
	const char	*text;
} records[] = {
	{ { .au_event = AUDIT_REQUEST,
	    .au_request_id = "1ca20a8e-eb4f-4390-85b6-7df5b30c7508",
	    .au_client = "192.0.2.10:51234", .au_token_id = "a1b2c3d4e5",
	    .au_provider = "anthropic", .au_method = "POST",
	    .au_path = "/v1/messages", .au_status = 200, .au_up = 1432,
	    .au_down = 18920, .au_seconds = 2.5171 },
	  "request 1ca20a8e-eb4f-4390-85b6-7df5b30c7508 client "
	  "192.0.2.10:51234 provider anthropic POST /v1/messages status 200 "
	  "up 1432 down 18920 2.517s token a1b2c3d4e5" },
	{ { .au_event = AUDIT_REQUEST, .au_request_id = "5d0c",
	    .au_client = "192.0.2.10:51234", .au_token_id = "a1b2c3d4e5",
	    .au_user = "alice", .au_provider = "openai", .au_method = "POST",
	    .au_path = "/v1/chat", .au_status = 502, .au_up = 10,
	    .au_down = 512, .au_seconds = 0.21,
	    .au_outcome = "bad response body from the bridge" },
	  "request 5d0c client 192.0.2.10:51234 provider openai POST "
	  "/v1/chat status 502 up 10 down 512 0.210s token a1b2c3d4e5 user "
	  "alice: bad response body from the bridge" },
	/* No head: method and path unknown; no credentials. */
	{ { .au_event = AUDIT_REQUEST, .au_request_id = "5d0c",
	    .au_client = "[::1]:4000", .au_provider = "anthropic",
	    .au_method = "", .au_path = "", .au_status = 408, .au_up = 61,
	    .au_down = 97, .au_seconds = 10.0005,
	    .au_outcome = "connection closed" },
	  "request 5d0c client [::1]:4000 provider anthropic - - status 408 "
	  "up 61 down 97 10.001s token -: connection closed" },
	{ { .au_event = AUDIT_TUNNEL, .au_client = "192.0.2.10:51240",
	    .au_host = "github.com", .au_port = 443, .au_up = 5120,
	    .au_down = 73406, .au_seconds = 3.002, .au_outcome = "closed" },
	  "tunnel 192.0.2.10:51240 -> github.com:443: closed, 5120 bytes up, "
	  "73406 down, 3.002s" },
	{ { .au_event = AUDIT_FORWARD, .au_client = "192.0.2.10:51241",
	    .au_host = "2001:db8::1", .au_port = 80, .au_token_id = "abc",
	    .au_user = "bob", .au_outcome = "blocked" },
	  "forward 192.0.2.10:51241 -> 2001:db8::1:80: blocked, 0 bytes up, "
	  "0 down, 0.000s, token abc user bob" },
};

static json_t *
parse(const char *line)
{
	json_error_t	 err;
	json_t		*j;

	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_null(strchr(line, '\n'));
	j = json_loads(line, JSON_REJECT_DUPLICATES, &err);
	ck_assert_msg(j != NULL, "not JSON (%s): %s", err.text, line);
	ck_assert(json_is_object(j));
	return (j);
}

static const char *
str(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	ck_assert_msg(v != NULL, "no %s", key);
	return (json_is_null(v) ? NULL : json_string_value(v));
}

static json_int_t
num(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	return (json_integer_value(v));
}

/* A documented string field: this value, or null for none. */
static void
check_str(json_t *o, const char *key, const char *want)
{
	const char	*got = str(o, key);

	if (want == NULL || want[0] == '\0')
		ck_assert_msg(json_is_null(json_object_get(o, key)),
		    "%s: null expected", key);
	else
		ck_assert_str_eq(got, want);
}

START_TEST(test_audit_text)
{
	char	 buf[2048];

	size_t	 n = strlen(records[_i].text);

	ck_assert_int_eq(log_audit_text(&records[_i].au, buf, sizeof(buf)),
	    0);
	ck_assert_str_eq(buf, records[_i].text);
	/* Exactly room, then one byte short: cut as snprintf cuts. */
	ck_assert_int_eq(log_audit_text(&records[_i].au, buf, n + 1), 0);
	ck_assert_str_eq(buf, records[_i].text);
	ck_assert_int_eq(log_audit_text(&records[_i].au, buf, n), -1);
	ck_assert_uint_eq(strlen(buf), n - 1);
	ck_assert_int_eq(strncmp(buf, records[_i].text, n - 1), 0);
	ck_assert_int_eq(log_audit_text(&records[_i].au, buf, 1), -1);
	ck_assert_str_eq(buf, "");
}
END_TEST

/*
 * Numbers at their extremes, byte for byte as the snprintf(3) the
 * line was written with: the widest seconds "%.3f" can print (DBL_MAX,
 * 309 digits) included, not cut to a smaller buffer of its own.
 */
START_TEST(test_audit_text_extremes)
{
	static const double	 secs[] = { DBL_MAX, -DBL_MAX, -0.0004, 1e20 };
	struct audit		 au;
	char			 buf[2048], want[2048];
	size_t			 i;

	memset(&au, 0, sizeof(au));
	au.au_event = AUDIT_TUNNEL;
	au.au_port = INT_MIN;
	au.au_up = UINT64_MAX;
	au.au_down = 0;
	au.au_outcome = "closed";
	for (i = 0; i < nitems(secs); i++) {
		au.au_seconds = secs[i];
		snprintf(want, sizeof(want), "tunnel - -> -:%d: closed, %llu "
		    "bytes up, %llu down, %.3fs", au.au_port,
		    (unsigned long long)au.au_up,
		    (unsigned long long)au.au_down, au.au_seconds);
		ck_assert_int_eq(log_audit_text(&au, buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, want);
	}
}
END_TEST

/* The same record as JSON: every audit field, typed. */
START_TEST(test_audit_json)
{
	const struct audit	*au = &records[_i].au;
	int			 req = au->au_event == AUDIT_REQUEST;
	char			*line, dest[300];
	json_t			*o;

	line = log_json(LOG_INFO, &ts, "proxy 0", 42, records[_i].text, au);
	o = parse(line);
	ck_assert_str_eq(str(o, "time"), "2025-11-24T16:00:00.123Z");
	ck_assert_str_eq(str(o, "level"), "info");
	ck_assert_str_eq(str(o, "process"), "proxy 0");
	ck_assert_int_eq(num(o, "pid"), 42);
	ck_assert_str_eq(str(o, "event"), req ? "request" :
	    au->au_event == AUDIT_TUNNEL ? "tunnel" : "forward");
	ck_assert_str_eq(str(o, "msg"), records[_i].text);
	check_str(o, "request_id", au->au_request_id);
	check_str(o, "client", au->au_client);
	check_str(o, "user", au->au_user);
	check_str(o, "token_id", au->au_token_id);
	check_str(o, "provider", au->au_provider);
	check_str(o, "method", au->au_method);
	check_str(o, "path", au->au_path);
	if (req)
		ck_assert_int_eq(num(o, "status"), au->au_status);
	else
		ck_assert(json_is_null(json_object_get(o, "status")));
	(void)snprintf(dest, sizeof(dest), strchr(au->au_host ?
	    au->au_host : "", ':') ? "[%s]:%d" : "%s:%d", au->au_host,
	    au->au_port);
	check_str(o, "destination", req ? NULL : dest);
	ck_assert_int_eq(num(o, "bytes_up"), au->au_up);
	ck_assert_int_eq(num(o, "bytes_down"), au->au_down);
	ck_assert_int_eq(num(o, "duration_ms"),
	    (json_int_t)(au->au_seconds * 1000 + 0.5));
	ck_assert_str_eq(str(o, "outcome"), au->au_outcome != NULL ?
	    au->au_outcome : "completed");
	/* Those and no others: the documented set. */
	ck_assert_int_eq(json_object_size(o), 19);
	json_decref(o);
	free(line);
}
END_TEST

/* The field names and their order, as aibproxyd(8) documents them. */
START_TEST(test_json_exact)
{
	char	*line;

	line = log_json(LOG_INFO, &ts, "proxy 1", 7, "m", &records[3].au);
	ck_assert_str_eq(line, "{\"time\":\"2025-11-24T16:00:00.123Z\","
	    "\"level\":\"info\",\"process\":\"proxy 1\",\"pid\":7,"
	    "\"event\":\"tunnel\",\"msg\":\"m\",\"request_id\":null,"
	    "\"client\":\"192.0.2.10:51240\",\"user\":null,\"token_id\":null,"
	    "\"provider\":null,\"method\":null,\"path\":null,\"status\":null,"
	    "\"destination\":\"github.com:443\",\"bytes_up\":5120,"
	    "\"bytes_down\":73406,\"duration_ms\":3002,"
	    "\"outcome\":\"closed\"}");
	free(line);
	line = log_json(LOG_WARNING, &ts, "parent", 1, "reload refused",
	    NULL);
	ck_assert_str_eq(line, "{\"time\":\"2025-11-24T16:00:00.123Z\","
	    "\"level\":\"warning\",\"process\":\"parent\",\"pid\":1,"
	    "\"event\":\"message\",\"msg\":\"reload refused\"}");
	free(line);
}
END_TEST

/* What a client can put in a path or a user name stays one object. */
static const struct {
	const char	*in;
	const char	*out;	/* the string the JSON holds */
} hostile[] = {
	{ "/v1/\"quoted\"", "/v1/\"quoted\"" },
	{ "/a\\b", "/a\\b" },
	{ "/ctl\x01\x1f\x7f\t\r\nend", "/ctl\x01\x1f\x7f\t\r\nend" },
	{ "/\"}, \"status\": 1, \"x\": {\"", "/\"}, \"status\": 1, \"x\": {\"" },
	{ "/caf\xc3\xa9", "/caf\xc3\xa9" },		/* UTF-8: kept */
	{ "/bad\xff\xc3x", "/bad??x" },		/* not UTF-8 */
};

START_TEST(test_json_hostile)
{
	struct audit	 au = records[0].au;
	char		*line;
	json_t		*o;

	au.au_path = hostile[_i].in;
	au.au_user = hostile[_i].in;
	line = log_json(LOG_INFO, &ts, "proxy 0", 1, hostile[_i].in, &au);
	o = parse(line);
	ck_assert_str_eq(str(o, "path"), hostile[_i].out);
	ck_assert_str_eq(str(o, "user"), hostile[_i].out);
	ck_assert_str_eq(str(o, "msg"), hostile[_i].out);
	ck_assert_int_eq(num(o, "status"), 200);
	ck_assert_int_eq(json_object_size(o), 19);
	json_decref(o);
	free(line);
}
END_TEST

/*
 * The longest line: every field at its bound (log.c's message buffer,
 * mitm.h's path, AUTH_USER_MAX, ...) and made of bytes that escape to
 * six (\u0001) or of UTF-8 that a cut could split.  Cut to
 * LOG_JSON_MAX, msg first, path kept whole, "truncated": true, and each
 * cut a start of what was given, whole characters only.
 */
static const char *const fills[] = {
	"\x01",
	"\x01\x01\x01\xc3\xa9",			/* e acute */
	"\x01\x01\xf0\x9f\x98\x80\x01\x01\x01",	/* U+1F600 */
	"\\\"\x01"
};

/* A string of len bytes, fill repeated (no character cut). */
static char *
filled(const char *fill, size_t len)
{
	size_t	 f = strlen(fill), n = 0;
	char	*s;

	ck_assert_ptr_nonnull(s = malloc(len + 1));
	while (n + f <= len) {
		memcpy(s + n, fill, f);
		n += f;
	}
	memset(s + n, 'x', len - n);
	s[len] = '\0';
	return (s);
}

START_TEST(test_json_bounded)
{
	struct audit	 au = records[1].au;
	char		*msg, *path, *user, *tok, *line;
	const char	*got;
	json_t		*o;

	msg = filled(fills[_i], 2047);
	path = filled(fills[_i], 255);
	user = filled(fills[_i], 63);
	tok = filled(fills[_i], 31);
	au.au_path = path;
	au.au_user = user;
	au.au_token_id = tok;
	au.au_outcome = "bad response body from the bridge";
	line = log_json(LOG_INFO, &ts, "proxy 63", 4194304, msg, &au);
	ck_assert_ptr_nonnull(line);
	ck_assert_msg(strlen(line) <= LOG_JSON_MAX, "%zu bytes",
	    strlen(line));
	o = parse(line);
	ck_assert(json_is_true(json_object_get(o, "truncated")));
	ck_assert_str_eq(str(o, "path"), path);
	ck_assert_str_eq(str(o, "user"), user);
	got = str(o, "msg");
	ck_assert_uint_gt(strlen(got), 0);
	ck_assert(strncmp(got, msg, strlen(got)) == 0);
	ck_assert_ptr_null(strchr(got, '?'));
	/* Not cut further than needed: one more character would not fit. */
	ck_assert_uint_gt(strlen(line), LOG_JSON_MAX - 6 * 4);
	json_decref(o);
	free(line);
	/* A line that fits says nothing of it. */
	line = log_json(LOG_INFO, &ts, "proxy 0", 1, path, &au);
	o = parse(line);
	ck_assert_ptr_null(json_object_get(o, "truncated"));
	ck_assert_str_eq(str(o, "msg"), path);
	json_decref(o);
	free(line);
	free(msg);
	free(path);
	free(user);
	free(tok);
}
END_TEST

static const struct {
	int		 pri;
	const char	*level;
} levels[] = {
	{ LOG_CRIT, "critical" }, { LOG_ERR, "error" },
	{ LOG_WARNING, "warning" }, { LOG_NOTICE, "notice" },
	{ LOG_INFO, "info" }, { LOG_DEBUG, "debug" },
};

START_TEST(test_json_levels)
{
	char	*line;
	json_t	*o;

	line = log_json(levels[_i].pri, &ts, "signer", 1, "x", NULL);
	o = parse(line);
	ck_assert_str_eq(str(o, "level"), levels[_i].level);
	json_decref(o);
	free(line);
}
END_TEST

/*
 * Through log.c to stderr (-d): text as it always was before the
 * format is set, then one JSON object per line.
 */
START_TEST(test_emit_stderr)
{
	char	 buf[8192], *nl;
	ssize_t	 n;
	size_t	 got = 0;
	int	 fds[2];
	json_t	*o;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ne(dup2(fds[1], STDERR_FILENO), -1);
	close(fds[1]);
	log_init(1, LOG_DAEMON);
	log_procinit("proxy 3");
	log_setlevel(LOG_LEVEL_INFO);
	log_audit(&records[3].au);
	log_setformat(LOG_FORMAT_JSON);
	log_audit(&records[0].au);
	log_warnx("a \"quoted\" warning");
	log_debug("not wanted at info");
	close(STDERR_FILENO);
	while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	nl = strchr(buf, '\n');
	ck_assert_ptr_nonnull(nl);
	*nl = '\0';
	ck_assert_msg(strstr(buf, ": proxy 3: tunnel 192.0.2.10:51240 -> ")
	    != NULL && strncmp(buf, "aibproxyd[", 10) == 0, "%s", buf);
	o = parse(strtok(nl + 1, "\n"));
	ck_assert_str_eq(str(o, "event"), "request");
	ck_assert_str_eq(str(o, "process"), "proxy 3");
	ck_assert_int_eq(num(o, "pid"), getpid());
	ck_assert_str_eq(str(o, "msg"), records[0].text);
	json_decref(o);
	o = parse(strtok(NULL, "\n"));
	ck_assert_str_eq(str(o, "event"), "message");
	ck_assert_str_eq(str(o, "level"), "warning");
	ck_assert_str_eq(str(o, "msg"), "a \"quoted\" warning");
	json_decref(o);
	ck_assert_ptr_null(strtok(NULL, "\n"));
}
END_TEST

/*
 * A text line on stderr is "aibproxyd[pid]: name: msg" byte for byte;
 * its start is kept, and made again for a new name and in a child.
 */
START_TEST(test_text_line)
{
	char	 buf[4096], want[4096];
	ssize_t	 n;
	size_t	 got = 0;
	pid_t	 pid;
	int	 fds[2], status;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ne(dup2(fds[1], STDERR_FILENO), -1);
	close(fds[1]);
	log_init(1, LOG_DAEMON);
	log_setformat(LOG_FORMAT_TEXT);
	log_procinit("proxy 3");
	log_warnx("one %d", 1);
	log_warnx("two");
	log_procinit("proxy 4");
	log_warnx("three");
	ck_assert_int_ne((pid = fork()), -1);
	if (pid == 0) {
		log_warnx("in the child");
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	log_warnx("back");
	close(STDERR_FILENO);
	while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	snprintf(want, sizeof(want), "aibproxyd[%d]: proxy 3: one 1\n"
	    "aibproxyd[%d]: proxy 3: two\naibproxyd[%d]: proxy 4: three\n"
	    "aibproxyd[%d]: proxy 4: in the child\n"
	    "aibproxyd[%d]: proxy 4: back\n", (int)getpid(), (int)getpid(),
	    (int)getpid(), (int)pid, (int)getpid());
	ck_assert_str_eq(buf, want);
}
END_TEST

/*
 * The pid a line names is kept, not asked for each line; a fork(2)
 * child (the daemonising parent) names its own.
 */
START_TEST(test_pid_after_fork)
{
	char	 buf[4096];
	ssize_t	 n;
	size_t	 got = 0;
	pid_t	 pid;
	int	 fds[2], status;
	json_t	*o;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ne(dup2(fds[1], STDERR_FILENO), -1);
	close(fds[1]);
	log_init(1, LOG_DAEMON);
	log_setformat(LOG_FORMAT_JSON);
	log_warnx("before the fork");
	ck_assert_int_ne((pid = fork()), -1);
	if (pid == 0) {
		log_warnx("in the child");
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(STDERR_FILENO);
	while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	o = parse(strtok(buf, "\n"));
	ck_assert_int_eq(num(o, "pid"), getpid());
	json_decref(o);
	o = parse(strtok(NULL, "\n"));
	ck_assert_str_eq(str(o, "msg"), "in the child");
	ck_assert_int_eq(num(o, "pid"), pid);
	json_decref(o);
}
END_TEST

/*
 * The parent keeps the first warning or error after it detached, even
 * below log.level, and hands it to its starter: the line that names
 * why a start failed, not the consequences logged after it.
 */
START_TEST(test_keepfirst)
{
	char	 why[64], small[8];
	int	 fd;

	ck_assert_int_ne((fd = open("/dev/null", O_WRONLY)), -1);
	ck_assert_int_ne(dup2(fd, STDERR_FILENO), -1);
	log_init(1, LOG_DAEMON);
	log_setlevel(LOG_LEVEL_ERROR);
	memset(why, 'x', sizeof(why));
	log_keepfirst(why, sizeof(why));
	ck_assert_str_eq(why, "");
	log_info("started: not a reason");
	ck_assert_str_eq(why, "");
	errno = EADDRINUSE;
	log_warn("listen 127.0.0.1:%d: bind", 8888);
	log_warnx("configuration refused, exiting");
	ck_assert_str_eq(why,
	    "listen 127.0.0.1:8888: bind: Address already in use");
	log_keepfirst(NULL, 0);
	log_keepfirst(small, sizeof(small));
	log_warnx("a line longer than the buffer");
	ck_assert_str_eq(small, "a line ");
	log_keepfirst(NULL, 0);
	log_warnx("after it stopped");
	ck_assert_str_eq(small, "a line ");
	close(fd);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("log");

	tcase_add_loop_test(tc, test_audit_text, 0, nitems(records));
	tcase_add_loop_test(tc, test_audit_json, 0, nitems(records));
	tcase_add_test(tc, test_audit_text_extremes);
	tcase_add_test(tc, test_json_exact);
	tcase_add_loop_test(tc, test_json_hostile, 0, nitems(hostile));
	tcase_add_loop_test(tc, test_json_bounded, 0, nitems(fills));
	tcase_add_loop_test(tc, test_json_levels, 0, nitems(levels));
	tcase_add_test(tc, test_emit_stderr);
	tcase_add_test(tc, test_pid_after_fork);
	tcase_add_test(tc, test_text_line);
	tcase_add_test(tc, test_keepfirst);
	suite_add_tcase(s, tc);
	return (unit_run(s) != 0);
}
