/*
 * The configuration as a worker holds it: built from the parent's
 * IMSG_CFG_* messages, checked before it is acknowledged, and shared by
 * reference with the sessions that started under it.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "keypair.h"
#include "log.h"
#include "pconf.h"
#include "pem.h"
#include "setup.h"

static void
proxy_listener_free(struct plistener *l)
{
	if (l->fd != -1)
		close(l->fd);
	freezero(l->cert, l->certlen + 1);
	freezero(l->key, l->keylen + 1);
	tls_free(l->tls);
}

static void
proxy_conf_free(struct proxy_conf *pc)
{
	int	 i;

	if (pc == NULL)
		return;
	for (i = 0; i < pc->nlisteners; i++)
		proxy_listener_free(&pc->listeners[i]);
	free(pc->providers);
	free(pc->cidrs);
	free(pc->egress);
	free(pc->bridge_ca);
	free(pc->upstream_ca);
	free(pc->ca_cert);
	if (pc->dumpfd != -1)
		close(pc->dumpfd);
	explicit_bzero(&pc->upstream, sizeof(pc->upstream));
	free(pc);
}

const struct provider_config *
proxy_provider(const struct proxy_conf *pc, const char *host)
{
	int	 i;

	for (i = 0; i < pc->nproviders; i++)
		if (strcmp(pc->providers[i].pc_host, host) == 0)
			return (&pc->providers[i]);
	return (NULL);
}

void
proxy_conf_ref(struct proxy_conf *pc)
{
	pc->refcnt++;
}

void
proxy_conf_unref(struct proxy_conf *pc)
{
	if (--pc->refcnt == 0)
		proxy_conf_free(pc);
}

struct proxy_conf *
proxy_conf_new(void)
{
	struct proxy_conf	*pc;

	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		fatal("%s", __func__);
	pc->refcnt = 1;
	pc->dumpfd = -1;
	return (pc);
}

static int
proxy_take_file(struct imsg *imsg, size_t max, uint8_t **buf, size_t *len)
{
	int	 fd;

	if (imsg->datalen != 0 || (fd = imsg_get_fd(imsg)) == -1)
		return (-1);
	free(*buf);
	*buf = NULL;
	if (file_read_fd(fd, max, buf, len) == -1) {
		log_warn("%s: reading a configured file", __func__);
		*len = 0;
		return (0);	/* refused when the config is checked */
	}
	return (0);
}

static int
proxy_cfg_listen(struct proxy_conf *pc, struct imsg *imsg)
{
	struct plistener	*l;

	if (pc->nlisteners >= PROXY_LISTEN_MAX)
		return (-1);
	l = &pc->listeners[pc->nlisteners];
	if (imsg_get_data(imsg, &l->lc, sizeof(l->lc)) == -1 ||
	    (l->fd = imsg_get_fd(imsg)) == -1)
		return (-1);
	l->lc.lc_name[sizeof(l->lc.lc_name) - 1] = '\0';
	if (l->lc.lc_index != pc->nlisteners || l->lc.lc_nproxy_from < 0 ||
	    l->lc.lc_nproxy_from > AIB_PROXY_FROM_MAX) {
		close(l->fd);
		l->fd = -1;
		return (-1);
	}
	l->conf = pc;
	pc->nlisteners++;
	return (0);
}

static int
proxy_cfg_listen_file(struct proxy_conf *pc, struct imsg *imsg, int key)
{
	struct plistener	*l;
	uint32_t		 i = imsg->hdr.peerid;

	if (i >= (uint32_t)pc->nlisteners)
		return (-1);
	l = &pc->listeners[i];
	if (key)
		return (proxy_take_file(imsg, PROXY_PEM_MAX, &l->key,
		    &l->keylen));
	return (proxy_take_file(imsg, PROXY_PEM_MAX, &l->cert, &l->certlen));
}

/* Append one fixed-size item to a growing array. */
static int
proxy_append(struct imsg *imsg, void **arr, int *n, size_t size, int max)
{
	void	*na;

	if (*n >= max || imsg->datalen != size)
		return (-1);
	if ((na = reallocarray(*arr, *n + 1, size)) == NULL)
		fatal("%s", __func__);
	*arr = na;
	memcpy((char *)na + *n * size, imsg->data, size);
	(*n)++;
	return (0);
}

/* A pattern the matcher can trust: a string that ends, a known kind. */
static int
proxy_cfg_egress(struct proxy_conf *pc, struct imsg *imsg)
{
	struct egress_config	*eg;

	if (proxy_append(imsg, (void **)&pc->egress, &pc->negress,
	    sizeof(*eg), 2 * AIB_EGRESS_MAX) == -1)
		return (-1);
	eg = &pc->egress[pc->negress - 1];
	if (memchr(eg->eg_pattern, '\0', sizeof(eg->eg_pattern)) == NULL)
		return (-1);
	switch (eg->eg_kind) {
	case EGRESS_NAME:
		return (0);
	case EGRESS_DOMAIN:
		return (strncmp(eg->eg_pattern, "*.", 2) == 0 ? 0 : -1);
	case EGRESS_ADDR:
		return (eg->eg_af == AF_INET || eg->eg_af == AF_INET6 ? 0 : -1);
	}
	return (-1);
}

