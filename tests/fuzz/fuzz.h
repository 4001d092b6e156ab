/*
 * What every libFuzzer harness in tests/fuzz shares.  A harness does
 * not only call a parser: it checks what the parser promises (sizes,
 * canonical forms, round trips), and a broken promise aborts, which
 * libFuzzer reports as a crash with the input that caused it.
 */
#ifndef AIB_FUZZ_H
#define AIB_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The entry point libFuzzer calls; declared for -Wmissing-prototypes. */
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	 LLVMFuzzerInitialize(int *, char ***);

/* Print where an invariant broke, then abort(3) so libFuzzer saves it. */
void	 fuzz_fail(const char *, int, const char *)
	    __attribute__((__noreturn__));

#define FUZZ_ASSERT(e)	do {						\
	if (!(e))							\
		fuzz_fail(__FILE__, __LINE__, #e);			\
} while (0)

/* A NUL-terminated copy of the input (embedded NULs end the string). */
char	*fuzz_string(const uint8_t *, size_t);

#endif /* AIB_FUZZ_H */
