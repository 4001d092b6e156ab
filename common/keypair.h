/*
 * A TLS server's certificate and key files, as libtls will take them
 * (tls_config_set_keypair_mem(3)): the first certificate of the chain
 * file and the private key it was made for.  libtls says only "failed
 * to load private key" when they do not go together; this says which
 * part is wrong, at -n, start and reload alike.
 */
#ifndef AIB_KEYPAIR_H
#define AIB_KEYPAIR_H

#include <stddef.h>
#include <stdint.h>

/* What a refusal is about. */
enum keypair_part {
	KEYPAIR_CERT,		/* the certificate file */
	KEYPAIR_KEY,		/* the key file */
	KEYPAIR_MISMATCH	/* the key file, for the certificate's */
};

/*
 * 0 if key (PEM, unencrypted) is the private key of the first
 * certificate in cert (PEM); else -1, why filled and *part naming the
 * file to blame.
 */
int	 keypair_check(const uint8_t *, size_t, const uint8_t *, size_t,
	    enum keypair_part *, char *, size_t);

#endif /* AIB_KEYPAIR_H */
