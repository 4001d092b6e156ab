/*
 * An ASN.1 time (a certificate's notBefore or notAfter, RFC 5280
 * 4.1.2.5) as seconds since the Epoch, for the parent's expiry gauge
 * and signerd's checks of its CA alike.
 */
#ifndef AIB_ASN1TIME_H
#define AIB_ASN1TIME_H

#include <time.h>

#include <openssl/asn1.h>

/* 0 and *t set, or -1 if t is NULL or does not parse. */
int	 asn1_time_epoch(const ASN1_TIME *, time_t *);

#endif /* AIB_ASN1TIME_H */
