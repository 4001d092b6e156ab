/*
 * Inside signerd's CA; nothing but signerd/ca*.c includes this.  The
 * CA is cut by job:
 *
 *	ca.c		loading and checking the CA certificate, chain and
 *			key; the hosts it may sign for; the key and time
 *			rules that the CA and every request must meet
 *	ca_issue.c	a worker's request: its public key, the leaf
 *			built from it, and the cache of recent leaves
 *	ca_names.c	the name constraints of the CA file's
 *			certificates against a provider host
 *
 * ca_issue.c uses ca.c's checks, and ca.c frees the cache through
 * ca_cache_flush(); the cache entries stay private to ca_issue.c.
 */
#ifndef AIB_CA_INT_H
#define AIB_CA_INT_H

#include <sys/queue.h>
#include <sys/tree.h>

#include <stddef.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

enum ca_keytype {
	CA_KEY_RSA,
	CA_KEY_P256,
	CA_KEY_P384
};

struct ca_host;		/* ca.c */
struct ca_cached;	/* ca_issue.c */
RB_HEAD(ca_cache, ca_cached);

struct ca {
	X509			*cert;		/* the signing CA */
	STACK_OF(X509)		*certs;		/* the CA file's, cert first */
	EVP_PKEY		*key;
	const EVP_MD		*md;
	ASN1_OCTET_STRING	*keyid;		/* for the leaves' AKI */
	time_t			 notbefore;
	time_t			 notafter;
	char			*chain;		/* CA file certs, PEM */
	size_t			 chainlen;
	TAILQ_HEAD(, ca_host)	 hosts;
	size_t			 nhosts;
	struct ca_cache		 cache;
	size_t			 ncached;
};

/*
 * ca.c: what every request must meet.  The key and time rules are the
 * ones the CA itself met when it was loaded, so they live there.
 */
int	ca_pubkey_check(X509_PUBKEY *, int *, char *, size_t);
int	ca_check_time(const struct ca *, time_t, char *, size_t);
int	ca_allowed(const struct ca *, const char *);

/* ca_issue.c: for ca_free(), which cannot see the cache entries. */
void	ca_cache_flush(struct ca *);
/*
 * ca_issue.c: a leaf's subject for host, into an empty name: CN=host
 * when it fits ub-common-name, else nothing (the SAN alone names it).
 */
#define CA_CN_MAX	64
int	ca_leaf_subject(X509_NAME *, const char *);

/* ca_names.c: may the CA file's name constraints sign for a host? */
int	ca_names_check(const struct ca *, const char *, char *, size_t);
int	ca_names_within(const char *, const ASN1_IA5STRING *);

#endif /* AIB_CA_INT_H */
