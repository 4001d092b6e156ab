/*
 * The PROXY protocol header, versions 1 and 2, as HAProxy's
 * proxy-protocol.txt defines them.  Strict: a balancer writes the
 * header, so anything it would not write is refused, not repaired.
 * Incomplete input is judged as far as it goes, so a connection that
 * cannot be carrying a header is refused without waiting for more.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

#include "compat.h"
#include "proxyproto.h"

#define V1_PREFIX	"PROXY "
#define V1_FIELDS	6	/* PROXY, protocol, 2 addresses, 2 ports */

/* 2.2: the twelve bytes that open a version 2 header. */
static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* 2.2: the 13th byte, version (high nibble) and command. */
#define V2_VERSION	0x20
#define V2_CMD_LOCAL	0x0
#define V2_CMD_PROXY	0x1

/* The 14th byte: address family (high nibble) and transport. */
#define V2_UNSPEC	0x00
#define V2_TCP4		0x11
#define V2_UDP4		0x12
#define V2_TCP6		0x21
#define V2_UDP6		0x22
#define V2_UNIX_STREAM	0x31
#define V2_UNIX_DGRAM	0x32

/* The address block of each family: two addresses, two ports. */
#define V2_INET_LEN	12
#define V2_INET6_LEN	36
#define V2_UNIX_LEN	216

#define V2_TLV_HEAD	3	/* type, length (big-endian 16 bits) */

static enum proxyproto_result
pp_bad(struct proxyproto *pp, const char *why)
{
	pp->pp_why = why;
	return (PROXYPROTO_BAD);
}

/* Do the len bytes at p begin what the n bytes at want spell? */
static int
pp_prefix(const uint8_t *p, size_t len, const void *want, size_t n)
{
	return (memcmp(p, want, len < n ? len : n) == 0);
}

/*
 * Version 1.
 */

/* A port in decimal, 0-65535, without leading zeros. */
static int
pp_v1_port(const char *s, in_port_t *port)
{
	size_t		 i, n = strlen(s);
	unsigned long	 v = 0;

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return (-1);
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	if (v > 65535)
		return (-1);
	*port = htons(v);
	return (0);
}

/* One address and port of the family the protocol word named. */
static int
pp_v1_addr(int af, const char *addr, const char *port,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = af;
	if (af == AF_INET)
		return (inet_pton(AF_INET, addr, &sin->sin_addr) == 1 &&
		    pp_v1_port(port, &sin->sin_port) == 0 ? 0 : -1);
	return (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1 &&
	    pp_v1_port(port, &sin6->sin6_port) == 0 ? 0 : -1);
}

