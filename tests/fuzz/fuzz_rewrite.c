/*
 * rewrite_request() on request heads the parser accepted.  Input: byte
 * 0 picks the context (bits 0-1 the provider, bit 2 a bridge path
 * prefix, bits 3-4 the CONNECT's port, bit 5 a small output buffer,
 * bit 6 bytes already in it); the rest is the client's request head.
 *
 * What the bridge receives must be a request our own parser accepts,
 * under /api/v2/aibridge/<provider>/ with no way out of it, with the
 * bridge's Host, our request id, none of the client's hop-by-hop or
 * governance headers, the same body framing, and the user's token
 * where the bridge looks for it (SPEC 4.2); a refusal leaves the output
 * buffer as it was.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../aibproxyd/rewrite.h"
#include "compat.h"
#include "fuzz.h"
#include "headcheck.h"
#include "http.h"

#define HEAD_MAX	(64 * 1024)
#define OUT_BIG		(64 * 1024)
#define OUT_SMALL	512
#define TOKEN		"abcdefghij-0123456789012345678901"
#define RID		"11111111-2222-4333-8444-555555555555"
#define PREFIX		"/api/v2/aibridge/"

static const struct provider_config providers[] = {
	{ "anthropic", "api.anthropic.com", PROVIDER_GENERIC },
	{ "openai", "api.openai.com", PROVIDER_GENERIC },
	{ "openrouter", "openrouter.ai", PROVIDER_GENERIC },
	{ "copilot", "api.individual.githubcopilot.com", PROVIDER_COPILOT },
};
static const int	 ports[] = { 443, 80, 8443, 443 };

/* Headers that must never reach the bridge from the client. */
static const char *const hop[] = {
	"Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Proxy-Connection", "TE", "Upgrade"
};

static void	 make_ctx(struct rewrite_ctx *, struct bridge_config *,
		    uint8_t);
static const char *bearer(const char *);
static int	 credential_is_token(const struct http_head *);
static void	 check_refused(const struct http_head *,
		    const struct rewrite_ctx *, const struct buf *, size_t,
		    int, const char *);
static void	 check_forwarded(const struct http_head *,
		    const struct rewrite_ctx *, const char *, size_t);

static void
make_ctx(struct rewrite_ctx *ctx, struct bridge_config *bc, uint8_t sel)
{
	const struct provider_config	*p = &providers[sel & 3];

	memset(bc, 0, sizeof(*bc));
	bc->bc_tls = 1;
	bc->bc_port = 443;
	(void)strlcpy(bc->bc_host, "coder.example.com", sizeof(bc->bc_host));
	(void)strlcpy(bc->bc_hostport, "coder.example.com",
	    sizeof(bc->bc_hostport));
	(void)strlcpy(bc->bc_path, (sel & 4) ? "/coder" : "",
	    sizeof(bc->bc_path));
	memset(ctx, 0, sizeof(*ctx));
	ctx->bridge = bc;
	ctx->provider = p;
	ctx->host = p->pc_host;
	ctx->port = ports[(sel >> 3) & 3];
	ctx->token = TOKEN;
	ctx->request_id = RID;
}

/*
 * The Bearer value of an Authorization value: exactly two blank-
 * separated fields, the first "Bearer" in any case (RFC 6750 2.1);
 * NULL for anything else.  Values come trimmed from the parser.
 */
static const char *
bearer(const char *v)
{
	if (v == NULL || strncasecmp(v, "Bearer", 6) != 0 ||
	    (v[6] != ' ' && v[6] != '\t'))
		return (NULL);
	v += 6;
	v += strspn(v, " \t");
	if (*v == '\0' || v[strcspn(v, " \t")] != '\0')
		return (NULL);
	return (v);
}

/*
 * Is the credential the bridge will read (a Bearer Authorization, else
 * a non-empty X-Api-Key) the user's token?
 */
static int
credential_is_token(const struct http_head *h)
{
	const char	*v;

	if ((v = bearer(http_header(h, "Authorization"))) != NULL)
		return (strcmp(v, TOKEN) == 0);
	if ((v = http_header(h, "X-Api-Key")) != NULL && *v != '\0')
		return (strcmp(v, TOKEN) == 0);
	return (0);
}

static void
check_refused(const struct http_head *h, const struct rewrite_ctx *ctx,
    const struct buf *out, size_t saved, int status, const char *why)
{
	char	*t;
	size_t	 len;

	FUZZ_ASSERT(why != NULL);
	FUZZ_ASSERT(buf_len(out) == saved);
	if (saved > 0)
		FUZZ_ASSERT(buf_rptr(out)[0] == 'Z');
	FUZZ_ASSERT(status == 400 || status == 431 || status == 500);
	if (status != 400)
		return;
	/* A 400 is a bad target or a credential header sent twice. */
	len = strlen(h->target) + 256;
	if ((t = malloc(len)) == NULL)
		abort();
	if (rewrite_target(ctx, h->target, t, len, NULL) == 0)
		FUZZ_ASSERT(strcmp(why, "repeated credential header") == 0);
	free(t);
}

