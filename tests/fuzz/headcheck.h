/*
 * Checks shared by the harnesses that produce or parse HTTP heads
 * (fuzz_http_request, fuzz_http_response, fuzz_rewrite).
 */
#ifndef AIB_FUZZ_HEADCHECK_H
#define AIB_FUZZ_HEADCHECK_H

#include <stddef.h>

#include "http.h"

/*
 * What any complete head promises about the input it came from
 * (buf, len) and about its own fields.
 */
void	 head_check(const struct http_head *, const char *, size_t);
/*
 * The head written out again from its fields, in a malloc'd buffer:
 * what a parser that agrees with itself must read back unchanged.
 */
char	*head_write(const struct http_head *, int, size_t *);
/* Do two heads say the same thing? (request or status line, fields) */
int	 head_same(const struct http_head *, const struct http_head *);

#endif /* AIB_FUZZ_HEADCHECK_H */
