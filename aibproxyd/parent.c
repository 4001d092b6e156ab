/*
 * The parent process.
 *
 * Peers:
 *	signer		IMSG_CFG_* (CA key fd to it alone), IMSG_CTL_*
 *	proxy[N]	IMSG_CFG_* (listening sockets, trust bundles),
 *			IMSG_CTL_*, IMSG_AUTH_FAILED in, IMSG_AUTH_THROTTLED
 *			out (parent_auth.c)
 *	resolver	IMSG_CFG_GLOBAL, IMSG_CTL_*
 *
 * Children are fork+exec'd, acknowledge each configuration and are
 * told to start only once all of them took it, at start-up and on
 * SIGHUP alike.  A worker or the resolver that dies is replaced
 * (parent_child.c); signerd's death, or any death before the daemon
 * first started, stops everything.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "aibproxyd.h"
#include "log.h"
#include "parent.h"
#include "paths.h"
#include "proc.h"

static struct parent	 env;

static void	parent_live(struct parent *);

/* -n, and the first step of every start: parse or say why not. */
static struct aib_config *
parent_load(const char *conffile, int tostderr)
{
	struct config_errors	 errs;
	struct config_error	*e;
	struct aib_config	*conf;

	TAILQ_INIT(&errs);
	if ((conf = config_load(conffile, &errs)) == NULL) {
		TAILQ_FOREACH(e, &errs, entry) {
			if (tostderr)
				fprintf(stderr, "%s\n", e->msg);
			else
				log_warnx("%s", e->msg);
		}
	}
	config_errors_clear(&errs);
	return (conf);
}

static void
parent_checkenv(const struct aib_config *conf)
{
	char	 why[512];

	if (proc_checkuser(conf->user, why, sizeof(why)) == -1 ||
	    proc_checkuser(conf->signer_user, why, sizeof(why)) == -1 ||
	    proc_checkchroot(conf->chroot, why, sizeof(why)) == -1)
		errx(1, "%s: %s", conf->path, why);
	if (access(AIB_SIGNERD_PATH, X_OK) == -1)
		err(1, "%s", AIB_SIGNERD_PATH);
	if (access(AIB_AIBPROXYD_PATH, X_OK) == -1)
		err(1, "%s", AIB_AIBPROXYD_PATH);
}

static void
parent_losstimer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct parent	*p = w->data;

	parent_shutdown(p, 1);
}

/*
 * One child is gone.  Others may follow it at once (workers cannot go
 * on without signerd), so wait a moment and log every loss with its
 * exit status before stopping: the first line names the cause.
 */
void
parent_lost(struct parent *p)
{
	if (p->state == PARENT_LOSING || p->state == PARENT_STOPPING)
		return;
	p->state = PARENT_LOSING;
	ev_timer_init(&p->losstimer, parent_losstimer, 0.2, 0.);
	p->losstimer.data = p;
	ev_timer_start(p->loop, &p->losstimer);
}

static void
child_send_type(struct child *c, void *arg)
{
	imsgev_compose(&c->iev, *(uint32_t *)arg, 0, -1, NULL, 0);
}

/* Back to serving the running configuration, and to due restarts. */
static void
parent_reload_failed(struct parent *p)
{
	log_warnx("reload failed, keeping the running configuration");
	p->reload_failures++;
	p->state = PARENT_RUNNING;
	parent_restart_pending(p);
}

static void
parent_offer(struct parent *p, struct aib_config *conf)
{
	p->pending = conf;
	p->gen++;
	p->acks_failed = 0;
	p->acks_wanted = 2 + p->nproxies;
	if (parent_open_sockets(p, conf) == -1 ||
	    parent_send_config(p, conf) == -1) {
		/* Nothing complete was offered: drop whatever was staged. */
		uint32_t	 t = IMSG_CFG_ABORT;

		parent_foreach_child(p, child_send_type, &t);
		parent_close_unused_sockets(p);
		p->pending = NULL;
		p->acks_wanted = 0;
		if (p->state == PARENT_STARTING)
			fatalx("cannot start with %s", conf->path);
		config_free(conf);
		parent_reload_failed(p);
	}
}

