/*
 * The listener's own pages: /ca-cert.pem (certificates only, never a
 * key, whatever else the ca.cert file holds), /healthz (liveness: the
 * worker answers), /readyz (readiness: 503 once a stop began, see
 * stop.c) and / (the client setup page, setup.c).
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pages.h"
#include "pem.h"
#include "session.h"
#include "setup.h"

void
page_send(struct session *s, const struct http_head *h, int status,
    const char *type, const char *extra, const char *body, size_t len)
{
	buf_free(&s->sbuf);
	buf_init(&s->sbuf, SESSION_BUF_SIZE);
	if (http_answer_head(&s->sbuf, status, type, len, extra, 1) == -1 ||
	    (strcmp(h->method, "HEAD") != 0 &&
	    buf_add(&s->sbuf, body, len) == -1)) {
		session_reply(s, 503, NULL, NULL);
		return;
	}
	session_send(s);
}

void
page_serve(struct session *s, const struct http_head *h)
{
	const char	*pem;
	size_t		 len;
	char		 path[64];

	if (strcmp(h->method, "GET") != 0 && strcmp(h->method, "HEAD") != 0) {
		session_reply(s, 405, "Allow: GET, HEAD\r\n", NULL);
		return;
	}
	strlcpy(path, h->target, sizeof(path));
	path[strcspn(path, "?")] = '\0';
	if (strcmp(path, "/") == 0) {
		setup_serve(s, h);
		return;
	}
	if (strcmp(path, "/ca-cert.pem") == 0) {
		if (pem_trust_anchor((const char *)s->conf->ca_cert,
		    s->conf->ca_certlen, &pem, &len) == -1) {
			session_reply(s, 404, NULL, "no CA certificate");
			return;
		}
		page_send(s, h, 200, "application/x-pem-file",
		    "Content-Disposition: attachment; filename=ca-cert.pem\r\n",
		    pem, len);
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		page_send(s, h, 200, "text/plain", "", "OK\n", 3);
		return;
	}
	if (strcmp(path, "/readyz") == 0) {
		if (s->px->stopping)
			page_send(s, h, 503, "text/plain", "", "stopping\n", 9);
		else
			page_send(s, h, 200, "text/plain", "", "ready\n", 6);
		return;
	}
	session_reply(s, 404, NULL, NULL);
}
