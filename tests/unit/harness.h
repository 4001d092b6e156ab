/*
 * A proxy worker on a private event loop (harness.c, peers.c), for the
 * tests that drive its session code (test_session.c, test_mitm.c).
 * The worker is a hand-built struct proxy and struct proxy_conf; the
 * test plays signerd, the resolver and the parent on the other ends of
 * their channels, on the same loop.  Peers that talk TLS or block (a client
 * inside TLS, the bridge, a tunnel's destination) run in threads with
 * blocking sockets and a receive timeout, so a broken worker fails a
 * test, never hangs it.  Everything is on 127.0.0.1.
 */
#ifndef AIB_TEST_HARNESS_H
#define AIB_TEST_HARNESS_H

#include <sys/types.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../../aibproxyd/worker.h"

#define WH_HOST		"api.anthropic.com"	/* the provider */
#define WH_PROVIDER	"anthropic"
#define WH_PROXY_NAME	"proxy.test"		/* a TLS listener's name */
#define WH_TOKEN	"tokid-s3cret"
/* Proxy-Authorization for user "u", token WH_TOKEN. */
#define WH_PROXY_AUTH	"Proxy-Authorization: Basic dTp0b2tpZC1zM2NyZXQ=\r\n"
#define WH_CONNECT_AUTH							\
	"CONNECT " WH_HOST ":443 HTTP/1.1\r\nHost: " WH_HOST ":443\r\n"	\
	WH_PROXY_AUTH "\r\n"
#define WH_ESTABLISHED	"HTTP/1.1 200 Connection established\r\n\r\n"
#define WH_FILL_MAX	512
#define WH_GOT_MAX	16384
#define WH_PEER_WAIT	2	/* seconds a peer thread waits for bytes */

/* What the fake resolver answers: a name and its addresses, in order. */
struct wh_name {
	const char	*host;
	const char	*addr[3];	/* NULL-terminated */
};

/* A certificate request signerd holds until wh_signer_release(). */
struct wh_held {
	uint32_t	 id;
	char		 host[AIB_HOSTNAME_MAX + 1];
	uint8_t		 spki[AIB_SPKI_MAX];
	size_t		 spkilen;
};
#define WH_HELD_MAX	4

struct wh {
	struct proxy		 px;
	struct proxy_conf	*pc;
	struct plistener	*l;		/* pc's only listener */
	struct imsgev		 signer;	/* the test's end: signerd */
	struct imsgev		 resolver;	/* the test's end: resolver */
	struct imsgev		 parent;	/* the test's end: parent */
	int			 nscrapes;	/* IMSG_STATS_REQ seen */
	int			 nfailed;	/* IMSG_AUTH_FAILED seen */
	struct auth_failed	 failed;	/* the last one */
	struct ca		*ca;
	int			 signer_refuse;	/* answer cs_ok 0 */
	int			 signer_mute;	/* never answer */
	int			 signer_hold;	/* answer when released */
	struct wh_held		 held[WH_HELD_MAX];
	int			 nheld;
	int			 nsigned;	/* IMSG_CERT_REQ seen */
	const struct wh_name	*names;		/* NULL-terminated */
	int			 small_buffers;	/* clients' sockets: 16 KiB */
	int			 nlookups;	/* IMSG_DNS_REQ seen */
	double			 skew;		/* added to the DNS cache's clock */
	int			 fill[WH_FILL_MAX];	/* wh_fill_fds() */
	int			 nfill;
};

/* A client's view of its connection: what it read, and EOF. */
struct wh_reader {
	int		 fd;
	char		 got[WH_GOT_MAX];
	size_t		 len;
	int		 eof;
	double		 tfirst;	/* ev_time() of the first byte */
};

/*
 * The bridge: one connection, on which it answers each request it reads
 * with the next of answers (NULL-terminated), then shuts down its side.
 */
struct wh_bridge {
	int		 lfd;
	int		 port;
	const char	*answers[4];
	char		 got[WH_GOT_MAX];	/* the requests it read */
	size_t		 gotlen;
	size_t		 body;		/* body bytes read, all requests */
	uint32_t	 bodyhash;	/* wh_hash() of them */
	int		 nreq;
	int		 early;		/* answers[0] and EOF at once */
	int		 accepted;
	int		 eof;		/* the worker closed it afterwards */
	atomic_int	 done;
	pthread_t	 tid;
};

/*
 * A tunnel's destination: echoes, then "bye" and EOF after the EOF.
 * As an upstream proxy (upstream set), it first reads a CONNECT head
 * into head and answers it with upstream.
 */
struct wh_echo {
	int		 lfd;
	int		 port;
	const char	*upstream;
	char		 head[1024];
	atomic_int	 accepted;
	size_t		 echoed;
	int		 eof;		/* saw the client's half-close */
	atomic_int	 done;
	pthread_t	 tid;
};

/*
 * A client that sends a CONNECT, then talks TLS inside it.  To a TLS
 * listener (listener_tls) everything runs inside a first TLS session
 * with the proxy; without connect, the lines go straight to the proxy.
 */
