/*
 * Key and certificate making for the unit tests (see testcrypto.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/x509v3.h>

#include "testcrypto.h"

EVP_PKEY *
tc_p256(void)
{
	EVP_PKEY_CTX	*kc;
	EVP_PKEY	*k = NULL;

	if ((kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(kc) <= 0 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc,
	    NID_X9_62_prime256v1) <= 0 || EVP_PKEY_keygen(kc, &k) <= 0)
		abort();
	EVP_PKEY_CTX_free(kc);
	return (k);
}

void
tc_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    !X509_add_ext(x, ext, -1))
		abort();
	X509_EXTENSION_free(ext);
}

char *
tc_bio_text(BIO *bio)
{
	char	*p, *s;
	long	 len;

	len = BIO_get_mem_data(bio, &p);
	if (len < 0 || (s = malloc((size_t)len + 1)) == NULL)
		abort();
	memcpy(s, p, (size_t)len);
	s[len] = '\0';
	BIO_free(bio);
	return (s);
}
