/*
 * Check assertions shared by the session runners (see harness.h).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <check.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

const char	 wh_post[] =
    "POST /v1/messages?beta=true HTTP/1.1\r\n"
    "Host: " WH_HOST "\r\n"
    "Authorization: Bearer sk-ant-client\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 13\r\n"
    "Connection: close\r\n"
    "\r\n"
    "{\"model\":\"x\"}";

void
wh_send(int fd, const char *s)
{
	ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL),
	    (ssize_t)strlen(s));
}

void
wh_exchange(struct wh *h, int fd, const char *req, const char *want)
{
	struct wh_reader	 r;

	wh_reader_init(&r, fd);
	wh_send(fd, req);
	ck_assert_int_eq(wh_read_eof(h, &r, 1.5), 0);
	ck_assert_str_eq(r.got, want);
	ck_assert_int_eq(r.eof, 1);
	close(fd);
}

void
wh_done(struct wh *h)
{
	ck_assert_int_eq(wh_quiet(h), 1);
	ck_assert_uint_eq(h->px.nsessions, 0);
	wh_free(h);
}

void
wh_tls_prepare(struct wh_tls *c, const char *const *lines, double gap,
    int pause)
{
	int	 i;

	memset(c, 0, sizeof(*c));
	c->connect = WH_CONNECT_AUTH;
	for (i = 0; lines != NULL && lines[i] != NULL; i++)
		c->lines[i] = lines[i];
	c->gap = gap;
	c->pause = pause;
}

void
wh_tls_client(struct wh *h, struct wh_tls *c, const char *const *lines,
    double gap, int pause)
{
	wh_tls_prepare(c, lines, gap, pause);
	wh_tls_start(c, wh_client(h));
}

void
wh_tls_finish(struct wh *h, struct wh_tls *c)
{
	ck_assert_int_eq(wh_run(h, wh_tls_done, c, 3.0), 0);
	wh_tls_join(c);
}

void
wh_tls_direct(struct wh *h, struct wh_tls *c, const char *const *lines)
{
	wh_tls_listener(h);
	wh_tls_prepare(c, lines, 0, 0);
	c->listener_tls = 1;
	c->connect = NULL;
	wh_tls_start(c, wh_client(h));
	wh_tls_finish(h, c);
	ck_assert_int_eq(c->handshake, 0);
}

int
wh_tls_ready(struct wh *h, void *arg)
{
	return (((struct wh_tls *)arg)->ready);
}

void
wh_pattern(char *p, size_t len, unsigned int seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = 'a' + (i / 1000 + seed) % 26;
}
