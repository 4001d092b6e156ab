/*
 * The name constraints of the CA file's certificates (RFC 5280
 * 4.2.1.10) against a provider host.  Clients check every certificate
 * of the chain: a host outside a permitted DNS or directory name
 * subtree, or inside an excluded one, gets leaves that every client
 * refuses ("permitted subtree violation"), so the CA refuses the host
 * when it is loaded, at -n, start and reload alike.
 *
 * Our leaves name the host in one dNSName and in their subject, CN=host
 * when it fits (ca_leaf_subject()), and provider hosts are never IP
 * addresses (hostname.c), so dNSName and directoryName subtrees apply;
 * constraints on other name types do not touch them.
 */
#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "ca_int.h"

/* What a message quotes of the subtrees: enough to act on. */
#define CA_NAMES_LIST	96

/*
 * Is host (canonical: lower case, no final dot) within the DNS subtree
 * base?  RFC 5280: any name made by adding labels on the left of base,
 * base itself included; an empty base holds every name.  A base with a
 * leading dot holds only names below it, as OpenSSL reads one.  0 no,
 * 1 yes, -1 when base is not a DNS name at all, or ends in a dot: RFC
 * 5280 has no absolute names in constraints, OpenSSL then matches no
 * host (a permitted one leaves every leaf outside) and Go and webpki
 * refuse the certificate outright.
 */
int
ca_names_within(const char *host, const ASN1_IA5STRING *base)
{
	const char	*b = (const char *)ASN1_STRING_get0_data(base);
	size_t		 blen = (size_t)ASN1_STRING_length(base);
	size_t		 hlen = strlen(host), i;

	for (i = 0; i < blen; i++)
		if (b[i] <= 0x20 || b[i] >= 0x7f)
			return (-1);
	if (blen > 0 && b[blen - 1] == '.')
		return (-1);
	if (blen == 0)
		return (1);
	if (hlen < blen || strncasecmp(host + hlen - blen, b, blen) != 0)
		return (0);
	if (hlen == blen)
		return (b[0] != '.');
	return (b[0] == '.' || host[hlen - blen - 1] == '.');
}

/* Append one subtree to a message's list, "..." once it is full. */
static void
ca_names_list(char *list, size_t len, const GENERAL_NAME *base)
{
	const ASN1_IA5STRING	*dns = base->d.dNSName;
	char			 dn[CA_NAMES_LIST];
	size_t			 used = strlen(list);
	int			 n;

	if (used + 4 >= len)
		return;
	if (base->type == GEN_DIRNAME)
		n = snprintf(list + used, len - used, "%s%s", used > 0 ?
		    ", " : "", X509_NAME_oneline(base->d.directoryName, dn,
		    sizeof(dn)) != NULL ? dn : "?");
	else
		n = snprintf(list + used, len - used, "%s%.*s", used > 0 ?
		    ", " : "", ASN1_STRING_length(dns),
		    (const char *)ASN1_STRING_get0_data(dns));
	if (n < 0 || (size_t)n >= len - used)
		(void)strlcpy(list + len - 4, "...", 4);
}

/*
 * Is the leaf within the subtree base, of type GEN_DNS or GEN_DIRNAME?
 * OpenSSL holds a subject within a directoryName when the base's RDNs
 * begin it; the leaf's has one RDN, so only an empty base or that very
 * name holds it (X509_NAME_cmp() compares the canonical, case-folded
 * forms, as the check does).  -1: a base that is not a name.
 */
static int
ca_names_base(const char *host, X509_NAME *subject, const GENERAL_NAME *base)
{
	if (base->type == GEN_DNS)
		return (ca_names_within(host, base->d.dNSName));
	return (X509_NAME_entry_count(base->d.directoryName) == 0 ||
	    X509_NAME_cmp(subject, base->d.directoryName) == 0);
}

/*
 * One subtree list, its entries of one type: *hit 1 if the leaf is within
 * one of them (its name in which), *any 1 if there is one of the type.
 */
