/*
 * The listener's own pages: /ca-cert.pem (certificates only, never a
 * key, whatever else the ca.cert file holds) and /healthz.
 */
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "pem.h"
#include "proxy.h"

static void
page_send(struct conn *c, const struct http_head *h, const char *type,
    const char *extra, const char *body, size_t len)
{
	buf_free(&c->sbuf);
	buf_init(&c->sbuf, CONN_BUF_SIZE);
	if (buf_printf(&c->sbuf, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", type, len,
	    extra) == -1 || (strcmp(h->method, "HEAD") != 0 &&
	    buf_add(&c->sbuf, body, len) == -1)) {
		conn_reply(c, 503, NULL, NULL);
		return;
	}
	c->state = CONN_REPLY;
	conn_set_timeout(c, conn_ms(c->conf->gc.gc_timeout_idle));
	conn_arm(c);
}

void
page_serve(struct conn *c, const struct http_head *h)
{
	const char	*pem;
	size_t		 len;
	char		 path[64];

	if (strcmp(h->method, "GET") != 0 && strcmp(h->method, "HEAD") != 0) {
		conn_reply(c, 405, "Allow: GET, HEAD\r\n", NULL);
		return;
	}
	strlcpy(path, h->target, sizeof(path));
	path[strcspn(path, "?")] = '\0';
	if (strcmp(path, "/ca-cert.pem") == 0) {
		if (pem_trust_anchor((const char *)c->conf->ca_cert,
		    c->conf->ca_certlen, &pem, &len) == -1) {
			conn_reply(c, 404, NULL, "no CA certificate");
			return;
		}
		page_send(c, h, "application/x-pem-file",
		    "Content-Disposition: attachment; filename=ca-cert.pem\r\n",
		    pem, len);
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		page_send(c, h, "text/plain", "", "OK\n", 3);
		return;
	}
	conn_reply(c, 404, NULL, NULL);
}
