#include <string.h>

#include "pem.h"

#define PEM_BEGIN	"-----BEGIN CERTIFICATE-----"
#define PEM_END		"-----END CERTIFICATE-----"

static const char *
pem_find(const char *p, const char *end, const char *what)
{
	size_t	 n = strlen(what);

	for (; p + n <= end; p++)
		if (memcmp(p, what, n) == 0)
			return (p);
	return (NULL);
}

/* The next CERTIFICATE block at or after p: [*b, *e). */
static int
pem_next(const char *pem, const char *p, const char *end, const char **bp,
    const char **ep)
{
	const char	*b, *e;

	while ((b = pem_find(p, end, PEM_BEGIN)) != NULL) {
		/* A BEGIN must start a line. */
		if (b != pem && b[-1] != '\n') {
			p = b + 1;
			continue;
		}
		if ((e = pem_find(b, end, PEM_END)) == NULL)
			return (-1);
		e += strlen(PEM_END);
		if (e < end && *e == '\r')
			e++;
		if (e < end && *e == '\n')
			e++;
		*bp = b;
		*ep = e;
		return (0);
	}
	return (-1);
}

long
pem_certificates(const char *pem, size_t len, char *out, size_t outlen)
{
	const char	*end = pem + len, *p = pem, *b, *e;
	size_t		 n = 0;

	while (pem_next(pem, p, end, &b, &e) == 0) {
		/* Room for the block, its newline if missing, and the NUL. */
		if ((size_t)(e - b) + (e[-1] != '\n') + 1 > outlen - n)
			return (-1);
		memcpy(out + n, b, e - b);
		n += e - b;
		if (out[n - 1] != '\n')
			out[n++] = '\n';
		p = e;
	}
	if (n == 0)
		return (-1);
	out[n] = '\0';
	return (n);
}

int
pem_trust_anchor(const char *pem, size_t len, const char **out,
    size_t *outlen)
{
	const char	*end = pem + len, *p = pem, *b, *e;
	const char	*last = NULL, *lastend = NULL;

	if (pem == NULL)
		return (-1);
	while (pem_next(pem, p, end, &b, &e) == 0) {
		last = b;
		lastend = e;
		p = e;
	}
	if (last == NULL)
		return (-1);
	*out = last;
	*outlen = lastend - last;
	return (0);
}
