#include <string.h>
#include <strings.h>

#include "compat.h"
#include "stats.h"

const double stats_bucket_le[STATS_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300
};

struct stats_provider *
stats_provider(struct proxy_stats *st, const char *name)
{
	struct stats_provider	*sp;
	int			 i;

	for (i = 0; i < st->st_nproviders; i++)
		if (strcmp(st->st_providers[i].sp_name, name) == 0)
			return (&st->st_providers[i]);
	if (st->st_nproviders >= STATS_PROVIDERS_MAX)
		return (NULL);
	sp = &st->st_providers[st->st_nproviders++];
	memset(sp, 0, sizeof(*sp));
	strlcpy(sp->sp_name, name, sizeof(sp->sp_name));
	return (sp);
}

static void
stats_code_add(struct stats_provider *sp, int code, uint64_t n)
{
	int	 i;

	for (i = 0; i < STATS_CODES_MAX; i++) {
		if (sp->sp_codes[i].sc_code == code ||
		    sp->sp_codes[i].sc_code == 0) {
			sp->sp_codes[i].sc_code = code;
			sp->sp_codes[i].sc_count += n;
			return;
		}
	}
	/* More distinct codes than slots: the rarest go uncounted. */
}

/* The bucket secs falls in, or -1 past the last (only in +Inf). */
static int
stats_bucket(double secs)
{
	int	 i;

	for (i = 0; i < STATS_BUCKETS - 1 && secs > stats_bucket_le[i]; i++)
		;
	return (secs <= stats_bucket_le[i] ? i : -1);
}

void
stats_response(struct stats_provider *sp, int code, double secs)
{
	int	 i;

	if (sp == NULL)
		return;
	if (code > 0)
		stats_code_add(sp, code, 1);
	if ((i = stats_bucket(secs)) != -1)
		sp->sp_buckets[i]++;
	sp->sp_count++;
	sp->sp_sum += secs;
}

void
stats_latency(struct stats_hist *h, double secs)
{
	int	 i;

	if ((i = stats_bucket(secs)) != -1)
		h->sh_buckets[i]++;
	h->sh_count++;
	h->sh_sum += secs;
}

void
stats_add(struct proxy_stats *sum, const struct proxy_stats *add)
{
	const struct stats_provider	*a;
	struct stats_provider		*s;
	int				 i, j;

	sum->st_sessions_mitm += add->st_sessions_mitm;
	sum->st_sessions_tunneled += add->st_sessions_tunneled;
	sum->st_open_connections += add->st_open_connections;
	sum->st_bytes_from_clients += add->st_bytes_from_clients;
	sum->st_bytes_to_clients += add->st_bytes_to_clients;
	sum->st_certs_issued += add->st_certs_issued;
	sum->st_certs_refused += add->st_certs_refused;
	for (i = 0; i < STATS_AUTH_MAX; i++) {
		sum->st_auth[i].sa_cache += add->st_auth[i].sa_cache;
		sum->st_auth[i].sa_bridge += add->st_auth[i].sa_bridge;
	}
	for (i = 0; i < STATS_BUCKETS; i++)
		sum->st_auth_latency.sh_buckets[i] +=
		    add->st_auth_latency.sh_buckets[i];
	sum->st_auth_latency.sh_count += add->st_auth_latency.sh_count;
	sum->st_auth_latency.sh_sum += add->st_auth_latency.sh_sum;
	for (i = 0; i < REFUSED_MAX; i++)
		sum->st_refused[i] += add->st_refused[i];
	for (i = 0; i < TLSSTAGE_MAX; i++)
		for (j = 0; j < TLSFAIL_MAX; j++)
			sum->st_tls_fail[i][j] += add->st_tls_fail[i][j];
	for (i = 0; i < AUTH407_MAX; i++)
		sum->st_407[i] += add->st_407[i];
	for (i = 0; i < PPERR_MAX; i++)
		sum->st_proxyproto[i] += add->st_proxyproto[i];
	for (i = 0; i < add->st_nproviders && i < STATS_PROVIDERS_MAX; i++) {
		a = &add->st_providers[i];
		if ((s = stats_provider(sum, a->sp_name)) == NULL)
			continue;
		s->sp_requests += a->sp_requests;
		s->sp_inflight += a->sp_inflight;
		for (j = 0; j < STATS_CODES_MAX && a->sp_codes[j].sc_code; j++)
			stats_code_add(s, a->sp_codes[j].sc_code,
			    a->sp_codes[j].sc_count);
		for (j = 0; j < STATS_BUCKETS; j++)
			s->sp_buckets[j] += a->sp_buckets[j];
		s->sp_count += a->sp_count;
		s->sp_sum += a->sp_sum;
	}
}

/* Whether err holds text, in any case (strcasestr is a GNU extension). */
static int
stats_tls_match(const char *err, const char *text, size_t n)
{
	for (; *err != '\0'; err++)
		if (strncasecmp(err, text, n) == 0)
			return (1);
	return (0);
}

/*
 * libtls reports a failed handshake as "handshake failed: " and
 * OpenSSL's reason (ERR_error_string(3)), or an errno string.  A
 * client that rejects our certificate says so with an alert (RFC 8446
 * 6.2: unknown_ca, bad_certificate, certificate_unknown, ...), which
 * OpenSSL names "tlsv1 alert unknown ca", "sslv3 alert bad
 * certificate" and so on; one that shares no version or cipher with
 * us gets or sends protocol_version or handshake_failure, and bytes
 * that are not TLS at all end as "wrong version number" or "http
 * request".  The first match wins.
 */
static const struct {
	const char		*text;
	enum stats_tls_fail	 reason;
} stats_tls_texts[] = {
	{ "unknown ca", TLSFAIL_UNTRUSTED },
	{ "bad certificate", TLSFAIL_UNTRUSTED },
	{ "certificate unknown", TLSFAIL_UNTRUSTED },
	{ "unsupported certificate", TLSFAIL_UNTRUSTED },
	{ "certificate expired", TLSFAIL_UNTRUSTED },
	{ "certificate revoked", TLSFAIL_UNTRUSTED },
	{ "access denied", TLSFAIL_UNTRUSTED },
	{ "protocol version", TLSFAIL_PROTOCOL },
	{ "unsupported protocol", TLSFAIL_PROTOCOL },
	{ "version too low", TLSFAIL_PROTOCOL },
	{ "no protocols available", TLSFAIL_PROTOCOL },
	{ "no shared cipher", TLSFAIL_PROTOCOL },
	{ "no suitable signature algorithm", TLSFAIL_PROTOCOL },
	{ "alert handshake failure", TLSFAIL_PROTOCOL },
	{ "inappropriate fallback", TLSFAIL_PROTOCOL },
	{ "wrong version number", TLSFAIL_PROTOCOL },
	{ "http request", TLSFAIL_PROTOCOL },
	{ "unknown protocol", TLSFAIL_PROTOCOL },
	{ "eof", TLSFAIL_CLOSED },
	{ "connection reset", TLSFAIL_CLOSED },
	{ "broken pipe", TLSFAIL_CLOSED },
};

enum stats_tls_fail
stats_tls_reason(const char *err)
{
	size_t	 i, n;

	if (err == NULL)
		return (TLSFAIL_OTHER);
	for (i = 0; i < nitems(stats_tls_texts); i++) {
		n = strlen(stats_tls_texts[i].text);
		if (stats_tls_match(err, stats_tls_texts[i].text, n))
			return (stats_tls_texts[i].reason);
	}
	return (TLSFAIL_OTHER);
}
