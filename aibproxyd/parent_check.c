/*
 * What the parent checks in the files a configuration names before it
 * offers it: at -n, at start and at every reload, the same checks, so
 * -n refuses what a start or a reload would fail on.  Each message
 * names the configuration file, the line and key, and the file.
 *
 * The CA certificate and key are signerd's to judge: -n runs signerd
 * -n on them, with the provider hosts, which loads them with the same
 * code as a start (signerd/ca.c).
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tls.h>
#include <unistd.h>

#include "file.h"
#include "keypair.h"
#include "log.h"
#include "parent.h"
#include "paths.h"
#include "pconf.h"
#include "pem.h"
#include "proc.h"

/* A check's verdict: to standard error (-n, start) or the log (reload). */
static void __attribute__((format(printf, 2, 3)))
parent_say(int tostderr, const char *fmt, ...)
{
	char	 msg[2048];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (tostderr)
		fprintf(stderr, "%s\n", msg);
	else
		log_warnx("%s", msg);
}

/* Name the key and the file it came to, as a configuration error does. */
static void
parent_file_error(const struct aib_config *conf, int tostderr,
    const char *key, const struct config_file *f, const char *path,
    const char *why)
{
	if (f->path[0] != '\0')
		parent_say(tostderr, "%s:%d: %s: %s: %s", conf->path, f->line,
		    key, path, why);
	else
		parent_say(tostderr, "%s: %s: not set, so the system's "
		    "trusted certificates, %s: %s", conf->path, key, path, why);
}

/* The whole of a file, or -1 with errno. */
static int
parent_read(const char *path, size_t max, uint8_t **raw, size_t *len)
{
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	return (file_read_fd(fd, max, raw, len));
}

/*
 * A trust bundle the proxies will be given must be there and hold a
 * certificate, or no session with the bridge or the upstream can ever
 * be verified.  Left out of the configuration, it is the system's file.
 */
static int
parent_check_bundle(const struct aib_config *conf, int tostderr,
    const char *key, const struct config_file *f)
{
	const char	*path, *anchor;
	uint8_t		*raw;
	size_t		 rawlen, anchorlen;
	int		 rv;

	path = f->path[0] != '\0' ? f->path : tls_default_ca_cert_file();
	if (parent_read(path, PROXY_BUNDLE_MAX, &raw, &rawlen) == -1) {
		parent_file_error(conf, tostderr, key, f, path,
		    strerror(errno));
		return (-1);
	}
	rv = pem_trust_anchor((char *)raw, rawlen, &anchor, &anchorlen);
	freezero(raw, rawlen + 1);
	if (rv == -1)
		parent_file_error(conf, tostderr, key, f, path,
		    "no certificate in the file");
	return (rv);
}

/*
 * A TLS listener's key must be its certificate's: libtls refuses the
 * pair with only "failed to load private key" (keypair.c).
 */
static int
parent_check_listener(const struct aib_config *conf, int tostderr,
    const struct listen_conf *l, int index)
{
	const struct config_file	*f = &l->cert;
	enum keypair_part		 part;
	uint8_t				*cert = NULL, *key = NULL;
	size_t				 certlen = 0, keylen = 0;
	char				 name[64], why[PATH_MAX + 64];
	int				 rv = -1;

	if (parent_read(l->cert.path, PROXY_PEM_MAX, &cert, &certlen) == -1) {
		(void)strlcpy(why, strerror(errno), sizeof(why));
		goto done;
	}
	f = &l->key;
	if (parent_read(l->key.path, PROXY_PEM_MAX, &key, &keylen) == -1) {
		(void)strlcpy(why, strerror(errno), sizeof(why));
		goto done;
	}
	if (keypair_check(cert, certlen, key, keylen, &part, why,
	    sizeof(why)) == 0)
		rv = 0;
	else if (part == KEYPAIR_CERT)
		f = &l->cert;
	else if (part == KEYPAIR_MISMATCH &&
	    snprintf(why, sizeof(why), "not the private key of the "
	    "certificate in %s", l->cert.path) >= (int)sizeof(why))
		(void)strlcpy(why, "not the private key of its certificate",
		    sizeof(why));
 done:
	if (rv == -1) {
		(void)snprintf(name, sizeof(name), "listen[%d].tls.%s", index,
		    f == &l->key ? "key" : "cert");
		parent_file_error(conf, tostderr, name, f, f->path, why);
	}
	if (cert != NULL)
		freezero(cert, certlen + 1);
	if (key != NULL)
		freezero(key, keylen + 1);
	return (rv);
}

