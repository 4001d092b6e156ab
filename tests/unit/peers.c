/*
 * The worker's peers that run in threads with blocking sockets (see
 * harness.h): the bridge, a tunnel's destination, and a client that
 * talks TLS inside its CONNECT, perhaps inside a TLS listener's session.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static int	 wh_tls_write(struct tls *, const char *, size_t);

static int
wh_write_all(int fd, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) <= 0)
			return (-1);
		p += n;
		len -= n;
	}
	return (0);
}

/* Content-Length of a head, 0 if none. */
static size_t
wh_content_length(const char *head)
{
	const char	*p, *errstr;
	char		 num[16];
	size_t		 n;

	if ((p = strcasestr(head, "\r\nContent-Length:")) == NULL)
		return (0);
	p += strlen("\r\nContent-Length:");
	p += strspn(p, " ");
	n = strspn(p, "0123456789");
	if (n == 0 || n >= sizeof(num))
		return (0);
	memcpy(num, p, n);
	num[n] = '\0';
	return ((size_t)strtonum(num, 0, 64 * 1024 * 1024, &errstr));
}

static int
wh_accept(int lfd)
{
	struct pollfd	 pfd = { lfd, POLLIN, 0 };
	int		 fd;

	if (poll(&pfd, 1, WH_PEER_WAIT * 1000) != 1 ||
	    (fd = accept(lfd, NULL, NULL)) == -1)
		return (-1);
	wh_timeout(fd, WH_PEER_WAIT);
	return (fd);
}

uint32_t
wh_hash(uint32_t h, const void *p, size_t len)
{
	const uint8_t	*b = p;

	while (len-- > 0)
		h = (h ^ *b++) * 16777619U;
	return (h);
}

/*
 * One request: the head appended to b->got, and its Content-Length
 * body counted and hashed (and kept while b->got has room).
 */
static int
wh_bridge_read(struct wh_bridge *b, int fd)
{
	const char	*start = b->got + b->gotlen, *e;
	char		 buf[16384];
	size_t		 cl, have;
	ssize_t		 n;

	while ((e = strstr(start, "\r\n\r\n")) == NULL) {
		if (b->gotlen >= sizeof(b->got) - 1 || (n = read(fd,
		    b->got + b->gotlen, sizeof(b->got) - 1 - b->gotlen)) <= 0)
			return (-1);
		b->gotlen += n;
		b->got[b->gotlen] = '\0';
	}
	cl = wh_content_length(start);
	e += 4;
	/* A chunked body: kept whole, up to its last chunk. */
	if (strcasestr(start, "\r\nTransfer-Encoding: chunked\r\n") !=
	    NULL) {
		while (b->gotlen < 5 ||
		    strcmp(b->got + b->gotlen - 5, "0\r\n\r\n") != 0) {
			if (b->gotlen >= sizeof(b->got) - 1 || (n = read(fd,
			    b->got + b->gotlen, sizeof(b->got) - 1 -
			    b->gotlen)) <= 0)
				return (-1);
			b->gotlen += n;
			b->got[b->gotlen] = '\0';
		}
		b->body += b->gotlen - (size_t)(e - b->got);
		return (0);
	}
	have = b->gotlen - (size_t)(e - b->got);
	b->bodyhash = wh_hash(b->bodyhash, e, have);
	while (have < cl) {
		n = read(fd, buf, cl - have < sizeof(buf) ? cl - have :
		    sizeof(buf));
		if (n <= 0)
			return (-1);
		b->bodyhash = wh_hash(b->bodyhash, buf, n);
		if ((size_t)n < sizeof(b->got) - 1 - b->gotlen) {
			memcpy(b->got + b->gotlen, buf, n);
			b->gotlen += n;
			b->got[b->gotlen] = '\0';
		}
		have += n;
	}
	b->body += have;
	return (0);
}

