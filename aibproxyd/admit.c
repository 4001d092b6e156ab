/*
 * Admission: the proxy credentials of a CONNECT (or of a forwarded
 * request under auth.tunnels: token), checked with the bridge when
 * auth.validate is set, before the session becomes an interception or a
 * tunnel.  While the bridge is asked the session waits here, holding
 * the token and nothing else.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "auth.h"
#include "log.h"
#include "mitm.h"
#include "session.h"
#include "validate.h"

struct admit_wait {
	struct session		*s;
	char			 token[AUTH_TOKEN_MAX];
	struct provider_config	 pv;
	int			 intercept;	/* pv is meant */
	int			 forward;	/* fw is meant */
	struct tunnel_forward	 fw;
	struct validate_waiter	*w;
};

static void
admit_count(struct session *s, enum stats_auth which)
{
	s->px->stats.st_auth[which].sa_cache++;
}

int
admit_credentials(struct session *s, const struct http_head *h,
    char *token, size_t len)
{
	const char	*v = http_field_value(h, HF_PROXY_AUTHORIZATION);

	if (v != NULL && h->nfield[HF_PROXY_AUTHORIZATION] == 1 &&
	    auth_proxy_token(v, token, len) == 0) {
		auth_token_id(token, s->tokenid, sizeof(s->tokenid));
		return (0);
	}
	log_warnx("conn %llu %s: rejecting %s %s:%d: %s",
	    (unsigned long long)s->id, s->peer, h->method, s->host, s->port,
	    v == NULL ? "missing_credentials" : "invalid_credentials");
	s->px->stats.st_refused[REFUSED_AUTH]++;
	s->px->stats.st_407[v == NULL ? AUTH407_MISSING : AUTH407_MALFORMED]++;
	if (v == NULL)
		admit_count(s, STATS_AUTH_MISSING);
	else {
		admit_count(s, STATS_AUTH_INVALID);
		validator_failed(s->px->validator, s->addr);
	}
	session_reply(s, 407, "Proxy-Authenticate: Basic realm=\"aibproxyd\""
	    "\r\n", NULL);
	return (-1);
}

/* Admitted: the session becomes what was asked for. */
static void
admit_go(struct session *s, const char *token,
    const struct provider_config *pv, struct tunnel_forward *fw)
{
	if (pv != NULL)
		mitm_start(s, pv, token);
	else
		tunnel_start(s, fw);
}

/* Refused or not decidable: answer, and say why in the log. */
static void
admit_refuse(struct session *s, enum auth_result r)
{
	char	 hdr[64];

	if (r == AUTH_INVALID || r == AUTH_THROTTLED)
		s->px->stats.st_refused[REFUSED_AUTH]++;
	switch (r) {
	case AUTH_INVALID:
		s->px->stats.st_407[AUTH407_REFUSED]++;
		log_warnx("conn %llu %s: token %s refused by the bridge",
		    (unsigned long long)s->id, s->peer,
		    s->tokenid[0] ? s->tokenid : "-");
		session_reply(s, 407, "Proxy-Authenticate: Basic realm="
		    "\"aibproxyd\"\r\n", "proxy credentials refused\n");
		break;
	case AUTH_THROTTLED:
		log_warnx("conn %llu %s: too many failed credentials from %s",
		    (unsigned long long)s->id, s->peer, s->addr);
		/* When its window ends, not a whole window from now. */
		(void)snprintf(hdr, sizeof(hdr), "Retry-After: %u\r\n",
		    validator_retry_after(s->px->validator, s->addr));
		session_reply(s, 429, hdr, "too many failed proxy "
		    "credentials\n");
		break;
	default:
		log_warnx("conn %llu %s: the bridge cannot check token %s now",
		    (unsigned long long)s->id, s->peer,
		    s->tokenid[0] ? s->tokenid : "-");
		session_reply(s, 503, "Retry-After: 10\r\n", "proxy "
		    "credentials cannot be checked now\n");
		break;
	}
}

static void
admit_close(struct session *s)
{
	struct admit_wait	*aw = s->kind;

	validator_cancel(aw->w);
	if (aw->forward)
		buf_free(&aw->fw.head);
	explicit_bzero(aw, sizeof(*aw));
	free(aw);
}

static void
admit_timeout(struct session *s)
{
	admit_refuse(s, AUTH_UNAVAILABLE);
}

static const struct session_ops admit_ops = {
	.name = "admit",
	.timeout = admit_timeout,
	.close = admit_close,
};

static void
admit_answered(void *arg, enum auth_result r, const char *user)
{
	struct admit_wait	*aw = arg;
	struct session		*s = aw->s;
	char			 token[AUTH_TOKEN_MAX];
	struct provider_config	 pv;
	struct tunnel_forward	 fw;
	int			 intercept = aw->intercept;
	int			 forward = aw->forward;

	/* The waiter is spent; what the session needs is copied out. */
	aw->w = NULL;
	if (r != AUTH_VALID) {
		admit_refuse(s, r);
		return;
	}
	(void)strlcpy(s->user, user, sizeof(s->user));
	memcpy(token, aw->token, sizeof(token));
	pv = aw->pv;
	fw = aw->fw;
	aw->forward = 0;	/* the head goes on with the tunnel */
	/* Hand-over: admit_close() runs as the new kind takes over. */
	admit_go(s, token, intercept ? &pv : NULL, forward ? &fw : NULL);
	explicit_bzero(token, sizeof(token));
}

void
admit(struct session *s, const char *token, const struct provider_config *pv,
    struct tunnel_forward *fw)
{
	struct admit_wait	*aw;
	enum auth_result	 r;

	if (token == NULL || !s->conf->auth.ac_validate) {
		admit_go(s, token, pv, fw);
		return;
	}
	if ((aw = calloc(1, sizeof(*aw))) == NULL) {
		if (fw != NULL)
			buf_free(&fw->head);
		session_reply(s, 503, NULL, NULL);
		return;
	}
	aw->s = s;
	r = validator_check(s->px->validator, s->addr, token, s->user,
	    sizeof(s->user), admit_answered, aw, &aw->w);
	if (r != AUTH_PENDING) {
		free(aw);
		if (r == AUTH_VALID)
			admit_go(s, token, pv, fw);
		else {
			if (fw != NULL)
				buf_free(&fw->head);
			admit_refuse(s, r);
		}
		return;
	}
	(void)strlcpy(aw->token, token, sizeof(aw->token));
	if (pv != NULL) {
		aw->pv = *pv;
		aw->intercept = 1;
	}
	if (fw != NULL) {
		aw->fw = *fw;
		aw->forward = 1;
	}
	session_become(s, &admit_ops, aw);
	/* The check has its own limit; this one only backs it up. */
	session_set_timeout(s, session_ms(s->conf->gc.gc_timeout_connect) +
	    1.);
	endpoint_arm(s->px->loop, &s->client, 0, 0);
}
