/*
 * The framed channel over real non-blocking socketpairs: framing,
 * partial reads and writes, the size cap, lying headers, descriptor
 * passing and the exact-length accessors.  Check forks each test, so
 * the channel pair below is per test.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "unit.h"

#define HDR		IMSG_HDR_SIZE
#define SMALLMAX	1024
#define BIGLEN		(200 * 1024)
#define SPIN_MAX	100000

static int		 sv[2] = { -1, -1 };
static struct imsgchan	 ca;		/* on sv[0] */
static struct imsgchan	 cb;		/* on sv[1] */

static void
set_nonblock(int fd)
{
	int	 flags;

	flags = fcntl(fd, F_GETFL);
	ck_assert_int_ne(flags, -1);
	ck_assert_int_ne(fcntl(fd, F_SETFL, flags | O_NONBLOCK), -1);
}

static void
pair_open(size_t maxsize, int fdpass_a, int fdpass_b)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	set_nonblock(sv[0]);
	set_nonblock(sv[1]);
	ck_assert_int_eq(imsgchan_init(&ca, sv[0], maxsize, fdpass_a), 0);
	ck_assert_int_eq(imsgchan_init(&cb, sv[1], maxsize, fdpass_b), 0);
}

static void
pair_close(void)
{
	imsgchan_clear(&ca);
	imsgchan_clear(&cb);
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	sv[0] = sv[1] = -1;
}

/* A small send buffer, so that a big message cannot go in one write. */
static void
shrink_sndbuf(int fd)
{
	int	 sz = 16384;

	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz,
	    sizeof(sz)), 0);
}

static int
fd_isopen(int fd)
{
	return (fcntl(fd, F_GETFD) != -1);
}

/* Portable stand-in for counting /proc/self/fd. */
static int
count_fds(void)
{
	long	 max;
	int	 fd, n = 0;

	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 4096)
		max = 4096;
	for (fd = 0; fd < max; fd++)
		if (fd_isopen(fd))
			n++;
	return (n);
}

static uint8_t *
pattern(size_t len, unsigned int seed)
{
	uint8_t	*p;
	size_t	 i;

	p = malloc(len > 0 ? len : 1);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 8));
	return (p);
}

static void
write_all(int fd, const void *buf, size_t len)
{
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
}

/* Read until the socket is drained; EOF or a real error fails. */
static void
read_drain(struct imsgchan *chan)
{
	ssize_t	 n;
	int	 err;

	while ((n = imsgchan_read(chan)) > 0)
		;
	err = errno;
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(err, EAGAIN);
}

/* Interleave writes and reads until one message comes out of to. */
static void
pump(struct imsgchan *from, struct imsgchan *to, struct imsg *imsg)
{
	ssize_t	 n;
	int	 err, i, r;

	for (i = 0; i < SPIN_MAX; i++) {
		ck_assert_int_eq(imsgchan_write(from), 0);
		r = imsgchan_get(to, imsg);
		ck_assert_int_ne(r, -1);
		if (r == 1)
			return;
		n = imsgchan_read(to);
		err = errno;
		ck_assert_int_ne(n, 0);
		if (n == -1) {
			ck_assert_int_eq(err, EAGAIN);
			if (imsgchan_queued(from) == 0)
				ck_abort_msg("queue empty, no message");
		}
	}
	ck_abort_msg("no message after %d rounds", SPIN_MAX);
}

static void
send_hdr(int fd, uint32_t type, uint32_t len, uint32_t flags, size_t sendlen)
{
	struct imsg_hdr	 hdr;
	uint8_t		*buf;

	ck_assert_uint_ge(sendlen, HDR);
	buf = calloc(1, sendlen);
	ck_assert_ptr_nonnull(buf);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = len;
	hdr.flags = flags;
	memcpy(buf, &hdr, sizeof(hdr));
	write_all(fd, buf, sendlen);
	free(buf);
}

/* Round trips of several types and sizes, compose and compose2. */
static const struct rt_case {
	uint32_t	 type;
	uint32_t	 peerid;
	size_t		 l1;
	size_t		 l2;
	int		 two;
} rt_cases[] = {
	{ 1, 0, 0, 0, 0 },
	{ 2, 7, 1, 0, 0 },
	{ 3, UINT32_MAX, 100, 0, 0 },
	{ 4, 1, 4096, 0, 0 },
	{ 5, 2, 10, 20, 1 },
	{ 6, 3, 0, 5, 1 },
	{ 7, 4, 5, 0, 1 },
	{ 8, 5, 0, 0, 1 },
	{ UINT32_MAX, 6, IMSG_MAXSIZE_DEFAULT - HDR, 0, 0 },
	{ 9, 8, 100000, IMSG_MAXSIZE_DEFAULT - HDR - 100000, 1 },
};