static void *
wh_bridge_main(void *arg)
{
	struct wh_bridge	*b = arg;
	char			 junk[256];
	ssize_t			 n;
	int			 fd;

	if ((fd = wh_accept(b->lfd)) == -1)
		goto out;
	b->accepted = 1;
	/* The whole answer and our EOF before the worker reads a byte. */
	if (b->early) {
		(void)wh_write_all(fd, b->answers[0], strlen(b->answers[0]));
		shutdown(fd, SHUT_WR);
		if (wh_bridge_read(b, fd) == 0)
			b->nreq++;
	}
	while (!b->early && b->answers[b->nreq] != NULL &&
	    wh_bridge_read(b, fd) == 0) {
		if (wh_write_all(fd, b->answers[b->nreq],
		    strlen(b->answers[b->nreq])) == -1)
			break;
		b->nreq++;
	}
	shutdown(fd, SHUT_WR);
	/* The worker pools the connection: it closes it on our EOF. */
	while ((n = read(fd, junk, sizeof(junk))) > 0)
		;
	b->eof = n == 0;
	close(fd);
 out:
	b->done = 1;
	return (NULL);
}

void
wh_bridge_start(struct wh_bridge *b, const char *answer)
{
	memset(b, 0, sizeof(*b));
	b->answers[0] = answer;
	wh_bridge_run(b);
}

void
wh_bridge_run(struct wh_bridge *b)
{
	b->lfd = wh_listen(&b->port);
	b->bodyhash = WH_HASH_INIT;
	if (pthread_create(&b->tid, NULL, wh_bridge_main, b) != 0)
		abort();
}

void
wh_bridge_join(struct wh_bridge *b)
{
	pthread_join(b->tid, NULL);
	close(b->lfd);
}

/* An upstream proxy: the CONNECT head, byte by byte, then its answer. */
static int
wh_upstream_head(struct wh_echo *e, int fd)
{
	size_t	 len = 0;

	while (len < sizeof(e->head) - 1) {
		if (read(fd, e->head + len, 1) != 1)
			return (-1);
		e->head[++len] = '\0';
		if (len >= 4 && strcmp(e->head + len - 4, "\r\n\r\n") == 0)
			return (wh_write_all(fd, e->upstream,
			    strlen(e->upstream)));
	}
	return (-1);
}

static void *
wh_echo_main(void *arg)
{
	struct wh_echo	*e = arg;
	char		 buf[4096];
	ssize_t		 n;
	int		 fd;

	if ((fd = wh_accept(e->lfd)) == -1)
		goto out;
	e->accepted = 1;
	if (e->upstream != NULL && wh_upstream_head(e, fd) == -1)
		goto done;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (wh_write_all(fd, buf, n) == -1)
			break;
		e->echoed += n;
	}
	if (n == 0) {
		e->eof = 1;
		/* Still writable after the client's half-close. */
		(void)wh_write_all(fd, "bye", 3);
		shutdown(fd, SHUT_WR);
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	}
 done:
	close(fd);
 out:
	e->done = 1;
	return (NULL);
}

void
wh_echo_start(struct wh_echo *e)
{
	memset(e, 0, sizeof(*e));
	e->lfd = wh_listen(&e->port);
	if (pthread_create(&e->tid, NULL, wh_echo_main, e) != 0)
		abort();
}

void
wh_upstream_start(struct wh_echo *e, const char *answer)
{
	memset(e, 0, sizeof(*e));
	e->upstream = answer;
	e->lfd = wh_listen(&e->port);
	if (pthread_create(&e->tid, NULL, wh_echo_main, e) != 0)
		abort();
}

int
wh_echo_accepted(struct wh *h, void *arg)
{
	return (((struct wh_echo *)arg)->accepted);
}

void
wh_echo_join(struct wh_echo *e)
{
	pthread_join(e->tid, NULL);
	close(e->lfd);
}

/* To the proxy: the socket, or the TLS session with a TLS listener. */
static int
wh_io_write(struct wh_tls *c, const char *p, size_t len)
{
	if (c->outer == NULL)
		return (wh_write_all(c->fd, p, len));
	return (wh_tls_write(c->outer, p, len));
}

static ssize_t
wh_io_read(struct wh_tls *c, char *p, size_t len)
{
	ssize_t	 n;

	if (c->outer == NULL)
		return (read(c->fd, p, len));
	while ((n = tls_read(c->outer, p, len)) == TLS_WANT_POLLIN ||
	    n == TLS_WANT_POLLOUT)
		;
	return (n);
}

