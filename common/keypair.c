/*
 * Does a listener's key go with its certificate?  libcrypto parses
 * both; nothing is kept, and the key is freed as soon as it is read.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "keypair.h"

/* Never prompt for a passphrase: say one was wanted instead. */
static int
keypair_nopass(char *buf, int size, int rwflag, void *arg)
{
	*(int *)arg = 1;
	return (-1);
}

static X509 *
keypair_cert(const uint8_t *pem, size_t len)
{
	BIO	*bio;
	X509	*x;

	if (pem == NULL || len > INT_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return (NULL);
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return (x);
}

static EVP_PKEY *
keypair_key(const uint8_t *pem, size_t len, int *asked)
{
	BIO		*bio;
	EVP_PKEY	*k;

	if (pem == NULL || len > INT_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return (NULL);
	k = PEM_read_bio_PrivateKey(bio, NULL, keypair_nopass, asked);
	BIO_free(bio);
	return (k);
}

int
keypair_check(const uint8_t *cert, size_t certlen, const uint8_t *key,
    size_t keylen, enum keypair_part *part, char *why, size_t len)
{
	X509		*x;
	EVP_PKEY	*k = NULL;
	int		 asked = 0, rv = -1;

	*part = KEYPAIR_CERT;
	if ((x = keypair_cert(cert, certlen)) == NULL) {
		(void)snprintf(why, len, "no certificate in the file");
		goto done;
	}
	*part = KEYPAIR_KEY;
	if ((k = keypair_key(key, keylen, &asked)) == NULL) {
		(void)snprintf(why, len, asked ? "the key is encrypted "
		    "(it must be readable without a passphrase)" :
		    "no private key in the file");
		goto done;
	}
	if (X509_check_private_key(x, k) != 1) {
		*part = KEYPAIR_MISMATCH;
		(void)snprintf(why, len, "not the private key of the "
		    "certificate");
		goto done;
	}
	rv = 0;
 done:
	EVP_PKEY_free(k);
	X509_free(x);
	ERR_clear_error();
	return (rv);
}
