#include <string.h>
#include <time.h>

#include <openssl/asn1.h>

#include "asn1time.h"

int
asn1_time_epoch(const ASN1_TIME *at, time_t *t)
{
	struct tm	 tm;
	time_t		 secs;

	memset(&tm, 0, sizeof(tm));
	/* ASN1_TIME_to_tm(3) reads both UTCTime and GeneralizedTime. */
	if (at == NULL || ASN1_TIME_to_tm(at, &tm) != 1 ||
	    (secs = timegm(&tm)) == (time_t)-1)
		return (-1);
	*t = secs;
	return (0);
}
