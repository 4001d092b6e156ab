/*
 * The parent: root, never touches client bytes.  It parses the
 * configuration, opens every file and socket, starts the children and
 * hands each one only its share.
 */
#ifndef AIB_PARENT_H
#define AIB_PARENT_H

#include <sys/socket.h>

#include <ev.h>

#include "config.h"
#include "imsgev.h"
#include "proto.h"
#include "stats.h"

/* A child that dies this often within CHILD_DEATHS_SECS stops us. */
#define CHILD_DEATHS_MAX	5
#define CHILD_DEATHS_SECS	60

/* The reason a detached start failed, as the starter gets it. */
#define PARENT_WHY_MAX		512

struct failtab;

struct child {
	enum aib_proc		 proc;
	int			 instance;
	char			 name[32];
	char			 inst[12];	/* -I, instance as text */
	pid_t			 pid;
	struct imsgev		 iev;
	ev_child		 cw;
	int			 reportfd;	/* its sandbox's last words */
	int			 acked;
	int			 alive;
	int			 restart;	/* died: replace when running */
	int			 starting;	/* a replacement, not yet ready */
	int			 stats_asked;	/* a scrape waits for it */
	ev_tstamp		 deaths[CHILD_DEATHS_MAX];
	unsigned int		 ndeaths;
	uint64_t		 restarts;	/* replacements started */
};

/*
 * The listening sockets for one address, kept across reloads: one, or
 * a group of one per worker (parent_sock.c).  Worker i has fds[i %
 * nfds].
 */
struct parent_sock {
	TAILQ_ENTRY(parent_sock) entry;
	char			 address[AIB_HOSTNAME_MAX + 8];
	int			 fds[AIB_WORKERS_MAX];
	int			 nfds;
	int			 want;		/* how many that config serves */
	int			 used;		/* by the config being sent */
};
TAILQ_HEAD(parent_socks, parent_sock);

enum parent_state {
	PARENT_STARTING,
	PARENT_RUNNING,
	PARENT_RELOADING,
	PARENT_DRAINING,	/* SIGTERM: workers finish what they serve */
	PARENT_LOSING,		/* a child is gone; stopping shortly */
	PARENT_STOPPING
};

struct parent {
	struct ev_loop		*loop;
	const char		*conffile;
	int			 debug;
	int			 verbose;
	enum parent_state	 state;
	struct aib_config	*conf;		/* running */
	struct aib_config	*pending;	/* offered to the children */
	struct child		 signer;
	struct child		 resolver;
	struct child		 proxies[AIB_WORKERS_MAX];
	int			 nproxies;
	uint32_t		 gen;		/* of the config offered */
	int			 acks_wanted;
	int			 acks_failed;
	int			 exitcode;
	struct parent_socks	 socks;
	ev_signal		 sighup;
	ev_signal		 sigterm;
	ev_signal		 sigint;
	ev_timer		 killtimer;
	ev_timer		 losstimer;
	ev_timer		 draintimer;
	ev_timer		 retrytimer;	/* a restart that failed */
	/* a scrape being summed, and who asked for it */
	uint32_t		 stats_gen;
	int			 stats_wanted;
	struct proxy_stats	*stats_sum;
	struct {
		int		 worker;
		uint32_t	 id;
	}			 stats_waiters[64];
	int			 nstats_waiters;
	uint64_t		 reloads;
	uint64_t		 reload_failures;
	time_t			 last_reload_ok;
	int64_t			 ca_not_after;	/* of the running ca.cert */
	int			 readyfd;	/* tells the starter we are live */
	char			 why[PARENT_WHY_MAX]; /* or why we are not */
	int			 pidfile;	/* we wrote AIB_PIDFILE */
	int			 lost_logged;
	int			 reload_pending; /* SIGHUP during a restart */
	unsigned long long	 nofile;	/* RLIMIT_NOFILE, as raised */
	struct failtab		*failures;	/* auth.failures, daemon-wide */
};

/* parent.c */
int	 parent_dispatch_child(struct imsgev *, struct imsg *);
void	 parent_lost(struct parent *);
void	 parent_shutdown(struct parent *, int);
void	 parent_reload(struct parent *);
void	 parent_offer_lost(struct parent *, struct child *);
void	 parent_stats_lost(struct parent *, struct child *);

/* parent_auth.c */
void	 parent_auth_configure(struct parent *, const struct aib_config *);
int	 parent_auth_failed(struct parent *, struct child *, struct imsg *);

/* parent_child.c */
void	 parent_start_children(struct parent *);
void	 parent_foreach_child(struct parent *,
	    void (*)(struct child *, void *), void *);
void	 parent_child_stop(struct child *, void *);
void	 parent_child_closed(struct imsgev *, const char *);
int	 parent_child_ready(struct parent *, struct child *,
	    const struct cfg_ack *);
int	 parent_all_dead(const struct parent *);
int	 parent_proxies_dead(const struct parent *);
int	 parent_restarting(const struct parent *);
void	 parent_restart_pending(struct parent *);

/* parent_health.c */
int64_t	 parent_ca_not_after(const struct aib_config *);
void	 parent_stats_fill(struct parent *, struct proxy_stats *);

/* parent_config.c */
uint32_t parent_share(uint32_t, int, int);
int	 parent_fit(struct aib_config *, int, unsigned long long, char *,
	    size_t);
int	 parent_budget(struct parent *, struct aib_config *);
void	 parent_log_lowered(const struct aib_config *);
int	 parent_send_child(struct parent *, struct child *,
	    const struct aib_config *);
int	 parent_send_config(struct parent *, const struct aib_config *);
int	 parent_loglevel(const struct parent *, const struct aib_config *);

/* parent_sock.c */
int	 parent_open_sockets(struct parent *, const struct aib_config *);
void	 parent_close_unused_sockets(struct parent *);
int	 parent_sock_dup(struct parent *, const char *, int);

/* parent_check.c */
int	 parent_check_files(const struct aib_config *, int);
void	 parent_configtest_ca(const struct aib_config *);

#endif /* AIB_PARENT_H */
