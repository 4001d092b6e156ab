/*
 * The CA key in a PKCS#11 token, through libp11: signerd loads the
 * module and enumerates its slots once, as root before it drops
 * privileges; each configuration then picks its key by RFC 7512 URI.
 * The key never leaves the token: the EVP_PKEY signs by calling it.
 */
#ifndef AIB_TOKEN_H
#define AIB_TOKEN_H

#include <stddef.h>

#include <openssl/evp.h>

#include "imsg.h"
#include "proto.h"

/* Load the module once; -1 with a reason if it cannot be. */
int		 token_init(const char *, char *, size_t);
/* Is a module loaded, and is it this one? */
int		 token_loaded(void);
int		 token_module_is(const char *);
/*
 * The private key pk names, logged in with its PIN if the token is not
 * yet.  A new reference; NULL with a reason (the token's own words).
 */
EVP_PKEY	*token_key(const struct pkcs11_config *, char *, size_t);
/*
 * IMSG_CFG_PKCS11: the key it names, loading the module first if this is
 * the start (-p) and none is loaded.  A malformed message is fatal.  The
 * PIN is wiped from the message and every copy made here.
 */
EVP_PKEY	*token_cfg(struct imsg *, int, char *, size_t);

#endif /* AIB_TOKEN_H */
