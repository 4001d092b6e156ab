/*
 * Canonical host names.  The proxy decides what to intercept and
 * signerd decides what to sign with the same code, so a name that one
 * side accepts is the name the other side sees.  Both sides face names
 * chosen by someone else (a client, or a compromised worker), so the
 * rules are strict: plain ASCII A-labels only, nothing that a
 * certificate library or a client could read as a second name or an
 * address.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostname.h"

#define HOST_LABEL_MAX	63
#define HOST_NAME_LEN	253	/* without the trailing dot */
#define HOST_PORT_DIGITS 5

static int	host_is_v6(const char *, size_t);
static int	host_ends_in_number(const char *, size_t);
static int	host_ldh(char);
static int	host_check_label(const char *, size_t, const char **);
static int	host_parse_port(const char *, int *);

static int
host_is_v6(const char *s, size_t len)
{
	struct in6_addr	 in6;
	char		 buf[INET6_ADDRSTRLEN + 1];

	if (len >= sizeof(buf))
		return (0);
	memcpy(buf, s, len);
	buf[len] = '\0';
	return (inet_pton(AF_INET6, buf, &in6) == 1);
}

/*
 * Clients (WHATWG URL, inet_aton) read a name whose last label is a
 * number as an IPv4 address: "1.2.3", "127.1", "0x7f.1", "2130706433".
 * Such a name must never pass as a host name.
 */
static int
host_ends_in_number(const char *s, size_t len)
{
	const char	*label;
	size_t		 i, n;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0)
		return (0);
	label = s + len;
	while (label > s && label[-1] != '.')
		label--;
	n = len - (size_t)(label - s);
	if (n == 0)
		return (0);
	if (n >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X')) {
		for (i = 2; i < n; i++)
			if (!isxdigit((unsigned char)label[i]))
				return (0);
		return (1);
	}
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)label[i]))
			return (0);
	return (1);
}

int
host_is_ip(const char *s)
{
	struct in_addr	 in4;
	size_t		 len;

	if (s == NULL)
		return (0);
	len = strlen(s);
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']')
		return (host_is_v6(s + 1, len - 2));
	if (inet_pton(AF_INET, s, &in4) == 1)
		return (1);
	if (host_is_v6(s, len))
		return (1);
	return (host_ends_in_number(s, len));
}

/* Letters, digits, hyphen: ASCII ranges, whatever the locale says. */
static int
host_ldh(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-');
}

static int
host_check_label(const char *label, size_t len, const char **why)
{
	size_t	 i;

	if (len == 0) {
		*why = "empty label";
		return (-1);
	}
	if (len > HOST_LABEL_MAX) {
		*why = "label longer than 63 octets";
		return (-1);
	}
	for (i = 0; i < len; i++) {
		if (!host_ldh(label[i])) {
			*why = "invalid character";
			return (-1);
		}
	}
	if (label[0] == '-' || label[len - 1] == '-') {
		*why = "label starts or ends with '-'";
		return (-1);
	}
	return (0);
}

int
host_canon(const char *in, char *out, size_t outlen, const char **why)
{
	const char	*reason, *p, *dot;
	size_t		 len, i;

	if (why == NULL)
		why = &reason;
	if (in == NULL || *in == '\0') {
		*why = "empty name";
		return (-1);
	}
	if (host_is_ip(in)) {
		*why = "IP address literal";
		return (-1);
	}
	len = strlen(in);
	if (in[len - 1] == '.')
		len--;
	if (len > HOST_NAME_LEN) {
		*why = "name longer than 253 octets";
		return (-1);
	}
	for (p = in; p <= in + len; p = dot + 1) {
		if ((dot = memchr(p, '.', len - (size_t)(p - in))) == NULL)
			dot = in + len;
		if (host_check_label(p, (size_t)(dot - p), why) == -1)
			return (-1);
	}
	if (outlen < len + 1) {
		*why = "name too long for the buffer";
		return (-1);
	}
	for (i = 0; i < len; i++)
		out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? in[i] - 'A' + 'a' :
		    in[i];
	out[len] = '\0';
	return (0);
}

/* 1..65535, decimal digits only (strtonum alone accepts " +1"). */
static int
host_parse_port(const char *s, int *port)
{
	const char	*errstr;
	size_t		 i, len;

	len = strlen(s);
	if (len == 0 || len > HOST_PORT_DIGITS)
		return (-1);
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return (-1);
	*port = (int)strtonum(s, 1, 65535, &errstr);
	if (errstr != NULL)
		return (-1);
	return (0);
}

int
host_split_port(const char *in, char *host, size_t hostlen, int *port)
{
	const char	*start, *end, *colon;
	size_t		 len;

	if (in == NULL || host == NULL || port == NULL)
		return (-1);
	if (in[0] == '[') {
		start = in + 1;
		if ((end = strchr(start, ']')) == NULL || end[1] != ':')
			return (-1);
		colon = end + 1;
		if (!host_is_v6(start, (size_t)(end - start)))
			return (-1);
	} else {
		start = in;
		if ((colon = strchr(in, ':')) == NULL ||
		    strchr(colon + 1, ':') != NULL)
			return (-1);
		end = colon;
		if (memchr(start, '[', (size_t)(end - start)) != NULL ||
		    memchr(start, ']', (size_t)(end - start)) != NULL)
			return (-1);
	}
	len = (size_t)(end - start);
	if (len == 0 || len >= hostlen)
		return (-1);
	if (host_parse_port(colon + 1, port) == -1)
		return (-1);
	memcpy(host, start, len);
	host[len] = '\0';
	return (0);
}

int
host_authority(const char *in, int defport, char *out, size_t outlen)
{
	char		 hp[AIB_HOSTNAME_MAX + 8], host[AIB_HOSTNAME_MAX + 1];
	char		 name[AIB_HOSTNAME_MAX + 1];
	const char	*rb;
	struct in_addr	 in4;
	int		 n, port;

	if (in == NULL || out == NULL)
		return (-1);
	/* No port after the host (or after an IPv6 literal's bracket). */
	rb = strrchr(in, ']');
	if (strchr(rb != NULL ? rb : in, ':') == NULL)
		n = snprintf(hp, sizeof(hp), "%s:%d", in, defport);
	else
		n = snprintf(hp, sizeof(hp), "%s", in);
	if (n < 0 || (size_t)n >= sizeof(hp) ||
	    host_split_port(hp, host, sizeof(host), &port) == -1)
		return (-1);
	/* host_split_port() took brackets only around an IPv6 literal. */
	if (hp[0] == '[')
		n = snprintf(out, outlen, "[%s]:%d", host, port);
	else if (inet_pton(AF_INET, host, &in4) == 1)
		n = snprintf(out, outlen, "%s:%d", host, port);
	else if (host_canon(host, name, sizeof(name), NULL) == 0)
		n = snprintf(out, outlen, "%s:%d", name, port);
	else
		return (-1);
	if (n < 0 || (size_t)n >= outlen)
		return (-1);
	return (0);
}