static void
parent_acks_done(struct parent *p)
{
	uint32_t	 t;

	if (p->acks_failed) {
		t = IMSG_CFG_ABORT;
		parent_foreach_child(p, child_send_type, &t);
		if (p->conf == p->pending)
			p->conf = NULL;
		config_free(p->pending);
		p->pending = NULL;
		parent_close_unused_sockets(p);
		if (p->state == PARENT_STARTING) {
			log_warnx("configuration refused, exiting");
			parent_shutdown(p, 1);
			return;
		}
		parent_reload_failed(p);
		return;
	}
	t = IMSG_CTL_START;
	parent_foreach_child(p, child_send_type, &t);
	parent_auth_configure(p, p->pending);
	if (p->conf != p->pending)
		config_free(p->conf);
	p->conf = p->pending;
	p->pending = NULL;
	parent_close_unused_sockets(p);
	log_setlevel(parent_loglevel(p, p->conf));
	log_setformat(p->conf->logformat);
	log_info("%s: %s, %d workers", p->state == PARENT_STARTING ?
	    "started" : "reloaded", p->conf->path, p->nproxies);
	if (p->state != PARENT_STARTING)
		p->reloads++;
	p->last_reload_ok = time(NULL);
	p->ca_not_after = parent_ca_not_after(p->conf);
	if (p->state == PARENT_STARTING)
		parent_live(p);
	p->state = PARENT_RUNNING;
	parent_restart_pending(p);
}

/*
 * A child died before it answered the configuration offered: that
 * reload fails, and the replacement gets the running one.
 */
void
parent_offer_lost(struct parent *p, struct child *c)
{
	if (p->acks_wanted == 0 || c->acked)
		return;
	c->acked = 1;
	log_warnx("%s died before it answered the new configuration",
	    c->name);
	p->acks_failed++;
	if (--p->acks_wanted == 0)
		parent_acks_done(p);
}

/*
 * Only a daemon that took its configuration is started: write the pid
 * file, then let the process that started us exit 0 (rc scripts and
 * service managers see a failed start as one).
 */
static void
parent_live(struct parent *p)
{
	FILE	*f;

	if (p->readyfd == -1)
		return;
	log_keepfirst(NULL, 0);
	if ((f = fopen(AIB_PIDFILE, "w")) == NULL)
		log_warn("%s", AIB_PIDFILE);
	else if (fprintf(f, "%ld\n", (long)getpid()) < 0) {
		log_warn("%s", AIB_PIDFILE);
		(void)fclose(f);
	} else if (fclose(f) == EOF)
		log_warn("%s", AIB_PIDFILE);
	else
		p->pidfile = 1;
	(void)write(p->readyfd, "", 1);
	close(p->readyfd);
	p->readyfd = -1;
}

/*
 * The daemon exits before it was live, by fatal() too: hand the starter
 * the first warning or error logged since it detached, which names the
 * cause (the lines after it are consequences: "configuration refused,
 * exiting").
 */
static void
parent_notready(void)
{
	struct parent	*p = &env;

	if (p->readyfd == -1)
		return;
	/* At most PIPE_BUF bytes: one write(2) that is never split. */
	if (p->why[0] != '\0')
		(void)write(p->readyfd, p->why, strnlen(p->why,
		    sizeof(p->why)));
	close(p->readyfd);
	p->readyfd = -1;
}

/*
 * The starter waits for one message on the readiness pipe: a NUL byte
 * once the daemon is live (parent_live()), else the reason it did not
 * start (parent_notready()), which it prints, or nothing at all if the
 * daemon died without one.
 */
