/*
 * fork+exec of children and the one privilege drop every child does.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "proto.h"

#define PROC_KEEP_MAX	4

/* The whole environment a child gets: no secrets, no locale surprises. */
static char	*child_env[] = {
	"PATH=/usr/bin:/bin:/usr/sbin:/sbin",
	NULL,		/* ASAN_OPTIONS/UBSAN_OPTIONS, when set */
	NULL,
	NULL,		/* up to PROC_KEEP_MAX variables a caller keeps */
	NULL,
	NULL,
	NULL,
	NULL
};

/*
 * The variables named in keep, as this process has them, follow the
 * fixed ones: what a PKCS#11 module reads to find its configuration.
 */
static void
proc_child_keep(int i, const char *const *keep)
{
	static char	 kept[PROC_KEEP_MAX][1024];
	const char	*v;
	int		 k;

	for (k = 0; keep != NULL && keep[k] != NULL && k < PROC_KEEP_MAX;
	    k++) {
		if ((v = getenv(keep[k])) == NULL ||
		    snprintf(kept[k], sizeof(kept[k]), "%s=%s", keep[k], v) >=
		    (int)sizeof(kept[k]))
			continue;
		child_env[i++] = kept[k];
	}
	child_env[i] = NULL;
}

static void
proc_child_env(const char *const *keep)
{
	static char	 asan[512], ubsan[512];
	const char	*v;
	int		 i = 1;

	/* Sanitizer builds are tested as they run: keep their options. */
	if ((v = getenv("ASAN_OPTIONS")) != NULL &&
	    snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s", v) <
	    (int)sizeof(asan))
		child_env[i++] = asan;
	if ((v = getenv("UBSAN_OPTIONS")) != NULL &&
	    snprintf(ubsan, sizeof(ubsan), "UBSAN_OPTIONS=%s", v) <
	    (int)sizeof(ubsan))
		child_env[i++] = ubsan;
	proc_child_keep(i, keep);
}

/* In the child: put chanfd on 3 and extra on 4, close all the rest. */
static void
proc_child_fds(int chanfd, int extra)
{
	int	 fd3, fd4;

	/* Move both out of the way first so dup2 cannot clobber them. */
	if ((fd3 = fcntl(chanfd, F_DUPFD, 10)) == -1)
		_exit(127);
	fd4 = -1;
	if (extra != -1 && (fd4 = fcntl(extra, F_DUPFD, 10)) == -1)
		_exit(127);
	if (dup2(fd3, AIB_PARENT_FD) == -1)
		_exit(127);
	if (fd4 != -1 && dup2(fd4, AIB_PARENT_FD + 1) == -1)
		_exit(127);
	closefrom(fd4 != -1 ? AIB_PARENT_FD + 2 : AIB_PARENT_FD + 1);
}

pid_t
proc_exec(const char *path, char *const argv[], int chanfd, int extra)
{
	return (proc_exec_env(path, argv, chanfd, extra, NULL));
}

pid_t
proc_exec_env(const char *path, char *const argv[], int chanfd, int extra,
    const char *const *keep)
{
	pid_t	 pid;

	proc_child_env(keep);
	switch (pid = fork()) {
	case -1:
		return (-1);
	case 0:
		proc_child_fds(chanfd, extra);
		execve(path, argv, child_env);
		/* stderr is still ours: say why before dying. */
		dprintf(STDERR_FILENO, "%s: exec %s: %s\n", getprogname(),
		    path, strerror(errno));
		_exit(127);
	default:
		return (pid);
	}
}

int
proc_checkuser(const char *user, char *err, size_t errlen)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "unknown user %s%s%s", user,
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return (-1);
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s has uid 0", user);
		return (-1);
	}
	return (0);
}

int
proc_checkchroot(const char *dir, char *err, size_t errlen)
{
	struct stat	 st;

	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "chroot %s: %s", dir, strerror(errno));
		return (-1);
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "chroot %s: not a directory", dir);
		return (-1);
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "chroot %s: must be owned by root and "
		    "not writable by group or others", dir);
		return (-1);
	}
	return (0);
}

void
proc_privdrop(const char *user, const char *root)
{
	struct passwd	*pw;
	uid_t		 uid;
	gid_t		 gid;

	if ((pw = getpwnam(user)) == NULL)
		fatalx("%s: unknown user %s", __func__, user);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0)
		fatalx("%s: user %s has uid 0", __func__, user);

	if (root != NULL) {
		if (chroot(root) == -1)
			fatal("%s: chroot %s", __func__, root);
		if (chdir("/") == -1)
			fatal("%s: chdir(\"/\")", __func__);
	}
	if (setgroups(1, &gid) == -1)
		fatal("%s: setgroups", __func__);
	if (setresgid(gid, gid, gid) == -1)
		fatal("%s: setresgid", __func__);
	if (setresuid(uid, uid, uid) == -1)
		fatal("%s: setresuid", __func__);

	/* Prove it cannot be undone. */
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1)
		fatalx("%s: could regain root after dropping to %s",
		    __func__, user);
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid)
		fatalx("%s: ids not dropped to %s", __func__, user);
}

/*
 * The signals a child dies of in practice, by the names sigaction(2)
 * gives them: "killed by signal 11" makes the reader look it up.
 */
static const struct {
	int		 sig;
	const char	*name;
} signames[] = {
	{ SIGHUP, "SIGHUP" },	{ SIGINT, "SIGINT" },
	{ SIGQUIT, "SIGQUIT" },	{ SIGILL, "SIGILL" },
	{ SIGTRAP, "SIGTRAP" },	{ SIGABRT, "SIGABRT" },
	{ SIGBUS, "SIGBUS" },	{ SIGFPE, "SIGFPE" },
	{ SIGKILL, "SIGKILL" },	{ SIGUSR1, "SIGUSR1" },
	{ SIGSEGV, "SIGSEGV" },	{ SIGUSR2, "SIGUSR2" },
	{ SIGPIPE, "SIGPIPE" },	{ SIGALRM, "SIGALRM" },
	{ SIGTERM, "SIGTERM" },	{ SIGXCPU, "SIGXCPU" },
	{ SIGXFSZ, "SIGXFSZ" },	{ SIGSYS, "SIGSYS" }
};

void
proc_status(int status, char *buf, size_t len)
{
	size_t	 i;
	int	 sig;

	if (WIFEXITED(status)) {
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
		return;
	}
	if (!WIFSIGNALED(status)) {
		snprintf(buf, len, "stopped with wait status %#x", status);
		return;
	}
	sig = WTERMSIG(status);
	for (i = 0; i < nitems(signames); i++)
		if (signames[i].sig == sig)
			break;
	if (i < nitems(signames))
		snprintf(buf, len, "killed by signal %s%s", signames[i].name,
		    WCOREDUMP(status) ? " (core dumped)" : "");
	else
		snprintf(buf, len, "killed by signal %d%s", sig,
		    WCOREDUMP(status) ? " (core dumped)" : "");
}

int
proc_nofile(int raise, rlim_t *cur, rlim_t *was)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return (-1);
	*was = rl.rlim_cur;
	if (raise && rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			return (-1);
	}
	/* What a start would have: the hard limit, children included. */
	*cur = rl.rlim_max;
	return (0);
}
