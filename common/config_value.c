/*
 * The configuration's values, one parser each: numbers, durations,
 * booleans, words, absolute paths and files, ports and port ranges,
 * socket addresses, CIDR ranges, host patterns, user and provider
 * names.  Each either stores the value or reports what is wrong with
 * it, quoting the value.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_int.h"
#include "hostname.h"

#define CONFIG_USER_MAX		31
/* A DNS name in text, without its trailing dot (RFC 1035 2.3.4). */
#define CONFIG_HOSTNAME_LEN	253

/* Leading zeros are allowed ("08080"), up to seven digits in all. */
#define PORT_DIGITS_MAX		7

static int
cfg_isdigits(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return (0);
	return (1);
}

/*
 * len bytes that are 1 to maxlen decimal digits (strtonum alone would
 * take " +1"), as a number in min..max; -1 if they are not.
 */
static int
cfg_digits(const char *s, size_t len, size_t maxlen, int min, int max)
{
	char		 buf[8];
	const char	*errstr;
	int		 v;

	if (len == 0 || len > maxlen || len >= sizeof(buf))
		return (-1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!cfg_isdigits(buf))
		return (-1);
	v = strtonum(buf, min, max, &errstr);
	return (errstr != NULL ? -1 : v);
}

/* Integers are written as digits, with an optional minus sign. */
int
cfg_number(struct cfg_ctx *ctx, const struct cfg_item *it, long long min,
    long long max, long long *out)
{
	const char	*s, *errstr;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return (-1);
	if (!cfg_isdigits(s[0] == '-' ? s + 1 : s)) {
		cfg_badvalue(ctx, it, s, "is not a number");
		return (-1);
	}
	*out = strtonum(s, min, max, &errstr);
	if (errstr != NULL) {
		cfg_badvalue(ctx, it, s, "is out of range (%lld..%lld)", min,
		    max);
		return (-1);
	}
	return (0);
}

int64_t
config_parse_duration(const char *s)
{
	static const struct {
		const char	*unit;
		int64_t		 ms;
	} units[] = {
		{ "ms", 1 },
		{ "s", MS_SECOND },
		{ "m", 60 * MS_SECOND },
		{ "h", MS_HOUR },
		{ "d", MS_DAY }
	};
	char		 num[20];
	const char	*errstr;
	size_t		 n, i;
	long long	 v;

	for (n = 0; isdigit((unsigned char)s[n]); n++)
		;
	if (n == 0 || n >= sizeof(num))
		return (-1);
	memcpy(num, s, n);
	num[n] = '\0';
	for (i = 0; i < nitems(units); i++) {
		if (strcmp(s + n, units[i].unit) != 0)
			continue;
		v = strtonum(num, 0, INT64_MAX / units[i].ms, &errstr);
		if (errstr != NULL)
			return (-1);
		return (v * units[i].ms);
	}
	return (-1);
}

/* A duration in min..max ms; range is how the message says it. */
int
cfg_duration(struct cfg_ctx *ctx, const struct cfg_item *it, int64_t min,
    int64_t max, const char *range, int64_t *out)
{
	const char	*s;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return (-1);
	if ((*out = config_parse_duration(s)) == -1) {
		cfg_badvalue(ctx, it, s, "is not a duration "
		    "(a number and ms, s, m, h or d)");
		return (-1);
	}
	if (*out < min || *out > max) {
		cfg_badvalue(ctx, it, s, "is out of range (%s)", range);
		return (-1);
	}
	return (0);
}

int
cfg_bool(struct cfg_ctx *ctx, const struct cfg_item *it, int *out)
{
	static const char *const words[] = { "false", "true" };
	int	 b;

	if ((b = cfg_word(ctx, it, words, nitems(words),
	    "true or false")) == -1)
		return (-1);
	*out = b;
	return (0);
}

/* One of a list of words; returns its index. */
int
cfg_word(struct cfg_ctx *ctx, const struct cfg_item *it,
    const char *const *words, size_t nwords, const char *what)
{
	const char	*s;
	size_t		 i;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return (-1);
	for (i = 0; i < nwords; i++)
		if (strcmp(s, words[i]) == 0)
			return ((int)i);
	cfg_badvalue(ctx, it, s, "is not %s", what);
	return (-1);
}

int
cfg_abspath(struct cfg_ctx *ctx, const struct cfg_item *it, char *buf,
    size_t len)
{
	const char	*s;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return (-1);
	if (*s != '/') {
		cfg_badvalue(ctx, it, s, "is not an absolute path");
		return (-1);
	}
	if (strlcpy(buf, s, len) >= len) {
		cfg_error(ctx, it->line, it->path, "path too long (at most "
		    "%zu bytes)", len - 1);
		return (-1);
	}
	return (0);
}

/*
 * A file the parent will open later.  Check now that it can be, so
 * "aibproxyd -n" catches a wrong path; stat first so a device or FIFO
 * is never opened.
 */
