/*
 * A strict HTTP/1.1 parser (RFC 9110, RFC 9112) for a proxy.  Whatever
 * a front end and a back end could split into messages differently is
 * refused rather than repaired: bare CR or LF, obs-fold, whitespace
 * before a colon, Content-Length next to Transfer-Encoding, repeated
 * or list-valued framing headers, codings other than "chunked".  The
 * proxy then never forwards a message whose end it might misjudge.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* One head being parsed, and the statuses its errors answer with. */
struct parse {
	struct http_head	*h;
	struct http_error	*err;
	int			 bad;		/* 400, or 502 for responses */
	int			 big;		/* 431, or 502 */
	int			 coding;	/* 501, or 502 */
};

static int	http_is_token(const char *);
static int	http_fail(struct parse *, int, const char *);
static const char *line_fault(const char *, size_t, int);
static enum http_result head_end(struct parse *, const char *, size_t,
		    size_t);
static enum http_result head_begin(struct parse *, const char *, size_t,
		    size_t);
static enum http_result head_error(struct parse *);
static char	*head_line(char **);
static int	head_fields(struct parse *, char *);
static int	framing_header(enum http_field);
static int	parse_name(struct parse *, char *, char **);
static int	parse_header(struct parse *, char *);
static int	parse_version(const char *, int *);
static int	check_authority(struct parse *, const char *);
static int	check_absolute(const char *);
static int	check_target(struct parse *, const char *, const char *);
static int	parse_request_line(struct parse *, char *);
static int	parse_status_line(struct parse *, char *);
static int	parse_length(struct parse *, const char *);
static int	body_framing(struct parse *);
static int	request_checks(struct parse *);
static int	response_framing(struct parse *, int, int);
static int	headers_have_token(const struct http_head *, enum http_field,
		    const char *);
static void	head_flags(struct http_head *);

/* RFC 9110 tchar, in ASCII whatever the locale. */
int
http_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return (1);
	/* A switch, not strchr(3): '-' is in most field names. */
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'':
	case '*': case '+': case '-': case '.': case '^': case '_':
	case '`': case '|': case '~':
		return (1);
	default:
		return (0);
	}
}

/* field-vchar, SP, HTAB; obs-text (>= 0x80) is kept as opaque bytes. */
int
http_field_byte(unsigned char c)
{
	return (c == '\t' || (c >= 0x20 && c != 0x7f));
}

static int
http_is_token(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (!http_tchar((unsigned char)*s))
			return (0);
	return (1);
}

static int
http_fail(struct parse *p, int status, const char *why)
{
	p->err->status = status;
	p->err->why = why;
	return (-1);
}

/*
 * Is there a NUL, or a CR not followed by LF, in the len bytes at s?
 * Only the last of them may be a CR, and only if next (the byte after
 * them, or -1 while it has not come) is LF.  The first fault counts.
 */
static const char *
line_fault(const char *s, size_t len, int next)
{
	const char	*nul, *cr;

	nul = memchr(s, '\0', len);
	cr = memchr(s, '\r', len);
	if (cr != NULL && cr == s + len - 1 && (next == '\n' || next == -1))
		cr = NULL;
	if (nul != NULL && (cr == NULL || nul < cr))
		return ("NUL in head");
	if (cr != NULL)
		return ("CR without LF in head");
	return (NULL);
}

/*
 * Find the end of the head within the first max bytes.  On the way,
 * refuse what would let two parsers split the lines differently: NUL,
 * CR not followed by LF, LF not preceded by CR.  Checking as bytes
 * arrive also refuses an LF-only head at once, not at the size limit.
 * Line by line with memchr(3), which looks at many bytes at a time.
 */
