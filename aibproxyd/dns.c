/*
 * Name lookups, asked of the resolver process by id; see dns.h.
 */
#include <sys/types.h>
#include <sys/queue.h>
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
	char			 host[AIB_HOSTNAME_MAX + 1];
};

static int
dns_cmp(struct dns_pending *a, struct dns_pending *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

RB_HEAD(dns_tree, dns_pending);
RB_PROTOTYPE_STATIC(dns_tree, dns_pending, entry, dns_cmp)
RB_GENERATE_STATIC(dns_tree, dns_pending, entry, dns_cmp)

/* A kept answer, found by name, dropped oldest first. */
struct dns_entry {
	RB_ENTRY(dns_entry)	 byname;
	TAILQ_ENTRY(dns_entry)	 age;
	double			 expires;
	char			 host[AIB_HOSTNAME_MAX + 1];
	int			 naddrs;
	struct dns_addr		 addrs[AIB_DNS_ADDRS_MAX];
};

static int
dns_entry_cmp(struct dns_entry *a, struct dns_entry *b)
{
	return (strcmp(a->host, b->host));
}

RB_HEAD(dns_names, dns_entry);
RB_PROTOTYPE_STATIC(dns_names, dns_entry, byname, dns_entry_cmp)
RB_GENERATE_STATIC(dns_names, dns_entry, byname, dns_entry_cmp)

struct dns_client {
	struct imsgev		*resolver;
	struct dns_tree		 pending;
	uint32_t		 nextid;
	double			(*now)(void *);
	void			*clock;
	struct dns_names	 names;
	TAILQ_HEAD(, dns_entry)	 ages;		/* oldest first */
	int			 nnames;
};

struct dns_client *
dns_client_new(struct imsgev *resolver, double (*now)(void *), void *clock)
{
	struct dns_client	*dc;

	if ((dc = calloc(1, sizeof(*dc))) == NULL)
		fatal("%s", __func__);
	dc->resolver = resolver;
	dc->now = now;
	dc->clock = clock;
	RB_INIT(&dc->pending);
	RB_INIT(&dc->names);
	TAILQ_INIT(&dc->ages);
	return (dc);
}

static void
dns_entry_drop(struct dns_client *dc, struct dns_entry *e)
{
	RB_REMOVE(dns_names, &dc->names, e);
	TAILQ_REMOVE(&dc->ages, e, age);
	dc->nnames--;
	free(e);
}

/* Every entry lives as long: the expired ones are the oldest. */
static void
dns_expire(struct dns_client *dc, double now)
{
	struct dns_entry	*e;

	while ((e = TAILQ_FIRST(&dc->ages)) != NULL && e->expires <= now)
		dns_entry_drop(dc, e);
}

void
dns_cache_clear(struct dns_client *dc)
{
	struct dns_entry	*e;

	while ((e = TAILQ_FIRST(&dc->ages)) != NULL)
		dns_entry_drop(dc, e);
}

int
dns_cached(struct dns_client *dc, const char *host, struct dns_res *res)
{
	struct dns_entry	 key, *e;

	dns_expire(dc, dc->now(dc->clock));
	if (strlcpy(key.host, host, sizeof(key.host)) >= sizeof(key.host) ||
	    (e = RB_FIND(dns_names, &dc->names, &key)) == NULL)
		return (-1);
	memset(res, 0, sizeof(*res));
	res->dn_naddrs = e->naddrs;
	memcpy(res->dn_addrs, e->addrs, e->naddrs * sizeof(e->addrs[0]));
	return (0);
}

/* Keep an answer with addresses; a newer one for the name replaces it. */
static void
dns_keep(struct dns_client *dc, const char *host, const struct dns_res *res)
{
	struct dns_entry	 key, *e;

	if (res->dn_error != 0 || res->dn_naddrs <= 0)
		return;
	(void)strlcpy(key.host, host, sizeof(key.host));
	if ((e = RB_FIND(dns_names, &dc->names, &key)) != NULL)
		dns_entry_drop(dc, e);
	if (dc->nnames >= DNS_CACHE_MAX)
		dns_entry_drop(dc, TAILQ_FIRST(&dc->ages));
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;		/* only a lost shortcut */
	(void)strlcpy(e->host, host, sizeof(e->host));
	e->expires = dc->now(dc->clock) + DNS_CACHE_TTL;
	e->naddrs = res->dn_naddrs;
	memcpy(e->addrs, res->dn_addrs, e->naddrs * sizeof(e->addrs[0]));
	RB_INSERT(dns_names, &dc->names, e);
	TAILQ_INSERT_TAIL(&dc->ages, e, age);
	dc->nnames++;
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
	(void)strlcpy(d->host, host, sizeof(d->host));
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
	dns_keep(dc, d->host, res);
	cb = d->cb;
	arg = d->arg;
	free(d);
	cb(arg, res->dn_error, res);
	return (0);
}
