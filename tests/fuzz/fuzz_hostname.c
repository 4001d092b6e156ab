/*
 * host_canon(), host_is_ip() and host_split_port() on arbitrary
 * strings.  The proxy and signerd must agree on what a name is, so a
 * canonical name must be a fixed point (canon(canon(x)) == canon(x)),
 * lower case, without the trailing dot, made of LDH labels of 1-63
 * octets, never an address; and an authority split into host and port
 * must be exactly what was written, and split the same way again.
 * host_authority(), whose output the setup page prints, gives only
 * bytes no markup or shell gives a meaning to, and is a fixed point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hostname.h"

static void	 check_canon(const char *, const char *);
static void	 check_split(const char *, const char *, int);
static void	 check_authority(const char *);

static void
check_canon(const char *in, const char *out)
{
	char		 again[AIB_HOSTNAME_MAX + 1], *exact;
	const char	*p, *why = NULL;
	size_t		 len, inlen, i, label = 0;

	len = strlen(out);
	inlen = strlen(in);
	FUZZ_ASSERT(len >= 1 && len <= 253);
	FUZZ_ASSERT(out[len - 1] != '.');
	FUZZ_ASSERT(!host_is_ip(out) && !host_is_ip(in));
	/* The input, lower-cased, less one trailing dot. */
	FUZZ_ASSERT(inlen == len || (inlen == len + 1 && in[len] == '.'));
	for (i = 0; i < len; i++)
		FUZZ_ASSERT(out[i] == ((in[i] >= 'A' && in[i] <= 'Z') ?
		    in[i] - 'A' + 'a' : in[i]));
	for (p = out; ; p++) {
		if (*p == '.' || *p == '\0') {
			FUZZ_ASSERT(label >= 1 && label <= 63);
			FUZZ_ASSERT(*(p - 1) != '-' && *(p - label) != '-');
			if (*p == '\0')
				break;
			label = 0;
			continue;
		}
		FUZZ_ASSERT((*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-');
		label++;
	}
	FUZZ_ASSERT(host_canon(out, again, sizeof(again), &why) == 0);
	FUZZ_ASSERT(strcmp(again, out) == 0);
	/* An output of exactly the right size, and one byte too small. */
	if ((exact = malloc(len + 1)) == NULL)
		abort();
	FUZZ_ASSERT(host_canon(in, exact, len + 1, NULL) == 0);
	FUZZ_ASSERT(strcmp(exact, out) == 0);
	why = NULL;
	FUZZ_ASSERT(host_canon(in, exact, len, &why) == -1 && why != NULL);
	free(exact);
}

static void
check_split(const char *in, const char *host, int port)
{
	char		 again[AIB_HOSTNAME_MAX + 1], *auth, *small;
	const char	*digits;
	size_t		 hlen, alen;
	int		 port2, n;

	hlen = strlen(host);
	FUZZ_ASSERT(hlen > 0);
	FUZZ_ASSERT(port >= 1 && port <= 65535);
	if (in[0] == '[') {
		/* Brackets are for IPv6 literals only. */
		FUZZ_ASSERT(host_is_ip(host) && strchr(host, ':') != NULL);
		FUZZ_ASSERT(memcmp(in + 1, host, hlen) == 0);
		FUZZ_ASSERT(memcmp(in + 1 + hlen, "]:", 2) == 0);
		digits = in + hlen + 3;
	} else {
		FUZZ_ASSERT(strpbrk(host, ":[]") == NULL);
		FUZZ_ASSERT(memcmp(in, host, hlen) == 0 && in[hlen] == ':');
		digits = in + hlen + 1;
	}
	/* The port: 1-5 decimal digits and nothing after them. */
	FUZZ_ASSERT(strlen(digits) >= 1 && strlen(digits) <= 5 &&
	    strspn(digits, "0123456789") == strlen(digits));
	for (n = 0; *digits != '\0'; digits++)
		n = n * 10 + (*digits - '0');
	FUZZ_ASSERT(n == port);

	alen = hlen + 16;
	if ((auth = malloc(alen)) == NULL)
		abort();
	n = snprintf(auth, alen, strchr(host, ':') != NULL ? "[%s]:%d" :
	    "%s:%d", host, port);
	FUZZ_ASSERT(n > 0 && (size_t)n < alen);
	FUZZ_ASSERT(host_split_port(auth, again, sizeof(again), &port2) == 0);
	FUZZ_ASSERT(strcmp(again, host) == 0 && port2 == port);
	/* A host buffer one byte too small is refused, not overrun. */
	if ((small = malloc(hlen)) == NULL)
		abort();
	FUZZ_ASSERT(host_split_port(in, small, hlen, &port2) == -1);
	free(small);
	free(auth);
}

static void
check_authority(const char *auth)
{
	char	 again[AIB_HOSTNAME_MAX + 16], host[AIB_HOSTNAME_MAX + 1];
	int	 port;

	FUZZ_ASSERT(strspn(auth, "abcdefghijklmnopqrstuvwxyzABCDEF"
	    "0123456789.-:[]") == strlen(auth));
	FUZZ_ASSERT(host_split_port(auth, host, sizeof(host), &port) == 0);
	FUZZ_ASSERT(host_authority(auth, 1, again, sizeof(again)) == 0);
	FUZZ_ASSERT(strcmp(again, auth) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		 out[AIB_HOSTNAME_MAX + 1], host[AIB_HOSTNAME_MAX + 1];
	char		 auth[AIB_HOSTNAME_MAX + 16];
	char		*in;
	const char	*why = NULL;
	int		 port = 0;

	in = fuzz_string(data, size);
	if (host_canon(in, out, sizeof(out), &why) == 0)
		check_canon(in, out);
	else
		FUZZ_ASSERT(why != NULL);
	if (host_split_port(in, host, sizeof(host), &port) == 0)
		check_split(in, host, port);
	if (host_authority(in, 80, auth, sizeof(auth)) == 0)
		check_authority(auth);
	free(in);
	return (0);
}
