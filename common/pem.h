#ifndef AIB_PEM_H
#define AIB_PEM_H

#include <stddef.h>

/*
 * The certificate a client must trust, from a PEM file that may hold a
 * chain (leaf-most first, root last) and other blocks such as a key:
 * the last CERTIFICATE block, verbatim with its END line and newline.
 * Returns 0 and points into the input, or -1 if there is none.
 */
int	 pem_trust_anchor(const char *, size_t, const char **, size_t *);

/*
 * Only the CERTIFICATE blocks of a PEM file, concatenated, so that a
 * file that also holds a key never passes it on.  Returns the length
 * written to out (NUL-terminated), or -1 if none or out is too small.
 */
long	 pem_certificates(const char *, size_t, char *, size_t);

#endif /* AIB_PEM_H */
