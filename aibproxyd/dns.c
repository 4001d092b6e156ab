/*
 * Name lookups, asked of the resolver process by id; see dns.h.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/tree.h>
#include <arpa/inet.h>

#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"

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

RB_HEAD(dns_tree, dns_pending);
RB_PROTOTYPE_STATIC(dns_tree, dns_pending, entry, dns_cmp)
RB_GENERATE_STATIC(dns_tree, dns_pending, entry, dns_cmp)

struct dns_client {
	struct imsgev		*resolver;
	struct dns_tree		 pending;
	uint32_t		 nextid;
};

struct dns_client *
dns_client_new(struct imsgev *resolver)
{
	struct dns_client	*dc;

	if ((dc = calloc(1, sizeof(*dc))) == NULL)
		fatal("%s", __func__);
	dc->resolver = resolver;
	RB_INIT(&dc->pending);
	return (dc);
}

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
dns_lookup(struct dns_client *dc, const char *host, dns_cb cb,
    void *arg)
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
	if (++dc->nextid == 0)
		dc->nextid = 1;
	d->id = dc->nextid;
	d->cb = cb;
	d->arg = arg;
	RB_INSERT(dns_tree, &dc->pending, d);
	imsgev_compose(dc->resolver, IMSG_DNS_REQ, d->id, -1, &req,
	    sizeof(req));
	return (d->id);
}

void
dns_cancel(struct dns_client *dc, uint32_t id)
{
	struct dns_pending	 key, *d;

	key.id = id;
	if ((d = RB_FIND(dns_tree, &dc->pending, &key)) != NULL) {
		RB_REMOVE(dns_tree, &dc->pending, d);
		free(d);
	}
}

const char *
dns_strerror(int error, const struct dns_res *res)
{
	if (error == EAI_SYSTEM && res != NULL && res->dn_errno != 0)
		return (strerror(res->dn_errno));
	return (gai_strerror(error));
}

int
dns_dispatch(struct dns_client *dc, uint32_t id,
    const struct dns_res *res)
{
	struct dns_pending	 key, *d;
	dns_cb			 cb;
	void			*arg;

	if (res->dn_naddrs < 0 || res->dn_naddrs > AIB_DNS_ADDRS_MAX)
		return (-1);
	key.id = id;
	if ((d = RB_FIND(dns_tree, &dc->pending, &key)) == NULL)
		return (0);	/* cancelled */
	RB_REMOVE(dns_tree, &dc->pending, d);
	cb = d->cb;
	arg = d->arg;
	free(d);
	cb(arg, res->dn_error, res);
	return (0);
}
