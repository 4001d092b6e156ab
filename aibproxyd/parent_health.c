/*
 * What only the parent can tell a scrape: each process's descriptors,
 * limit and memory (read from the outside, compat_procinfo()), how
 * often each child was replaced, and when the CA certificate expires.
 */
#include <sys/types.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "asn1time.h"
#include "file.h"
#include "log.h"
#include "parent.h"

_Static_assert(STATS_PROCS_MAX >= 3 + AIB_WORKERS_MAX,
    "a stats_proc for every process");

/*
 * The earliest notAfter of the certificates in ca.cert (a chain: the
 * first one that expires breaks interception), or 0 when none can be
 * read.  Other PEM blocks, such as a key in the same file, are skipped
 * and the buffer is wiped.
 */
int64_t
parent_ca_not_after(const struct aib_config *conf)
{
	uint8_t		*raw;
	size_t		 rawlen;
	BIO		*bio;
	X509		*x;
	int64_t		 first = 0;
	time_t		 t;
	int		 fd;

	if ((fd = open(conf->ca_cert.path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("%s", conf->ca_cert.path);
		return (0);
	}
	if (file_read_fd(fd, 1024 * 1024, &raw, &rawlen) == -1) {
		log_warn("%s", conf->ca_cert.path);
		return (0);
	}
	if ((bio = BIO_new_mem_buf(raw, (int)rawlen)) != NULL) {
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
			if (asn1_time_epoch(X509_get0_notAfter(x), &t) == 0 &&
			    t != 0 && (first == 0 || t < first))
				first = t;
			X509_free(x);
		}
		BIO_free(bio);
	}
	ERR_clear_error();	/* the end of the file reads as an error */
	freezero(raw, rawlen + 1);
	if (first == 0)
		log_warnx("%s: no expiry date read", conf->ca_cert.path);
	return (first);
}

static void
parent_stats_proc(struct proxy_stats *st, const char *name, pid_t pid,
    int alive, uint64_t restarts)
{
	struct stats_proc	*sp;
	struct compat_procinfo	 pi;

	if (st->st_nprocs >= STATS_PROCS_MAX)
		return;
	sp = &st->st_procs[st->st_nprocs++];
	memset(sp, 0, sizeof(*sp));
	/* "aibproxyd: proxy 3" is "proxy 3" here. */
	if (strncmp(name, "aibproxyd: ", 11) == 0)
		name += 11;
	(void)strlcpy(sp->spr_name, name, sizeof(sp->spr_name));
	if (alive)
		compat_procinfo(pid, &pi);
	else
		pi.open_fds = pi.max_fds = pi.rss_bytes = -1;
	sp->spr_open_fds = pi.open_fds;
	sp->spr_max_fds = pi.max_fds;
	sp->spr_rss_bytes = pi.rss_bytes;
	sp->spr_restarts = restarts;
}

/* The parent's share of a scrape, read as it is answered. */
void
parent_stats_fill(struct parent *p, struct proxy_stats *st)
{
	int	 i;

	st->st_ca_not_after = p->ca_not_after;
	st->st_nprocs = 0;
	parent_stats_proc(st, "parent", getpid(), 1, 0);
	parent_stats_proc(st, "signer", p->signer.pid, p->signer.alive,
	    p->signer.restarts);
	parent_stats_proc(st, "resolver", p->resolver.pid, p->resolver.alive,
	    p->resolver.restarts);
	for (i = 0; i < p->nproxies; i++)
		parent_stats_proc(st, p->proxies[i].name, p->proxies[i].pid,
		    p->proxies[i].alive, p->proxies[i].restarts);
}
