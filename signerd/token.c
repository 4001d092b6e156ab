/*
 * The CA key in a PKCS#11 token (PKCS#11 v2.40 through libp11).
 *
 * The module is loaded (C_Initialize) and its slots enumerated once, as
 * root and before the privilege drop, so that it can read whatever
 * configuration it has; the login then lasts for the process, because
 * PKCS#11 logs the whole application in, not one session (PKCS#11 v2.40
 * section 6.7.7).  A reload that names another key in the same module
 * finds it with the module already loaded; another module needs a
 * restart.
 */
#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <libp11.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "cryptoerr.h"
#include "imsg.h"
#include "log.h"
#include "pkcs11_uri.h"
#include "proto.h"
#include "token.h"

static struct {
	PKCS11_CTX	*ctx;
	PKCS11_SLOT	*slots;
	unsigned int	 nslots;
	char		 module[AIB_PATH_MAX];
} tok;

/*
 * libp11 puts the token's CKR_* reason on the OpenSSL error queue,
 * where crypto_why() finds it.
 */
int
token_init(const char *module, char *err, size_t errlen)
{
	ERR_clear_error();
	if ((tok.ctx = PKCS11_CTX_new()) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (PKCS11_CTX_load(tok.ctx, module) != 0) {
		(void)snprintf(err, errlen, "PKCS#11 module %s cannot be "
		    "loaded: %s", module, crypto_why());
		goto fail;
	}
	if (PKCS11_enumerate_slots(tok.ctx, &tok.slots, &tok.nslots) != 0) {
		(void)snprintf(err, errlen, "PKCS#11 module %s: no slots: %s",
		    module, crypto_why());
		PKCS11_CTX_unload(tok.ctx);
		goto fail;
	}
	(void)strlcpy(tok.module, module, sizeof(tok.module));
	ERR_clear_error();
	return (0);
 fail:
	PKCS11_CTX_free(tok.ctx);
	tok.ctx = NULL;
	ERR_clear_error();
	return (-1);
}

int
token_loaded(void)
{
	return (tok.ctx != NULL);
}

int
token_module_is(const char *module)
{
	return (tok.ctx != NULL && strcmp(tok.module, module) == 0);
}

/* RFC 7512 2.3: every attribute the URI gives must match. */
static int
token_match(const PKCS11_TOKEN *t, const struct pkcs11_uri *u)
{
	if (t == NULL || !t->initialized || strcmp(t->label, u->pu_token) != 0)
		return (0);
	if (u->pu_manufacturer[0] != '\0' &&
	    strcmp(t->manufacturer, u->pu_manufacturer) != 0)
		return (0);
	if (u->pu_model[0] != '\0' && strcmp(t->model, u->pu_model) != 0)
		return (0);
	if (u->pu_serial[0] != '\0' && strcmp(t->serialnr, u->pu_serial) != 0)
		return (0);
	return (1);
}

static PKCS11_SLOT *
token_slot(const struct pkcs11_uri *u, char *err, size_t errlen)
{
	PKCS11_SLOT	*slot = NULL;
	unsigned int	 i;

	for (i = 0; i < tok.nslots; i++) {
		if (!token_match(tok.slots[i].token, u))
			continue;
		if (slot != NULL) {
			(void)snprintf(err, errlen, "more than one PKCS#11 "
			    "token labelled \"%s\"", u->pu_token);
			return (NULL);
		}
		slot = &tok.slots[i];
	}
	if (slot == NULL)
		(void)snprintf(err, errlen, "no PKCS#11 token labelled \"%s\" "
		    "in %s", u->pu_token, tok.module);
	return (slot);
}

static int
token_login(PKCS11_SLOT *slot, const char *pin, char *err, size_t errlen)
{
	int	 in = 0;

	if (PKCS11_is_logged_in(slot, 0, &in) == 0 && in)
		return (0);
	if (PKCS11_login(slot, 0, pin) != 0) {
		(void)snprintf(err, errlen, "PKCS#11 login to token \"%s\" "
		    "failed: %s", slot->token->label, crypto_why());
		return (-1);
	}
	return (0);
}

static int
token_key_match(const PKCS11_KEY *k, const struct pkcs11_uri *u)
{
	if (!k->isPrivate)
		return (0);
	if (u->pu_has_object && (k->label == NULL ||
	    strcmp(k->label, u->pu_object) != 0))
		return (0);
	if (u->pu_has_id && (k->id_len != u->pu_idlen ||
	    memcmp(k->id, u->pu_id, u->pu_idlen) != 0))
		return (0);
	return (1);
}

EVP_PKEY *
token_key(const struct pkcs11_config *pk, char *err, size_t errlen)
{
	struct pkcs11_uri	 u;
	PKCS11_SLOT		*slot;
	PKCS11_KEY		*keys, *key = NULL;
	EVP_PKEY		*pkey = NULL;
	const char		*why;
	unsigned int		 nkeys, i;

	ERR_clear_error();
	if (!token_module_is(pk->p11_module)) {
		(void)snprintf(err, errlen, "PKCS#11 module %s is not the one "
		    "loaded at start (%s): restart aibproxyd", pk->p11_module,
		    tok.ctx != NULL ? tok.module : "none");
		return (NULL);
	}
	if ((why = pkcs11_uri_parse(pk->p11_uri, &u)) != NULL) {
		(void)snprintf(err, errlen, "CA key PKCS#11 URI %s", why);
		return (NULL);
	}
	if ((slot = token_slot(&u, err, errlen)) == NULL ||
	    token_login(slot, pk->p11_pin, err, errlen) == -1)
		goto done;
	if (PKCS11_enumerate_keys(slot->token, &keys, &nkeys) != 0) {
		(void)snprintf(err, errlen, "PKCS#11 token \"%s\": cannot list "
		    "keys: %s", u.pu_token, crypto_why());
		goto done;
	}
	for (i = 0; i < nkeys; i++) {
		if (!token_key_match(&keys[i], &u))
			continue;
		if (key != NULL) {
			(void)snprintf(err, errlen, "PKCS#11 URI matches more "
			    "than one private key in token \"%s\"", u.pu_token);
			goto done;
		}
		key = &keys[i];
	}
	if (key == NULL)
		(void)snprintf(err, errlen, "no private key %s%s%s in PKCS#11 "
		    "token \"%s\"", u.pu_has_object ? "labelled \"" : "with "
		    "that id", u.pu_has_object ? u.pu_object : "",
		    u.pu_has_object ? "\"" : "", u.pu_token);
	else if ((pkey = PKCS11_get_private_key(key)) == NULL)
		(void)snprintf(err, errlen, "PKCS#11 token \"%s\": key "
		    "unusable: %s", u.pu_token, crypto_why());
 done:
	explicit_bzero(&u, sizeof(u));
	ERR_clear_error();
	return (pkey);
}

EVP_PKEY *
token_cfg(struct imsg *imsg, int pkcs11, char *err, size_t errlen)
{
	struct pkcs11_config	 pk;
	EVP_PKEY		*pkey = NULL;

	if (imsg_get_data(imsg, &pk, sizeof(pk)) == -1 ||
	    memchr(pk.p11_module, '\0', sizeof(pk.p11_module)) == NULL ||
	    memchr(pk.p11_uri, '\0', sizeof(pk.p11_uri)) == NULL ||
	    memchr(pk.p11_pin, '\0', sizeof(pk.p11_pin)) == NULL)
		fatalx("%s: bad IMSG_CFG_PKCS11", __func__);
	explicit_bzero(imsg->data, imsg->datalen);
	/* The module can only be loaded by root, before the drop. */
	if (!pkcs11)
		(void)snprintf(err, errlen, "a CA key in a PKCS#11 token "
		    "needs a restart of aibproxyd");
	else if (token_loaded() || token_init(pk.p11_module, err,
	    errlen) == 0)
		pkey = token_key(&pk, err, errlen);
	explicit_bzero(&pk, sizeof(pk));
	return (pkey);
}
