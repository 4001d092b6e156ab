/*
 * Helpers linked into every harness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

void
fuzz_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, expr);
	abort();
}

/*
 * The parsers under test take C strings, so the harness must add the
 * NUL itself: the fuzzer's buffer has none, and reading past it is
 * exactly what AddressSanitizer should catch in the parser, not here.
 */
char *
fuzz_string(const uint8_t *data, size_t size)
{
	char	*s;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return (s);
}
