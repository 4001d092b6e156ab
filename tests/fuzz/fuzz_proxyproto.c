/*
 * proxyproto_parse() on arbitrary bytes.  What it promises: a header
 * is never longer than the spec and our bound allow, nor longer than
 * the input; parsing exactly the header gives the same answer, and any
 * shorter prefix asks for more; an answer of "more" or "done" was
 * "more" one byte earlier, so a bad prefix never turns good; a client
 * address is IPv4 or IPv6 on both ends.  The input is copied to a
 * buffer of its exact size, so a read past it is AddressSanitizer's.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxyproto.h"

static void
check_done(const uint8_t *p, size_t len, const struct proxyproto *pp)
{
	struct proxyproto	 again;
	int			 af;

	FUZZ_ASSERT(pp->pp_size > 0 && pp->pp_size <= len);
	FUZZ_ASSERT(pp->pp_version == 1 || pp->pp_version == 2);
	if (pp->pp_version == 1)
		FUZZ_ASSERT(pp->pp_size <= PROXYPROTO_V1_MAX &&
		    p[pp->pp_size - 2] == '\r' && p[pp->pp_size - 1] == '\n');
	else
		FUZZ_ASSERT(pp->pp_size >= PROXYPROTO_V2_HEAD &&
		    pp->pp_size <= PROXYPROTO_V2_HEAD +
		    PROXYPROTO_V2_BODY_MAX);
	if (!pp->pp_local) {
		af = pp->pp_src.ss_family;
		FUZZ_ASSERT(af == AF_INET || af == AF_INET6);
		FUZZ_ASSERT(pp->pp_dst.ss_family == af);
	}
	/* Exactly the header: the same answer. */
	FUZZ_ASSERT(proxyproto_parse(p, pp->pp_size, &again) ==
	    PROXYPROTO_DONE);
	FUZZ_ASSERT(again.pp_size == pp->pp_size &&
	    again.pp_local == pp->pp_local &&
	    memcmp(&again.pp_src, &pp->pp_src, sizeof(again.pp_src)) == 0 &&
	    memcmp(&again.pp_dst, &pp->pp_dst, sizeof(again.pp_dst)) == 0);
	/* One byte short of it: more. */
	FUZZ_ASSERT(proxyproto_parse(p, pp->pp_size - 1, &again) ==
	    PROXYPROTO_MORE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyproto	 pp, prev;
	uint8_t			*p;
	int			 r, rprev;

	if ((p = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(p, data, size);
	r = proxyproto_parse(p, size, &pp);
	switch (r) {
	case PROXYPROTO_DONE:
		check_done(p, size, &pp);
		break;
	case PROXYPROTO_BAD:
		FUZZ_ASSERT(pp.pp_why != NULL);
		break;
	case PROXYPROTO_MORE:
		/* Never waiting for more than a header can hold. */
		FUZZ_ASSERT(size < PROXYPROTO_V2_HEAD +
		    PROXYPROTO_V2_BODY_MAX);
		break;
	default:
		FUZZ_ASSERT(!"an unknown result");
	}
	if (size > 0) {
		rprev = proxyproto_parse(p, size - 1, &prev);
		/* Bad stays bad; more and done were more before. */
		if (rprev == PROXYPROTO_BAD)
			FUZZ_ASSERT(r == PROXYPROTO_BAD);
		if (r != PROXYPROTO_BAD && !(r == PROXYPROTO_DONE &&
		    pp.pp_size < size))
			FUZZ_ASSERT(rprev == PROXYPROTO_MORE);
	}
	free(p);
	return (0);
}
