/*
 * What every unit test runner ends with: run the suite (Check forks
 * each test and prints its summary line) and turn failures into the
 * exit status make sees.
 */
#ifndef AIB_UNIT_H
#define AIB_UNIT_H

#include <check.h>

static inline int
unit_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed);
}

#endif /* AIB_UNIT_H */