static int
proxy_has_cert(const uint8_t *pem, size_t len)
{
	const char	*p;
	size_t		 n;

	return (pem != NULL && pem_trust_anchor((const char *)pem, len, &p,
	    &n) == 0);
}

/* Everything a worker can find wrong with a configuration it got. */
int
proxy_conf_check(struct proxy_conf *pc, char *why, size_t len)
{
	struct plistener	*l;
	struct tls_config	*tc = NULL;
	enum keypair_part	 part;
	char			 kwhy[128];
	int			 i;

	if (pc->ca_certlen == 0)
		return (snprintf(why, len, "ca.cert: empty or unreadable"), -1);
	if (setup_fingerprint(pc->ca_cert, pc->ca_certlen, pc->ca_fpr,
	    sizeof(pc->ca_fpr)) == -1)
		return (snprintf(why, len, "ca.cert: no certificate a client "
		    "can be given"), -1);
	if (!proxy_has_cert(pc->bridge_ca, pc->bridge_calen))
		return (snprintf(why, len, "bridge.ca: no certificate in it"),
		    -1);
	if (pc->upstream_ca != NULL &&
	    !proxy_has_cert(pc->upstream_ca, pc->upstream_calen))
		return (snprintf(why, len, "upstream.ca: no certificate in "
		    "it"), -1);
	for (i = 0; i < pc->nlisteners; i++) {
		l = &pc->listeners[i];
		if (!l->lc.lc_tls)
			continue;
		/* Which part is wrong, where libtls would not say. */
		if (keypair_check(l->cert, l->certlen, l->key, l->keylen,
		    &part, kwhy, sizeof(kwhy)) == -1)
			return (snprintf(why, len, "listen %s: tls.%s: %s",
			    l->lc.lc_name, part == KEYPAIR_CERT ? "cert" :
			    "key", kwhy), -1);
		if ((tc = tls_config_new()) == NULL ||
		    (l->tls = tls_server()) == NULL)
			fatal("%s", __func__);
		if (tls_config_set_keypair_mem(tc, l->cert, l->certlen,
		    l->key, l->keylen) == -1 || tls_configure(l->tls, tc) ==
		    -1) {
			snprintf(why, len, "listen %s: tls: %s", l->lc.lc_name,
			    tls_config_error(tc) ? tls_config_error(tc) :
			    tls_error(l->tls));
			tls_config_free(tc);
			return (-1);
		}
		tls_config_clear_keys(tc);
		tls_config_free(tc);
		freezero(l->key, l->keylen + 1);
		l->key = NULL;
	}
	return (0);
}

int
proxy_conf_dispatch(struct proxy_conf *pc, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_CFG_GLOBAL:
		return (imsg_get_data(imsg, &pc->gc, sizeof(pc->gc)));
	case IMSG_CFG_LISTEN:
		return (proxy_cfg_listen(pc, imsg));
	case IMSG_CFG_LISTEN_CERT:
		return (proxy_cfg_listen_file(pc, imsg, 0));
	case IMSG_CFG_LISTEN_KEY:
		return (proxy_cfg_listen_file(pc, imsg, 1));
	case IMSG_CFG_PROVIDER:
		return (proxy_append(imsg, (void **)&pc->providers,
		    &pc->nproviders, sizeof(struct provider_config), 1024));
	case IMSG_CFG_CIDR:
		return (proxy_append(imsg, (void **)&pc->cidrs, &pc->ncidrs,
		    sizeof(struct cidr_config), 65536));
	case IMSG_CFG_EGRESS:
		return (proxy_cfg_egress(pc, imsg));
	case IMSG_CFG_BRIDGE:
		return (imsg_get_data(imsg, &pc->bridge, sizeof(pc->bridge)));
	case IMSG_CFG_AUTH:
		if (imsg_get_data(imsg, &pc->auth, sizeof(pc->auth)) == -1)
			return (-1);
		pc->auth.ac_path[sizeof(pc->auth.ac_path) - 1] = '\0';
		return (0);
	case IMSG_CFG_BRIDGE_CA:
		return (proxy_take_file(imsg, PROXY_BUNDLE_MAX,
		    &pc->bridge_ca, &pc->bridge_calen));
	case IMSG_CFG_UPSTREAM:
		return (imsg_get_data(imsg, &pc->upstream,
		    sizeof(pc->upstream)));
	case IMSG_CFG_UPSTREAM_CA:
		return (proxy_take_file(imsg, PROXY_BUNDLE_MAX,
		    &pc->upstream_ca, &pc->upstream_calen));
	case IMSG_CFG_DUMPDIR:
		if (imsg->datalen != 0 || pc->dumpfd != -1 ||
		    (pc->dumpfd = imsg_get_fd(imsg)) == -1)
			return (-1);
		return (0);
	case IMSG_CFG_CA_CERT:
		/* Certificates only, as data: see parent_ca_certs(). */
		if (imsg->datalen == 0 || imsg->datalen > PROXY_PEM_MAX)
			return (-1);
		free(pc->ca_cert);
		if ((pc->ca_cert = malloc(imsg->datalen)) == NULL)
			fatal("%s", __func__);
		memcpy(pc->ca_cert, imsg->data, imsg->datalen);
		pc->ca_certlen = imsg->datalen;
		return (0);
	default:
		return (-1);
	}
}
