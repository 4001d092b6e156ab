/*
 * The system-call sandboxes, each installed in a child of its own: the
 * calls a process needs still work under its filter, a forbidden one
 * kills it with SIGSYS, and the parent's reading of the report names
 * the call.  Linux only: on OpenBSD pledge(2) aborts instead.
 */
#include <sys/types.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"
#include "unit.h"

enum profile { P_WORKER, P_RESOLVER, P_SIGNER };

enum forbidden {
	F_NONE,		/* the allowed calls only, then exit 0 */
	F_OPEN,		/* open(2) of an existing file */
	F_EXECVE,
	F_FORK,
	F_SOCKET_INET,
	F_SOCKET_PACKET,
	F_SETUID,
	F_PTRACE
};

/* Exit codes of a child whose allowed calls failed. */
#define E_ALLOWED	10

static char	 dumpdir[] = "/tmp/test_sandbox.XXXXXX";
static int	 dumpfd = -1;	/* opened before the filter, as the parent does */

/* What every process does after its filter: it must still work. */
static int
allowed_base(void)
{
	struct timespec	 ts;
	char		*p;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1 || getpid() <= 0)
		return (-1);
	/* Large enough for mmap(2), not only brk(2). */
	if ((p = malloc(1 << 20)) == NULL)
		return (-1);
	memset(p, 1, 1 << 20);
	free(p);
	return (0);
}

static int
allowed_worker(void)
{
	char	 path[64];
	int	 s, p[2], fd;

	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return (-1);
	close(s);
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		return (-1);
	close(p[0]);
	close(p[1]);
	/* log.dump_dir: a new file under the directory's descriptor. */
	if (mkdirat(dumpfd, "prov", 0700) == -1 && errno != EEXIST)
		return (-1);
	(void)snprintf(path, sizeof(path), "prov/%d.txt", (int)getpid());
	if ((fd = openat(dumpfd, path, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		return (-1);
	close(fd);
	return (0);
}

static int
allowed_resolver(void)
{
	struct addrinfo	 hints, *ai;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	/* /etc/hosts, nsswitch.conf, netlink(7) for AI_ADDRCONFIG. */
	if (getaddrinfo("localhost", NULL, &hints, &ai) != 0)
		return (-1);
	freeaddrinfo(ai);
	return (0);
}

static int
allowed_signer(void)
{
	/* syslog(3)'s reconnect is refused, not killed. */
	if (socket(AF_UNIX, SOCK_DGRAM, 0) != -1 || errno != EACCES)
		return (-1);
	return (0);
}

static void
do_forbidden(enum forbidden f)
{
	char	*argv[] = { "/bin/true", NULL };

	switch (f) {
	case F_NONE:
		break;
	case F_OPEN:
		(void)open("/etc/passwd", O_RDONLY);
		break;
	case F_EXECVE:
		(void)execve(argv[0], argv, NULL);
		break;
	case F_FORK:
		if (fork() == 0)
			_exit(0);
		break;
	case F_SOCKET_INET:
		(void)socket(AF_INET, SOCK_STREAM, 0);
		break;
	case F_SOCKET_PACKET:
		(void)socket(AF_PACKET, SOCK_RAW, 0);
		break;
	case F_SETUID:
		(void)setuid(0);
		break;
	case F_PTRACE:
		(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		break;
	}
}

/*
 * Run profile in a child that then makes the forbidden call; returns its
 * wait status, and in call what the parent would log.
 */
static int
run(enum profile pr, enum forbidden f, char *call, size_t len)
{
	int	 rp[2], status, rc = 0;
	pid_t	 pid;

	ck_assert_int_eq(pipe2(rp, O_NONBLOCK | O_CLOEXEC), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		close(rp[0]);
		log_init(1, LOG_DAEMON);
		switch (pr) {
		case P_WORKER:
			sandbox_worker(rp[1]);
			rc = allowed_worker();
			break;
		case P_RESOLVER:
			sandbox_resolver(rp[1]);
			rc = allowed_resolver();
			break;
		case P_SIGNER:
			sandbox_signer(rp[1]);
			rc = allowed_signer();
			break;
		}
		if (rc == -1 || allowed_base() == -1)
			_exit(E_ALLOWED);
		do_forbidden(f);
		_exit(0);
	}
	close(rp[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	call[0] = '\0';
	(void)sandbox_report(rp[0], call, len);
	close(rp[0]);
	return (status);
}

static void
killed_by(enum profile pr, enum forbidden f, const char *name)
{
	char	 call[64], want[64];
	int	 status;

	status = run(pr, f, call, sizeof(call));
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	    "profile %d, call %d: wait status %#x, not SIGSYS", pr, f, status);
	(void)snprintf(want, sizeof(want), "(%s)", name);
	ck_assert_msg(strstr(call, want) != NULL,
	    "report \"%s\" does not name %s", call, name);
}

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dumpdir));
	ck_assert_int_ne(dumpfd = open(dumpdir, O_RDONLY | O_DIRECTORY), -1);
}

static void
teardown(void)
{
	char	 cmd[128];

	close(dumpfd);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dumpdir);
	(void)system(cmd);
	strlcpy(dumpdir, "/tmp/test_sandbox.XXXXXX", sizeof(dumpdir));
}

START_TEST(test_allowed_calls_work)
{
	static const enum profile	 profiles[] = { P_WORKER, P_RESOLVER,
	    P_SIGNER };
	char				 call[64];
	int				 status;

	status = run(profiles[_i], F_NONE, call, sizeof(call));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "profile %d: wait status %#x, report \"%s\"", profiles[_i],
	    status, call);
}
END_TEST

START_TEST(test_worker_forbidden)
{
	killed_by(P_WORKER, F_OPEN, "openat");
	killed_by(P_WORKER, F_EXECVE, "execve");
	killed_by(P_WORKER, F_FORK, "clone");
	killed_by(P_WORKER, F_SOCKET_PACKET, "socket");
	killed_by(P_WORKER, F_SETUID, "setuid");
	killed_by(P_WORKER, F_PTRACE, "ptrace");
}
END_TEST

START_TEST(test_resolver_forbidden)
{
	killed_by(P_RESOLVER, F_EXECVE, "execve");
	killed_by(P_RESOLVER, F_FORK, "clone");
	killed_by(P_RESOLVER, F_SETUID, "setuid");
}
END_TEST

START_TEST(test_signer_forbidden)
{
	killed_by(P_SIGNER, F_SOCKET_INET, "socket");
	killed_by(P_SIGNER, F_OPEN, "openat");
	killed_by(P_SIGNER, F_EXECVE, "execve");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("sandbox");
	TCase	*tc = tcase_create("sandbox");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_allowed_calls_work, 0, 3);
	tcase_add_test(tc, test_worker_forbidden);
	tcase_add_test(tc, test_resolver_forbidden);
	tcase_add_test(tc, test_signer_forbidden);
	suite_add_tcase(s, tc);
	return (unit_run(s) ? 1 : 0);
}
