#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "imsgev.h"
#include "log.h"

static void	imsgev_cb(struct ev_loop *, ev_io *, int);

static void
imsgev_update(struct imsgev *iev)
{
	int	 events = EV_READ;

	if (iev->dead)
		return;
	if (imsgchan_queued(&iev->chan) > 0)
		events |= EV_WRITE;
	if (events == iev->events)
		return;
	ev_io_stop(iev->loop, &iev->io);
	ev_io_set(&iev->io, iev->chan.fd, events);
	ev_io_start(iev->loop, &iev->io);
	iev->events = events;
}

void
imsgev_init(struct imsgev *iev, struct ev_loop *loop, int fd, int fdpass,
    const char *name, imsgev_dispatch dispatch, imsgev_closed closed,
    void *arg)
{
	memset(iev, 0, sizeof(*iev));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		fatal("%s: fcntl", __func__);
	if (imsgchan_init(&iev->chan, fd, IMSG_MAXSIZE_DEFAULT, fdpass) == -1)
		fatal("%s: imsgchan_init", __func__);
	iev->loop = loop;
	iev->name = name;
	iev->dispatch = dispatch;
	iev->closed = closed;
	iev->arg = arg;
	iev->events = EV_READ;
	ev_io_init(&iev->io, imsgev_cb, fd, EV_READ);
	iev->io.data = iev;
	ev_io_start(loop, &iev->io);
}

void
imsgev_clear(struct imsgev *iev)
{
	if (iev->chan.fd == -1)
		return;
	ev_io_stop(iev->loop, &iev->io);
	close(iev->chan.fd);
	imsgchan_clear(&iev->chan);
	iev->chan.fd = -1;
	iev->dead = 1;
}

void
imsgev_compose2(struct imsgev *iev, uint32_t type, uint32_t peerid, int fd,
    const void *a, size_t alen, const void *b, size_t blen)
{
	if (iev->dead) {
		if (fd != -1)
			close(fd);
		return;
	}
	if (imsgchan_compose2(&iev->chan, type, peerid, fd, a, alen, b,
	    blen) == -1)
		fatal("%s: to %s", __func__, iev->name);
	imsgev_update(iev);
}

void
imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	imsgev_compose2(iev, type, peerid, fd, data, len, NULL, 0);
}

void
imsgev_flush(struct imsgev *iev)
{
	if (iev->dead || imsgchan_write(&iev->chan) == -1)
		return;
	imsgev_update(iev);
}

/* The closed callback may free iev: nothing may touch it after this. */
static void
imsgev_fail(struct imsgev *iev, const char *why)
{
	imsgev_clear(iev);
	iev->closed(iev, why);
}

/* Returns -1 once the channel failed (and iev may be gone). */
static int
imsgev_read(struct imsgev *iev)
{
	struct imsg	 imsg;
	ssize_t		 n;
	int		 r;

	n = imsgchan_read(&iev->chan);
	if (n == -1 && errno == EAGAIN)
		return (0);
	if (n == -1) {
		imsgev_fail(iev, strerror(errno));
		return (-1);
	}
	for (;;) {
		if ((r = imsgchan_get(&iev->chan, &imsg)) == 0)
			break;
		if (r == -1) {
			imsgev_fail(iev, "malformed message");
			return (-1);
		}
		r = iev->dispatch(iev, &imsg);
		imsg_free(&imsg);
		/* A dispatch may stop the channel (never free it). */
		if (iev->dead)
			return (-1);
		if (r == -1) {
			imsgev_fail(iev, "unexpected message");
			return (-1);
		}
	}
	if (n == 0) {
		imsgev_fail(iev, "channel closed");
		return (-1);
	}
	return (0);
}

static void
imsgev_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct imsgev	*iev = w->data;

	if (revents & EV_WRITE) {
		if (imsgchan_write(&iev->chan) == -1) {
			imsgev_fail(iev, strerror(errno));
			return;
		}
	}
	if ((revents & EV_READ) && imsgev_read(iev) == -1)
		return;
	imsgev_update(iev);
}