/* The proxy's answer to a CONNECT, read byte by byte to its end. */
static int
wh_tls_answer(struct wh_tls *c)
{
	size_t	 len = 0;

	while (len < sizeof(c->answer) - 1) {
		if (wh_io_read(c, c->answer + len, 1) != 1)
			return (-1);
		c->answer[++len] = '\0';
		if (len >= 4 && strcmp(c->answer + len - 4, "\r\n\r\n") == 0)
			break;
	}
	if (strncmp(c->answer, "HTTP/1.1 200 ", 13) == 0)
		return (0);
	/* Not a tunnel: the rest of the answer, to EOF. */
	while (len < sizeof(c->answer) - 1 && wh_io_read(c, c->answer + len,
	    1) == 1)
		c->answer[++len] = '\0';
	return (-1);
}

/* The inner TLS session's transport: the outer one. */
static ssize_t
wh_outer_read(struct tls *ctx, void *p, size_t len, void *arg)
{
	return (tls_read(arg, p, len));
}

static ssize_t
wh_outer_write(struct tls *ctx, const void *p, size_t len, void *arg)
{
	return (tls_write(arg, p, len));
}

/*
 * An eager client does not wait for the proxy's 200: its ClientHello
 * leaves in the same write as the CONNECT, and the answer is read
 * before the ServerHello.
 */
static ssize_t
wh_eager_read(struct tls *ctx, void *p, size_t len, void *arg)
{
	struct wh_tls	*c = arg;

	if (!c->eager_read) {
		if (wh_tls_answer(c) == -1)
			return (-1);
		c->eager_read = 1;
	}
	return (read(c->fd, p, len));
}

static ssize_t
wh_eager_write(struct tls *ctx, const void *p, size_t len, void *arg)
{
	struct wh_tls	*c = arg;
	char		 buf[4096];
	size_t		 n;

	if (c->eager_sent)
		return (send(c->fd, p, len, MSG_NOSIGNAL));
	n = strlcpy(buf, c->connect, sizeof(buf));
	if (n + len > sizeof(buf))
		return (-1);
	memcpy(buf + n, p, len);
	if (wh_write_all(c->fd, buf, n + len) == -1)
		return (-1);
	c->eager_sent = 1;
	return (len);
}

/*
 * A client behind a balancer: the PROXY header leaves in the same
 * write as the ClientHello, so the proxy reads both at once.
 */
static ssize_t
wh_preface_read(struct tls *ctx, void *p, size_t len, void *arg)
{
	return (read(((struct wh_tls *)arg)->fd, p, len));
}

static ssize_t
wh_preface_write(struct tls *ctx, const void *p, size_t len, void *arg)
{
	struct wh_tls	*c = arg;
	char		 buf[4096];
	size_t		 n = c->prefacelen;

	if (c->preface == NULL)
		return (send(c->fd, p, len, MSG_NOSIGNAL));
	if (n + len > sizeof(buf))
		return (-1);
	memcpy(buf, c->preface, n);
	memcpy(buf + n, p, len);
	if (wh_write_all(c->fd, buf, n + len) == -1)
		return (-1);
	c->preface = NULL;
	return (len);
}

/* A TLS session to name, over the socket or over via. */
static struct tls *
wh_tls_connect(struct wh_tls *c, struct tls *via, const char *name)
{
	struct tls_config	*cfg;
	struct tls		*ctx;
	int			 r;

	if ((cfg = tls_config_new()) == NULL || (ctx = tls_client()) == NULL)
		abort();
	if (tls_config_set_ca_mem(cfg, (const uint8_t *)wh_ca_pem,
	    strlen(wh_ca_pem)) == -1 || tls_configure(ctx, cfg) == -1)
		abort();
	if (via == NULL && c->eager)
		r = tls_connect_cbs(ctx, wh_eager_read, wh_eager_write, c,
		    name);
	else if (via == NULL && c->preface != NULL)
		r = tls_connect_cbs(ctx, wh_preface_read, wh_preface_write, c,
		    name);
	else if (via == NULL)
		r = tls_connect_socket(ctx, c->fd, name);
	else
		r = tls_connect_cbs(ctx, wh_outer_read, wh_outer_write, via,
		    name);
	if (r == -1)
		abort();
	tls_config_free(cfg);
	while ((r = tls_handshake(ctx)) == TLS_WANT_POLLIN ||
	    r == TLS_WANT_POLLOUT)
		;
	if (r == -1) {
		strlcpy(c->err, tls_error(ctx), sizeof(c->err));
		c->handshake = -1;
	}
	return (ctx);
}