static __dead void
parent_wait_ready(int fd)
{
	char	 why[PARENT_WHY_MAX];
	size_t	 len = 0;
	ssize_t	 n;

	while (len < sizeof(why) - 1) {
		if ((n = read(fd, why + len, sizeof(why) - 1 - len)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (why[0] == '\0')
			_exit(0);
	}
	if (len == 0)
		dprintf(STDERR_FILENO, "%s: did not start; the reason is in "
		    "the system log (run with -d to see it here)\n",
		    getprogname());
	else {
		why[len] = '\0';
		dprintf(STDERR_FILENO, "%s: did not start: %s\n",
		    getprogname(), why);
	}
	_exit(1);
}

/* Detach, but keep the starter waiting until parent_live(). */
static int
parent_daemonize(void)
{
	int	 pfd[2], fd;
	pid_t	 pid;

	if (pipe2(pfd, O_CLOEXEC) == -1)
		fatal("pipe");
	switch ((pid = fork())) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		close(pfd[1]);
		parent_wait_ready(pfd[0]);
	}
	close(pfd[0]);
	if (setsid() == -1)
		fatal("setsid");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	(void)chdir("/");
	return (pfd[1]);
}

/* Every worker answered: the sum goes to whoever scraped. */
static void
parent_stats_done(struct parent *p)
{
	struct proxy_stats	*st = p->stats_sum;
	int			 i;

	st->st_reloads = p->reloads;
	st->st_reload_failures = p->reload_failures;
	st->st_last_reload_success = p->last_reload_ok;
	parent_stats_fill(p, st);
	for (i = 0; i < p->nstats_waiters; i++)
		imsgev_compose(&p->proxies[p->stats_waiters[i].worker].iev,
		    IMSG_STATS_RES, p->stats_waiters[i].id, -1, st, sizeof(*st));
	p->nstats_waiters = 0;
	p->stats_wanted = 0;
}

static int
parent_stats_req(struct parent *p, struct child *c, uint32_t id)
{
	struct child	*w;
	int		 i;

	if (c->proc != PROC_PROXY || p->nstats_waiters >=
	    (int)nitems(p->stats_waiters))
		return (c->proc == PROC_PROXY ? 0 : -1);
	p->stats_waiters[p->nstats_waiters].worker = c->instance;
	p->stats_waiters[p->nstats_waiters++].id = id;
	if (p->stats_wanted > 0)
		return (0);	/* joins the scrape being summed */
	if (p->stats_sum == NULL &&
	    (p->stats_sum = malloc(sizeof(*p->stats_sum))) == NULL)
		fatal("%s", __func__);
	memset(p->stats_sum, 0, sizeof(*p->stats_sum));
	p->stats_gen++;
	/* A worker being replaced has nothing to count yet. */
	for (i = 0; i < p->nproxies; i++) {
		w = &p->proxies[i];
		if (!w->alive || w->starting)
			continue;
		w->stats_asked = 1;
		p->stats_wanted++;
		imsgev_compose(&w->iev, IMSG_STATS_REQ, p->stats_gen, -1, NULL,
		    0);
	}
	if (p->stats_wanted == 0)
		parent_stats_done(p);
	return (0);
}

/* A worker died: a scrape no longer waits for it, nor answers it. */
void
parent_stats_lost(struct parent *p, struct child *c)
{
	int	 i, j;

	for (i = j = 0; i < p->nstats_waiters; i++)
		if (p->stats_waiters[i].worker != c->instance)
			p->stats_waiters[j++] = p->stats_waiters[i];
	p->nstats_waiters = j;
	if (!c->stats_asked)
		return;
	c->stats_asked = 0;
	if (--p->stats_wanted == 0)
		parent_stats_done(p);
}

static int
parent_stats(struct parent *p, struct child *c, struct imsg *imsg)
{
	struct proxy_stats	*st = imsg->data;
	int			 i;

	if (c->proc != PROC_PROXY || imsg->datalen != sizeof(*st) ||
	    st->st_nproviders < 0 || st->st_nproviders > STATS_PROVIDERS_MAX)
		return (-1);
	if (imsg->hdr.peerid != p->stats_gen || !c->stats_asked)
		return (0);
	c->stats_asked = 0;
	/* Names are summed by comparison: make sure each one ends. */
	for (i = 0; i < st->st_nproviders; i++)
		st->st_providers[i].sp_name[AIB_NAME_MAX - 1] = '\0';
	stats_add(p->stats_sum, st);
	if (--p->stats_wanted == 0)
		parent_stats_done(p);
	return (0);
}

int
parent_dispatch_child(struct imsgev *iev, struct imsg *imsg)
{
	struct child	*c = iev->arg;
	struct parent	*p = &env;
	struct cfg_ack	 ack;

	switch (imsg->hdr.type) {
	case IMSG_STATS_REQ:
		return (parent_stats_req(p, c, imsg->hdr.peerid));
	case IMSG_STATS:
		return (parent_stats(p, c, imsg));
	case IMSG_AUTH_FAILED:
		return (parent_auth_failed(p, c, imsg));
	case IMSG_CFG_DONE:
		if (imsg_get_data(imsg, &ack, sizeof(ack)) == -1)
			return (-1);
		ack.ca_reason[sizeof(ack.ca_reason) - 1] = '\0';
		if (c->starting)
			return (parent_child_ready(p, c, &ack));
		/* An answer to an offer that was already withdrawn. */
		if (imsg->hdr.peerid != p->gen || p->acks_wanted == 0)
			return (0);
		if (c->acked)
			return (-1);
		c->acked = 1;
		if (!ack.ca_ok) {
			log_warnx("%s refused the configuration: %s",
			    c->name, ack.ca_reason);
			p->acks_failed++;
		}
		if (--p->acks_wanted == 0)
			parent_acks_done(p);
		return (0);
	default:
		return (-1);
	}
}

static void
child_reset_ack(struct child *c, void *arg)
{
	c->acked = 0;
}

void
parent_reload(struct parent *p)
{
	struct aib_config	*conf;

	if (p->state != PARENT_RUNNING) {
		log_warnx("reload: already in progress or stopping");
		return;
	}
	/* The offer needs every child: see parent_child_ready(). */
	if (parent_restarting(p)) {
		log_info("reload: once the child being replaced is up");
		p->reload_pending = 1;
		return;
	}
	log_info("reloading %s", p->conffile);
	if ((conf = parent_load(p->conffile, 0)) == NULL ||
	    parent_budget(p, conf) == -1 || parent_check_files(conf, 0) == -1) {
		config_free(conf);
		parent_reload_failed(p);
		return;
	}
	if (conf->workers != p->nproxies || strcmp(conf->user,
	    p->conf->user) != 0 || strcmp(conf->signer_user,
	    p->conf->signer_user) != 0 || strcmp(conf->chroot,
	    p->conf->chroot) != 0)
		log_warnx("reload: workers, users and chroot change only "
		    "on restart");
	if (strcmp(conf->ca_pkcs11_module.path,
	    p->conf->ca_pkcs11_module.path) != 0)
		log_warnx("reload: ca.pkcs11.module changes only on restart");
	p->state = PARENT_RELOADING;
	parent_foreach_child(p, child_reset_ack, NULL);
	parent_offer(p, conf);
}

static void
parent_killtimer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct parent	*p = w->data;
	int		 i;

	log_warnx("children did not stop in time, killing them");
	if (p->signer.alive)
		kill(p->signer.pid, SIGKILL);
	if (p->resolver.alive)
		kill(p->resolver.pid, SIGKILL);
	for (i = 0; i < p->nproxies; i++)
		if (p->proxies[i].alive)
			kill(p->proxies[i].pid, SIGKILL);
}

