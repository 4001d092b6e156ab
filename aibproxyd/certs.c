#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certs.h"
#include "cryptoerr.h"
#include "log.h"
#include "worker.h"

/* Ask for a new certificate once two thirds of the lifetime are gone. */
#define RENEW_FRACTION	3
/* Never hand out a leaf that expires sooner than this. */
#define MIN_VALIDITY	60

struct cert_waiter {
	TAILQ_ENTRY(cert_waiter)	 entry;
	struct leaf			*leaf;
	cert_cb				 cb;
	void				*arg;
};
TAILQ_HEAD(cert_waiters, cert_waiter);

struct leaf {
	RB_ENTRY(leaf)		 entry;
	char			 host[AIB_HOSTNAME_MAX + 1];
	struct tls		*ctx;		/* NULL until signed */
	time_t			 notbefore;	/* when we asked */
	time_t			 notafter;
	uint32_t		 reqid;		/* outstanding request, or 0 */
	int			 refcnt;	/* tree + conns */
	int			 intree;
	struct cert_waiters	 waiters;
};

static int
leaf_cmp(struct leaf *a, struct leaf *b)
{
	return (strcmp(a->host, b->host));
}

RB_HEAD(leaf_tree, leaf) leaves = RB_INITIALIZER(&leaves);
RB_PROTOTYPE_STATIC(leaf_tree, leaf, entry, leaf_cmp)
RB_GENERATE_STATIC(leaf_tree, leaf, entry, leaf_cmp)

static struct {
	char		*keypem;	/* the worker's leaf private key */
	size_t		 keypemlen;
	uint8_t		*spki;
	size_t		 spkilen;
	uint32_t	 nextid;
} ck;

static void
certs_newkey(void)
{
	EVP_PKEY_CTX	*kctx;
	EVP_PKEY	*pkey = NULL;
	BIO		*bio;
	char		*p;
	long		 n;
	int		 len;
	unsigned char	*q;

	if ((kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(kctx) <= 0 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kctx,
	    NID_X9_62_prime256v1) <= 0 || EVP_PKEY_keygen(kctx, &pkey) <= 0)
		fatalx("%s: cannot generate the leaf key: %s", __func__,
		    crypto_why());
	EVP_PKEY_CTX_free(kctx);

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL))
		fatalx("%s: PEM_write_bio_PrivateKey: %s", __func__,
		    crypto_why());
	n = BIO_get_mem_data(bio, &p);
	freezero(ck.keypem, ck.keypemlen);
	if ((ck.keypem = malloc(n)) == NULL)
		fatal("%s", __func__);
	memcpy(ck.keypem, p, n);
	ck.keypemlen = n;
	BIO_free(bio);	/* BIO_s_mem clears its buffer on free */

	free(ck.spki);
	if ((len = i2d_PUBKEY(pkey, NULL)) <= 0 || len > AIB_SPKI_MAX)
		fatalx("%s: i2d_PUBKEY: %s", __func__, len <= 0 ?
		    crypto_why() : "longer than AIB_SPKI_MAX");
	if ((ck.spki = malloc(len)) == NULL)
		fatal("%s", __func__);
	q = ck.spki;
	ck.spkilen = i2d_PUBKEY(pkey, &q);
	EVP_PKEY_free(pkey);
}

static void
leaf_fail_waiters(struct leaf *l, const char *why)
{
	struct cert_waiter	*w;

	while ((w = TAILQ_FIRST(&l->waiters)) != NULL) {
		TAILQ_REMOVE(&l->waiters, w, entry);
		w->cb(w->arg, NULL, why);
		free(w);
	}
}

static void
leaf_remove(struct leaf *l)
{
	if (!l->intree)
		return;
	RB_REMOVE(leaf_tree, &leaves, l);
	l->intree = 0;
	leaf_fail_waiters(l, "certificate cache reset");
	leaf_unref(l);
}

static struct leaf *
leaf_new(const char *host)
{
	struct leaf	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return (NULL);
	strlcpy(l->host, host, sizeof(l->host));
	TAILQ_INIT(&l->waiters);
	l->refcnt = 1;
	return (l);
}

static void	leaf_request(struct leaf *);

/* The worker: its signerd channel and its counters. */
static struct proxy	*certs_px;

/*
 * A new key and an empty cache.  Connections waiting for a certificate
 * are not failed by a reload: they wait for one under the new key.
 */
void
certs_reset(struct proxy *px)
{
	certs_px = px;
	struct leaf		*l, *next, *fresh;
	struct cert_waiter	*w;
	TAILQ_HEAD(, leaf_move)	 moved;
	struct leaf_move {
		TAILQ_ENTRY(leaf_move)	 entry;
		struct leaf		*leaf;
	}			*mv;

	TAILQ_INIT(&moved);
	RB_FOREACH_SAFE(l, leaf_tree, &leaves, next) {
		if (!TAILQ_EMPTY(&l->waiters) &&
		    (fresh = leaf_new(l->host)) != NULL &&
		    (mv = calloc(1, sizeof(*mv))) != NULL) {
			TAILQ_CONCAT(&fresh->waiters, &l->waiters, entry);
			TAILQ_FOREACH(w, &fresh->waiters, entry)
				w->leaf = fresh;
			mv->leaf = fresh;
			TAILQ_INSERT_TAIL(&moved, mv, entry);
		}
		leaf_remove(l);
	}
	certs_newkey();
	while ((mv = TAILQ_FIRST(&moved)) != NULL) {
		TAILQ_REMOVE(&moved, mv, entry);
		mv->leaf->intree = 1;
		RB_INSERT(leaf_tree, &leaves, mv->leaf);
		leaf_request(mv->leaf);
		free(mv);
	}
}

struct tls *
leaf_tls(struct leaf *l)
{
	return (l->ctx);
}

