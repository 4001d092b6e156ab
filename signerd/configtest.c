/*
 * signerd -n: the same loading and checks as a start, on the files the
 * caller passes as descriptors 3 and 4, reported on standard error.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "blob.h"
#include "ca.h"
#include "compat.h"
#include "configtest.h"
#include "proto.h"

/*
 * -n: can this CA be loaded, and sign for these hosts?  Certificate on
 * fd 3, key on fd 4 unless the key is in a token (no -k): then the
 * certificate alone.  The same ca_load and ca_allow as a start, so -n
 * refuses what a start would.  certname and keyname head the messages.
 */
int
signer_configtest(const char *certname, const char *keyname,
    char *const hosts[], int nhosts)
{
	struct blob	 cert, key;
	struct ca	*ca = NULL;
	const char	*name = certname;
	char		 err[AIB_REASON_MAX];
	int		 i;

	if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL)) {
		fprintf(stderr, "signerd: cannot initialise libcrypto\n");
		return (1);
	}
	if (compat_nodump() == -1) {
		fprintf(stderr, "signerd: nodump: %s\n", strerror(errno));
		return (1);
	}
	if (blob_read(AIB_PARENT_FD, &cert, "CA certificate", err,
	    sizeof(err)) == 0) {
		if (keyname == NULL)
			ca = ca_load_cert(cert.data, cert.len, time(NULL), err,
			    sizeof(err));
		else if (blob_read(AIB_PARENT_FD + 1, &key, "CA key", err,
		    sizeof(err)) == 0) {
			ca = ca_load(cert.data, cert.len, key.data, key.len,
			    time(NULL), err, sizeof(err));
			blob_free(&key);
		} else
			name = keyname;
		blob_free(&cert);
	}
	for (i = 0; ca != NULL && i < nhosts; i++)
		if (ca_allow(ca, hosts[i], err, sizeof(err)) == -1) {
			ca_free(ca);
			ca = NULL;
		}
	if (ca == NULL) {
		fprintf(stderr, "%s: %s\n", name, err);
		return (1);
	}
	ca_free(ca);
	return (0);
}
