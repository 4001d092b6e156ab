/*
 * The client setup page at / (setup.c), from one template that is
 * rendered as HTML or as plain text (setup_page.c).
 */
#ifndef AIB_SETUP_H
#define AIB_SETUP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"

struct session;

/* What the template's @NAME@ placeholders stand for. */
struct setup_vars {
	const char	*hostport;	/* the listener, "host:port" */
	const char	*fingerprint;	/* of the CA served */
	const char	*hosts;		/* the intercepted hosts */
	const char	*provider;	/* the first of them */
	int		 tls;		/* a TLS listener: https:// */
};

/*
 * The SHA-256 fingerprint of the certificate /ca-cert.pem serves (the
 * last one of the PEM data), as openssl x509 -fingerprint prints it:
 * upper-case hex pairs joined by ':'.  -1 if there is none or out is
 * shorter than PROXY_FPR_LEN.
 */
int	 setup_fingerprint(const uint8_t *, size_t, char *, size_t);
/* The page, HTML (html set) or plain text, into b; -1 if too large. */
int	 setup_page(struct buf *, int, const struct setup_vars *);
/* GET or HEAD / on a listener. */
void	 setup_serve(struct session *, const struct http_head *);

#endif /* AIB_SETUP_H */