void
parent_shutdown(struct parent *p, int code)
{
	int	 term = code != 0;

	if (p->state == PARENT_STOPPING)
		return;
	if (p->state == PARENT_LOSING && !p->lost_logged)
		log_warnx("lost child: a channel closed without an exit");
	ev_timer_stop(p->loop, &p->losstimer);
	ev_timer_stop(p->loop, &p->draintimer);
	ev_timer_stop(p->loop, &p->retrytimer);
	p->state = PARENT_STOPPING;
	p->exitcode = code;
	parent_foreach_child(p, parent_child_stop, &term);
	if (parent_all_dead(p)) {
		ev_break(p->loop, EVBREAK_ALL);
		return;
	}
	ev_timer_init(&p->killtimer, parent_killtimer, 2.0, 0.);
	p->killtimer.data = p;
	ev_timer_start(p->loop, &p->killtimer);
	/* The loop ends once the last child is reaped. */
}

static void
parent_draintimer(struct ev_loop *loop, ev_timer *w, int revents)
{
	log_warnx("workers did not finish in time, stopping them");
	parent_shutdown(w->data, 0);
}

/*
 * SIGTERM: workers answer /readyz with 503 but go on serving for
 * timeouts.drain_delay, then stop accepting and finish what they serve,
 * up to timeouts.shutdown; then everything stops.  A second signal stops
 * at once.
 */
