/*
 * The header fields the parser and the proxy decide on (enum
 * http_field), recognised by name once per head, and what is decided
 * on them alone: which fields are hop-by-hop.
 */
#include <sys/types.h>

#include <string.h>
#include <strings.h>

#include "http.h"

static const struct {
	const char	*name;
	size_t		 len;
} http_fields[] = {
	[HF_AUTHORIZATION] =		{ "Authorization", 13 },
	[HF_CONNECTION] =		{ "Connection", 10 },
	[HF_CONTENT_LENGTH] =		{ "Content-Length", 14 },
	[HF_EXPECT] =			{ "Expect", 6 },
	[HF_HOST] =			{ "Host", 4 },
	[HF_KEEP_ALIVE] =		{ "Keep-Alive", 10 },
	[HF_PROXY_AUTHENTICATE] =	{ "Proxy-Authenticate", 18 },
	[HF_PROXY_AUTHORIZATION] =	{ "Proxy-Authorization", 19 },
	[HF_PROXY_CONNECTION] =		{ "Proxy-Connection", 16 },
	[HF_TE] =			{ "TE", 2 },
	[HF_TRANSFER_ENCODING] =	{ "Transfer-Encoding", 17 },
	[HF_UPGRADE] =			{ "Upgrade", 7 },
	[HF_X_API_KEY] =		{ "X-Api-Key", 9 },
	[HF_X_GOV_REQUEST_ID] =		{ HDR_GOV_REQUEST_ID, 32 },
	[HF_X_GOV_TOKEN] =		{ HDR_GOV_TOKEN, 27 }
};

/* Which of http_fields a name of len bytes is: the length sorts first. */
enum http_field
http_field_of(const char *name, size_t len)
{
	size_t	 f;

	for (f = HF_OTHER + 1; f < sizeof(http_fields) /
	    sizeof(http_fields[0]); f++)
		if (http_fields[f].len == len &&
		    strcasecmp(name, http_fields[f].name) == 0)
			return ((enum http_field)f);
	return (HF_OTHER);
}

/* The first value of a recognised field, NULL if absent. */
const char *
http_field_value(const struct http_head *h, enum http_field f)
{
	int	 i;

	if (h->nfield[f] == 0)
		return (NULL);
	for (i = 0; i < h->nheaders; i++)
		if (h->headers[i].field == f)
			return (h->headers[i].value);
	return (NULL);
}

/*
 * Hop-by-hop fields (RFC 9110 7.6.1) are for one connection only and
 * never forwarded: the fixed ones below, and any field the message's
 * Connection header names.  Content-Length and Transfer-Encoding stay
 * whatever a Connection header says, because bodies are forwarded as
 * received and dropping their framing would let the next hop read the
 * message another way.  Is header i of h one of them?
 */
int
http_hop_header(const struct http_head *h, int i)
{
	int	 j;

	switch (h->headers[i].field) {
	case HF_CONNECTION:
	case HF_KEEP_ALIVE:
	case HF_PROXY_AUTHENTICATE:
	case HF_PROXY_AUTHORIZATION:
	case HF_PROXY_CONNECTION:
	case HF_TE:
	case HF_UPGRADE:
		return (1);
	case HF_CONTENT_LENGTH:
	case HF_TRANSFER_ENCODING:
		return (0);
	default:
		break;
	}
	if (h->nfield[HF_CONNECTION] == 0)
		return (0);
	for (j = 0; j < h->nheaders; j++)
		if (h->headers[j].field == HF_CONNECTION &&
		    http_token_in(h->headers[j].value, h->headers[i].name))
			return (1);
	return (0);
}
