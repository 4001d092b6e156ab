#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "unit.h"

#define EXTRA_FDS	37

/*
 * compat_procinfo counts what a process has open, for
 * aibproxyd_process_open_fds: the same count for ourselves and for a
 * child, and one more for each descriptor opened.
 */
START_TEST(test_open_fds_follow_opens)
{
	struct compat_procinfo	 before, after;
	int			 fds[EXTRA_FDS], i;

	compat_procinfo(getpid(), &before);
	ck_assert_int_gt(before.open_fds, 2);
	for (i = 0; i < EXTRA_FDS; i++)
		ck_assert_int_ne(fds[i] = open("/dev/null", O_RDONLY), -1);
	compat_procinfo(getpid(), &after);
	ck_assert_int_eq(after.open_fds, before.open_fds + EXTRA_FDS);
	for (i = 0; i < EXTRA_FDS; i++)
		close(fds[i]);
	compat_procinfo(getpid(), &after);
	ck_assert_int_eq(after.open_fds, before.open_fds);
	ck_assert_int_ge(after.max_fds, after.open_fds);
	ck_assert_int_gt(after.rss_bytes, 0);
}
END_TEST

START_TEST(test_open_fds_of_child)
{
	struct compat_procinfo	 self, child;
	int			 p[2], i;
	pid_t			 pid;
	char			 c;

	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		for (i = 0; i < EXTRA_FDS; i++)
			(void)open("/dev/null", O_RDONLY);
		(void)write(p[1], "x", 1);
		pause();
		_exit(0);
	}
	ck_assert_int_ne(pid, -1);
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	/* The child has ours, its write end for our read end, and its opens. */
	compat_procinfo(getpid(), &self);
	compat_procinfo(pid, &child);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(p[0]);
	ck_assert_int_eq(child.open_fds, self.open_fds + EXTRA_FDS);
}
END_TEST

START_TEST(test_no_such_process)
{
	struct compat_procinfo	 pi;

	compat_procinfo(-1, &pi);
	ck_assert_int_eq(pi.open_fds, -1);
	ck_assert_int_eq(pi.rss_bytes, -1);
}
END_TEST

/* Heap blocks below the top: freed, they stay resident until trimmed. */
#define TRIM_BLOCKS	4096
#define TRIM_BLOCK	4000
#define TRIM_MIB	(1024 * 1024)

/*
 * Free heap in the middle, pinned by a block above it: free(3) gives
 * none of it back (the kept top is larger), compat_malloc_trim() gives
 * back its pages, and compat_self_rss() sees them go.
 */
START_TEST(test_trim_middle)
{
	static char	*b[TRIM_BLOCKS];
	char		*pin;
	int64_t		 held, freed, trimmed;
	int		 i;

	/* Another allocator (SANITIZE=1) refuses the hint: nothing to test. */
	if (compat_malloc_keep(64 * TRIM_MIB) == -1)
		return;
	ck_assert_int_eq(compat_self_rss_open(), 0);
	for (i = 0; i < TRIM_BLOCKS; i++) {
		ck_assert_ptr_nonnull(b[i] = malloc(TRIM_BLOCK));
		memset(b[i], 'x', TRIM_BLOCK);
	}
	ck_assert_ptr_nonnull(pin = malloc(64));
	held = compat_self_rss();
	for (i = 0; i < TRIM_BLOCKS; i++)
		free(b[i]);
	freed = compat_self_rss();
	ck_assert_int_eq(compat_malloc_trim(0), 1);
	trimmed = compat_self_rss();
	free(pin);
	ck_assert_int_gt(held, 0);
	/* About 16 MB: free(3) kept it all, the trim gave most back. */
	ck_assert_int_gt(freed, held - TRIM_MIB);
	ck_assert_int_lt(trimmed, freed - 12 * TRIM_MIB);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("compat");
	TCase	*tc = tcase_create("procinfo");
	int	 failed;

	tcase_add_test(tc, test_open_fds_follow_opens);
	tcase_add_test(tc, test_open_fds_of_child);
	tcase_add_test(tc, test_no_such_process);
	tcase_add_test(tc, test_trim_middle);
	suite_add_tcase(s, tc);
	failed = unit_run(s);
	return (failed != 0);
}
