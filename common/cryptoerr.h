/*
 * Why a libcrypto call failed, in its own words, for a log line or a
 * refusal sent to the parent.
 */
#ifndef AIB_CRYPTOERR_H
#define AIB_CRYPTOERR_H

/*
 * The reason of the last error on this thread's OpenSSL error queue
 * (ERR_reason_error_string(3)), or "unknown error" if it holds none.
 * The queue is left as it is.
 */
const char	*crypto_why(void);

#endif /* AIB_CRYPTOERR_H */