static enum http_result
head_end(struct parse *p, const char *buf, size_t len, size_t max)
{
	const char	*s, *lf, *end, *why;
	size_t		 n;

	n = len < max ? len : max;
	end = buf + n;
	for (s = buf; s < end; s = lf + 1) {
		if ((lf = memchr(s, '\n', (size_t)(end - s))) == NULL) {
			/* A CR last here is judged by the byte after it. */
			why = line_fault(s, (size_t)(end - s),
			    n < len ? (unsigned char)*end : -1);
			if (why != NULL) {
				http_fail(p, p->bad, why);
				return (HTTP_ERROR);
			}
			break;
		}
		if ((why = line_fault(s, (size_t)(lf - s), '\n')) != NULL) {
			http_fail(p, p->bad, why);
			return (HTTP_ERROR);
		}
		if (lf == buf || lf[-1] != '\r') {
			http_fail(p, p->bad, "LF without CR in head");
			return (HTTP_ERROR);
		}
		if (lf - buf >= 3 && lf[-2] == '\n') {
			p->h->size = (size_t)(lf - buf) + 1;
			return (HTTP_COMPLETE);
		}
	}
	if (len > max) {
		http_fail(p, p->big, "head too large");
		return (HTTP_ERROR);
	}
	return (HTTP_INCOMPLETE);
}

/* Find the head, then take a private copy to split in place. */
static enum http_result
head_begin(struct parse *p, const char *buf, size_t len, size_t max)
{
	enum http_result	 r;

	memset(p->h, 0, sizeof(*p->h));
	p->err->status = 0;
	p->err->why = NULL;
	if ((r = head_end(p, buf, len, max)) != HTTP_COMPLETE)
		return (r);
	if ((p->h->text = malloc(p->h->size + 1)) == NULL) {
		http_fail(p, 500, "out of memory");
		return (HTTP_ERROR);
	}
	memcpy(p->h->text, buf, p->h->size);
	p->h->text[p->h->size] = '\0';
	return (HTTP_COMPLETE);
}

static enum http_result
head_error(struct parse *p)
{
	http_head_free(p->h);
	return (HTTP_ERROR);
}

/*
 * Cut the next line at its CR.  head_end() guarantees that every CR is
 * followed by LF and that the text ends in CRLF CRLF.
 */
static char *
head_line(char **next)
{
	char	*line, *cr;

	line = *next;
	cr = strchr(line, '\r');
	*cr = '\0';
	*next = cr + 2;
	return (line);
}

/* The field lines after the start line, up to the empty line. */
static int
head_fields(struct parse *p, char *next)
{
	char	*line;

	while (*(line = head_line(&next)) != '\0')
		if (parse_header(p, line) == -1)
			return (-1);
	return (0);
}

static int
framing_header(enum http_field f)
{
	return (f == HF_CONTENT_LENGTH || f == HF_TRANSFER_ENCODING);
}

/* field-name ":", nothing in between. */
static int
parse_name(struct parse *p, char *line, char **colon)
{
	char	*c;

	if (*line == ' ' || *line == '\t')
		return (http_fail(p, p->bad, "obs-fold line"));
	for (c = line; http_tchar((unsigned char)*c); c++)
		;
	if (*c == ':' && c == line)
		return (http_fail(p, p->bad, "empty header name"));
	if (*c == ' ' || *c == '\t')
		return (http_fail(p, p->bad, "whitespace before colon"));
	if (*c == '\0')
		return (http_fail(p, p->bad, "header line without colon"));
	if (*c != ':')
		return (http_fail(p, p->bad, "invalid header name"));
	*c = '\0';
	*colon = c;
	return (0);
}

/*
 * One field line.  Framing headers get no HTAB and no trailing
 * whitespace at all: some servers keep "chunked\t" as a coding of its
 * own, and whoever disagrees with us about framing is a smuggler.
 */
