/*
 * auth.failures in a worker (aibproxyd/validate.c) driven through its
 * sessions on the harness's loop, the test playing the parent: every
 * failure is reported to the parent (IMSG_AUTH_FAILED), the parent's
 * word (IMSG_AUTH_THROTTLED) makes the worker answer 429 without asking
 * the bridge, a malformed word is refused, and a reload that changes
 * the rules forgets the counts.  The bridge is 127.0.0.1:9, where
 * nothing listens: a check that reached it would answer 503.
 */
#include <sys/types.h>
#include <sys/ioctl.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../aibproxyd/validate.h"
#include "harness.h"
#include "unit.h"

#define LIMIT		3
#define WINDOW		60000		/* ms */
#define ADDR		"127.0.0.1"	/* every harness client */
#define CONNECT_BAD							\
	"CONNECT " WH_HOST ":443 HTTP/1.1\r\nHost: " WH_HOST ":443\r\n"	\
	"Proxy-Authorization: Basic !!!!\r\n\r\n"
#define AUTH_407							\
	wh_answer(407, "Proxy Authentication Required",			\
	    "Proxy-Authenticate: Basic realm=\"aibproxyd\"\r\n")

static struct wh	 W;

static void
throttle_init(void)
{
	wh_init(&W);
	W.pc->auth.ac_validate = 1;
	(void)strlcpy(W.pc->auth.ac_path, "/api/v2/users/me",
	    sizeof(W.pc->auth.ac_path));
	W.pc->auth.ac_ttl = 300000;
	W.pc->auth.ac_negative_ttl = 10000;
	W.pc->auth.ac_max_entries = 100;
	W.pc->auth.ac_fail_limit = LIMIT;
	W.pc->auth.ac_fail_window = WINDOW;
}

/*
 * The status line of what one request is answered, and a 429's
 * Retry-After: the seconds left in the address's window, rounded up.
 */
static void
throttle_expect_retry(const char *req, int status, int retry)
{
	struct wh_reader	 r;
	char			 line[64];
	int			 fd = wh_client(&W);

	wh_reader_init(&r, fd);
	wh_send(fd, req);
	ck_assert_int_eq(wh_read_eof(&W, &r, 3.), 0);
	snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
	ck_assert_msg(strncmp(r.got, line, strlen(line)) == 0, "got %s",
	    r.got);
	if (status == 429) {
		snprintf(line, sizeof(line), "\r\nRetry-After: %d\r\n",
		    retry);
		ck_assert_msg(strstr(r.got, line) != NULL, "got %s", r.got);
	}
	close(fd);
}

/* The same, the window having opened just now (WINDOW). */
static void
throttle_expect(const char *req, int status)
{
	throttle_expect_retry(req, status, WINDOW / 1000);
}

/* Whatever one end sent was read and dispatched by the other. */
static int
throttle_flushed(struct imsgev *from, struct imsgev *to)
{
	int	 n = 0;

	return (imsgchan_queued(&from->chan) == 0 &&
	    ioctl(to->chan.fd, FIONREAD, &n) == 0 && n == 0);
}

static int
throttle_delivered(struct wh *h, void *arg)
{
	return (throttle_flushed(&h->parent, &h->px.parent));
}

/* The sessions are over and all they reported is in h->nfailed. */
static int
throttle_settled(struct wh *h, void *arg)
{
	return (h->px.nsessions == 0 &&
	    throttle_flushed(&h->px.parent, &h->parent));
}

/* One attempt with malformed credentials: 407; nfailed reported so far. */
static void
throttle_bad(int nfailed)
{
	wh_exchange(&W, wh_client(&W), CONNECT_BAD, AUTH_407);
	ck_assert_int_eq(wh_run(&W, throttle_settled, NULL, 2.), 0);
	ck_assert_int_eq(W.nfailed, nfailed);
}

/* The parent's word on addr. */
static void
throttle_tell(const char *addr, uint32_t count, uint32_t remaining)
{
	struct auth_throttled	 at;

	memset(&at, 0, sizeof(at));
	(void)strlcpy(at.at_addr, addr, sizeof(at.at_addr));
	at.at_count = count;
	at.at_remaining = remaining;
	imsgev_compose(&W.parent, IMSG_AUTH_THROTTLED, 0, -1, &at,
	    sizeof(at));
	ck_assert_int_eq(wh_run(&W, throttle_delivered, NULL, 2.), 0);
}

/* A failure is answered 407 and reported with the address and window. */
START_TEST(test_reported)
{
	throttle_init();
	throttle_bad(1);
	ck_assert_str_eq(W.failed.af_addr, ADDR);
	ck_assert_uint_eq(W.failed.af_window, WINDOW);
	/* Without auth.validate nothing is counted, nor reported. */
	W.pc->auth.ac_validate = 0;
	throttle_bad(1);
	wh_done(&W);
}
END_TEST

/*
 * The parent says the address reached the limit in the whole daemon:
 * the worker, which counted none of it, answers 429 at once.  Another
 * address is still checked (and the bridge being down, 503).
 */
START_TEST(test_parent_word)
{
	throttle_init();
	throttle_tell("127.0.0.9", LIMIT, WINDOW);
	throttle_expect(WH_CONNECT_AUTH, 503);
	throttle_tell(ADDR, LIMIT, WINDOW);
	throttle_expect(WH_CONNECT_AUTH, 429);
	ck_assert_uint_eq(W.px.stats.st_auth[STATS_AUTH_THROTTLED].sa_cache,
	    1);
	/* Failures of a refused address are not reported: the parent knows. */
	throttle_bad(0);
	wh_done(&W);
}
END_TEST

