/*
 * The PROXY protocol header a load balancer puts before a client's
 * bytes (HAProxy's proxy-protocol.txt, versions 1 and 2): who the
 * client was, since the connection we accepted comes from the
 * balancer.  A pure parser over a byte buffer, so it can be tested
 * and fuzzed alone.
 */
#ifndef AIB_PROXYPROTO_H
#define AIB_PROXYPROTO_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/* Version 1: one text line, at most 107 bytes with its CRLF (2.1). */
#define PROXYPROTO_V1_MAX	107
/* Version 2: 16 fixed bytes, then addresses and TLVs. */
#define PROXYPROTO_V2_HEAD	16
/*
 * What we take after the fixed part.  The spec allows 65535; the
 * addresses and the TLVs balancers send (ALPN, authority, unique id,
 * TLS details, cloud endpoint ids) fit many times in this.
 */
#define PROXYPROTO_V2_BODY_MAX	4096

enum proxyproto_result {
	PROXYPROTO_MORE,	/* a header so far: read more */
	PROXYPROTO_BAD,		/* not one: pp_why says why */
	PROXYPROTO_DONE		/* pp_size bytes are the header */
};

struct proxyproto {
	int			 pp_version;	/* 1 or 2 */
	/*
	 * No client address: a v2 LOCAL (the balancer's own health
	 * check), v1 UNKNOWN, or a v2 UNSPEC or UNIX family.  The
	 * connection's own peer stands.
	 */
	int			 pp_local;
	struct sockaddr_storage	 pp_src;	/* the client */
	struct sockaddr_storage	 pp_dst;	/* the address it reached */
	size_t			 pp_size;	/* DONE: header bytes */
	int			 pp_missing;	/* BAD: no header at all */
	const char		*pp_why;	/* BAD: static text */
};

/*
 * Parse the header at the start of len bytes.  Only the header is
 * read: bytes after pp_size belong to the next protocol.  A result of
 * MORE on a prefix means the bytes so far could still begin a header;
 * BAD on a prefix stays BAD however many bytes follow.
 */
enum proxyproto_result	 proxyproto_parse(const uint8_t *, size_t,
			    struct proxyproto *);

#endif /* AIB_PROXYPROTO_H */