START_TEST(test_roundtrip)
{
	const struct rt_case	*c = &rt_cases[_i];
	struct imsg		 imsg;
	uint8_t			*buf;
	size_t			 len = c->l1 + c->l2;
	int			 r;

	pair_open(IMSG_MAXSIZE_DEFAULT, 0, 0);
	buf = pattern(len, (unsigned int)_i);
	if (c->two)
		r = imsgchan_compose2(&ca, c->type, c->peerid, -1,
		    c->l1 ? buf : NULL, c->l1, c->l2 ? buf + c->l1 : NULL,
		    c->l2);
	else
		r = imsgchan_compose(&ca, c->type, c->peerid, -1,
		    c->l1 ? buf : NULL, c->l1);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(imsgchan_queued(&ca), HDR + len);

	pump(&ca, &cb, &imsg);
	ck_assert_uint_eq(imsg.hdr.type, c->type);
	ck_assert_uint_eq(imsg.hdr.len, HDR + len);
	ck_assert_uint_eq(imsg.hdr.flags, 0);
	ck_assert_uint_eq(imsg.hdr.peerid, c->peerid);
	ck_assert_uint_eq(imsg.hdr.pid, (uint32_t)getpid());
	ck_assert_int_eq(imsg.fd, -1);
	ck_assert_uint_eq(imsg.datalen, len);
	if (len == 0)
		ck_assert_ptr_null(imsg.data);
	else
		ck_assert_mem_eq(imsg.data, buf, len);
	imsg_free(&imsg);

	ck_assert_uint_eq(imsgchan_queued(&ca), 0);
	ck_assert_int_eq(imsgchan_get(&cb, &imsg), 0);
	ck_assert_uint_eq(cb.rlen, 0);
	free(buf);
	pair_close();
}
END_TEST

/* The header carries chan->pid, not whatever getpid() says now. */
START_TEST(test_pid_stamp)
{
	struct imsg	 imsg;

	pair_open(SMALLMAX, 0, 0);
	ck_assert_int_eq(ca.pid, getpid());
	ca.pid = 4242;
	ck_assert_int_eq(imsgchan_compose(&ca, 1, 2, -1, NULL, 0), 0);
	pump(&ca, &cb, &imsg);
	ck_assert_uint_eq(imsg.hdr.pid, 4242);
	imsg_free(&imsg);
	pair_close();
}
END_TEST

#define MANY	1000

/* Many messages queued, all read before any is taken. */
START_TEST(test_many)
{
	struct imsg	 imsg;
	uint8_t		*buf;
	size_t		 len, total = 0;
	ssize_t		 n;
	int		 i, err, spins = 0;

	pair_open(IMSG_MAXSIZE_DEFAULT, 0, 0);
	buf = pattern(64, 9);
	for (i = 0; i < MANY; i++) {
		len = i % 61;
		ck_assert_int_eq(imsgchan_compose(&ca, 100 + i, i, -1,
		    buf, len), 0);
		total += HDR + len;
	}
	ck_assert_uint_eq(imsgchan_queued(&ca), total);

	/* Small send buffers (OpenBSD: 8 KiB) need the reader to keep up. */
	do {
		ck_assert_int_eq(imsgchan_write(&ca), 0);
		while ((n = imsgchan_read(&cb)) > 0)
			;
		err = errno;
		ck_assert_int_eq(n, -1);
		ck_assert_int_eq(err, EAGAIN);
		ck_assert_int_lt(++spins, SPIN_MAX);
	} while (imsgchan_queued(&ca) > 0);
	ck_assert_uint_eq(cb.rlen, total);

	for (i = 0; i < MANY; i++) {
		ck_assert_int_eq(imsgchan_get(&cb, &imsg), 1);
		ck_assert_uint_eq(imsg.hdr.type, 100 + i);
		ck_assert_uint_eq(imsg.hdr.peerid, i);
		ck_assert_uint_eq(imsg.datalen, (size_t)(i % 61));
		if (imsg.datalen > 0)
			ck_assert_mem_eq(imsg.data, buf, imsg.datalen);
		imsg_free(&imsg);
	}
	ck_assert_int_eq(imsgchan_get(&cb, &imsg), 0);
	free(buf);
	pair_close();
}
END_TEST

