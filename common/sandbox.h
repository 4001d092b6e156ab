/*
 * System-call sandboxes: what each process may still ask of the kernel
 * once it has initialised and dropped its privileges.  seccomp(2) on
 * Linux (common/sandbox_linux.c), pledge(2) and unveil(2) on OpenBSD
 * (common/sandbox_openbsd.c); the Makefile builds the one for the
 * system it runs on.
 *
 * Each sandbox_*() is called once, after proc_privdrop() and after the
 * process has set up everything it keeps (its event loop, its threads),
 * and fatal()s if the sandbox cannot be installed: a process that was
 * meant to be confined never runs unconfined.  reportfd is where a
 * process killed by its filter writes which call it made (-1: nowhere);
 * the parent reads it back with sandbox_report().
 */
#ifndef AIB_SANDBOX_H
#define AIB_SANDBOX_H

#include <stddef.h>

void	 sandbox_worker(int);
void	 sandbox_resolver(int);
void	 sandbox_signer(int);

/*
 * In the parent, for a child that died of SIGSYS: the call its filter
 * refused, in words ("system call 2 (open)"), read from the other end
 * of that child's reportfd.  -1 if the child left no report.
 */
int	 sandbox_report(int, char *, size_t);

/*
 * The library the sandbox is built with, for -V: its name, and its
 * version written to the buffer; NULL where there is none (OpenBSD's
 * pledge is the kernel's).
 */
const char *sandbox_library(char *, size_t);

#endif /* AIB_SANDBOX_H */