/* Split at single spaces; -1 past max fields or at an empty one. */
static int
pp_v1_split(char *line, char **f, int max)
{
	char	*p = line;
	int	 n = 0;

	for (;;) {
		if (n == max || *p == '\0')
			return (-1);
		f[n++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			return (n);
		*p++ = '\0';
	}
}

/* The whole line, CRLF cut off. */
static enum proxyproto_result
pp_v1_line(char *line, struct proxyproto *pp)
{
	char	*f[V1_FIELDS];
	int	 af;

	/* 2.1: after UNKNOWN the receiver ignores the rest of the line. */
	if (strncmp(line, "PROXY UNKNOWN", 13) == 0 &&
	    (line[13] == '\0' || line[13] == ' ')) {
		pp->pp_local = 1;
		return (PROXYPROTO_DONE);
	}
	if (pp_v1_split(line, f, V1_FIELDS) != V1_FIELDS)
		return (pp_bad(pp, "v1: not six fields apart by single "
		    "spaces"));
	if (strcmp(f[1], "TCP4") == 0)
		af = AF_INET;
	else if (strcmp(f[1], "TCP6") == 0)
		af = AF_INET6;
	else
		return (pp_bad(pp, "v1: protocol not TCP4, TCP6 or UNKNOWN"));
	if (pp_v1_addr(af, f[2], f[4], &pp->pp_src) == -1)
		return (pp_bad(pp, "v1: bad source address or port"));
	if (pp_v1_addr(af, f[3], f[5], &pp->pp_dst) == -1)
		return (pp_bad(pp, "v1: bad destination address or port"));
	return (PROXYPROTO_DONE);
}

/* Could the protocol word so far (n bytes at w) still become one? */
static int
pp_v1_word(const uint8_t *w, size_t n, int whole)
{
	static const char *const words[] = { "TCP4", "TCP6", "UNKNOWN" };
	size_t			 i;

	for (i = 0; i < nitems(words); i++)
		if (n <= strlen(words[i]) && memcmp(w, words[i], n) == 0 &&
		    (!whole || n == strlen(words[i])))
			return (1);
	return (0);
}

static enum proxyproto_result
pp_v1(const uint8_t *p, size_t len, struct proxyproto *pp)
{
	char	 line[PROXYPROTO_V1_MAX];
	size_t	 i, w, n = len < PROXYPROTO_V1_MAX ? len : PROXYPROTO_V1_MAX;

	pp->pp_version = 1;
	for (i = 0; i < n && p[i] != '\n'; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] != '\n')
			return (pp_bad(pp, "v1: CR not followed by LF"));
		if ((p[i] < 0x20 || p[i] > 0x7e) && p[i] != '\r')
			return (pp_bad(pp, "v1: a byte that is not printable "
			    "ASCII"));
	}
	/* The protocol word, as far as it goes. */
	for (w = strlen(V1_PREFIX); w < i && p[w] != ' ' && p[w] != '\r'; w++)
		;
	if (!pp_v1_word(p + strlen(V1_PREFIX), w - strlen(V1_PREFIX),
	    w < i || i < n))
		return (pp_bad(pp, "v1: protocol not TCP4, TCP6 or UNKNOWN"));
	if (i == n)
		return (n == PROXYPROTO_V1_MAX ? pp_bad(pp, "v1: no CRLF "
		    "within 107 bytes") : PROXYPROTO_MORE);
	if (i == 0 || p[i - 1] != '\r')
		return (pp_bad(pp, "v1: LF without CR"));
	pp->pp_size = i + 1;
	memcpy(line, p, i - 1);
	line[i - 1] = '\0';
	return (pp_v1_line(line, pp));
}

/*
 * Version 2.
 */

/* The fixed bytes after the signature, judged as they arrive. */
static enum proxyproto_result
pp_v2_fixed(const uint8_t *p, size_t len, struct proxyproto *pp)
{
	size_t	 body;

	if (len > 12 && (p[12] & 0xf0) != V2_VERSION)
		return (pp_bad(pp, "v2: version not 2"));
	if (len > 12 && (p[12] & 0x0f) != V2_CMD_LOCAL &&
	    (p[12] & 0x0f) != V2_CMD_PROXY)
		return (pp_bad(pp, "v2: command not LOCAL or PROXY"));
	if (len > 13) {
		switch (p[13]) {
		case V2_UNSPEC:
		case V2_TCP4:
		case V2_UDP4:
		case V2_TCP6:
		case V2_UDP6:
		case V2_UNIX_STREAM:
		case V2_UNIX_DGRAM:
			break;
		default:
			/* 2.2: other values must be rejected. */
			return (pp_bad(pp, "v2: unknown address family or "
			    "transport"));
		}
		/* LOCAL: the family is ignored (2.2). */
		if ((p[12] & 0x0f) == V2_CMD_PROXY && (p[13] == V2_UDP4 ||
		    p[13] == V2_UDP6))
			return (pp_bad(pp, "v2: a datagram address on a "
			    "stream"));
	}
	if (len < PROXYPROTO_V2_HEAD)
		return (PROXYPROTO_MORE);
	body = (size_t)p[14] << 8 | p[15];
	if (body > PROXYPROTO_V2_BODY_MAX)
		return (pp_bad(pp, "v2: longer than 4096 bytes after the "
		    "fixed part"));
	return (PROXYPROTO_DONE);
}