/* Take n raw bytes that the channel wrote, straight off the socket. */
static void
read_raw(int fd, uint8_t *buf, size_t len)
{
	size_t	 got = 0;
	ssize_t	 n;

	while (got < len) {
		n = read(fd, buf + got, len - got);
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
	ck_assert_int_eq(read(fd, buf, 1), -1);
}

static const size_t split_lens[] = { 0, 1, 37 };

/*
 * Two messages fed to the receiver one byte at a time: nothing comes
 * out until the last byte of each, and the leftover of the first read
 * is kept for the second.
 */
START_TEST(test_split_read)
{
	struct imsgchan	 rx;
	struct imsg	 imsg;
	struct imsg_hdr	 hdr;
	uint8_t		*payload, *raw;
	size_t		 len = split_lens[_i], m1 = HDR + len, total, i;
	int		 tx[2], r;

	pair_open(SMALLMAX, 0, 0);
	payload = pattern(len, 3);
	ck_assert_int_eq(imsgchan_compose(&ca, 11, 12, -1, payload, len), 0);
	ck_assert_int_eq(imsgchan_compose(&ca, 13, 14, -1, NULL, 0), 0);
	total = m1 + HDR;
	ck_assert_int_eq(imsgchan_flush(&ca), 0);
	raw = malloc(total);
	ck_assert_ptr_nonnull(raw);
	read_raw(sv[1], raw, total);

	/* The wire format: host-order header, then the payload. */
	memcpy(&hdr, raw, sizeof(hdr));
	ck_assert_uint_eq(hdr.type, 11);
	ck_assert_uint_eq(hdr.len, m1);
	ck_assert_uint_eq(hdr.flags, 0);
	ck_assert_uint_eq(hdr.peerid, 12);
	ck_assert_uint_eq(hdr.pid, (uint32_t)getpid());
	if (len > 0)
		ck_assert_mem_eq(raw + HDR, payload, len);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, tx), 0);
	set_nonblock(tx[1]);
	ck_assert_int_eq(imsgchan_init(&rx, tx[1], SMALLMAX, 0), 0);
	for (i = 0; i < total; i++) {
		write_all(tx[0], raw + i, 1);
		ck_assert_int_eq(imsgchan_read(&rx), 1);
		r = imsgchan_get(&rx, &imsg);
		if (i != m1 - 1 && i != total - 1) {
			ck_assert_int_eq(r, 0);
			continue;
		}
		ck_assert_int_eq(r, 1);
		ck_assert_uint_eq(imsg.hdr.type, i == m1 - 1 ? 11 : 13);
		ck_assert_uint_eq(imsg.datalen, i == m1 - 1 ? len : 0);
		if (imsg.datalen > 0)
			ck_assert_mem_eq(imsg.data, payload, len);
		imsg_free(&imsg);
	}
	ck_assert_int_eq(imsgchan_get(&rx, &imsg), 0);
	imsgchan_clear(&rx);
	close(tx[0]);
	close(tx[1]);
	free(raw);
	free(payload);
	pair_close();
}
END_TEST

static const size_t cut_lens[] = { 1, HDR - 1, HDR, HDR + 1, HDR + 19 };

/* A message cut short by EOF produces nothing, and keeps the bytes. */
START_TEST(test_truncated_eof)
{
	struct imsg_hdr	 hdr;
	struct imsg	 imsg;
	uint8_t		 raw[HDR + 20];
	size_t		 cut = cut_lens[_i];

	pair_open(SMALLMAX, 0, 0);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = 5;
	hdr.len = sizeof(raw);
	memset(raw, 'p', sizeof(raw));
	memcpy(raw, &hdr, sizeof(hdr));
	write_all(sv[0], raw, cut);
	ck_assert_int_eq(shutdown(sv[0], SHUT_WR), 0);

	ck_assert_int_eq(imsgchan_read(&cb), (ssize_t)cut);
	ck_assert_int_eq(imsgchan_get(&cb, &imsg), 0);
	ck_assert_int_eq(imsg.fd, -1);
	ck_assert_ptr_null(imsg.data);
	ck_assert_int_eq(imsgchan_read(&cb), 0);
	ck_assert_int_eq(imsgchan_get(&cb, &imsg), 0);
	ck_assert_uint_eq(cb.rlen, cut);
	imsg_free(&imsg);
	pair_close();
}
END_TEST