void
cfg_file(struct cfg_ctx *ctx, const struct cfg_item *it,
    struct config_file *f)
{
	struct stat	 st;
	int		 fd;

	if (cfg_abspath(ctx, it, f->path, sizeof(f->path)) == -1)
		return;
	f->line = it->line;
	if (stat(f->path, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		cfg_error(ctx, it->line, it->path, "%s: not a regular file",
		    f->path);
		return;
	}
	if ((fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		goto fail;
	close(fd);
	return;
 fail:
	cfg_error(ctx, it->line, it->path, "%s: %s", f->path, strerror(errno));
}

/*
 * Ports and addresses.
 */

/* 1..65535 from len bytes of digits; -1 if not. */
int
cfg_port_parse(const char *s, size_t len)
{
	return (cfg_digits(s, len, PORT_DIGITS_MAX, 1, 65535));
}

/*
 * A tunnel.ports entry: a port, or "lo-hi" with lo <= hi.  Returns
 * NULL, or what is wrong with it.
 */
const char *
cfg_port_range_parse(const char *s, struct port_range *pr)
{
	const char	*dash;
	int		 lo, hi;

	/* "-1" is a bad port, not a range with no start. */
	if ((dash = strchr(s, '-')) == NULL || dash == s) {
		if ((lo = cfg_port_parse(s, strlen(s))) == -1)
			return ("is not a port");
		pr->pr_lo = pr->pr_hi = lo;
		return (NULL);
	}
	if ((lo = cfg_port_parse(s, dash - s)) == -1 ||
	    (hi = cfg_port_parse(dash + 1, strlen(dash + 1))) == -1)
		return ("is not a port range (lo-hi, each from 1 to 65535)");
	if (lo > hi)
		return ("is not a port range: it starts above its end");
	pr->pr_lo = lo;
	pr->pr_hi = hi;
	return (NULL);
}

/* "IPv4:port" or "[IPv6]:port", numeric only (no DNS at start-up). */
static int
cfg_address_parse(const char *s, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 host[INET6_ADDRSTRLEN];
	const char		*end, *port;
	int			 v6 = (*s == '['), p;

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return (-1);
		s++;
		port = end + 2;
	} else {
		if ((end = strchr(s, ':')) == NULL)
			return (-1);
		port = end + 1;
	}
	if ((size_t)(end - s) >= sizeof(host))
		return (-1);
	memcpy(host, s, end - s);
	host[end - s] = '\0';
	if ((p = cfg_port_parse(port, strlen(port))) == -1)
		return (-1);
	if (v6) {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return (-1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		*sslen = sizeof(*sin6);
	} else {
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return (-1);
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		*sslen = sizeof(*sin);
	}
	return (0);
}

/* An address to listen on; text keeps it as written, for messages. */
int
cfg_address(struct cfg_ctx *ctx, const struct cfg_item *it, char *text,
    size_t len, struct sockaddr_storage *ss, socklen_t *sslen)
{
	const char	*s;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return (-1);
	if (strlen(s) >= len || cfg_address_parse(s, ss, sslen) == -1) {
		cfg_badvalue(ctx, it, s, "is not an IPv4:port or [IPv6]:port "
		    "address");
		return (-1);
	}
	(void)strlcpy(text, s, len);
	return (0);
}

int
cfg_sa_equal(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->ss_family != b->ss_family)
		return (0);
	if (a->ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)a;
		b4 = (const struct sockaddr_in *)b;
		return (a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr);
	}
	a6 = (const struct sockaddr_in6 *)a;
	b6 = (const struct sockaddr_in6 *)b;
	return (a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0);
}

/* "addr/len" or a bare address; returns NULL or what is wrong. */
const char *
cfg_cidr_parse(const char *s, struct cidr_config *cc)
{
	char		 addr[INET6_ADDRSTRLEN];
	const char	*slash;
	int		 max, i, bits;

	memset(cc, 0, sizeof(*cc));
	if ((slash = strchr(s, '/')) == NULL)
		slash = s + strlen(s);
	if ((size_t)(slash - s) >= sizeof(addr))
		return ("is not an address or a CIDR range");
	memcpy(addr, s, slash - s);
	addr[slash - s] = '\0';
	if (inet_pton(AF_INET, addr, cc->cc_addr) == 1) {
		cc->cc_af = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, cc->cc_addr) == 1) {
		cc->cc_af = AF_INET6;
		max = 128;
	} else
		return ("is not an address or a CIDR range");
	cc->cc_prefixlen = max;
	if (*slash == '/' && (cc->cc_prefixlen = cfg_digits(slash + 1,
	    strlen(slash + 1), 3, 0, max)) == -1)
		return ("has a bad prefix length");
	for (i = 0; i < max / 8; i++) {
		bits = cc->cc_prefixlen - i * 8;
		if (bits >= 8)
			continue;
		if (cc->cc_addr[i] & (bits <= 0 ? 0xff : 0xff >> bits))
			return ("has host bits set");
	}
	return (NULL);
}

