/*
 * The listener's own pages (see pages.c).
 */
#ifndef AIB_PAGES_H
#define AIB_PAGES_H

#include "http.h"

struct session;

/* An origin-form request to the proxy itself. */
void	 page_serve(struct session *, const struct http_head *);
/* STATUS with this body (none for HEAD), then close. */
void	 page_send(struct session *, const struct http_head *, int,
	    const char *, const char *, const char *, size_t);

#endif /* AIB_PAGES_H */
