/*
 * The parent's children: starting them, joining them, and what happens
 * when one dies.
 *
 * A worker or the resolver that dies while the daemon runs is replaced:
 * the parent logs how it ended, starts a new one with the same number,
 * joins it to the others as at start-up and offers it the running
 * configuration alone; once it has accepted, it starts serving.  One
 * that dies CHILD_DEATHS_MAX times within CHILD_DEATHS_SECS stops the
 * daemon, as something outside the process keeps killing it.  signerd
 * is not replaced: it alone holds the CA key, read once from the
 * descriptor the parent passed it, so its death stops the daemon.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "parent.h"
#include "paths.h"
#include "proc.h"
#include "sandbox.h"

#define CHILD_RETRY_SECS	1.	/* after a fork(2) that failed */

static void	parent_restart(struct parent *, struct child *);

static void
parent_child_argv(struct parent *p, struct child *c, char **argv,
    size_t n)
{
	size_t		 i = 0;

	argv[i++] = c->name;
	if (c->proc != PROC_SIGNER) {
		argv[i++] = "-P";
		argv[i++] = c->proc == PROC_PROXY ? "proxy" : "resolver";
		snprintf(c->inst, sizeof(c->inst), "%d", c->instance);
		argv[i++] = "-I";
		argv[i++] = c->inst;
	}
	argv[i++] = "-u";
	argv[i++] = c->proc == PROC_SIGNER ? p->conf->signer_user :
	    p->conf->user;
	/* The resolver needs /etc/resolv.conf and /etc/hosts: no chroot. */
	if (c->proc != PROC_RESOLVER) {
		argv[i++] = "-r";
		argv[i++] = p->conf->chroot;
	}
	/* A token key: signerd logs in to it before it drops root. */
	if (c->proc == PROC_SIGNER && p->conf->ca_key_uri[0] != '\0')
		argv[i++] = "-p";
	if (p->debug)
		argv[i++] = "-d";
	/* Before its configuration arrives, a child logs as the parent. */
	if (p->conf->logformat == LOG_FORMAT_JSON)
		argv[i++] = "-J";
	for (int v = 0; v < p->verbose && v < 3; v++)
		argv[i++] = "-v";
	argv[i] = NULL;
	if (i >= n)
		fatalx("%s: argv overflow", __func__);
}

static void	parent_child_exited(struct ev_loop *, ev_child *, int);

/* Returns -1, with errno set, if no process could be started. */
/*
 * SoftHSM2 finds its configuration through SOFTHSM2_CONF; signerd alone
 * gets it, so that a module can be used with a configuration of its own.
 */
static const char *const signer_keep[] = { "SOFTHSM2_CONF", NULL };

static int
parent_start_child(struct parent *p, struct child *c)
{
	char		*argv[20];
	const char	*path;
	int		 sp[2], rp[2], saved;

	parent_child_argv(p, c, argv, nitems(argv));
	path = c->proc == PROC_SIGNER ? AIB_SIGNERD_PATH : AIB_AIBPROXYD_PATH;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		return (-1);
	/* Non-blocking: a dying child's last write must never wait. */
	if (pipe2(rp, O_CLOEXEC | O_NONBLOCK) == -1) {
		saved = errno;
		close(sp[0]);
		close(sp[1]);
		errno = saved;
		return (-1);
	}
	if ((c->pid = proc_exec_env(path, argv, sp[1], rp[1],
	    c->proc == PROC_SIGNER ? signer_keep : NULL)) == -1) {
		saved = errno;
		close(sp[0]);
		close(sp[1]);
		close(rp[0]);
		close(rp[1]);
		errno = saved;
		return (-1);
	}
	close(sp[1]);
	close(rp[1]);
	c->reportfd = rp[0];
	c->alive = 1;
	ev_child_init(&c->cw, parent_child_exited, c->pid, 0);
	c->cw.data = c;
	ev_child_start(p->loop, &c->cw);
	imsgev_init(&c->iev, p->loop, sp[0], 1, c->name,
	    parent_dispatch_child, parent_child_closed, c);
	log_debug("%s: started %s, pid %d", __func__, c->name, (int)c->pid);
	return (0);
}

/* Give a and b the two ends of a new channel between them. */
static void
parent_connect(struct child *a, struct child *b)
{
	struct ctl_procfd	 pf;
	int			 sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		/* Each will see no peer and be replaced in turn. */
		log_warn("%s: socketpair", __func__);
		return;
	}
	pf.pf_proc = b->proc;
	pf.pf_instance = b->instance;
	imsgev_compose(&a->iev, IMSG_CTL_PROCFD, 0, sp[0], &pf, sizeof(pf));
	pf.pf_proc = a->proc;
	pf.pf_instance = a->instance;
	imsgev_compose(&b->iev, IMSG_CTL_PROCFD, 0, sp[1], &pf, sizeof(pf));
}