void
leaf_unref(struct leaf *l)
{
	if (--l->refcnt > 0)
		return;
	tls_free(l->ctx);
	free(l);
}

static void
leaf_request(struct leaf *l)
{
	struct cert_req	 req;

	memset(&req, 0, sizeof(req));
	strlcpy(req.cr_host, l->host, sizeof(req.cr_host));
	req.cr_spkilen = ck.spkilen;
	if (++ck.nextid == 0)
		ck.nextid = 1;
	l->reqid = ck.nextid;
	l->notbefore = time(NULL);
	imsgev_compose2(&certs_px->signer, IMSG_CERT_REQ, l->reqid, -1, &req,
	    sizeof(req), ck.spki, ck.spkilen);
	log_debug("%s: asked signer for %s", __func__, l->host);
}

static int
leaf_fresh(const struct leaf *l, time_t now)
{
	return (l->ctx != NULL && l->notafter - MIN_VALIDITY > now);
}

static int
leaf_due(const struct leaf *l, time_t now)
{
	time_t	 life = l->notafter - l->notbefore;

	return (l->reqid == 0 && now > l->notafter - life / RENEW_FRACTION);
}

struct leaf *
certs_get(const char *host, cert_cb cb, void *arg, struct cert_waiter **wp)
{
	struct leaf		 key, *l;
	struct cert_waiter	*w;
	time_t			 now = time(NULL);

	*wp = NULL;
	strlcpy(key.host, host, sizeof(key.host));
	if ((l = RB_FIND(leaf_tree, &leaves, &key)) == NULL) {
		if ((l = leaf_new(host)) == NULL)
			return (NULL);
		l->intree = 1;
		RB_INSERT(leaf_tree, &leaves, l);
	}
	if (leaf_fresh(l, now)) {
		if (leaf_due(l, now))
			leaf_request(l);	/* renew in the background */
		l->refcnt++;
		return (l);
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return (NULL);
	w->leaf = l;
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&l->waiters, w, entry);
	if (l->reqid == 0)
		leaf_request(l);
	*wp = w;
	return (NULL);
}

void
certs_cancel(struct cert_waiter *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(&w->leaf->waiters, w, entry);
	free(w);
}

static struct tls *
certs_server(const uint8_t *pem, size_t pemlen, const char **why)
{
	struct tls_config	*cfg;
	struct tls		*ctx = NULL;

	if ((cfg = tls_config_new()) == NULL)
		return (NULL);
	if (tls_config_set_keypair_mem(cfg, pem, pemlen,
	    (const uint8_t *)ck.keypem, ck.keypemlen) == -1 ||
	    tls_config_set_alpn(cfg, "http/1.1") == -1) {
		*why = tls_config_error(cfg);
		goto done;
	}
	if ((ctx = tls_server()) == NULL)
		goto done;
	if (tls_configure(ctx, cfg) == -1) {
		*why = tls_error(ctx);
		tls_free(ctx);
		ctx = NULL;
	}
 done:
	tls_config_clear_keys(cfg);
	tls_config_free(cfg);
	return (ctx);
}

static struct leaf *
certs_byreq(uint32_t id)
{
	struct leaf	*l;

	RB_FOREACH(l, leaf_tree, &leaves)
		if (l->reqid == id)
			return (l);
	return (NULL);
}

static void
leaf_installed(struct leaf *l)
{
	struct cert_waiter	*w;

	while ((w = TAILQ_FIRST(&l->waiters)) != NULL) {
		TAILQ_REMOVE(&l->waiters, w, entry);
		l->refcnt++;
		w->cb(w->arg, l, NULL);
		free(w);
	}
}

int
certs_dispatch(struct imsg *imsg)
{
	struct cert_res	 res;
	struct leaf	*l;
	struct tls	*ctx;
	const char	*why = "cannot configure TLS";

	if (imsg->datalen < sizeof(res))
		return (-1);
	memcpy(&res, imsg->data, sizeof(res));
	res.cs_reason[sizeof(res.cs_reason) - 1] = '\0';
	if ((l = certs_byreq(imsg->hdr.peerid)) == NULL)
		return (0);	/* the cache was reset since */
	l->reqid = 0;
	if (!res.cs_ok) {
		log_warnx("signer refused a certificate for %s: %s", l->host,
		    res.cs_reason);
		certs_px->stats.st_certs_refused++;
		leaf_fail_waiters(l, res.cs_reason);
		return (0);
	}
	ctx = certs_server((uint8_t *)imsg->data + sizeof(res),
	    imsg->datalen - sizeof(res), &why);
	if (ctx == NULL) {
		log_warnx("certificate for %s: %s", l->host, why);
		leaf_fail_waiters(l, why);
		return (0);
	}
	/* Connections still using the old context hold their own copy. */
	if (l->ctx != NULL && l->refcnt > 1) {
		struct leaf	*fresh;

		RB_REMOVE(leaf_tree, &leaves, l);
		l->intree = 0;
		if ((fresh = calloc(1, sizeof(*fresh))) == NULL)
			fatal("%s", __func__);
		*fresh = *l;
		TAILQ_INIT(&fresh->waiters);
		TAILQ_CONCAT(&fresh->waiters, &l->waiters, entry);
		fresh->intree = 1;
		fresh->refcnt = 1;
		RB_INSERT(leaf_tree, &leaves, fresh);
		leaf_unref(l);	/* the tree's reference */
		l = fresh;
	} else
		tls_free(l->ctx);
	l->ctx = ctx;
	l->notafter = res.cs_notafter;
	certs_px->stats.st_certs_issued++;
	log_debug("%s: certificate for %s until %lld", __func__, l->host,
	    (long long)l->notafter);
	leaf_installed(l);
	return (0);
}
