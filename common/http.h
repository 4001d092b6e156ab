/*
 * A strict, small HTTP/1.1 message parser (RFC 9110/9112) for a proxy
 * that must never be confused about where a message ends: it refuses
 * anything two parties could read two ways.
 *
 * Heads are parsed whole once complete (up to a byte limit); bodies
 * are framed by http_body_* without being copied or buffered.
 */
#ifndef AIB_HTTP_H
#define AIB_HTTP_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HTTP_HEADERS_MAX	128
/* Our answer to a CONNECT we serve: a tunnel or an interception. */
#define HTTP_CONNECT_OK		"HTTP/1.1 200 Connection established\r\n\r\n"

/* The bridge's governance fields: only the proxy sets them. */
#define HDR_GOV_TOKEN		"X-Coder-AI-Governance-Token"
#define HDR_GOV_REQUEST_ID	"X-Coder-AI-Governance-Request-Id"

/*
 * The fields the parser and the proxy decide on, recognised once as
 * the head is parsed (name compared without case), so that deciding
 * compares no strings.
 */
enum http_field {
	HF_OTHER,
	HF_AUTHORIZATION,
	HF_CONNECTION,
	HF_CONTENT_LENGTH,
	HF_EXPECT,
	HF_HOST,
	HF_KEEP_ALIVE,
	HF_PROXY_AUTHENTICATE,
	HF_PROXY_AUTHORIZATION,
	HF_PROXY_CONNECTION,
	HF_TE,
	HF_TRANSFER_ENCODING,
	HF_UPGRADE,
	HF_X_API_KEY,
	HF_X_GOV_REQUEST_ID,
	HF_X_GOV_TOKEN,
	HF_COUNT			/* not a field: how many there are */
};

struct http_header {
	const char	*name;		/* as received */
	const char	*value;		/* OWS trimmed */
	enum http_field	 field;
};

enum http_framing {
	HTTP_BODY_NONE,			/* no body */
	HTTP_BODY_LENGTH,		/* Content-Length bytes */
	HTTP_BODY_CHUNKED,		/* Transfer-Encoding: chunked */
	HTTP_BODY_CLOSE			/* response read until EOF */
};

struct http_head {
	char			*text;		/* owned, NUL-split copy */
	size_t			 size;		/* head bytes incl. CRLFCRLF */
	/* request line */
	const char		*method;
	const char		*target;
	/* status line */
	int			 status;
	const char		*reason;
	int			 minor;		/* HTTP/1.<minor>: 0 or 1 */
	struct http_header	 headers[HTTP_HEADERS_MAX];
	int			 nheaders;
	int			 nfield[HF_COUNT];	/* count of each */
	/* derived from the headers */
	enum http_framing	 framing;
	uint64_t		 length;	/* HTTP_BODY_LENGTH */
	int			 close;		/* no keep-alive after this */
	int			 upgrade;	/* Upgrade header present */
	int			 expect_continue;
};

/*
 * Results: complete (the head is in *h, h->size bytes of input used),
 * need more input, or an error with the status to answer (400 Bad
 * Request, 431 for an oversize request head, 501 for an unknown
 * transfer coding, 505 for a version other than HTTP/1.0 or 1.1;
 * responses use 502) and a short reason for the log.
 */
enum http_result {
	HTTP_COMPLETE,
	HTTP_INCOMPLETE,
	HTTP_ERROR
};

struct http_error {
	int		 status;
	const char	*why;
};

/* max: limit on head bytes (limits.header_bytes). */
enum http_result http_parse_request(const char *, size_t, size_t,
		    struct http_head *, struct http_error *);
/*
 * Response heads; head_request says the request was HEAD, and with
 * connect_request a 2xx means a tunnel (no body).  1xx responses parse
 * as complete heads with HTTP_BODY_NONE; the caller loops.
 */
enum http_result http_parse_response(const char *, size_t, size_t, int,
		    int, struct http_head *, struct http_error *);
void		 http_head_free(struct http_head *);

/* First header value by case-insensitive name, or NULL. */
const char	*http_header(const struct http_head *, const char *);
const char	*http_field_value(const struct http_head *, enum http_field);
enum http_field	 http_field_of(const char *, size_t);
/* How many times a header appears. */
int		 http_header_count(const struct http_head *, const char *);
/* Is tok one of the comma-separated tokens of value? (case-insensitive) */
int		 http_token_in(const char *, const char *);

/*
 * Body framing.  The proxy forwards body bytes as received (chunked
 * stays chunked); http_body_feed() says how many of the given bytes
 * belong to the current message and whether it has ended.
 */
struct http_body {
	enum http_framing	 framing;
	uint64_t		 left;		/* LENGTH: bytes to go */
	int			 state;		/* CHUNKED: parser state */
	uint64_t		 chunk;		/* CHUNKED: bytes left in chunk */
	size_t			 linelen;	/* CHUNKED: size/trailer line */
	size_t			 trailers;	/* CHUNKED: trailer bytes */
	const char		*error;		/* CHUNKED: why it failed */
	int			 done;
};

void		 http_body_init(struct http_body *, const struct http_head *);
/*
 * Consume up to len bytes.  Returns the number of bytes that belong to
 * this message (<= len; fewer when the message ended, or when a
 * malformed byte follows them: the next call then returns -1), or -1
 * for a malformed chunked body (why set).  CLOSE bodies never end here.
 */
ssize_t		 http_body_feed(struct http_body *, const uint8_t *, size_t,
		    const char **);

/*
 * Does an Accept field (RFC 9110 12.5.1) name this media type exactly,
 * with a weight above zero?  Wildcards do not count: a browser names
 * text/html, curl sends only the wildcard of every type.
 */
int		 http_accepts(const struct http_head *, const char *);

/* RFC 9110 5.6.2 tchar; field-vchar, SP and HTAB (obs-text kept). */
int		 http_tchar(unsigned char);
int		 http_field_byte(unsigned char);

/* The reason phrase we send with a status code. */
const char	*http_status_text(int);
/*
 * Is the named field hop-by-hop in this message (RFC 9110 7.6.1), so
 * that it must not be forwarded?  The one list the proxy strips.
 */
int		 http_hop_header(const struct http_head *, int);
int		 http_header_line(struct buf *, const char *, const char *);
int		 http_status_line(struct buf *, int, const char *);
/*
 * Every answer the proxy writes itself: status line, a text/plain body
 * (the reason phrase when body is NULL), extra header lines (each ending
 * in CRLF) and Connection: close when asked.  -1 if it does not fit.
 */
int		 http_answer(struct buf *, int, const char *, const char *,
		    int);
/* The head alone: status, Content-Type, Content-Length, headers. */
int		 http_answer_head(struct buf *, int, const char *, size_t,
		    const char *, int);

/*
 * The data of a complete chunked body already framed by
 * http_body_feed(), appended to out; -1 if it does not fit.
 */
int		 http_chunked_decode(const uint8_t *, size_t, struct buf *);

/* RFC 3986 percent-encoding: a hex digit's value, or -1. */
int		 http_hexdigit(int);
/* The byte "%XX" at s stands for (left bytes remain at s), or -1. */
int		 http_pct_byte(const char *, size_t);

#endif /* AIB_HTTP_H */
