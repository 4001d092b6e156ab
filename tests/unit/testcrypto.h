/*
 * Key and certificate making shared by the unit tests that need a CA
 * of their own (a test aborts if libcrypto fails: it is not under test).
 */
#ifndef AIB_TESTCRYPTO_H
#define AIB_TESTCRYPTO_H

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* A fresh EC P-256 key. */
EVP_PKEY	*tc_p256(void);
/* Add one extension in openssl.cnf's text form, issuer = subject. */
void		 tc_ext(X509 *, int, const char *);
/* A memory BIO's bytes as a NUL-terminated string; the BIO is freed. */
char		*tc_bio_text(BIO *);

#endif /* AIB_TESTCRYPTO_H */
