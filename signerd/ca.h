/*
 * The CA inside signerd: loads and checks the CA certificate and key,
 * keeps the list of hosts it may sign for, and issues leaf
 * certificates for public keys that proxy workers send.  libcrypto
 * only, with calls that exist in both OpenSSL 3 and LibreSSL.
 */
#ifndef AIB_CA_H
#define AIB_CA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "compat.h"

#define CA_FILE_MAX	(1024 * 1024)	/* a CA certificate or key file */
#define CA_CHAIN_MAX	(64 * 1024)	/* the served chain, PEM */
#define CA_SERIAL_MAX	64		/* hex serial, NUL included */

struct ca;

/* One issued (or cached) leaf, as handed to the worker. */
struct ca_leaf {
	char	*cl_pem;	/* leaf + CA file certificates, malloc'd */
	size_t	 cl_pemlen;	/* without the terminating NUL */
	time_t	 cl_notafter;
	int	 cl_cached;	/* served again from the cache */
	char	 cl_host[AIB_HOSTNAME_MAX + 1];	/* canonical */
	char	 cl_serial[CA_SERIAL_MAX];	/* hex, for the audit log */
};

/*
 * Load a CA from the PEM text of its certificate file (the signing CA
 * first, then any intermediates and the root; other PEM blocks are
 * skipped) and of its private key.  Checks that it is a usable CA at
 * time now.  Returns NULL with a reason in err on failure.  The caller
 * still owns (and must wipe) the key text.
 */
struct ca	*ca_load(const uint8_t *, size_t, const uint8_t *, size_t,
		    time_t, char *, size_t);
/*
 * The same with a key that is not text: one a PKCS#11 token holds.
 * The CA takes its own reference.  The key must sign something that
 * the certificate's public key verifies.
 */
struct evp_pkey_st;
struct ca	*ca_load_pkey(const uint8_t *, size_t, struct evp_pkey_st *,
		    time_t, char *, size_t);
/*
 * The certificate half alone, for signerd -n when the key is in a
 * token: it can check the hosts (ca_allow) but never sign.
 */
struct ca	*ca_load_cert(const uint8_t *, size_t, time_t, char *, size_t);
void		 ca_free(struct ca *);

/*
 * Allow signing for one canonical provider host; refused when the CA
 * file's name constraints leave it out (ca_names.c).
 */
int		 ca_allow(struct ca *, const char *, char *, size_t);
size_t		 ca_nhosts(const struct ca *);
time_t		 ca_notafter(const struct ca *);

/*
 * Validate a request for host with the given SubjectPublicKeyInfo DER
 * and, if every check passes, issue (or reuse a recent) leaf valid for
 * lifetime seconds from now.  Returns -1 with a reason on refusal.
 * The caller frees the result with ca_leaf_clear().
 */
int		 ca_request(struct ca *, const char *, const uint8_t *, size_t,
		    uint32_t, time_t, struct ca_leaf *, char *, size_t);
void		 ca_leaf_clear(struct ca_leaf *);

/* "2026-01-01 00:00:00 UTC", for messages. */
void		 ca_timestr(time_t, char *, size_t);

#endif /* AIB_CA_H */