/* Every worker is joined to signerd and to the resolver. */
static void
parent_join(struct parent *p, struct child *c)
{
	int	 i;

	if (c->proc == PROC_PROXY) {
		parent_connect(c, &p->signer);
		parent_connect(c, &p->resolver);
		return;
	}
	for (i = 0; i < p->nproxies; i++)
		if (p->proxies[i].alive)
			parent_connect(&p->proxies[i], c);
}

void
parent_start_children(struct parent *p)
{
	struct child	*c;
	int		 i;

	p->signer.proc = PROC_SIGNER;
	strlcpy(p->signer.name, "aibproxyd: signer", sizeof(p->signer.name));
	p->resolver.proc = PROC_RESOLVER;
	strlcpy(p->resolver.name, "aibproxyd: resolver",
	    sizeof(p->resolver.name));
	p->nproxies = p->conf->workers;
	for (i = 0; i < p->nproxies; i++) {
		c = &p->proxies[i];
		c->proc = PROC_PROXY;
		c->instance = i;
		snprintf(c->name, sizeof(c->name), "aibproxyd: proxy %d", i);
	}
	if (parent_start_child(p, &p->signer) == -1)
		fatal("cannot start %s", p->signer.name);
	if (parent_start_child(p, &p->resolver) == -1)
		fatal("cannot start %s", p->resolver.name);
	for (i = 0; i < p->nproxies; i++) {
		if (parent_start_child(p, &p->proxies[i]) == -1)
			fatal("cannot start %s", p->proxies[i].name);
		parent_join(p, &p->proxies[i]);
	}
}

void
parent_foreach_child(struct parent *p, void (*fn)(struct child *, void *),
    void *arg)
{
	int	 i;

	fn(&p->signer, arg);
	fn(&p->resolver, arg);
	for (i = 0; i < p->nproxies; i++)
		fn(&p->proxies[i], arg);
}

/* arg points to an int: also send SIGTERM, for a child that may hang. */
void
parent_child_stop(struct child *c, void *arg)
{
	if (!c->alive)
		return;
	/* Closing the channel is the signal to exit. */
	imsgev_clear(&c->iev);
	if (*(int *)arg)
		kill(c->pid, SIGTERM);
}

int
parent_all_dead(const struct parent *p)
{
	return (!p->signer.alive && !p->resolver.alive &&
	    parent_proxies_dead(p));
}

int
parent_proxies_dead(const struct parent *p)
{
	int	 i;

	for (i = 0; i < p->nproxies; i++)
		if (p->proxies[i].alive)
			return (0);
	return (1);
}

/* Is a child being replaced, or waiting to be? */
int
parent_restarting(const struct parent *p)
{
	int	 i;

	if (p->resolver.restart || p->resolver.starting)
		return (1);
	for (i = 0; i < p->nproxies; i++)
		if (p->proxies[i].restart || p->proxies[i].starting)
			return (1);
	return (0);
}

static void
parent_retrytimer(struct ev_loop *loop, ev_timer *w, int revents)
{
	parent_restart_pending(w->data);
}

/*
 * Start the replacements that are due, once no reload is in progress
 * (parent_acks_done() calls this again).  The resolver comes first, so
 * that the workers started next are joined to the new one.
 */
void
parent_restart_pending(struct parent *p)
{
	int	 i;

	if (p->state == PARENT_RUNNING && p->resolver.restart)
		parent_restart(p, &p->resolver);
	/* A restart that ends a crash loop stops the daemon: check again. */
	for (i = 0; i < p->nproxies && p->state == PARENT_RUNNING; i++)
		if (p->proxies[i].restart)
			parent_restart(p, &p->proxies[i]);
}

/*
 * Note a death; true once the child died CHILD_DEATHS_MAX times within
 * CHILD_DEATHS_SECS, and the daemon is then stopping.
 */
static int
parent_crashloop(struct parent *p, struct child *c)
{
	ev_tstamp	 now = ev_now(p->loop);

	c->deaths[c->ndeaths++ % CHILD_DEATHS_MAX] = now;
	/* The slot written next holds the oldest of the last few deaths. */
	if (c->ndeaths < CHILD_DEATHS_MAX ||
	    now - c->deaths[c->ndeaths % CHILD_DEATHS_MAX] > CHILD_DEATHS_SECS)
		return (0);
	if (c->proc == PROC_PROXY)
		log_warnx("worker %d died %d times in %ds; stopping",
		    c->instance, CHILD_DEATHS_MAX, CHILD_DEATHS_SECS);
	else
		log_warnx("resolver died %d times in %ds; stopping",
		    CHILD_DEATHS_MAX, CHILD_DEATHS_SECS);
	parent_shutdown(p, 1);
	return (1);
}