/* The cap on compose, including lengths whose sum would wrap. */
static const struct size_case {
	size_t		 l1;
	size_t		 l2;
	int		 err;		/* 0: accepted */
} size_cases[] = {
	{ SMALLMAX - HDR, 0, 0 },
	{ SMALLMAX - HDR + 1, 0, EMSGSIZE },
	{ 500, SMALLMAX - HDR - 500, 0 },
	{ 500, SMALLMAX - HDR - 499, EMSGSIZE },
	{ 0, SMALLMAX - HDR + 1, EMSGSIZE },
	{ SIZE_MAX, 0, EMSGSIZE },
	{ 1, SIZE_MAX, EMSGSIZE },
	{ SIZE_MAX - 10, 20, EMSGSIZE },
	{ 20, SIZE_MAX - 10, EMSGSIZE },
};

START_TEST(test_compose_size)
{
	const struct size_case	*c = &size_cases[_i];
	struct imsg		 imsg;
	uint8_t			*buf;
	int			 r, err;

	pair_open(SMALLMAX, 0, 0);
	buf = pattern(SMALLMAX, 1);
	errno = 0;
	r = imsgchan_compose2(&ca, 1, 0, -1, buf, c->l1, buf, c->l2);
	err = errno;
	if (c->err != 0) {
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(err, c->err);
		ck_assert_uint_eq(imsgchan_queued(&ca), 0);
	} else {
		ck_assert_int_eq(r, 0);
		ck_assert_uint_eq(imsgchan_queued(&ca), HDR + c->l1 + c->l2);
		pump(&ca, &cb, &imsg);
		ck_assert_uint_eq(imsg.hdr.len, HDR + c->l1 + c->l2);
		imsg_free(&imsg);
	}
	free(buf);
	pair_close();
}
END_TEST

/* Hand-made headers; only the header is sent when len lies. */
static const struct hdr_case {
	uint32_t	 len;
	uint32_t	 flags;
	int		 fdpass;
	size_t		 sendlen;
	int		 ret;
} hdr_cases[] = {
	{ SMALLMAX, 0, 0, SMALLMAX, 1 },
	{ HDR, 0, 0, HDR, 1 },
	{ SMALLMAX + 1, 0, 0, HDR, -1 },
	{ UINT32_MAX, 0, 0, HDR, -1 },
	{ HDR - 1, 0, 0, HDR, -1 },
	{ 0, 0, 0, HDR, -1 },
	{ HDR, 0x2, 0, HDR, -1 },
	{ HDR, 0x80000000, 0, HDR, -1 },
	{ HDR + 4, IMSG_FLAG_FD, 1, HDR + 4, -1 },
	{ HDR + 4, IMSG_FLAG_FD, 0, HDR + 4, -1 },
};

START_TEST(test_bad_header)
{
	const struct hdr_case	*c = &hdr_cases[_i];
	struct imsg		 imsg;
	int			 r, err;

	pair_open(SMALLMAX, c->fdpass, c->fdpass);
	send_hdr(sv[0], 42, c->len, c->flags, c->sendlen);
	read_drain(&cb);
	ck_assert_uint_eq(cb.rlen, c->sendlen);
	r = imsgchan_get(&cb, &imsg);
	err = errno;
	ck_assert_int_eq(r, c->ret);
	if (r == 1) {
		ck_assert_uint_eq(imsg.hdr.type, 42);
		ck_assert_uint_eq(imsg.datalen, c->len - HDR);
		imsg_free(&imsg);
	} else {
		ck_assert_int_eq(err, EBADMSG);
		/* Nothing was consumed: the channel stays broken. */
		ck_assert_int_eq(imsgchan_get(&cb, &imsg), -1);
		ck_assert_uint_eq(cb.rlen, c->sendlen);
	}
	pair_close();
}
END_TEST

