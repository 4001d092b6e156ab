#include <openssl/err.h>

#include "cryptoerr.h"

const char *
crypto_why(void)
{
	const char	*why;

	why = ERR_reason_error_string(ERR_peek_last_error());
	return (why != NULL ? why : "unknown error");
}
