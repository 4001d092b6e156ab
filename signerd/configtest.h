#ifndef AIB_SIGNERD_CONFIGTEST_H
#define AIB_SIGNERD_CONFIGTEST_H

/*
 * signerd -n: the CA certificate on descriptor 3, its key on 4 unless
 * keyname is NULL (a token key); 0 when it loads and may sign for every
 * host, else 1 with the reason on standard error.
 */
int	signer_configtest(const char *certname, const char *keyname,
	    char *const hosts[], int nhosts);

#endif /* AIB_SIGNERD_CONFIGTEST_H */