/* The caller must take messages; the read buffer does not grow forever. */
START_TEST(test_rbuf_cap)
{
	struct imsg	 imsg;
	ssize_t		 n;
	size_t		 total = 0;
	int		 i, got = 0, err;

	pair_open(64, 0, 0);
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(imsgchan_compose(&ca, 1, i, -1, "0123456789",
		    10), 0);
	ck_assert_int_eq(imsgchan_write(&ca), 0);
	ck_assert_uint_eq(imsgchan_queued(&ca), 0);
	while ((n = imsgchan_read(&cb)) > 0)
		total += (size_t)n;
	err = errno;
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(err, ENOBUFS);
	ck_assert_uint_lt(total, 200 * (HDR + 10));
	ck_assert_uint_le(cb.rcap, 64 + 65536);

	/* Taking what is there makes room again. */
	for (;;) {
		while (imsgchan_get(&cb, &imsg) == 1) {
			ck_assert_uint_eq(imsg.hdr.peerid, got);
			got++;
			imsg_free(&imsg);
		}
		if ((n = imsgchan_read(&cb)) == -1)
			break;
		ck_assert_int_gt(n, 0);
	}
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(got, 200);
	pair_close();
}
END_TEST

/* 200 KiB through a send buffer far smaller than that. */
START_TEST(test_large)
{
	struct imsg	 imsg;
	uint8_t		*buf;

	pair_open(IMSG_MAXSIZE_DEFAULT, 0, 0);
	shrink_sndbuf(sv[0]);
	buf = pattern(BIGLEN, 77);
	ck_assert_int_eq(imsgchan_compose(&ca, 3, 4, -1, buf, BIGLEN), 0);
	ck_assert_int_eq(imsgchan_write(&ca), 0);
	ck_assert_uint_gt(imsgchan_queued(&ca), 0);
	ck_assert_uint_lt(imsgchan_queued(&ca), HDR + BIGLEN);

	pump(&ca, &cb, &imsg);
	ck_assert_uint_eq(imsg.hdr.type, 3);
	ck_assert_uint_eq(imsg.datalen, BIGLEN);
	ck_assert_mem_eq(imsg.data, buf, BIGLEN);
	ck_assert_uint_le(cb.rcap, IMSG_MAXSIZE_DEFAULT + 65536);
	imsg_free(&imsg);
	free(buf);
	pair_close();
}
END_TEST

/* The forked reader's verdict, as an exit status. */
static int
flush_reader(struct imsgchan *chan, const uint8_t *want)
{
	struct pollfd	 pfd;
	struct imsg	 imsg;
	int		 r, got = 0;

	pfd.fd = chan->fd;
	pfd.events = POLLIN;
	while (got < 2) {
		if (poll(&pfd, 1, 3000) != 1)
			return (2);
		if (imsgchan_read(chan) <= 0)
			return (3);
		while ((r = imsgchan_get(chan, &imsg)) == 1) {
			if (got == 0 && (imsg.datalen != BIGLEN ||
			    memcmp(imsg.data, want, BIGLEN) != 0))
				return (4);
			if (got == 1 && imsg.hdr.type != 2)
				return (5);
			got++;
			imsg_free(&imsg);
		}
		if (r == -1)
			return (6);
	}
	return (0);
}

