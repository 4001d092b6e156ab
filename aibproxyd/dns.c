#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"
#include "proxy.h"

struct dns_pending {
	RB_ENTRY(dns_pending)	 entry;
	uint32_t		 id;
	dns_cb			 cb;
	void			*arg;
};

static int
dns_cmp(struct dns_pending *a, struct dns_pending *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

RB_HEAD(dns_tree, dns_pending) dns_pendings = RB_INITIALIZER(&dns_pendings);
RB_PROTOTYPE_STATIC(dns_tree, dns_pending, entry, dns_cmp)
RB_GENERATE_STATIC(dns_tree, dns_pending, entry, dns_cmp)

static uint32_t	 dns_nextid;

int
dns_literal(const char *host, struct dns_res *res)
{
	memset(res, 0, sizeof(*res));
	if (inet_pton(AF_INET, host, res->dn_addrs[0].da_addr) == 1)
		res->dn_addrs[0].da_af = AF_INET;
	else if (inet_pton(AF_INET6, host, res->dn_addrs[0].da_addr) == 1)
		res->dn_addrs[0].da_af = AF_INET6;
	else
		return (-1);
	res->dn_naddrs = 1;
	return (0);
}

uint32_t
dns_lookup(const char *host, dns_cb cb, void *arg)
{
	struct dns_pending	*d;
	struct dns_req		 req;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return (0);
	memset(&req, 0, sizeof(req));
	if (strlcpy(req.dr_host, host, sizeof(req.dr_host)) >=
	    sizeof(req.dr_host)) {
		free(d);
		return (0);
	}
	/* 0 means "no lookup" to callers. */
	if (++dns_nextid == 0)
		dns_nextid = 1;
	d->id = dns_nextid;
	d->cb = cb;
	d->arg = arg;
	RB_INSERT(dns_tree, &dns_pendings, d);
	imsgev_compose(&proxy_env.resolver, IMSG_DNS_REQ, d->id, -1, &req,
	    sizeof(req));
	return (d->id);
}

void
dns_cancel(uint32_t id)
{
	struct dns_pending	 key, *d;

	key.id = id;
	if ((d = RB_FIND(dns_tree, &dns_pendings, &key)) != NULL) {
		RB_REMOVE(dns_tree, &dns_pendings, d);
		free(d);
	}
}

int
dns_dispatch(uint32_t id, const struct dns_res *res)
{
	struct dns_pending	 key, *d;
	dns_cb			 cb;
	void			*arg;

	if (res->dn_naddrs < 0 || res->dn_naddrs > AIB_DNS_ADDRS_MAX)
		return (-1);
	key.id = id;
	if ((d = RB_FIND(dns_tree, &dns_pendings, &key)) == NULL)
		return (0);	/* cancelled */
	RB_REMOVE(dns_tree, &dns_pendings, d);
	cb = d->cb;
	arg = d->arg;
	free(d);
	cb(arg, res->dn_error, res);
	return (0);
}

static void
addr_sockaddr(const struct dns_addr *a, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->da_af == AF_INET) {
		struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->da_addr, 4);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->da_addr, 16);
		*len = sizeof(*s6);
	}
}

int
addr_connect(const struct dns_res *addrs, int *i, int port)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, on = 1;

	for (; *i < addrs->dn_naddrs; (*i)++) {
		addr_sockaddr(&addrs->dn_addrs[*i], port, &ss, &len);
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			log_warn("%s: socket", __func__);
			continue;
		}
		/* Small writes (SSE events) must not wait for Nagle. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		if (connect(fd, (struct sockaddr *)&ss, len) == 0 ||
		    errno == EINPROGRESS)
			return (fd);
		close(fd);
	}
	return (-1);
}

int
addr_connected(int fd)
{
	int		 error = 0;
	socklen_t	 len = sizeof(error);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		return (errno);
	return (error == EALREADY ? EINPROGRESS : error);
}