/* The size of the address block the family byte announces. */
static size_t
pp_v2_addrlen(uint8_t fam)
{
	switch (fam) {
	case V2_TCP4:
		return (V2_INET_LEN);
	case V2_TCP6:
		return (V2_INET6_LEN);
	case V2_UNIX_STREAM:
	case V2_UNIX_DGRAM:
		return (V2_UNIX_LEN);
	default:
		return (0);
	}
}

/* 2.2.7: TLVs, each within what the length field announced. */
static int
pp_v2_tlvs(const uint8_t *p, size_t len)
{
	size_t	 off = 0, n;

	while (off < len) {
		if (len - off < V2_TLV_HEAD)
			return (-1);
		n = (size_t)p[off + 1] << 8 | p[off + 2];
		if (n > len - off - V2_TLV_HEAD)
			return (-1);
		off += V2_TLV_HEAD + n;
	}
	return (0);
}

static void
pp_v2_addrs(const uint8_t *a, uint8_t fam, struct proxyproto *pp)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&pp->pp_src;
	struct sockaddr_in	*d4 = (struct sockaddr_in *)&pp->pp_dst;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&pp->pp_src;
	struct sockaddr_in6	*d6 = (struct sockaddr_in6 *)&pp->pp_dst;

	if (fam == V2_TCP4) {
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		memcpy(&d4->sin_addr, a + 4, 4);
		memcpy(&s4->sin_port, a + 8, 2);
		memcpy(&d4->sin_port, a + 10, 2);
	} else {
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		memcpy(&d6->sin6_addr, a + 16, 16);
		memcpy(&s6->sin6_port, a + 32, 2);
		memcpy(&d6->sin6_port, a + 34, 2);
	}
}

static enum proxyproto_result
pp_v2(const uint8_t *p, size_t len, struct proxyproto *pp)
{
	enum proxyproto_result	 r;
	size_t			 body, alen;

	pp->pp_version = 2;
	if ((r = pp_v2_fixed(p, len, pp)) != PROXYPROTO_DONE)
		return (r);
	body = (size_t)p[14] << 8 | p[15];
	/*
	 * 2.2: LOCAL and UNSPEC say nothing of the client: what follows
	 * is skipped whole.
	 */
	if ((p[12] & 0x0f) == V2_CMD_LOCAL || p[13] == V2_UNSPEC)
		alen = body;
	else
		alen = pp_v2_addrlen(p[13]);
	if (body < alen)
		return (pp_bad(pp, "v2: too short for its addresses"));
	if (len < PROXYPROTO_V2_HEAD + body)
		return (PROXYPROTO_MORE);
	pp->pp_size = PROXYPROTO_V2_HEAD + body;
	if (pp_v2_tlvs(p + PROXYPROTO_V2_HEAD + alen, body - alen) == -1)
		return (pp_bad(pp, "v2: a TLV runs past the header"));
	if ((p[12] & 0x0f) == V2_CMD_LOCAL || (p[13] != V2_TCP4 &&
	    p[13] != V2_TCP6)) {
		/* LOCAL, UNSPEC, UNIX: the connection's peer stands. */
		pp->pp_local = 1;
		return (PROXYPROTO_DONE);
	}
	pp_v2_addrs(p + PROXYPROTO_V2_HEAD, p[13], pp);
	return (PROXYPROTO_DONE);
}

enum proxyproto_result
proxyproto_parse(const uint8_t *p, size_t len, struct proxyproto *pp)
{
	memset(pp, 0, sizeof(*pp));
	if (len == 0)
		return (PROXYPROTO_MORE);
	if (pp_prefix(p, len, v2_sig, sizeof(v2_sig)))
		return (pp_v2(p, len, pp));
	if (pp_prefix(p, len, V1_PREFIX, strlen(V1_PREFIX)))
		return (pp_v1(p, len, pp));
	pp->pp_missing = 1;
	return (pp_bad(pp, "no PROXY header"));
}