static int
ca_names_scan(const char *host, X509_NAME *subject,
    STACK_OF(GENERAL_SUBTREE) *trees, int type, int *any, int *hit,
    char *which, size_t len)
{
	GENERAL_SUBTREE	*t;
	int		 i, r;

	*any = *hit = 0;
	for (i = 0; i < sk_GENERAL_SUBTREE_num(trees); i++) {
		t = sk_GENERAL_SUBTREE_value(trees, i);
		if (t->base->type != type)
			continue;
		*any = 1;
		if ((r = ca_names_base(host, subject, t->base)) == -1)
			return (-1);
		if (!*hit)
			ca_names_list(which, len, t->base);
		if (r == 1) {
			*which = '\0';
			ca_names_list(which, len, t->base);
			*hit = 1;
			return (0);
		}
	}
	return (0);
}

/*
 * The subtrees of one type, excluded then permitted: 0 the leaf may
 * be signed, -1 with err set.
 */
static int
ca_names_type(NAME_CONSTRAINTS *nc, int type, const char *host,
    X509_NAME *subject, const char *what, char *err, size_t errlen)
{
	const char	*kind = type == GEN_DNS ? "DNS" : "directory names";
	char		 which[CA_NAMES_LIST];
	int		 any, hit;

	which[0] = '\0';
	if (ca_names_scan(host, subject, nc->excludedSubtrees, type, &any,
	    &hit, which, sizeof(which)) == -1)
		goto bad;
	if (hit) {
		(void)snprintf(err, errlen, "provider host %s is excluded by "
		    "the name constraints of %s (excluded %s: %s): clients "
		    "would refuse its certificates", host, what, kind, which);
		return (-1);
	}
	which[0] = '\0';
	if (ca_names_scan(host, subject, nc->permittedSubtrees, type, &any,
	    &hit, which, sizeof(which)) == -1)
		goto bad;
	if (any && !hit) {
		(void)snprintf(err, errlen, "provider host %s is outside the "
		    "name constraints of %s (permitted %s: %s): clients "
		    "would refuse its certificates", host, what, kind, which);
		return (-1);
	}
	return (0);
 bad:
	(void)snprintf(err, errlen, "name constraints of %s hold a DNS "
	    "name that is not one", what);
	return (-1);
}

/* Does cert, index'th in the CA file, let the CA sign for host? */
static int
ca_names_cert(X509 *cert, int index, const char *host, X509_NAME *subject,
    char *err, size_t errlen)
{
	NAME_CONSTRAINTS	*nc;
	char			 what[40];
	int			 crit, rv;

	if (index == 0)
		(void)strlcpy(what, "the CA certificate", sizeof(what));
	else
		(void)snprintf(what, sizeof(what), "certificate %d of the "
		    "CA file", index + 1);
	if ((nc = X509_get_ext_d2i(cert, NID_name_constraints, &crit,
	    NULL)) == NULL) {
		if (crit == -1)
			return (0);	/* none */
		(void)snprintf(err, errlen, "name constraints of %s do not "
		    "parse", what);
		return (-1);
	}
	rv = ca_names_type(nc, GEN_DNS, host, subject, what, err, errlen);
	/* An empty subject is not checked against directory names. */
	if (rv == 0 && X509_NAME_entry_count(subject) > 0)
		rv = ca_names_type(nc, GEN_DIRNAME, host, subject, what, err,
		    errlen);
	NAME_CONSTRAINTS_free(nc);
	return (rv);
}

int
ca_names_check(const struct ca *ca, const char *host, char *err,
    size_t errlen)
{
	X509_NAME	*subject;
	int		 i, rv = 0;

	if ((subject = X509_NAME_new()) == NULL ||
	    ca_leaf_subject(subject, host) == -1) {
		X509_NAME_free(subject);
		(void)snprintf(err, errlen, "out of memory");
		return (-1);
	}
	for (i = 0; rv == 0 && i < sk_X509_num(ca->certs); i++)
		rv = ca_names_cert(sk_X509_value(ca->certs, i), i, host,
		    subject, err, errlen);
	X509_NAME_free(subject);
	return (rv);
}
