/*
 * RFC 7512 PKCS#11 URIs, as much of them as picking one private key
 * takes.  The grammar (RFC 7512 section 2.3):
 *
 *	pk11-URI	= "pkcs11:" pk11-path [ "?" pk11-query ]
 *	pk11-path	= [ pk11-pattr *(";" pk11-pattr) ]
 *	pk11-pattr	= name "=" value, value in pk11-pchar
 *
 * where a value is percent-encoded (section 2.3: "%" 2HEXDIG) for any
 * byte outside pk11-pchar, and an attribute may not appear twice.  We
 * need a token label and the key's label or id; the other token
 * attributes narrow the choice.  Attributes that name a library or a
 * slot are refused rather than ignored: a URI that says more than we
 * honour would select something else than its writer meant.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pkcs11_uri.h"



/* RFC 7512 pk11-pchar less "%", which starts an escape. */
static int
pkcs11_pchar(unsigned char c)
{
	return (isalnum(c) || strchr("-._~:[]@!$'()*+,=&", c) != NULL);
}

static int
pkcs11_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	c = (unsigned char)tolower(c);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/*
 * Decode len bytes of a value into out (size max, plus a NUL when
 * text).  -1: bad escape or byte, -2: too long.
 */
static int
pkcs11_decode(const char *s, size_t len, uint8_t *out, size_t max,
    int text, size_t *outlen)
{
	size_t	 i, o = 0;
	int	 hi, lo, c;

	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (i + 2 >= len)
				return (-1);
			if ((hi = pkcs11_hex(s[i + 1])) == -1 ||
			    (lo = pkcs11_hex(s[i + 2])) == -1)
				return (-1);
			c = hi << 4 | lo;
			i += 2;
		} else if (pkcs11_pchar((unsigned char)s[i]))
			c = (unsigned char)s[i];
		else
			return (-1);
		/* A NUL in a label would cut it short unseen. */
		if (text && c == '\0')
			return (-1);
		if (o >= max)
			return (-2);
		out[o++] = (uint8_t)c;
	}
	if (text)
		out[o] = '\0';
	*outlen = o;
	return (0);
}

static const char *
pkcs11_text(const char *v, size_t len, char *out, size_t max, int *seen)
{
	size_t	 n;

	if (*seen)
		return ("an attribute appears twice (RFC 7512 2.3)");
	*seen = 1;
	switch (pkcs11_decode(v, len, (uint8_t *)out, max, 1, &n)) {
	case -1:
		return ("bad character or percent escape in a value");
	case -2:
		return ("a value is longer than PKCS#11 allows");
	}
	if (n == 0)
		return ("an attribute has an empty value");
	return (NULL);
}

/* One name=value of the path; name and value are not NUL-terminated. */
static const char *
pkcs11_attr(const char *a, size_t alen, struct pkcs11_uri *u,
    unsigned int *seen)
{
	static const struct {
		const char	*name;
		size_t		 off;
		size_t		 max;
	} texts[] = {
		{ "token", offsetof(struct pkcs11_uri, pu_token),
		    PKCS11_LABEL_MAX },
		{ "manufacturer", offsetof(struct pkcs11_uri,
		    pu_manufacturer), PKCS11_MANUF_MAX },
		{ "model", offsetof(struct pkcs11_uri, pu_model),
		    PKCS11_MODEL_MAX },
		{ "serial", offsetof(struct pkcs11_uri, pu_serial),
		    PKCS11_SERIAL_MAX },
		{ "object", offsetof(struct pkcs11_uri, pu_object),
		    PKCS11_OBJECT_MAX }
	};
	const char	*eq, *v;
	size_t		 nlen, vlen, i;
	int		 once;
	char		 type[16];

	if ((eq = memchr(a, '=', alen)) == NULL || eq == a)
		return ("an attribute is not name=value");
	nlen = eq - a;
	v = eq + 1;
	vlen = alen - nlen - 1;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (strlen(texts[i].name) != nlen ||
		    memcmp(texts[i].name, a, nlen) != 0)
			continue;
		once = (*seen >> i) & 1;
		*seen |= 1U << i;
		if (i == 4)
			u->pu_has_object = 1;
		return (pkcs11_text(v, vlen, (char *)u + texts[i].off,
		    texts[i].max, &once));
	}
	if (nlen == 2 && memcmp(a, "id", 2) == 0) {
		if (u->pu_has_id)
			return ("an attribute appears twice (RFC 7512 2.3)");
		u->pu_has_id = 1;
		if (vlen == 0)
			return ("an attribute has an empty value");
		switch (pkcs11_decode(v, vlen, u->pu_id, sizeof(u->pu_id), 0,
		    &u->pu_idlen)) {
		case -1:
			return ("bad character or percent escape in a value");
		case -2:
			return ("a value is longer than PKCS#11 allows");
		}
		return (NULL);
	}
	if (nlen == 4 && memcmp(a, "type", 4) == 0) {
		once = (*seen >> 8) & 1;
		*seen |= 1U << 8;
		if (pkcs11_text(v, vlen, type, sizeof(type) - 1, &once) !=
		    NULL || strcmp(type, "private") != 0)
			return ("type must be private: the CA key");
		return (NULL);
	}
	return ("unknown or unsupported attribute (token, manufacturer, "
	    "model, serial, object, id and type are)");
}

int
pkcs11_uri_is(const char *s)
{
	return (strncmp(s, PKCS11_URI_SCHEME,
	    sizeof(PKCS11_URI_SCHEME) - 1) == 0);
}

const char *
pkcs11_uri_parse(const char *s, struct pkcs11_uri *u)
{
	const char	*p, *end;
	const char	*why;
	unsigned int	 seen = 0;

	memset(u, 0, sizeof(*u));
	if (!pkcs11_uri_is(s))
		return ("does not start with pkcs11:");
	if (strlen(s) > PKCS11_URI_MAX)
		return ("is too long");
	/* The query holds pin-value, module-path: ours are config keys. */
	if (strchr(s, '?') != NULL)
		return ("has a query (?...): give the PIN in "
		    "ca.pkcs11.pin_file and the module in ca.pkcs11.module");
	p = s + sizeof(PKCS11_URI_SCHEME) - 1;
	while (*p != '\0') {
		if ((end = strchr(p, ';')) == NULL)
			end = p + strlen(p);
		if (end == p)
			return ("has an empty attribute");
		if ((why = pkcs11_attr(p, end - p, u, &seen)) != NULL)
			return (why);
		p = *end == ';' ? end + 1 : end;
		if (*end == ';' && *p == '\0')
			return ("has an empty attribute");
	}
	if (u->pu_token[0] == '\0')
		return ("names no token (token=)");
	if (!u->pu_has_object && !u->pu_has_id)
		return ("names no key (object= or id=)");
	return (NULL);
}
