/*
 * auth_proxy_token() on arbitrary Proxy-Authorization values, against
 * a second, deliberately naive reading of RFC 7617 written here: two
 * blank-separated fields, "Basic" in any case, base64 that re-encodes
 * to exactly what was sent (one credential, one spelling), the token
 * after the first colon, no control bytes.  Both must agree on every
 * value; a refusal leaves the output alone, and the token comes back
 * unchanged when sent again.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../aibproxyd/auth.h"
#include "fuzz.h"

#define B64	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#define BLANKS	" \t\r\n\v\f"

static char	*b64_encode(const uint8_t *, size_t);
static uint8_t	*b64_decode(const char *, size_t, size_t *);
static int	 model(const char *, char *, size_t);
static void	 check_token(const char *, const char *);

static char *
b64_encode(const uint8_t *in, size_t len)
{
	char		*out, *o;
	uint32_t	 v;
	size_t		 i;

	if ((out = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		abort();
	for (o = out, i = 0; i < len; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = B64[v >> 18 & 63];
		*o++ = B64[v >> 12 & 63];
		*o++ = i + 1 < len ? B64[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? B64[v & 63] : '=';
	}
	*o = '\0';
	return (out);
}

/* Any decoding at all; the caller keeps only canonical ones. */
static uint8_t *
b64_decode(const char *in, size_t len, size_t *outlen)
{
	uint8_t		*out;
	const char	*p;
	uint32_t	 v = 0;
	size_t		 i, n = 0, bits = 0;

	if ((out = malloc(len + 1)) == NULL)
		abort();
	for (i = 0; i < len && in[i] != '='; i++) {
		if ((p = strchr(B64, in[i])) == NULL || in[i] == '\0') {
			free(out);
			return (NULL);
		}
		v = v << 6 | (uint32_t)(p - B64);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(v >> bits);
		}
	}
	*outlen = n;
	return (out);
}

/*
 * The naive reading: 0 and the token, or -1.  A good value of more
 * than AUTH_TOKEN_MAX decoded bytes gets 1 (the token, but either
 * answer is right): how long a user name auth.c makes room for is its
 * own business.
 */
static int
model(const char *value, char *token, size_t tokenlen)
{
	const char	*s = value, *scheme, *cred;
	uint8_t		*dec, *colon;
	char		*again;
	size_t		 slen, clen, dlen, i, tlen;
	int		 ok = 0;

	s += strspn(s, BLANKS);
	scheme = s;
	slen = strcspn(s, BLANKS);
	s += slen;
	s += strspn(s, BLANKS);
	cred = s;
	clen = strcspn(s, BLANKS);
	s += clen;
	s += strspn(s, BLANKS);
	if (*s != '\0' || slen != 5 || strncasecmp(scheme, "Basic", 5) != 0 ||
	    clen == 0)
		return (-1);
	if ((dec = b64_decode(cred, clen, &dlen)) == NULL)
		return (-1);
	again = b64_encode(dec, dlen);
	if (strlen(again) == clen && memcmp(again, cred, clen) == 0 &&
	    (colon = memchr(dec, ':', dlen)) != NULL) {
		tlen = dlen - (size_t)(colon + 1 - dec);
		ok = tlen > 0 && tlen < tokenlen;
		for (i = 0; ok && i < tlen; i++)
			if (colon[1 + i] < 0x20 || colon[1 + i] == 0x7f)
				ok = 0;
		if (ok) {
			memcpy(token, colon + 1, tlen);
			token[tlen] = '\0';
		}
	}
	free(again);
	free(dec);
	if (!ok)
		return (-1);
	return (dlen > AUTH_TOKEN_MAX ? 1 : 0);
}

/* Sent again as the credential of user "u", the token is the same. */
static void
check_token(const char *value, const char *token)
{
	char	 back[AUTH_TOKEN_MAX], id[AUTH_TOKEN_MAX], *cred, *hdr;
	char	*small;
	uint8_t	*ut;
	size_t	 len, i;

	len = strlen(token);
	FUZZ_ASSERT(len > 0 && len < AUTH_TOKEN_MAX);
	if ((ut = malloc(len + 2)) == NULL)
		abort();
	memcpy(ut, "u:", 2);
	memcpy(ut + 2, token, len);
	cred = b64_encode(ut, len + 2);
	if ((hdr = malloc(strlen(cred) + 7)) == NULL)
		abort();
	memcpy(hdr, "Basic ", 6);
	memcpy(hdr + 6, cred, strlen(cred) + 1);
	FUZZ_ASSERT(auth_proxy_token(hdr, back, sizeof(back)) == 0);
	FUZZ_ASSERT(strcmp(back, token) == 0);

	/* An output exactly the token's size works; one byte less does not. */
	if ((small = malloc(len + 1)) == NULL)
		abort();
	FUZZ_ASSERT(auth_proxy_token(value, small, len + 1) == 0);
	FUZZ_ASSERT(strcmp(small, token) == 0);
	memset(small, 'Q', len + 1);
	FUZZ_ASSERT(auth_proxy_token(value, small, len) == -1);
	for (i = 0; i < len + 1; i++)
		FUZZ_ASSERT(small[i] == 'Q');

	/* The loggable id is a plain prefix that ends at the first '-'. */
	auth_token_id(token, id, sizeof(id));
	len = strlen(id);
	FUZZ_ASSERT(strncmp(id, token, len) == 0);
	FUZZ_ASSERT(len == 0 || token[len] == '-');
	for (i = 0; i < len; i++)
		FUZZ_ASSERT(strchr(B64, id[i]) != NULL && id[i] != '+' &&
		    id[i] != '/');
	free(small);
	free(hdr);
	free(cred);
	free(ut);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 token[AUTH_TOKEN_MAX], want[AUTH_TOKEN_MAX], *value;
	size_t	 i;
	int	 r, m;

	value = fuzz_string(data, size);
	memset(token, 'Q', sizeof(token));
	r = auth_proxy_token(value, token, sizeof(token));
	m = model(value, want, sizeof(want));
	FUZZ_ASSERT(r == m || m == 1);
	if (r == 0) {
		FUZZ_ASSERT(strcmp(token, want) == 0);
		check_token(value, token);
	} else
		for (i = 0; i < sizeof(token); i++)
			FUZZ_ASSERT(token[i] == 'Q');
	free(value);
	return (0);
}
