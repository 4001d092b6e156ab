/*
 * Proxy credentials (RFC 7617 Basic).  The decoded text holds the
 * user's Coder token, so it lives only in a stack buffer that is wiped
 * on every way out.  The decoder is strict: one credential has one
 * spelling, and nothing lenient about whitespace or alphabets lets two
 * components disagree about what was sent.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "compat.h"

/* user ":" token, decoded; a little room for long user names. */
#define AUTH_DECODED_MAX	(2 * AUTH_TOKEN_MAX)

static const char *auth_fields(const char *, size_t *, const char **,
		    size_t *);
static int	 b64_value(char);
static int	 b64_decode(const char *, size_t, uint8_t *, size_t,
		    size_t *);
static int	 auth_space(char);

/* What strings.Fields and the HTTP parser would both call blank. */
static int
auth_space(char c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\v' || c == '\f');
}

/*
 * Split into exactly two blank-separated fields; returns the first
 * (with its length) and the second, or NULL for any other count.
 */
static const char *
auth_fields(const char *s, size_t *len1, const char **f2, size_t *len2)
{
	const char	*f1;

	while (auth_space(*s))
		s++;
	f1 = s;
	while (*s != '\0' && !auth_space(*s))
		s++;
	*len1 = (size_t)(s - f1);
	while (auth_space(*s))
		s++;
	*f2 = s;
	while (*s != '\0' && !auth_space(*s))
		s++;
	*len2 = (size_t)(s - *f2);
	while (auth_space(*s))
		s++;
	if (*len1 == 0 || *len2 == 0 || *s != '\0')
		return (NULL);
	return (f1);
}

/* The standard alphabet only: URL-safe '-' and '_' are refused. */
static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '+')
		return (62);
	if (c == '/')
		return (63);
	return (-1);
}

/*
 * Padded base64 (RFC 4648 section 4).  Padding only at the end, and the
 * bits it leaves over must be zero, so an encoding is canonical.
 */
static int
b64_decode(const char *in, size_t len, uint8_t *out, size_t outlen,
    size_t *olen)
{
	uint32_t	 v;
	size_t		 i, j, pad, n = 0;
	int		 d;

	if (len == 0 || len % 4 != 0)
		return (-1);
	pad = 0;
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	if ((len / 4) * 3 - pad > outlen)
		return (-1);
	for (i = 0; i < len; i += 4) {
		v = 0;
		for (j = 0; j < 4; j++) {
			if (i + j >= len - pad) {
				v <<= 6;
				continue;
			}
			if ((d = b64_value(in[i + j])) == -1)
				return (-1);
			v = (v << 6) | (uint32_t)d;
		}
		out[n++] = (uint8_t)(v >> 16);
		if (i + 4 < len || pad < 2)
			out[n++] = (uint8_t)(v >> 8);
		if (i + 4 < len || pad < 1)
			out[n++] = (uint8_t)v;
	}
	if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0))
		return (-1);
	*olen = n;
	return (0);
}

int
auth_proxy_token(const char *value, char *token, size_t tokenlen)
{
	uint8_t		 dec[AUTH_DECODED_MAX];
	const char	*scheme, *cred;
	uint8_t		*colon, *tok;
	size_t		 slen, clen, dlen = 0, tlen, i;

	if (value == NULL || token == NULL)
		return (-1);
	if ((scheme = auth_fields(value, &slen, &cred, &clen)) == NULL)
		return (-1);
	if (slen != 5 || strncasecmp(scheme, "Basic", 5) != 0)
		return (-1);
	if (b64_decode(cred, clen, dec, sizeof(dec), &dlen) == -1)
		goto fail;
	if ((colon = memchr(dec, ':', dlen)) == NULL)
		goto fail;
	tok = colon + 1;
	tlen = dlen - (size_t)(tok - dec);
	if (tlen == 0 || tlen >= tokenlen)
		goto fail;
	for (i = 0; i < tlen; i++)
		if (tok[i] < 0x20 || tok[i] == 0x7f)
			goto fail;
	memcpy(token, tok, tlen);
	token[tlen] = '\0';
	explicit_bzero(dec, sizeof(dec));
	return (0);
 fail:
	explicit_bzero(dec, sizeof(dec));
	return (-1);
}

/*
 * Coder tokens are "<10-char id>-<22-char secret>".  Only an id made of
 * letters and digits is returned, so a token of another shape is never
 * logged in part.
 */
void
auth_token_id(const char *token, char *id, size_t idlen)
{
	const char	*dash;
	size_t		 len, i;

	if (idlen == 0)
		return;
	id[0] = '\0';
	if (token == NULL || (dash = strchr(token, '-')) == NULL)
		return;
	len = (size_t)(dash - token);
	if (len >= idlen)
		return;
	for (i = 0; i < len; i++) {
		if (!((token[i] >= 'a' && token[i] <= 'z') ||
		    (token[i] >= 'A' && token[i] <= 'Z') ||
		    (token[i] >= '0' && token[i] <= '9')))
			return;
	}
	memcpy(id, token, len);
	id[len] = '\0';
}