/*
 * The CA key lets whoever reads it impersonate any site: only root, who
 * opens it for signerd, needs to.  A warning, not an error: the file
 * works, and the operator may have a reason (a group of admins).
 */
static void
parent_check_cakey(const struct aib_config *conf, int tostderr)
{
	struct stat	 st;

	if (conf->ca_key_uri[0] != '\0' || stat(conf->ca_key.path, &st) == -1)
		return;		/* a token's; or signerd -n says why */
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) == 0)
		return;
	parent_say(tostderr, "%s:%d: ca.key: %s: warning: readable or "
	    "writable by group or others (mode %04o): chmod 600 it, only "
	    "root needs it", conf->path, conf->ca_key.line, conf->ca_key.path,
	    (unsigned int)(st.st_mode & 07777));
}

/*
 * -n, start, reload: 0 if every file is fit, else -1 (each one said).
 * tostderr: -n or a start, before there is a daemon.  Only then are
 * the listeners' private keys read here, for a message that names the
 * file and line; the running parent never holds one.  At a reload the
 * worker checks each pair with the same keypair_check() (pconf.c), and
 * its refusal, with the listener and the part, is logged.
 */
int
parent_check_files(const struct aib_config *conf, int tostderr)
{
	const struct listen_conf	*l;
	int				 i = 0, rv = 0;

	if (parent_check_bundle(conf, tostderr, "bridge.ca",
	    &conf->bridge_ca) == -1)
		rv = -1;
	if (conf->upstream.uc_enabled && parent_check_bundle(conf, tostderr,
	    "upstream.ca", &conf->upstream_ca) == -1)
		rv = -1;
	TAILQ_FOREACH(l, &conf->listens, entry) {
		if (l->tls && tostderr && parent_check_listener(conf,
		    tostderr, l, i) == -1)
			rv = -1;
		i++;
	}
	parent_check_cakey(conf, tostderr);
	return (rv);
}

/*
 * How signerd -n names a CA file in what it reports: "file:line: key:
 * path".  Both paths are shorter than PATH_MAX, so it fits; a cut name
 * would still be no name to report under.
 */
static void
parent_configtest_name(char *buf, size_t len, const struct aib_config *conf,
    const char *key, const struct config_file *f)
{
	int	 n;

	n = snprintf(buf, len, "%s:%d: %s: %s", conf->path, f->line, key,
	    f->path);
	if (n < 0 || (size_t)n >= len)
		errx(1, "%s: %s: name too long", conf->path, key);
}

/*
 * -n: signerd -n loads the CA as a start would and checks that it may
 * sign for every provider host (its name constraints).  A key in a
 * token is never loaded here: the certificate and the hosts are still
 * checked; a wrong PIN or URI is signerd's to report at start.
 */
void
parent_configtest_ca(const struct aib_config *conf)
{
	const struct provider_conf	*pr;
	char				 certname[2 * PATH_MAX + 32];
	char				 keyname[2 * PATH_MAX + 32];
	char				**argv;
	int				 certfd, keyfd = -1, status, n = 0;
	pid_t				 pid;

	TAILQ_FOREACH(pr, &conf->providers, entry)
		n++;
	if ((argv = calloc(n + 8, sizeof(*argv))) == NULL)
		err(1, "%s", __func__);
	parent_configtest_name(certname, sizeof(certname), conf, "ca.cert",
	    &conf->ca_cert);
	parent_configtest_name(keyname, sizeof(keyname), conf, "ca.key",
	    &conf->ca_key);
	n = 0;
	argv[n++] = "signerd";
	argv[n++] = "-n";
	argv[n++] = "-c";
	argv[n++] = certname;
	if (conf->ca_key_uri[0] == '\0') {
		argv[n++] = "-k";
		argv[n++] = keyname;
	}
	argv[n++] = "--";
	TAILQ_FOREACH(pr, &conf->providers, entry)
		argv[n++] = (char *)pr->pc.pc_host;
	if ((certfd = open(conf->ca_cert.path, O_RDONLY | O_CLOEXEC)) == -1)
		errx(1, "%s: %s", certname, strerror(errno));
	if (conf->ca_key_uri[0] == '\0' && (keyfd = open(conf->ca_key.path,
	    O_RDONLY | O_CLOEXEC)) == -1)
		errx(1, "%s: %s", keyname, strerror(errno));
	if ((pid = proc_exec(AIB_SIGNERD_PATH, argv, certfd, keyfd)) == -1)
		err(1, "%s", AIB_SIGNERD_PATH);
	close(certfd);
	if (keyfd != -1)
		close(keyfd);
	free(argv);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			err(1, "waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		exit(1);
}