START_TEST(test_flush)
{
	uint8_t		*buf;
	pid_t		 pid;
	int		 status;

	pair_open(IMSG_MAXSIZE_DEFAULT, 0, 0);
	shrink_sndbuf(sv[0]);
	buf = pattern(BIGLEN, 5);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		_exit(flush_reader(&cb, buf));

	ck_assert_int_eq(imsgchan_compose(&ca, 1, 0, -1, buf, BIGLEN), 0);
	ck_assert_int_eq(imsgchan_compose(&ca, 2, 0, -1, NULL, 0), 0);
	ck_assert_int_eq(imsgchan_flush(&ca), 0);
	ck_assert_uint_eq(imsgchan_queued(&ca), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	free(buf);
	pair_close();
}
END_TEST

/* A dead peer is EPIPE, not SIGPIPE (which would kill this test). */
START_TEST(test_peer_closed)
{
	int	 r, err;

	pair_open(SMALLMAX, 0, 0);
	close(sv[1]);
	sv[1] = -1;
	ck_assert_int_eq(imsgchan_compose(&ca, 1, 0, -1, "x", 1), 0);
	r = imsgchan_write(&ca);
	err = errno;
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(err, EPIPE);
	r = imsgchan_flush(&ca);
	err = errno;
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(err, EPIPE);
	ck_assert_uint_eq(imsgchan_queued(&ca), HDR + 1);
	pair_close();
}
END_TEST

static void
expect_fd_msg(struct imsgchan *chan, uint32_t type, int pipefd)
{
	struct imsg	 imsg;
	char		 tag[2] = { (char)('a' + type), '\0' }, got[2];
	int		 fd;

	ck_assert_int_eq(imsgchan_get(chan, &imsg), 1);
	ck_assert_uint_eq(imsg.hdr.type, type);
	if (pipefd == -1) {
		ck_assert_uint_eq(imsg.hdr.flags, 0);
		ck_assert_int_eq(imsg.fd, -1);
		imsg_free(&imsg);
		return;
	}
	ck_assert_uint_eq(imsg.hdr.flags, IMSG_FLAG_FD);
	fd = imsg_get_fd(&imsg);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(imsg.fd, -1);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	imsg_free(&imsg);
	/* imsg_free() must not have closed the descriptor we took. */
	write_all(fd, tag, 1);
	close(fd);
	ck_assert_int_eq(read(pipefd, got, 1), 1);
	ck_assert_int_eq(got[0], tag[0]);
}

/*
 * Descriptors mixed with plain messages, two of them back to back:
 * each arrives with its own message, and the sender's copy is closed.
 */
START_TEST(test_fdpass)
{
	static const int	 hasfd[] = { 1, 0, 1, 1, 0 };
	struct imsg		 imsg;
	int			 p[nitems(hasfd)][2];
	size_t			 i;

	pair_open(SMALLMAX, 1, 1);
	for (i = 0; i < nitems(hasfd); i++) {
		p[i][0] = p[i][1] = -1;
		if (hasfd[i])
			ck_assert_int_eq(pipe(p[i]), 0);
		ck_assert_int_eq(imsgchan_compose(&ca, i, 0, p[i][1],
		    i % 2 ? "z" : NULL, i % 2), 0);
	}
	ck_assert_int_eq(imsgchan_write(&ca), 0);
	ck_assert_uint_eq(imsgchan_queued(&ca), 0);
	for (i = 0; i < nitems(hasfd); i++)
		if (hasfd[i])
			ck_assert(!fd_isopen(p[i][1]));

	read_drain(&cb);
	for (i = 0; i < nitems(hasfd); i++) {
		expect_fd_msg(&cb, i, p[i][0]);
		if (p[i][0] != -1)
			close(p[i][0]);
	}
	ck_assert_int_eq(imsgchan_get(&cb, &imsg), 0);
	pair_close();
}
END_TEST

/* No fdpass: a descriptor is refused at compose, and stays the caller's. */
START_TEST(test_fdpass_off)
{
	int	 p[2], err;

	pair_open(SMALLMAX, 0, 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(imsgchan_compose(&ca, 1, 0, p[1], NULL, 0), -1);
	err = errno;
	ck_assert_int_eq(err, EBADF);
	ck_assert_int_eq(imsgchan_compose2(&ca, 1, 0, p[1], "a", 1, "b", 1),
	    -1);
	err = errno;
	ck_assert_int_eq(err, EBADF);
	ck_assert_uint_eq(imsgchan_queued(&ca), 0);
	ck_assert(fd_isopen(p[1]));
	pair_close();

	/* Below -1 is never a descriptor, fdpass or not. */
	pair_open(SMALLMAX, 1, 1);
	ck_assert_int_eq(imsgchan_compose(&ca, 1, 0, -2, NULL, 0), -1);
	err = errno;
	ck_assert_int_eq(err, EBADF);
	close(p[0]);
	close(p[1]);
	pair_close();
}
END_TEST

/*
 * Descriptors sent by hand with sendmsg(): unwanted, too many for the
 * receiver, not announced by the header, or correct.  Whatever the
 * outcome, no descriptor may leak.
 */
static const struct rawfd_case {
	int		 fdpass;
	int		 nfds;
	uint32_t	 flags;
	int		 readret;	/* -1: EBADMSG from read */
	int		 getret;
} rawfd_cases[] = {
	{ 0, 1, 0, -1, 0 },
	{ 0, 1, IMSG_FLAG_FD, -1, 0 },
	{ 1, 64, IMSG_FLAG_FD, -1, 0 },	/* MSG_CTRUNC: past its room */
	{ 1, 1, 0, 0, -1 },		/* header did not announce it */
	{ 1, 1, IMSG_FLAG_FD, 0, 1 },
};

static void
send_raw_fds(int sock, uint32_t flags, int fd, int nfds)
{
	struct imsg_hdr	 hdr;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(64 * sizeof(int))];
	} cmsgbuf;
	int		 i;

	ck_assert_int_le(nfds, 64);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = 9;
	hdr.len = HDR;
	hdr.flags = flags;
	iov.iov_base = &hdr;
	iov.iov_len = sizeof(hdr);
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	for (i = 0; i < nfds; i++)
		memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &fd, sizeof(int));
	ck_assert_int_eq(sendmsg(sock, &msg, 0), (ssize_t)HDR);
}