static void
wh_sleep(double secs)
{
	struct timespec	 ts;

	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
wh_tls_write(struct tls *ctx, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = tls_write(ctx, p, len);
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT)
			continue;
		if (n <= 0)
			return (-1);
		p += n;
		len -= n;
	}
	return (0);
}

static void
wh_tls_talk(struct wh_tls *c, struct tls *ctx)
{
	char	 buf[16384];
	ssize_t	 n;
	int	 i;

	for (i = 0; c->lines[i] != NULL; i++) {
		if (i > 0 && c->gap > 0)
			wh_sleep(c->gap);
		if (i == 0)
			c->t0 = ev_time();
		/* The answer may come, and the connection close, early. */
		if (wh_tls_write(ctx, c->lines[i], strlen(c->lines[i])) == -1)
			break;
	}
	c->hash = WH_HASH_INIT;
	for (;;) {
		n = tls_read(ctx, buf, sizeof(buf));
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT)
			continue;
		if (n == 0)
			c->clean = 1;
		if (n <= 0)
			break;
		if (c->total == 0)
			c->tfirst = ev_time();
		c->total += n;
		c->hash = wh_hash(c->hash, buf, n);
		if ((size_t)n > sizeof(c->got) - 1 - c->gotlen)
			n = sizeof(c->got) - 1 - c->gotlen;
		memcpy(c->got + c->gotlen, buf, n);
		c->gotlen += n;
		c->got[c->gotlen] = '\0';
		if (c->stop_after > 0 && c->total >= c->stop_after)
			break;
	}
}

/* A client that hangs up sends no close_notify. */
static void
wh_tls_end(struct wh_tls *c, struct tls *ctx)
{
	if (ctx == NULL)
		return;
	if (c->stop_after == 0)
		(void)tls_close(ctx);
	tls_free(ctx);
}

static void *
wh_tls_main(void *arg)
{
	struct wh_tls	*c = arg;
	struct tls	*ctx = NULL;
	int		 i;

	if (c->listener_tls && ((c->outer = wh_tls_connect(c, NULL,
	    WH_PROXY_NAME)) == NULL || c->handshake == -1))
		goto fail;
	if (c->connect != NULL) {
		if (!c->eager && (wh_io_write(c, c->connect,
		    strlen(c->connect)) == -1 || wh_tls_answer(c) == -1))
			goto fail;
		ctx = wh_tls_connect(c, c->outer, WH_HOST);
		if (c->handshake == -1)
			goto fail;
	}
	c->ready = 1;
	for (i = 0; c->pause && !c->go && i < 3000; i++)
		wh_sleep(0.001);
	wh_tls_talk(c, ctx != NULL ? ctx : c->outer);
	goto out;
 fail:
	c->handshake = -1;
	c->ready = 1;
 out:
	wh_tls_end(c, ctx);
	wh_tls_end(c, c->outer);
	c->outer = NULL;
	close(c->fd);
	c->done = 1;
	return (NULL);
}

void
wh_tls_start(struct wh_tls *c, int fd)
{
	c->fd = fd;
	if (pthread_create(&c->tid, NULL, wh_tls_main, c) != 0)
		abort();
}

void
wh_tls_join(struct wh_tls *c)
{
	pthread_join(c->tid, NULL);
}

int
wh_tls_done(struct wh *h, void *arg)
{
	struct wh_tls	*c = arg;

	return (c->done && h->px.nsessions == 0);
}