struct wh_tls {
	int		 fd;
	int		 listener_tls;
	struct tls	*outer;		/* to a TLS listener */
	const char	*connect;	/* the proxy request */
	const char	*lines[16];	/* inside TLS, NULL-terminated */
	double		 gap;		/* seconds between lines */
	size_t		 stop_after;	/* read this much, then hang up */
	int		 pause;		/* after the handshake, wait for go */
	int		 eager;		/* ClientHello with the CONNECT */
	/* To a TLS listener: these bytes in the ClientHello's write. */
	const char	*preface;
	size_t		 prefacelen;
	int		 eager_sent;
	int		 eager_read;
	atomic_int	 ready;		/* handshake done (or failed) */
	atomic_int	 go;
	atomic_int	 done;
	char		 answer[1024];	/* to the CONNECT */
	int		 handshake;	/* 0 done, -1 failed */
	char		 got[WH_GOT_MAX];	/* inside TLS, its start */
	size_t		 gotlen;
	size_t		 total;		/* every byte read inside TLS */
	uint32_t	 hash;		/* wh_hash() of them */
	int		 clean;		/* close_notify, not a cut */
	double		 t0;		/* first line written */
	double		 tfirst;	/* first byte of the answer */
	char		 err[256];
	pthread_t	 tid;
};

#define WH_HASH_INIT	2166136261U

extern char	*wh_ca_pem;		/* the test CA, trusted by clients */

/* FNV-1a, to compare streams too long to keep. */
uint32_t	 wh_hash(uint32_t, const void *, size_t);

/* A worker with one plain listener (fd -1), providers and 127/8 allowed. */
void		 wh_init(struct wh *);
/* Every channel closed; what can be freed is freed. */
void		 wh_free(struct wh *);
void		 wh_allow_port(struct wh *, int);
/* Answer the certificate requests held so far, and later ones. */
void		 wh_signer_release(struct wh *);
/* Make the listener a TLS one, its certificate for WH_PROXY_NAME. */
void		 wh_tls_listener(struct wh *);
/* bridge.url http://host:port, configured again. */
void		 wh_set_bridge(struct wh *, const char *, int);
/* A session on a fresh loopback connection; the client's end. */
int		 wh_client(struct wh *);
/* The same, with request_start() left to the caller. */
struct session;
int		 wh_client_pending(struct wh *, struct session **);
/*
 * Run the loop until done(h, arg) holds, checked before each wait, at
 * most secs.  0 done, -1 timed out.
 */
int		 wh_run(struct wh *, int (*)(struct wh *, void *), void *,
		    double);
/* No session left, nothing armed on the loop (the peers' channels and
 * the listeners are stopped first): 1 quiet, 0 not. */
int		 wh_quiet(struct wh *);
/* Drive the loop until the reader saw EOF (or secs). */
int		 wh_read_eof(struct wh *, struct wh_reader *, double);
/* Until it holds at least n bytes (or EOF, or secs). */
int		 wh_read_n(struct wh *, struct wh_reader *, size_t, double);
void		 wh_reader_init(struct wh_reader *, int);
/* Fill the descriptor table (RLIMIT_NOFILE lowered first). */
int		 wh_fill_fds(struct wh *);
void		 wh_release_fds(struct wh *);
/* A listening TCP socket on 127.0.0.1, its port in *port. */
int		 wh_listen(int *);
/* A blocking client of 127.0.0.1:port, with wh_timeout(). */
int		 wh_connect(int);
/* Receive and send timeouts on a peer's blocking socket. */
void		 wh_timeout(int, int);
/*
 * A listener whose accept queue is full, so a connect to it stays in
 * progress (its SYN is dropped); *queued is the client that fills it.
 */
int		 wh_stalled(int *, int *);
/* Whether the worker has arg sessions: a wh_run() condition. */
int		 wh_nsessions(struct wh *, void *);
/* Our own answer (http_answer()) as the client should read it. */
const char	*wh_answer(int, const char *, const char *);
/* The worker's log lines (level info) from now on, to a file. */
void		 wh_log_start(void);
/* Stop capturing; everything written since wh_log_start(). */
const char	*wh_log_text(void);

/* One answer; wh_bridge_run() with more, set in answers. */
void		 wh_bridge_start(struct wh_bridge *, const char *);
void		 wh_bridge_run(struct wh_bridge *);
void		 wh_bridge_join(struct wh_bridge *);
void		 wh_echo_start(struct wh_echo *);
/* The same as an upstream proxy, answering CONNECT with answer. */
void		 wh_upstream_start(struct wh_echo *, const char *);
/* It has accepted its connection: a wh_run() condition. */
int		 wh_echo_accepted(struct wh *, void *);
void		 wh_echo_join(struct wh_echo *);
void		 wh_tls_start(struct wh_tls *, int);
void		 wh_tls_join(struct wh_tls *);
int		 wh_tls_done(struct wh *, void *);

/* checks.c: assertions the runners share. */
extern const char wh_post[];	/* an intercepted POST, Connection: close */
void		 wh_send(int, const char *);
/* One request, then exactly want and EOF; the client's end is closed. */
void		 wh_exchange(struct wh *, int, const char *, const char *);
/* Quiet (wh_quiet()), then freed. */
void		 wh_done(struct wh *);
/* A TLS client to be: WH_CONNECT_AUTH, then lines, gap apart. */
void		 wh_tls_prepare(struct wh_tls *, const char *const *, double,
		    int);
/* ... started on a new session. */
void		 wh_tls_client(struct wh *, struct wh_tls *,
		    const char *const *, double, int);
/* Until the client is done and no session is left. */
void		 wh_tls_finish(struct wh *, struct wh_tls *);
/* The listener made TLS; lines sent inside it, no CONNECT; finished. */
void		 wh_tls_direct(struct wh *, struct wh_tls *,
		    const char *const *);
int		 wh_tls_ready(struct wh *, void *);
/* A megabyte and a bit, in a byte pattern that shows a lost, doubled
 * or reordered block. */
#define WH_BULK	(1024 * 1024 + 7)
void		 wh_pattern(char *, size_t, unsigned int);

#endif /* AIB_TEST_HARNESS_H */