/*
 * Retry-After is what is left of the window, whoever counted it: not
 * the whole of failures.window.
 */
START_TEST(test_retry_after)
{
	throttle_init();
	throttle_tell(ADDR, LIMIT, 10900);
	throttle_expect_retry(WH_CONNECT_AUTH, 429, 11);
	wh_done(&W);
}
END_TEST

/* A word below the limit refuses nothing; the worker counts on from it. */
START_TEST(test_parent_count)
{
	throttle_init();
	throttle_tell(ADDR, LIMIT - 1, WINDOW);
	throttle_expect(WH_CONNECT_AUTH, 503);
	throttle_bad(1);
	throttle_expect(WH_CONNECT_AUTH, 429);
	wh_done(&W);
}
END_TEST

/*
 * The worker's own count still refuses, should the parent's word be
 * late; the failure that reached the limit was the last one reported.
 */
START_TEST(test_local_limit)
{
	int	 i;

	throttle_init();
	for (i = 1; i <= LIMIT + 2; i++)
		throttle_bad(i < LIMIT ? i : LIMIT);
	throttle_expect(WH_CONNECT_AUTH, 429);
	ck_assert_int_eq(W.nfailed, LIMIT);
	wh_done(&W);
}
END_TEST

/* The parent's word is checked field by field; a bad one is refused. */
struct word_case {
	const char	*what;
	size_t		 len;
	int		 nonul;		/* at_addr fills its array */
	const char	*addr;
	uint32_t	 count;
	uint32_t	 remaining;
	int		 ok;
};

static const struct word_case word_cases[] = {
	{ "good", sizeof(struct auth_throttled), 0, ADDR, 3, 1000, 0 },
	{ "the longest window", sizeof(struct auth_throttled), 0, ADDR, 3,
	    AIB_WINDOW_MAX, 0 },
	{ "short", sizeof(struct auth_throttled) - 1, 0, ADDR, 3, 1000, -1 },
	{ "long", sizeof(struct auth_throttled) + 1, 0, ADDR, 3, 1000, -1 },
	{ "empty", 0, 0, ADDR, 3, 1000, -1 },
	{ "address without NUL", sizeof(struct auth_throttled), 1, ADDR, 3,
	    1000, -1 },
	{ "empty address", sizeof(struct auth_throttled), 0, "", 3, 1000, -1 },
	{ "count 0", sizeof(struct auth_throttled), 0, ADDR, 0, 1000, -1 },
	{ "window over", sizeof(struct auth_throttled), 0, ADDR, 3, 0, -1 },
	{ "window too long", sizeof(struct auth_throttled), 0, ADDR, 3,
	    AIB_WINDOW_MAX + 1, -1 },
};

START_TEST(test_word_checked)
{
	const struct word_case	*c = &word_cases[_i];
	uint8_t			 buf[sizeof(struct auth_throttled) + 1];
	struct auth_throttled	 at;
	struct imsg		 imsg;

	throttle_init();
	memset(&at, 0, sizeof(at));
	(void)strlcpy(at.at_addr, c->addr, sizeof(at.at_addr));
	if (c->nonul)
		memset(at.at_addr, '1', sizeof(at.at_addr));
	at.at_count = c->count;
	at.at_remaining = c->remaining;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &at, sizeof(at));
	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = IMSG_AUTH_THROTTLED;
	imsg.fd = -1;
	imsg.data = c->len > 0 ? buf : NULL;
	imsg.datalen = c->len;
	ck_assert_msg(validator_dispatch(W.px.validator, &imsg) == c->ok,
	    "%s", c->what);
	wh_done(&W);
}
END_TEST

/*
 * A reload: the same failures rules keep the counts, as a change of
 * another auth setting does; a new limit or window forgets them.  A
 * forgotten address's next failure is reported again.
 */
START_TEST(test_reload)
{
	struct proxy_conf	*same, *other;

	throttle_init();
	throttle_tell(ADDR, LIMIT, WINDOW);
	if ((same = proxy_conf_new()) == NULL ||
	    (other = proxy_conf_new()) == NULL)
		abort();
	same->bridge = other->bridge = W.pc->bridge;
	same->auth = other->auth = W.pc->auth;
	same->auth.ac_ttl = 1000;
	other->auth.ac_fail_window = WINDOW / 2;
	/* Still refused, so not reported: nothing queued for the parent. */
	validator_configure(W.px.validator, same);
	validator_failed(W.px.validator, ADDR);
	ck_assert_uint_eq(imsgchan_queued(&W.px.parent.chan), 0);
	validator_configure(W.px.validator, other);
	validator_failed(W.px.validator, ADDR);
	ck_assert_int_eq(wh_run(&W, throttle_settled, NULL, 2.), 0);
	ck_assert_int_eq(W.nfailed, 1);
	ck_assert_uint_eq(W.failed.af_window, WINDOW / 2);
	validator_configure(W.px.validator, W.pc);
	proxy_conf_unref(same);
	proxy_conf_unref(other);
	wh_done(&W);
}
END_TEST

static Suite *
throttle_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("throttle");
	tc = tcase_create("worker");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_reported);
	tcase_add_test(tc, test_parent_word);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_parent_count);
	tcase_add_test(tc, test_local_limit);
	tcase_add_loop_test(tc, test_word_checked, 0, nitems(word_cases));
	tcase_add_test(tc, test_reload);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (unit_run(throttle_suite()) != 0);
}
