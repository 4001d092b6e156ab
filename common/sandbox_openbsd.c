/*
 * The sandboxes on OpenBSD: pledge(2) promises and unveil(2) views,
 * the same processes confined at the same points as on Linux
 * (sandbox_linux.c).  A process that breaks its pledge is killed by the
 * kernel with SIGABRT and the kernel logs the call itself, with the
 * process name ("pledge" violation in /var/log/messages), so there is
 * no report descriptor to write: reportfd is unused here.
 */
#ifdef __OpenBSD__

#include <sys/types.h>

#include <stddef.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

void
sandbox_worker(int reportfd)
{
	/*
	 * Chrooted to an empty directory already.  The dump files are
	 * created through the directory descriptor the parent passed;
	 * whether unveil(2) lets an *at(2) call through a descriptor
	 * taken before it has not been checked on OpenBSD here, so the
	 * worker only locks unveil and relies on the chroot for the file
	 * system.  "cpath wpath" for those dumps, "inet unix" for dials,
	 * "recvfd" for its channels.
	 */
	if (unveil(NULL, NULL) == -1)
		fatal("%s: unveil", __func__);
	if (pledge("stdio inet unix recvfd cpath wpath", NULL) == -1)
		fatal("%s: pledge", __func__);
}

void
sandbox_resolver(int reportfd)
{
	/* getaddrinfo(3) reads these and talks to the name servers. */
	if (unveil("/etc/hosts", "r") == -1 ||
	    unveil("/etc/resolv.conf", "r") == -1 ||
	    unveil(NULL, NULL) == -1)
		fatal("%s: unveil", __func__);
	if (pledge("stdio dns recvfd", NULL) == -1)
		fatal("%s: pledge", __func__);
}

void
sandbox_signer(int reportfd)
{
	if (unveil("/", "") == -1 || unveil(NULL, NULL) == -1)
		fatal("%s: unveil", __func__);
	if (pledge("stdio recvfd", NULL) == -1)
		fatal("%s: pledge", __func__);
}

int
sandbox_report(int fd, char *buf, size_t len)
{
	/* The kernel's own log names the call; see the comment above. */
	return (-1);
}

const char *
sandbox_library(char *buf, size_t len)
{
	return (NULL);
}

#endif /* __OpenBSD__ */