static void
parent_drain(struct parent *p)
{
	double	 grace;
	int	 i;

	/* Mid-reload or not yet started: nothing to drain gracefully. */
	if (p->state != PARENT_RUNNING) {
		parent_shutdown(p, 0);
		return;
	}
	p->state = PARENT_DRAINING;
	for (i = 0; i < p->nproxies; i++)
		imsgev_compose(&p->proxies[i].iev, IMSG_CTL_SHUTDOWN, 0, -1,
		    NULL, 0);
	/* The workers enforce the grace period; this is the backstop. */
	grace = ((double)p->conf->timeout_drain_delay +
	    p->conf->timeout_shutdown) / 1000.0 + 1.0;
	ev_timer_init(&p->draintimer, parent_draintimer, grace, 0.);
	p->draintimer.data = p;
	ev_timer_start(p->loop, &p->draintimer);
}

static void
parent_sig(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct parent	*p = w->data;

	switch (w->signum) {
	case SIGHUP:
		parent_reload(p);
		break;
	case SIGTERM:
	case SIGINT:
		log_info("stopping on signal %d", w->signum);
		parent_drain(p);
		break;
	}
}

static void
parent_signals(struct parent *p)
{
	signal(SIGPIPE, SIG_IGN);
	ev_signal_init(&p->sighup, parent_sig, SIGHUP);
	ev_signal_init(&p->sigterm, parent_sig, SIGTERM);
	ev_signal_init(&p->sigint, parent_sig, SIGINT);
	p->sighup.data = p->sigterm.data = p->sigint.data = p;
	ev_signal_start(p->loop, &p->sighup);
	ev_signal_start(p->loop, &p->sigterm);
	ev_signal_start(p->loop, &p->sigint);
}

static void
parent_log_budget(struct parent *p, rlim_t was, int lowered)
{
	log_info("open files limit %llu (was %llu): limits.connections %u, "
	    "%u per worker", p->nofile, (unsigned long long)was,
	    p->conf->max_connections, parent_share(p->conf->max_connections,
	    p->conf->workers, 0));
	if (lowered)
		parent_log_lowered(p->conf);
}

__dead void
parent_main(const char *conffile, int debug, int noaction, int verbose)
{
	struct parent		*p = &env;
	struct aib_config	*conf;
	char			 why[512];
	rlim_t			 nofile, was;
	int			 fit;

	log_init(1, LOG_DAEMON);
	/* Before anything else can fail for want of privileges. */
	if (!noaction && geteuid() != 0)
		errx(1, "need root privileges");
	if ((conf = parent_load(conffile, 1)) == NULL)
		exit(1);
	/* SIGHUP re-reads it after the daemon left the directory. */
	if ((conffile = realpath(conffile, NULL)) == NULL)
		err(1, "%s", conf->path);
	/* -n answers for the limit a start would raise to. */
	if (proc_nofile(!noaction, &nofile, &was) == -1)
		err(1, "RLIMIT_NOFILE");
	if ((fit = parent_fit(conf, conf->workers, nofile, why,
	    sizeof(why))) == -1)
		errx(1, "%s: %s", conf->path, why);
	/* What a start would fail on, -n says; a start says it here. */
	if (parent_check_files(conf, 1) == -1)
		exit(1);
	if (noaction) {
		parent_configtest_ca(conf);
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	parent_checkenv(conf);

	memset(p, 0, sizeof(*p));
	TAILQ_INIT(&p->socks);
	p->conffile = conffile;
	p->debug = debug;
	p->verbose = verbose;
	p->conf = conf;
	p->state = PARENT_STARTING;
	p->nofile = nofile;
	log_init(debug, LOG_DAEMON);
	log_setlevel(parent_loglevel(p, conf));
	log_setformat(conf->logformat);
	p->readyfd = debug ? -1 : parent_daemonize();
	parent_log_budget(p, was, fit);
	/* Detached, a failure from here on is told to the starter. */
	if (p->readyfd != -1) {
		log_keepfirst(p->why, sizeof(p->why));
		if (atexit(parent_notready) != 0)
			fatalx("atexit failed");
	}

	if ((p->loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot initialise libev");
	ev_set_userdata(p->loop, p);
	parent_signals(p);
	parent_start_children(p);
	parent_foreach_child(p, child_reset_ack, NULL);
	parent_offer(p, conf);

	ev_run(p->loop, 0);
	if (p->pidfile)
		unlink(AIB_PIDFILE);
	log_info("exiting");
	exit(p->exitcode);
}
