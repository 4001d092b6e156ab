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

struct child {
	enum aib_proc		 proc;
	int			 instance;
	char			 name[32];
	pid_t			 pid;
	struct imsgev		 iev;
	ev_child		 cw;
	int			 acked;
	int			 alive;
};

/* A bound listening socket, kept across reloads by address. */
struct parent_sock {
	TAILQ_ENTRY(parent_sock) entry;
	char			 address[AIB_HOSTNAME_MAX + 8];
	int			 fd;
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
	int			 readyfd;	/* tells the starter we are live */
	int			 pidfile;	/* we wrote AIB_PIDFILE */
	int			 lost_logged;
};

/* parent_config.c */
int	 parent_open_sockets(struct parent *, const struct aib_config *);
void	 parent_close_unused_sockets(struct parent *);
int	 parent_send_config(struct parent *, const struct aib_config *);
int	 parent_loglevel(const struct parent *, const struct aib_config *);

#endif /* AIB_PARENT_H */
