/*
 * PKCS#11 URIs (RFC 7512) as ca.key may name a key in a token:
 *
 *	pkcs11:token=aibproxyd;object=mitm-ca
 *
 * Only the path attributes that pick a token and a key are taken; a
 * query (pin-value, module-path) is refused, because the PIN and the
 * module have keys of their own in the configuration.  Parsed by the
 * parent to check the configuration and again by signerd to find the
 * key, so both agree on what the text means.
 */
#ifndef AIB_PKCS11_URI_H
#define AIB_PKCS11_URI_H

#include <stddef.h>
#include <stdint.h>

#define PKCS11_URI_SCHEME	"pkcs11:"
#define PKCS11_URI_MAX		1023	/* fits AIB_PATH_MAX with its NUL */
/* CK_TOKEN_INFO fields are blank-padded arrays of these sizes. */
#define PKCS11_LABEL_MAX	32
#define PKCS11_MANUF_MAX	32
#define PKCS11_MODEL_MAX	16
#define PKCS11_SERIAL_MAX	16
#define PKCS11_OBJECT_MAX	255	/* CKA_LABEL: ours, not the spec's */
#define PKCS11_ID_MAX		128	/* CKA_ID bytes */

struct pkcs11_uri {
	char		 pu_token[PKCS11_LABEL_MAX + 1];
	char		 pu_manufacturer[PKCS11_MANUF_MAX + 1];
	char		 pu_model[PKCS11_MODEL_MAX + 1];
	char		 pu_serial[PKCS11_SERIAL_MAX + 1];
	char		 pu_object[PKCS11_OBJECT_MAX + 1];
	uint8_t		 pu_id[PKCS11_ID_MAX];
	size_t		 pu_idlen;
	int		 pu_has_object;
	int		 pu_has_id;
};

/* Is s meant as a URI rather than a path? */
int		 pkcs11_uri_is(const char *);
/*
 * Parse s into u.  Returns NULL, or what is wrong with it; the message
 * never quotes the text, which may hold a PIN the user put there.
 */
const char	*pkcs11_uri_parse(const char *, struct pkcs11_uri *);

#endif /* AIB_PKCS11_URI_H */