/*
 * Host patterns (tunnel.allow, tunnel.deny).
 */

static const uint8_t cfg_v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/*
 * An address literal, IPv6 with or without brackets.  A mapped IPv6
 * address reaches the IPv4 address it carries (RFC 4291 2.5.5.2), so
 * it is kept as that address and matches it written either way.
 */
static int
cfg_egress_addr(const char *s, struct egress_config *eg)
{
	char	 buf[INET6_ADDRSTRLEN];
	size_t	 len = strlen(s);

	if (inet_pton(AF_INET, s, eg->eg_addr) == 1) {
		eg->eg_af = AF_INET;
		return (1);
	}
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (len >= sizeof(buf))
		return (0);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, eg->eg_addr) != 1)
		return (0);
	eg->eg_af = AF_INET6;
	if (memcmp(eg->eg_addr, cfg_v4mapped, sizeof(cfg_v4mapped)) == 0) {
		memmove(eg->eg_addr, eg->eg_addr + 12, 4);
		memset(eg->eg_addr + 4, 0, 12);
		eg->eg_af = AF_INET;
	}
	return (1);
}

/* "*.example.com": the domain after "*.", canonical. */
static const char *
cfg_egress_domain(const char *s, struct egress_config *eg)
{
	char		 canon[AIB_HOSTNAME_MAX + 1];
	const char	*why;

	if (strchr(s, '*') != NULL)
		return ("\"*\" is allowed only as the first label, as in "
		    "\"*.example.com\"");
	if (host_is_ip(s))
		return ("a wildcard needs a domain name after \"*.\"");
	if (host_canon(s, canon, sizeof(canon), &why) == -1)
		return (why);
	/* A name under the domain is longer still. */
	if (strlen(canon) + 2 > CONFIG_HOSTNAME_LEN)
		return ("name longer than 253 octets");
	eg->eg_kind = EGRESS_DOMAIN;
	(void)snprintf(eg->eg_pattern, sizeof(eg->eg_pattern), "*.%s", canon);
	return (NULL);
}

/*
 * A name, "*." and a domain, or an address.  Addresses are single:
 * the lists are judged before anything is resolved, on the name the
 * client gave, so a range would suggest more than they can do.
 */
const char *
config_parse_egress(const char *s, struct egress_config *eg)
{
	const char	*why;

	memset(eg, 0, sizeof(*eg));
	if (strchr(s, '/') != NULL)
		return ("CIDR ranges are not accepted, list single addresses");
	if (cfg_egress_addr(s, eg)) {
		eg->eg_kind = EGRESS_ADDR;
		(void)strlcpy(eg->eg_pattern, s, sizeof(eg->eg_pattern));
		return (NULL);
	}
	if (strncmp(s, "*.", 2) == 0)
		return (cfg_egress_domain(s + 2, eg));
	if (strchr(s, '*') != NULL)
		return ("\"*\" is allowed only as the first label, as in "
		    "\"*.example.com\"");
	/* inet_aton(3) and URL parsers read "127.1" as an address. */
	if (host_is_ip(s))
		return ("a name ending in a number is read as an IPv4 "
		    "address; write addresses as a.b.c.d");
	eg->eg_kind = EGRESS_NAME;
	if (host_canon(s, eg->eg_pattern, sizeof(eg->eg_pattern), &why) == -1)
		return (why);
	return (NULL);
}

/*
 * Names.
 */

static int
valid_user(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' &&
		    s[n] != '-')
			return (0);
	return (n >= 1 && n <= CONFIG_USER_MAX);
}

int
cfg_user(struct cfg_ctx *ctx, const struct cfg_item *it, char *buf,
    size_t len)
{
	const char	*s;

	if ((s = cfg_scalar(ctx, it)) == NULL)
		return (-1);
	if (!valid_user(s)) {
		cfg_badvalue(ctx, it, s, "is not a valid user name");
		return (-1);
	}
	(void)strlcpy(buf, s, len);
	return (0);
}

/* ^[a-z0-9]+(-[a-z0-9]+)*$: it becomes a path segment on the bridge. */
int
cfg_provider_name(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++) {
		if ((s[n] >= 'a' && s[n] <= 'z') ||
		    isdigit((unsigned char)s[n]))
			continue;
		if (s[n] == '-' && n > 0 && s[n - 1] != '-' && s[n + 1] != '\0')
			continue;
		return (0);
	}
	return (n >= 1 && n < AIB_NAME_MAX);
}

/* workers: auto, one per CPU online (AIB_WORKERS_MAX at most). */
int
cfg_workers_auto(void)
{
	long	 n;

	if ((n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		return (1);
	return (n > AIB_WORKERS_MAX ? AIB_WORKERS_MAX : (int)n);
}
