/*
 * One side of a session: a non-blocking socket, optionally with TLS on
 * top.  TLS always runs over our own callbacks, so bytes read ahead of
 * a handshake (pre) are fed to it first, and a TLS session can run
 * inside another one (outer: the bridge through an https:// upstream).
 *
 * Reads and writes never block.  When one cannot progress it records
 * which readiness it waits for (rwant/wwant: EV_READ or EV_WRITE, as a
 * TLS read may need to write and the other way round); endpoint_arm()
 * turns the session's interest into the libev watcher's events.
 */
#ifndef AIB_ENDPOINT_H
#define AIB_ENDPOINT_H

#include <sys/types.h>

#include <ev.h>
#include <tls.h>

#include "buf.h"

#define EP_AGAIN	(-2)	/* would block: see rwant/wwant */

typedef void	(*ev_io_cb)(struct ev_loop *, ev_io *, int);

struct endpoint {
	int		 fd;
	struct tls	*tls;		/* NULL: plain */
	struct endpoint	*outer;		/* TLS runs over this endpoint */
	struct buf	 pre;		/* bytes read before TLS started */
	ev_io		 io;
	int		 events;	/* armed now */
	int		 rwant;		/* what a blocked read waits for */
	int		 wwant;		/* what a blocked write waits for */
	int		 eof;		/* read side ended */
	int		 shut;		/* write side shut down */
	int		 lowerread;	/* the TLS below delivered bytes */
	int		 drained;	/* a short splice emptied the socket */
	int		 dry;		/* emptied: no read till armed to read */
	int		 linger;	/* read watch kept once, unwanted */
	int		 tlsquiet;	/* TLS holds no plaintext, wants input */
	int		 error;		/* errno of the last failed read/write */
	uint64_t	 rbytes;
	uint64_t	 wbytes;
};

/*
 * Once per process, before any TLS session: every session's record
 * buffers go back to the heap whenever they are empty, so an idle
 * connection holds none.  -1 if the TLS library refused.
 */
int	 endpoint_tls_lean(void);
void	 endpoint_init(struct endpoint *, int, ev_io_cb, void *);
/* Stop the watcher, free TLS, close the socket. */
void	 endpoint_close(struct ev_loop *, struct endpoint *);
/* Arm for the given interest (want read, want write). */
void	 endpoint_arm(struct ev_loop *, struct endpoint *, int, int);
/*
 * The same with no interest in reading, for a peer that is expected to
 * stay silent for a moment (a client waiting for its answer): a read
 * watch already there is kept the first time rather than taken off
 * epoll and put back (an epoll_ctl(2) each way); the next call drops
 * it, so a peer that speaks after all costs one wake-up, not a spin.
 */
void	 endpoint_arm_quiet(struct ev_loop *, struct endpoint *, int);

/* > 0 bytes, 0 at EOF, -1 on error (errno or TLS error logged by caller),
 * EP_AGAIN when it would block. */
ssize_t	 endpoint_read(struct endpoint *, void *, size_t);
ssize_t	 endpoint_write(struct endpoint *, const void *, size_t);
/* Write from a buffer, consuming what went out. */
ssize_t	 endpoint_flush(struct endpoint *, struct buf *);
/* Read into a buffer as far as it has room. */
ssize_t	 endpoint_fill(struct endpoint *, struct buf *);

/*
 * Bytes read from the socket before TLS starts that belong to it (a
 * ClientHello behind a PROXY protocol header): all of b moves to pre,
 * where the handshake reads first.  -1 if out of memory.
 */
int	 endpoint_unread(struct endpoint *, struct buf *);
/* Start TLS on the endpoint with a server or client context. */
int	 endpoint_tls_accept(struct endpoint *, struct tls *);
int	 endpoint_tls_connect(struct endpoint *, struct tls *, const char *);
/* 0 done, -1 failed, EP_AGAIN. */
int	 endpoint_handshake(struct endpoint *);
const char *endpoint_error(struct endpoint *);
/* Half-close the write side (TLS: close_notify, then FIN). */
int	 endpoint_shutdown(struct endpoint *);

#endif /* AIB_ENDPOINT_H */