static void
check_forwarded(const struct http_head *h, const struct rewrite_ctx *ctx,
    const char *out, size_t len)
{
	struct http_head	 b;
	struct http_error	 err;
	const char		*gov;
	char			*want;
	size_t			 i, wlen;

	memset(&err, 0, sizeof(err));
	if (http_parse_request(out, len, len, &b, &err) != HTTP_COMPLETE) {
		/* Ours adds Host, the id and a token header: at most 3. */
		FUZZ_ASSERT(err.why != NULL &&
		    strcmp(err.why, "too many headers") == 0 &&
		    h->nheaders + 3 > HTTP_HEADERS_MAX);
		return;
	}
	head_check(&b, out, len);
	FUZZ_ASSERT(b.size == len);
	FUZZ_ASSERT(strcmp(b.method, h->method) == 0 && b.minor == 1);

	/* The target: the rewritten path, and nothing to climb out of it. */
	wlen = strlen(h->target) + 256;
	if ((want = malloc(wlen)) == NULL)
		abort();
	FUZZ_ASSERT(rewrite_target(ctx, h->target, want, wlen, NULL) == 0);
	FUZZ_ASSERT(strcmp(b.target, want) == 0);
	snprintf(want, wlen, "%s" PREFIX "%s/", ctx->bridge->bc_path,
	    ctx->provider->pc_name);
	FUZZ_ASSERT(strncmp(b.target, want, strlen(want)) == 0);
	FUZZ_ASSERT(rewrite_target(ctx, b.target, want, wlen, NULL) == 0);
	free(want);

	FUZZ_ASSERT(http_header_count(&b, "Host") == 1);
	FUZZ_ASSERT(strcmp(http_header(&b, "Host"),
	    ctx->bridge->bc_hostport) == 0);
	FUZZ_ASSERT(http_header_count(&b, HDR_GOV_REQUEST_ID) == 1);
	FUZZ_ASSERT(strcmp(http_header(&b, HDR_GOV_REQUEST_ID), RID) == 0);
	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		FUZZ_ASSERT(http_header_count(&b, hop[i]) == 0);
	FUZZ_ASSERT(b.framing == h->framing && b.length == h->length);
	FUZZ_ASSERT(http_header_count(&b, "Authorization") <= 1);
	FUZZ_ASSERT(http_header_count(&b, "X-Api-Key") <= 1);

	/* The token: ours in the governance header, or the credential. */
	FUZZ_ASSERT(http_header_count(&b, HDR_GOV_TOKEN) <= 1);
	gov = http_header(&b, HDR_GOV_TOKEN);
	if (gov != NULL)
		FUZZ_ASSERT(strcmp(gov, TOKEN) == 0);
	if (ctx->provider->pc_type == PROVIDER_COPILOT) {
		/* Copilot passes the credential on to GitHub. */
		FUZZ_ASSERT(gov != NULL);
		FUZZ_ASSERT(!credential_is_token(&b));
	} else
		FUZZ_ASSERT(gov != NULL || credential_is_token(&b));
	http_head_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rewrite_ctx	 ctx;
	struct bridge_config	 bc;
	struct http_head	 h;
	struct http_error	 err;
	struct buf		 out;
	const char		*why = NULL;
	size_t			 saved;
	int			 status = 0;
	uint8_t			 sel;

	if (size < 1)
		return (0);
	sel = data[0];
	if (http_parse_request((const char *)data + 1, size - 1, HEAD_MAX,
	    &h, &err) != HTTP_COMPLETE)
		return (0);
	make_ctx(&ctx, &bc, sel);
	buf_init(&out, (sel & 0x20) ? OUT_SMALL : OUT_BIG);
	if (sel & 0x40)
		FUZZ_ASSERT(buf_add(&out, "Z", 1) == 0);
	saved = buf_len(&out);
	if (rewrite_request(&ctx, &h, &out, &status, &why) == -1)
		check_refused(&h, &ctx, &out, saved, status, why);
	else {
		FUZZ_ASSERT(buf_len(&out) > saved);
		check_forwarded(&h, &ctx, (const char *)buf_rptr(&out) + saved,
		    buf_len(&out) - saved);
	}
	buf_free(&out);
	http_head_free(&h);
	return (0);
}