START_TEST(test_raw_fds)
{
	const struct rawfd_case	*c = &rawfd_cases[_i];
	struct imsg		 imsg;
	ssize_t			 n;
	int			 before, p[2], err, r;

	before = count_fds();
	pair_open(SMALLMAX, 1, c->fdpass);
	ck_assert_int_eq(pipe(p), 0);
	send_raw_fds(sv[0], c->flags, p[1], c->nfds);
	close(p[0]);
	close(p[1]);

	n = imsgchan_read(&cb);
	err = errno;
	if (c->readret == -1) {
		ck_assert_int_eq(n, -1);
		ck_assert_int_eq(err, EBADMSG);
	} else {
		ck_assert_int_eq(n, (ssize_t)HDR);
		r = imsgchan_get(&cb, &imsg);
		err = errno;
		ck_assert_int_eq(r, c->getret);
		if (r == 1) {
			ck_assert_int_ne(imsg.fd, -1);
			imsg_free(&imsg);
		} else
			ck_assert_int_eq(err, EBADMSG);
	}
	pair_close();
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* clear() closes descriptors both ways, but never the channel's own. */
START_TEST(test_clear)
{
	int	 before, p[2], q[2];

	before = count_fds();
	pair_open(SMALLMAX, 1, 1);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	ck_assert_int_eq(imsgchan_compose(&ca, 1, 0, p[1], "x", 1), 0);
	ck_assert_int_eq(imsgchan_write(&ca), 0);
	ck_assert_int_eq(imsgchan_compose(&ca, 2, 0, q[1], "y", 1), 0);
	ck_assert_int_gt(imsgchan_read(&cb), 0);
	ck_assert_ptr_nonnull(TAILQ_FIRST(&cb.rfds));
	close(p[0]);
	close(q[0]);

	imsgchan_clear(&ca);
	ck_assert(!fd_isopen(q[1]));
	imsgchan_clear(&cb);
	ck_assert_uint_eq(imsgchan_queued(&ca), 0);
	ck_assert_ptr_null(cb.rbuf);
	ck_assert_uint_eq(cb.rlen, 0);
	ck_assert_ptr_null(TAILQ_FIRST(&cb.rfds));
	ck_assert(fd_isopen(sv[0]));
	ck_assert(fd_isopen(sv[1]));
	pair_close();
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

static const struct init_case {
	int		 fd;
	size_t		 maxsize;
	int		 err;
} init_cases[] = {
	{ 0, HDR, 0 },
	{ 0, IMSG_MAXSIZE_DEFAULT, 0 },
	{ -1, SMALLMAX, EBADF },
	{ 0, HDR - 1, EINVAL },
	{ 0, 0, EINVAL },
	{ 0, SIZE_MAX, EINVAL },
};

START_TEST(test_init)
{
	const struct init_case	*c = &init_cases[_i];
	struct imsgchan		 chan;
	int			 r, err;

	r = imsgchan_init(&chan, c->fd, c->maxsize, 1);
	err = errno;
	if (c->err == 0) {
		ck_assert_int_eq(r, 0);
		ck_assert_int_eq(chan.fd, c->fd);
		ck_assert_uint_eq(chan.maxsize, c->maxsize);
		ck_assert_int_eq(chan.fdpass, 1);
		ck_assert_int_eq(chan.pid, getpid());
		ck_assert_uint_eq(imsgchan_queued(&chan), 0);
		imsgchan_clear(&chan);
	} else {
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(err, c->err);
	}
}
END_TEST

static void
fake_imsg(struct imsg *imsg, const char *data, size_t len)
{
	memset(imsg, 0, sizeof(*imsg));
	imsg->fd = -1;
	imsg->data = len > 0 ? (void *)(uintptr_t)data : NULL;
	imsg->datalen = len;
}

static const struct data_case {
	size_t		 datalen;
	size_t		 want;
	int		 ok;
} data_cases[] = {
	{ 4, 4, 1 },
	{ 4, 3, 0 },
	{ 4, 5, 0 },
	{ 0, 0, 1 },
	{ 0, 1, 0 },
	{ 1, 0, 0 },
};

START_TEST(test_get_data)
{
	const struct data_case	*c = &data_cases[_i];
	struct imsg		 imsg;
	char			 out[8];
	int			 r, err;

	fake_imsg(&imsg, "wxyz", c->datalen);
	memset(out, 'Q', sizeof(out));
	r = imsg_get_data(&imsg, out, c->want);
	err = errno;
	if (c->ok) {
		ck_assert_int_eq(r, 0);
		ck_assert_mem_eq(out, "wxyz", c->datalen);
		ck_assert_int_eq(out[c->datalen], 'Q');
	} else {
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(err, EBADMSG);
		ck_assert_int_eq(out[0], 'Q');
	}
}
END_TEST

static const struct string_case {
	const char	*data;
	size_t		 datalen;
	size_t		 outlen;
	const char	*want;		/* NULL: must fail */
} string_cases[] = {
	{ "abc", 4, 4, "abc" },
	{ "abc", 4, 16, "abc" },
	{ "", 1, 1, "" },
	{ "abc", 3, 16, NULL },		/* no NUL */
	{ "a\0c", 4, 16, NULL },	/* embedded NUL */
	{ "\0\0", 2, 16, NULL },
	{ "abcd", 5, 4, NULL },		/* out buffer too small */
	{ "", 0, 16, NULL },		/* empty payload */
	{ "abc", 4, 0, NULL },
};

START_TEST(test_get_string)
{
	const struct string_case	*c = &string_cases[_i];
	struct imsg			 imsg;
	char				 out[16];
	int				 r, err;

	fake_imsg(&imsg, c->data, c->datalen);
	memset(out, 'Q', sizeof(out));
	r = imsg_get_string(&imsg, out, c->outlen);
	err = errno;
	if (c->want != NULL) {
		ck_assert_int_eq(r, 0);
		ck_assert_str_eq(out, c->want);
	} else {
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(err, EBADMSG);
		ck_assert_int_eq(out[0], 'Q');
	}
}
END_TEST

/* get_fd() hands the descriptor over; imsg_free() closes an unclaimed one. */
START_TEST(test_get_fd)
{
	struct imsg	 imsg;
	int		 p[2];

	ck_assert_int_eq(pipe(p), 0);
	fake_imsg(&imsg, NULL, 0);
	ck_assert_int_eq(imsg_get_fd(&imsg), -1);

	imsg.fd = p[0];
	ck_assert_int_eq(imsg_get_fd(&imsg), p[0]);
	ck_assert_int_eq(imsg.fd, -1);
	ck_assert_int_eq(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);
	ck_assert(fd_isopen(p[0]));

	imsg.fd = p[1];
	imsg.data = malloc(3);
	imsg.datalen = 3;
	imsg_free(&imsg);
	ck_assert(!fd_isopen(p[1]));
	ck_assert_int_eq(imsg.fd, -1);
	ck_assert_ptr_null(imsg.data);
	imsg_free(&imsg);
	close(p[0]);
}
END_TEST

static Suite *
imsg_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("imsg");

	tc = tcase_create("frames");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, test_roundtrip, 0, nitems(rt_cases));
	tcase_add_test(tc, test_pid_stamp);
	tcase_add_test(tc, test_many);
	tcase_add_loop_test(tc, test_split_read, 0, nitems(split_lens));
	tcase_add_loop_test(tc, test_truncated_eof, 0, nitems(cut_lens));
	tcase_add_loop_test(tc, test_compose_size, 0, nitems(size_cases));
	tcase_add_loop_test(tc, test_bad_header, 0, nitems(hdr_cases));
	tcase_add_test(tc, test_rbuf_cap);
	tcase_add_test(tc, test_large);
	tcase_add_test(tc, test_flush);
	tcase_add_test(tc, test_peer_closed);
	tcase_add_loop_test(tc, test_init, 0, nitems(init_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("fdpass");
	tcase_add_test(tc, test_fdpass);
	tcase_add_test(tc, test_fdpass_off);
	tcase_add_loop_test(tc, test_raw_fds, 0, nitems(rawfd_cases));
	tcase_add_test(tc, test_clear);
	suite_add_tcase(s, tc);

	tc = tcase_create("accessors");
	tcase_add_loop_test(tc, test_get_data, 0, nitems(data_cases));
	tcase_add_loop_test(tc, test_get_string, 0, nitems(string_cases));
	tcase_add_test(tc, test_get_fd);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	int	 failed;

	failed = unit_run(imsg_suite());
	return (failed != 0);
}