static int
parse_header(struct parse *p, char *line)
{
	struct http_header	*hdr;
	enum http_field		 f;
	char			*colon, *v, *end, *s;

	if (p->h->nheaders >= HTTP_HEADERS_MAX)
		return (http_fail(p, p->big, "too many headers"));
	if (parse_name(p, line, &colon) == -1)
		return (-1);
	f = http_field_of(line, colon - line);
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (s = v; *s != '\0'; s++)
		if (!http_field_byte((unsigned char)*s))
			return (http_fail(p, p->bad,
			    "control character in header value"));
	for (end = s; end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	if (framing_header(f) &&
	    (end != s || strchr(colon + 1, '\t') != NULL))
		return (http_fail(p, p->bad,
		    "whitespace in framing header"));
	*end = '\0';
	hdr = &p->h->headers[p->h->nheaders++];
	hdr->name = line;
	hdr->value = v;
	hdr->field = f;
	p->h->nfield[f]++;
	return (0);
}

/* 0: HTTP/1.0 or 1.1; -1: not an HTTP-version; -2: another version. */
static int
parse_version(const char *v, int *minor)
{
	if (strlen(v) != 8 || strncmp(v, "HTTP/", 5) != 0 ||
	    v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return (-1);
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return (-2);
	*minor = v[7] - '0';
	return (0);
}

/* CONNECT: host ":" port, nothing a URI parser could read more into. */
static int
check_authority(struct parse *p, const char *target)
{
	if (strpbrk(target, "/?@") != NULL || strchr(target, ':') == NULL)
		return (http_fail(p, 400, "CONNECT target is not host:port"));
	return (0);
}

/* scheme "://": the only absolute form a proxy is sent. */
static int
check_absolute(const char *t)
{
	const char	*s;

	if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z')))
		return (-1);
	for (s = t + 1; *s != ':'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '+' || *s == '-' ||
		    *s == '.'))
			return (-1);
	return (strncmp(s, "://", 3) == 0 ? 0 : -1);
}

/* RFC 9112 3.2: the target's form must suit the method. */
static int
check_target(struct parse *p, const char *method, const char *target)
{
	const char	*s;

	if (*target == '\0')
		return (http_fail(p, 400, "empty request target"));
	for (s = target; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return (http_fail(p, 400,
			    "invalid character in request target"));
	if (strchr(target, '#') != NULL)
		return (http_fail(p, 400, "fragment in request target"));
	if (strcmp(method, "CONNECT") == 0)
		return (check_authority(p, target));
	if (target[0] == '/')
		return (0);
	if (strcmp(target, "*") == 0 && strcmp(method, "OPTIONS") == 0)
		return (0);
	if (check_absolute(target) == 0)
		return (0);
	return (http_fail(p, 400, "invalid request target"));
}

/* method SP request-target SP HTTP-version, single spaces. */
static int
parse_request_line(struct parse *p, char *line)
{
	char	*sp1, *sp2;
	int	 rv;

	if (*line == '\0')
		return (http_fail(p, 400, "empty line before request line"));
	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL)
		return (http_fail(p, 400, "malformed request line"));
	*sp1 = *sp2 = '\0';
	if (!http_is_token(line))
		return (http_fail(p, 400, "invalid method"));
	if (check_target(p, line, sp1 + 1) == -1)
		return (-1);
	if ((rv = parse_version(sp2 + 1, &p->h->minor)) == -2)
		return (http_fail(p, 505, "unsupported HTTP version"));
	if (rv == -1)
		return (http_fail(p, 400, "malformed HTTP version"));
	p->h->method = line;
	p->h->target = sp1 + 1;
	return (0);
}

/* HTTP-version SP 3DIGIT SP reason; "HTTP/1.1 200" is taken too. */
static int
parse_status_line(struct parse *p, char *line)
{
	const char	*s;
	int		 i, rv;

	if (strlen(line) < 12 || line[8] != ' ' ||
	    (line[12] != '\0' && line[12] != ' '))
		return (http_fail(p, 502, "malformed status line"));
	line[8] = '\0';
	if ((rv = parse_version(line, &p->h->minor)) == -2)
		return (http_fail(p, 502, "unsupported HTTP version"));
	if (rv == -1)
		return (http_fail(p, 502, "malformed status line"));
	for (i = 9; i < 12; i++)
		if (line[i] < '0' || line[i] > '9')
			return (http_fail(p, 502, "malformed status code"));
	p->h->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
	    (line[11] - '0');
	if (p->h->status < 100 || p->h->status > 599)
		return (http_fail(p, 502, "status code out of range"));
	p->h->reason = line[12] == '\0' ? line + 12 : line + 13;
	for (s = p->h->reason; *s != '\0'; s++)
		if (!http_field_byte((unsigned char)*s))
			return (http_fail(p, 502,
			    "control character in reason phrase"));
	return (0);
}

/*
 * 1*DIGIT only: strtonum() alone would take a sign or leading space.
 * The cap is INT64_MAX so that off_t and signed parsers down the line
 * read the same number.
 */
static int
parse_length(struct parse *p, const char *v)
{
	const char	*s, *errstr;
	long long	 n;

	if (*v == '\0')
		return (http_fail(p, p->bad, "invalid Content-Length"));
	for (s = v; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return (http_fail(p, p->bad,
			    "invalid Content-Length"));
	n = strtonum(v, 0, LLONG_MAX, &errstr);
	if (errstr != NULL)
		return (http_fail(p, p->bad, "Content-Length too large"));
	p->h->framing = HTTP_BODY_LENGTH;
	p->h->length = (uint64_t)n;
	return (0);
}

/* RFC 9112 6.1-6.3, less lenient: any doubt is an error. */
static int
body_framing(struct parse *p)
{
	struct http_head	*h = p->h;
	int			 nte, ncl;

	nte = h->nfield[HF_TRANSFER_ENCODING];
	ncl = h->nfield[HF_CONTENT_LENGTH];
	h->framing = HTTP_BODY_NONE;
	if (nte > 0 && h->minor == 0)
		return (http_fail(p, p->bad,
		    "Transfer-Encoding in HTTP/1.0"));
	if (nte > 0 && ncl > 0)
		return (http_fail(p, p->bad,
		    "both Transfer-Encoding and Content-Length"));
	if (nte > 1)
		return (http_fail(p, p->bad, "repeated Transfer-Encoding"));
	if (ncl > 1)
		return (http_fail(p, p->bad, "repeated Content-Length"));
	if (nte == 1) {
		if (strcasecmp(http_field_value(h, HF_TRANSFER_ENCODING),
		    "chunked") != 0)
			return (http_fail(p, p->coding,
			    "unsupported transfer coding"));
		h->framing = HTTP_BODY_CHUNKED;
		return (0);
	}
	if (ncl == 1)
		return (parse_length(p, http_field_value(h,
		    HF_CONTENT_LENGTH)));
	return (0);
}

static int
request_checks(struct parse *p)
{
	int	 nhost;

	nhost = p->h->nfield[HF_HOST];
	if (nhost > 1)
		return (http_fail(p, 400, "repeated Host"));
	if (nhost == 0 && p->h->minor == 1)
		return (http_fail(p, 400, "missing Host"));
	return (body_framing(p));
}

/* RFC 9112 6.3, in its order. */
static int
response_framing(struct parse *p, int head_request, int connect_request)
{
	struct http_head	*h = p->h;

	if (head_request || h->status < 200 || h->status == 204 ||
	    h->status == 304 || (connect_request && h->status < 300)) {
		h->framing = HTTP_BODY_NONE;
		return (0);
	}
	if (body_framing(p) == -1)
		return (-1);
	if (h->framing == HTTP_BODY_NONE)
		h->framing = HTTP_BODY_CLOSE;
	return (0);
}

static int
headers_have_token(const struct http_head *h, enum http_field f,
    const char *tok)
{
	int	 i;

	if (h->nfield[f] == 0)
		return (0);
	for (i = 0; i < h->nheaders; i++)
		if (h->headers[i].field == f &&
		    http_token_in(h->headers[i].value, tok))
			return (1);
	return (0);
}

static void
head_flags(struct http_head *h)
{
	if (h->framing == HTTP_BODY_CLOSE ||
	    headers_have_token(h, HF_CONNECTION, "close"))
		h->close = 1;
	else if (h->minor == 0 &&
	    !headers_have_token(h, HF_CONNECTION, "keep-alive"))
		h->close = 1;
	h->upgrade = h->nfield[HF_UPGRADE] > 0;
}

enum http_result
http_parse_request(const char *buf, size_t len, size_t max,
    struct http_head *h, struct http_error *err)
{
	struct http_error	 e;
	struct parse		 p;
	enum http_result	 r;
	const char		*v;
	char			*next;
	int			 i;

	p.h = h;
	p.err = err != NULL ? err : &e;
	p.bad = 400;
	p.big = 431;
	p.coding = 501;
	if ((r = head_begin(&p, buf, len, max)) != HTTP_COMPLETE)
		return (r);
	next = h->text;
	if (parse_request_line(&p, head_line(&next)) == -1 ||
	    head_fields(&p, next) == -1 || request_checks(&p) == -1)
		return (head_error(&p));
	head_flags(h);
	/* RFC 9110 10.1.1: an HTTP/1.0 client never waits for 100. */
	for (i = 0; i < h->nheaders && h->minor == 1 &&
	    h->nfield[HF_EXPECT] > 0; i++) {
		v = h->headers[i].value;
		if (h->headers[i].field == HF_EXPECT &&
		    strcasecmp(v, "100-continue") == 0)
			h->expect_continue = 1;
	}
	return (HTTP_COMPLETE);
}

enum http_result
http_parse_response(const char *buf, size_t len, size_t max,
    int head_request, int connect_request, struct http_head *h,
    struct http_error *err)
{
	struct http_error	 e;
	struct parse		 p;
	enum http_result	 r;
	char			*next;

	p.h = h;
	p.err = err != NULL ? err : &e;
	p.bad = p.big = p.coding = 502;
	if ((r = head_begin(&p, buf, len, max)) != HTTP_COMPLETE)
		return (r);
	next = h->text;
	if (parse_status_line(&p, head_line(&next)) == -1 ||
	    head_fields(&p, next) == -1 ||
	    response_framing(&p, head_request, connect_request) == -1)
		return (head_error(&p));
	head_flags(h);
	return (HTTP_COMPLETE);
}

void
http_head_free(struct http_head *h)
{
	if (h == NULL)
		return;
	free(h->text);
	memset(h, 0, sizeof(*h));
}

const char *
http_header(const struct http_head *h, const char *name)
{
	int	 i;

	for (i = 0; i < h->nheaders; i++)
		if (strcasecmp(h->headers[i].name, name) == 0)
			return (h->headers[i].value);
	return (NULL);
}

int
http_header_count(const struct http_head *h, const char *name)
{
	int	 i, n = 0;

	for (i = 0; i < h->nheaders; i++)
		if (strcasecmp(h->headers[i].name, name) == 0)
			n++;
	return (n);
}

int
http_token_in(const char *value, const char *tok)
{
	const char	*s, *e;
	size_t		 n, toklen;

	if (value == NULL || tok == NULL)
		return (0);
	toklen = strlen(tok);
	for (s = value;; s = e + 1) {
		while (*s == ' ' || *s == '\t')
			s++;
		if ((e = strchr(s, ',')) == NULL)
			e = s + strlen(s);
		for (n = (size_t)(e - s); n > 0 &&
		    (s[n - 1] == ' ' || s[n - 1] == '\t'); n--)
			;
		if (n == toklen && strncasecmp(s, tok, n) == 0)
			return (1);
		if (*e == '\0')
			return (0);
	}
}

/* s[0..n) without the blanks around it (RFC 9110 5.6.3 OWS). */
static const char *
ows_trim(const char *s, size_t *n)
{
	while (*n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		(*n)--;
	}
	while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
		(*n)--;
	return (s);
}

/* A weight (RFC 9110 12.4.2) of zero: "0", "0." and up to 3 zeros. */
static int
weight_zero(const char *v, size_t n)
{
	size_t	 i;

	if (n == 0 || v[0] != '0')
		return (0);
	if (n == 1)
		return (1);
	if (v[1] != '.' || n > 5)
		return (0);
	for (i = 2; i < n; i++)
		if (v[i] != '0')
			return (0);
	return (1);
}

/* One element of Accept: is it type, with a weight above zero? */
static int
accept_element(const char *s, size_t n, const char *type)
{
	const char	*semi, *p, *end = s + n;
	size_t		 len;

	semi = memchr(s, ';', n);
	len = semi != NULL ? (size_t)(semi - s) : n;
	s = ows_trim(s, &len);
	if (len != strlen(type) || strncasecmp(s, type, len) != 0)
		return (0);
	while (semi != NULL) {
		p = semi + 1;
		semi = memchr(p, ';', (size_t)(end - p));
		len = (size_t)((semi != NULL ? semi : end) - p);
		p = ows_trim(p, &len);
		if (len >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=' &&
		    weight_zero(p + 2, len - 2))
			return (0);
	}
	return (1);
}

int
http_accepts(const struct http_head *h, const char *type)
{
	const char	*s, *e;
	int		 i;

	for (i = 0; i < h->nheaders; i++) {
		if (strcasecmp(h->headers[i].name, "Accept") != 0)
			continue;
		for (s = h->headers[i].value;; s = e + 1) {
			if ((e = strchr(s, ',')) == NULL)
				e = s + strlen(s);
			if (accept_element(s, (size_t)(e - s), type))
				return (1);
			if (*e == '\0')
				break;
		}
	}
	return (0);
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return ("OK");
	case 400: return ("Bad Request");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 407: return ("Proxy Authentication Required");
	case 408: return ("Request Timeout");
	case 421: return ("Misdirected Request");
	case 429: return ("Too Many Requests");
	case 431: return ("Request Header Fields Too Large");
	case 500: return ("Internal Server Error");
	case 501: return ("Not Implemented");
	case 502: return ("Bad Gateway");
	case 503: return ("Service Unavailable");
	case 504: return ("Gateway Timeout");
	case 505: return ("HTTP Version Not Supported");
	default: return ("Error");
	}
}

/* "name: value" CRLF, appended without printf's cost per header. */
int
http_header_line(struct buf *b, const char *name, const char *value)
{
	if (buf_addstr(b, name) == -1 || buf_add(b, ": ", 2) == -1 ||
	    buf_addstr(b, value) == -1 || buf_add(b, "\r\n", 2) == -1)
		return (-1);
	return (0);
}

/*
 * "HTTP/1.1 <status> <reason>" CRLF: a status of three digits (every
 * parsed one) by hand, which costs a tenth of buf_printf().
 */
int
http_status_line(struct buf *b, int status, const char *reason)
{
	char	 d[4];

	if (status < 100 || status > 999)
		return (buf_printf(b, "HTTP/1.1 %d %s\r\n", status, reason));
	d[0] = '0' + status / 100;
	d[1] = '0' + status / 10 % 10;
	d[2] = '0' + status % 10;
	d[3] = ' ';
	if (buf_add(b, "HTTP/1.1 ", 9) == -1 || buf_add(b, d, 4) == -1 ||
	    buf_addstr(b, reason) == -1 || buf_add(b, "\r\n", 2) == -1)
		return (-1);
	return (0);
}

int
http_answer_head(struct buf *b, int status, const char *type, size_t len,
    const char *headers, int close)
{
	return (buf_printf(b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%s%s\r\n", status,
	    http_status_text(status), type, len, headers ? headers : "",
	    close ? "Connection: close\r\n" : ""));
}

int
http_answer(struct buf *b, int status, const char *headers, const char *body,
    int close)
{
	if (body == NULL)
		body = http_status_text(status);
	if (http_answer_head(b, status, "text/plain", strlen(body), headers,
	    close) == -1 || buf_addstr(b, body) == -1)
		return (-1);
	return (0);
}