static void
parent_restart(struct parent *p, struct child *c)
{
	int	 term = 1;

	c->restart = 0;
	c->acked = 0;
	if (parent_start_child(p, c) == -1) {
		log_warn("cannot restart %s", c->name);
		if (parent_crashloop(p, c))
			return;
		c->restart = 1;
		ev_timer_stop(p->loop, &p->retrytimer);
		ev_timer_init(&p->retrytimer, parent_retrytimer,
		    CHILD_RETRY_SECS, 0.);
		p->retrytimer.data = p;
		ev_timer_start(p->loop, &p->retrytimer);
		return;
	}
	c->starting = 1;
	c->restarts++;
	parent_join(p, c);
	/* Answered in parent_child_ready(); a failure ends it, see there. */
	if (parent_send_child(p, c, p->conf) == -1) {
		log_warnx("%s: cannot send it the running configuration",
		    c->name);
		parent_child_stop(c, &term);
	}
}

/* A replacement answered the running configuration it was offered. */
int
parent_child_ready(struct parent *p, struct child *c,
    const struct cfg_ack *ack)
{
	int	 term = 1;

	if (!ack->ca_ok) {
		/* Its exit brings it back, or ends a crash loop. */
		log_warnx("%s refused the running configuration: %s",
		    c->name, ack->ca_reason);
		parent_child_stop(c, &term);
		return (0);
	}
	c->starting = 0;
	/* Stopping: it was told so and must not start serving now. */
	if (p->state != PARENT_RUNNING)
		return (0);
	imsgev_compose(&c->iev, IMSG_CTL_START, 0, -1, NULL, 0);
	log_info("%s restarted, pid %d", c->name, (int)c->pid);
	if (p->reload_pending && !parent_restarting(p)) {
		p->reload_pending = 0;
		parent_reload(p);
	}
	return (0);
}

/* A worker or the resolver died while the daemon serves: replace it. */
static void
parent_child_died(struct parent *p, struct child *c, const char *how)
{
	log_warnx("%s (pid %d) %s", c->name, (int)c->pid, how);
	c->starting = 0;
	if (parent_crashloop(p, c))
		return;
	if (c->proc == PROC_PROXY)
		parent_stats_lost(p, c);
	c->restart = 1;
	if (p->state == PARENT_RELOADING)
		parent_offer_lost(p, c);
	parent_restart_pending(p);
}

/* SIGTERM: workers that finished what they served exit 0. */
static void
parent_child_drained(struct parent *p, struct child *c, int status,
    const char *how)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		log_warnx("%s (pid %d) %s while stopping", c->name,
		    (int)c->pid, how);
	if (parent_proxies_dead(p))
		parent_shutdown(p, 0);
}

static void
parent_child_exited(struct ev_loop *loop, ev_child *w, int revents)
{
	struct child	*c = w->data;
	struct parent	*p = ev_userdata(loop);
	char		 how[160], call[64];

	ev_child_stop(loop, w);
	c->alive = 0;
	imsgev_clear(&c->iev);
	proc_status(w->rstatus, how, sizeof(how));
	/* Killed by its sandbox: name the call, so the list can be fixed. */
	if (WIFSIGNALED(w->rstatus) && WTERMSIG(w->rstatus) == SIGSYS &&
	    sandbox_report(c->reportfd, call, sizeof(call)) == 0) {
		(void)strlcat(how, ": ", sizeof(how));
		(void)strlcat(how, call, sizeof(how));
		(void)strlcat(how, " not allowed by its sandbox", sizeof(how));
	}
	close(c->reportfd);
	c->reportfd = -1;
	switch (p->state) {
	case PARENT_STOPPING:
		if (parent_all_dead(p))
			ev_break(loop, EVBREAK_ALL);
		return;
	case PARENT_DRAINING:
		if (c->proc != PROC_SIGNER) {
			parent_child_drained(p, c, w->rstatus, how);
			return;
		}
		break;
	case PARENT_RUNNING:
	case PARENT_RELOADING:
		if (c->proc != PROC_SIGNER) {
			parent_child_died(p, c, how);
			return;
		}
		break;
	default:
		break;
	}
	log_warnx("lost child: %s (pid %d) %s", c->name, (int)c->pid, how);
	p->lost_logged = 1;
	parent_lost(p);
}

void
parent_child_closed(struct imsgev *iev, const char *why)
{
	struct child	*c = iev->arg;
	struct parent	*p = ev_userdata(iev->loop);

	if (p->state == PARENT_STOPPING || p->state == PARENT_LOSING ||
	    (p->state == PARENT_DRAINING && c->proc != PROC_SIGNER))
		return;
	log_debug("%s channel: %s", c->name, why);
	if (c->proc == PROC_SIGNER || p->state == PARENT_STARTING) {
		parent_lost(p);
		return;
	}
	/* It cannot serve without us: its exit brings a replacement. */
	if (c->alive)
		kill(c->pid, SIGTERM);
}
