/*
 * GET / on a listener: the setup page (setup_page.c) for this listener
 * as the client reached it.  The Host header names the listener only
 * when it is a plain host[:port] (host_authority()); anything else gets
 * the socket's own address, so a hostile Host never reaches the page.
 * The CA's fingerprint is computed once per configuration
 * (proxy_conf_check()), from the certificates the worker already has.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hostname.h"
#include "log.h"
#include "pages.h"
#include "pem.h"
#include "session.h"
#include "setup.h"

#define SETUP_PAGE_MAX	(32 * 1024)
#define SETUP_HOSTS_MAX	1024

/* Text only: no script, no style, no frame, no form, no sniffing. */
#define SETUP_HTML_HEADERS						\
	"Content-Security-Policy: default-src 'none'; base-uri 'none'; "\
	"form-action 'none'; frame-ancestors 'none'\r\n"		\
	"X-Content-Type-Options: nosniff\r\n"				\
	"Referrer-Policy: no-referrer\r\n"				\
	"Vary: Accept\r\n"
#define SETUP_TEXT_HEADERS						\
	"X-Content-Type-Options: nosniff\r\n"				\
	"Vary: Accept\r\n"

int
setup_fingerprint(const uint8_t *pem, size_t len, char *out, size_t outlen)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;
	const char	*p;
	size_t		 n;
	BIO		*bio;
	X509		*x = NULL;
	int		 ok = 0;

	if (pem == NULL || pem_trust_anchor((const char *)pem, len, &p,
	    &n) == -1 || n > INT_MAX)
		return (-1);
	if ((bio = BIO_new_mem_buf(p, (int)n)) != NULL)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (x != NULL)
		ok = X509_digest(x, EVP_sha256(), md, &mdlen);
	X509_free(x);
	if (!ok || mdlen == 0 || outlen < mdlen * 3) {
		ERR_clear_error();
		return (-1);
	}
	for (i = 0; i < mdlen; i++)
		snprintf(out + 3 * i, 4, "%02X%s", md[i],
		    i + 1 < mdlen ? ":" : "");
	return (0);
}

/* The listener as the client named it, else the socket's address. */
static void
setup_authority(struct session *s, const struct http_head *h, int tls,
    char *out, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 slen = sizeof(ss);
	const char		*host;

	if ((host = http_header(h, "Host")) != NULL &&
	    host_authority(host, tls ? 443 : 80, out, len) == 0)
		return;
	if (getsockname(s->client.fd, (struct sockaddr *)&ss, &slen) == 0 &&
	    (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
		session_addr_text(&ss, out, len, NULL, 0);
		return;
	}
	strlcpy(out, "HOST:PORT", len);
}

/* The intercepted hosts, as many as fit. */
static void
setup_hosts(const struct proxy_conf *pc, char *out, size_t len)
{
	int	 i;

	strlcpy(out, pc->nproviders == 0 ? "none" : "", len);
	for (i = 0; i < pc->nproviders; i++) {
		if (strlen(out) + strlen(pc->providers[i].pc_host) + 8 >=
		    len) {
			strlcat(out, ", ...", len);
			return;
		}
		if (i > 0)
			strlcat(out, ", ", len);
		strlcat(out, pc->providers[i].pc_host, len);
	}
}

void
setup_serve(struct session *s, const struct http_head *h)
{
	struct setup_vars	 v;
	struct buf		 page;
	char			 hostport[AIB_HOSTNAME_MAX + 16];
	char			 hosts[SETUP_HOSTS_MAX];
	int			 html;

	memset(&v, 0, sizeof(v));
	v.tls = s->client.tls != NULL;
	setup_authority(s, h, v.tls, hostport, sizeof(hostport));
	setup_hosts(s->conf, hosts, sizeof(hosts));
	v.hostport = hostport;
	v.hosts = hosts;
	v.provider = s->conf->nproviders > 0 ?
	    s->conf->providers[0].pc_host : "api.anthropic.com";
	v.fingerprint = s->conf->ca_fpr;
	html = http_accepts(h, "text/html");
	buf_init(&page, SETUP_PAGE_MAX);
	if (setup_page(&page, html, &v) == -1) {
		buf_free(&page);
		log_warnx("conn %llu %s: %s: the setup page does not fit",
		    (unsigned long long)s->id, s->peer, __func__);
		session_reply(s, 503, NULL, NULL);
		return;
	}
	page_send(s, h, 200, html ? "text/html; charset=utf-8" :
	    "text/plain; charset=utf-8", html ? SETUP_HTML_HEADERS :
	    SETUP_TEXT_HEADERS, (const char *)buf_rptr(&page),
	    buf_len(&page));
	buf_free(&page);
}
