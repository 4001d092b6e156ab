/*
 * aibproxyd/rewrite.c: what an intercepted request becomes for the
 * bridge (SPEC 4.2).
 */
#include <sys/wait.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../aibproxyd/rewrite.h"
#include "compat.h"
#include "unit.h"

#define TOKEN		"abcdefghij-0123456789012345678901"
#define RID		"11111111-2222-4333-8444-555555555555"
#define HEAD_MAX	65536

enum prov {
	P_ANTHROPIC,
	P_OPENAI,
	P_OPENROUTER,
	P_COPILOT,
	P_MAX
};

static const struct provider_config providers[P_MAX] = {
	[P_ANTHROPIC] = { "anthropic", "api.anthropic.com", PROVIDER_GENERIC },
	[P_OPENAI] = { "openai", "api.openai.com", PROVIDER_GENERIC },
	[P_OPENROUTER] = { "openrouter", "openrouter.ai", PROVIDER_GENERIC },
	[P_COPILOT] = { "copilot", "api.individual.githubcopilot.com",
	    PROVIDER_COPILOT },
};

static void
make_ctx(struct rewrite_ctx *ctx, struct bridge_config *bc, enum prov p,
    const char *path, int port)
{
	memset(bc, 0, sizeof(*bc));
	bc->bc_tls = 1;
	bc->bc_port = 443;
	strlcpy(bc->bc_host, "coder.example.com", sizeof(bc->bc_host));
	strlcpy(bc->bc_hostport, "coder.example.com",
	    sizeof(bc->bc_hostport));
	strlcpy(bc->bc_path, path, sizeof(bc->bc_path));
	memset(ctx, 0, sizeof(*ctx));
	ctx->bridge = bc;
	ctx->provider = &providers[p];
	ctx->host = providers[p].pc_host;
	ctx->port = port;
	ctx->token = TOKEN;
	ctx->request_id = RID;
}

struct target_case {
	enum prov	 prov;
	const char	*bc_path;
	int		 port;
	const char	*target;
	const char	*out;		/* NULL: refused */
	const char	*why;
};

#define DOT	"dot segment in path"
#define ENCSL	"encoded slash or backslash in path"
#define BADPCT	"bad percent-encoding in path"
#define OTHER	"absolute-form target names another authority"
#define FORM	"target is not origin-form or absolute-form"
#define ANTH(t, o)	{ P_ANTHROPIC, "", 443, t, o, NULL }
#define BAD(t, w)	{ P_ANTHROPIC, "", 443, t, NULL, w }
#define PFX		"/api/v2/aibridge/anthropic"

static const struct target_case target_cases[] = {
	/* the reference cases */
	ANTH("/v1/messages", PFX "/v1/messages"),
	{ P_OPENAI, "", 443, "/v1/chat/completions",
	    "/api/v2/aibridge/openai/v1/chat/completions", NULL },
	{ P_OPENROUTER, "", 443, "/api/v1/chat/completions",
	    "/api/v2/aibridge/openrouter/api/v1/chat/completions", NULL },
	ANTH("/v1/models?limit=10&after_id=x",
	    PFX "/v1/models?limit=10&after_id=x"),
	ANTH("/v1/models?", PFX "/v1/models?"),
	ANTH("/v1/models?a=/../b&c=%2f", PFX "/v1/models?a=/../b&c=%2f"),
	{ P_ANTHROPIC, "/coder", 443, "/v1/messages",
	    "/coder" PFX "/v1/messages", NULL },
	{ P_ANTHROPIC, "/a/b", 443, "/v1/messages?beta=true",
	    "/a/b" PFX "/v1/messages?beta=true", NULL },
	/* paths kept byte for byte */
	ANTH("/", PFX "/"),
	ANTH("/v1//messages", PFX "/v1//messages"),
	ANTH("/v1/.well-known/x", PFX "/v1/.well-known/x"),
	ANTH("/v1/.../x", PFX "/v1/.../x"),
	ANTH("/v1/..a/a..", PFX "/v1/..a/a.."),
	ANTH("/v1/%41b%2bc", PFX "/v1/%41b%2bc"),
	ANTH("/v1/%2e%2e%2e", PFX "/v1/%2e%2e%2e"),
	ANTH("/v1/a%20b", PFX "/v1/a%20b"),
	/* absolute form naming the CONNECT's authority */
	ANTH("https://api.anthropic.com/v1/messages?x=1",
	    PFX "/v1/messages?x=1"),
	ANTH("https://API.Anthropic.com./x", PFX "/x"),
	ANTH("HTTPS://api.anthropic.com:443/x", PFX "/x"),
	ANTH("https://api.anthropic.com", PFX "/"),
	ANTH("https://api.anthropic.com?q=1", PFX "/?q=1"),
	{ P_ANTHROPIC, "", 8443, "https://api.anthropic.com:8443/x",
	    PFX "/x", NULL },
	{ P_ANTHROPIC, "", 80, "http://api.anthropic.com/x", PFX "/x", NULL },
	/* traversal */
	BAD("/../x", DOT),
	BAD("/v1/../../x", DOT),
	BAD("/v1/..", DOT),
	BAD("/v1/../", DOT),
	BAD("/%2e%2e/x", DOT),
	BAD("/%2E./x", DOT),
	BAD("/.%2e/x", DOT),
	BAD("/%2e/x", DOT),
	BAD("/a/./b", DOT),
	BAD("/a/.", DOT),
	BAD("/.", DOT),
	BAD("/..?x", DOT),
	BAD("/a%2fb", ENCSL),
	BAD("/a%2Fb", ENCSL),
	BAD("/a%5Cb", ENCSL),
	BAD("/a%5cb", ENCSL),
	BAD("/%2f%2e%2e%2fx", ENCSL),
	BAD("/a\\b", "backslash in path"),
	BAD("/..\\x", "backslash in path"),
	BAD("/a%00", "encoded NUL in path"),
	BAD("/a%zz", BADPCT),
	BAD("/a%2", BADPCT),
	BAD("/a%", BADPCT),
	BAD("/a%/b", BADPCT),
	BAD("/a%g0", BADPCT),
	BAD("/a%0g", BADPCT),
	BAD("/a#frag", "fragment in target"),
	BAD("/a b", "invalid character in target"),
	BAD("/a\x7f", "invalid character in target"),
	BAD("/a\x01", "invalid character in target"),
	BAD("/caf\xc3\xa9", "invalid character in target"),
	BAD("", "empty request target"),
	BAD("*", FORM),
	BAD("api.anthropic.com:443", FORM),
	BAD("v1/messages", FORM),
	BAD("ftp://api.anthropic.com/x", FORM),
	BAD("https:/api.anthropic.com/x", FORM),
	/* another authority */
	BAD("https://evil.example/x", OTHER),
	BAD("https://api.anthropic.com:8443/x", OTHER),
	BAD("https://api.anthropic.com:/x", OTHER),
	BAD("http://api.anthropic.com/x", OTHER),
	BAD("https://api.anthropic.com.evil.example/x", OTHER),
	BAD("https://user@api.anthropic.com/x", OTHER),
	BAD("https://api.anthropic.com@evil.example/x", OTHER),
	BAD("https://127.0.0.1/x", OTHER),
	BAD("https://[::1]:443/x", OTHER),
	BAD("https:///x", OTHER),
	BAD("https://?x", OTHER),
	BAD("https://api.openai.com/v1/chat/completions", OTHER),
	{ P_ANTHROPIC, "", 8443, "https://api.anthropic.com/x", NULL, OTHER },
	/* and the path of an absolute form is checked too */
	BAD("https://api.anthropic.com/../x", DOT),
	BAD("https://api.anthropic.com/a%2fb", ENCSL),
};

START_TEST(test_target)
{
	const struct target_case	*c = &target_cases[_i];
	struct rewrite_ctx		 ctx;
	struct bridge_config		 bc;
	char				 out[1024];
	const char			*why = NULL;
	int				 rv;

	make_ctx(&ctx, &bc, c->prov, c->bc_path, c->port);
	strlcpy(out, "untouched", sizeof(out));
	rv = rewrite_target(&ctx, c->target, out, sizeof(out), &why);
	if (c->out != NULL) {
		ck_assert_msg(rv == 0, "\"%s\" refused: %s", c->target,
		    why ? why : "(null)");
		ck_assert_str_eq(out, c->out);
	} else {
		ck_assert_msg(rv == -1, "\"%s\" accepted as \"%s\"",
		    c->target, out);
		ck_assert_ptr_nonnull(why);
		ck_assert_str_eq(why, c->why);
	}
}
END_TEST

START_TEST(test_target_length)
{
	struct rewrite_ctx	 ctx;
	struct bridge_config	 bc;
	const char		*exp = PFX "/v1/messages?q";
	char			 out[64];
	const char		*why = NULL;

	make_ctx(&ctx, &bc, P_ANTHROPIC, "", 443);
	ck_assert_int_eq(rewrite_target(&ctx, "/v1/messages?q", out,
	    strlen(exp) + 1, &why), 0);
	ck_assert_str_eq(out, exp);
	ck_assert_int_eq(rewrite_target(&ctx, "/v1/messages?q", out,
	    strlen(exp), &why), -1);
	ck_assert_str_eq(why, "target too long");
	ck_assert_int_eq(rewrite_target(&ctx, NULL, out, sizeof(out), &why),
	    -1);
	ck_assert_str_eq(why, "empty request target");
	/* why may be NULL */
	ck_assert_int_eq(rewrite_target(&ctx, "/../x", out, sizeof(out),
	    NULL), -1);
}
END_TEST

struct request_case {
	const char	*name;
	enum prov	 prov;
	const char	*in;		/* request head */
	const char	*out;		/* NULL: refused */
	int		 status;
	const char	*why;
};

#define REQ(t, h)	"POST " t " HTTP/1.1\r\n" \
			"Host: api.anthropic.com\r\n" h \
			"Content-Length: 2\r\n\r\n"
#define FWD(t, h, x)	"POST " t " HTTP/1.1\r\n" \
			"Host: coder.example.com\r\n" h \
			"Content-Length: 2\r\n" HDR_GOV_REQUEST_ID ": " RID \
			"\r\n" x "\r\n"
#define MSG		"/v1/messages"
#define FMSG		PFX "/v1/messages"
#define GOV		HDR_GOV_TOKEN ": " TOKEN "\r\n"
#define BEARER		"Authorization: Bearer " TOKEN "\r\n"
#define SHORT		"abcdefghij-01234567890123456789"
#define COPILOT		"/api/v2/aibridge/copilot/chat/completions"

static const struct request_case request_cases[] = {
	/* the token table, Authorization */
	{ "no credential", P_ANTHROPIC,
	    REQ(MSG, ""),
	    FWD(FMSG, "", BEARER), 0, NULL },
	{ "bearer equal", P_ANTHROPIC,
	    REQ(MSG, BEARER),
	    FWD(FMSG, BEARER, ""), 0, NULL },
	{ "bearer equal, scheme in lower case", P_ANTHROPIC,
	    REQ(MSG, "authorization: bearer " TOKEN "\r\n"),
	    FWD(FMSG, "authorization: bearer " TOKEN "\r\n", ""), 0, NULL },
	{ "bearer equal, tab", P_ANTHROPIC,
	    REQ(MSG, "Authorization: BEARER\t" TOKEN "\r\n"),
	    FWD(FMSG, "Authorization: BEARER\t" TOKEN "\r\n", ""), 0, NULL },
	{ "bearer different", P_ANTHROPIC,
	    REQ(MSG, "Authorization: Bearer sk-other\r\n"),
	    FWD(FMSG, "Authorization: Bearer sk-other\r\n", GOV), 0, NULL },
	{ "bearer a prefix of the token", P_ANTHROPIC,
	    REQ(MSG, "Authorization: Bearer " SHORT "\r\n"),
	    FWD(FMSG, "Authorization: Bearer " SHORT "\r\n",
	    GOV), 0, NULL },
	{ "bearer the token and more", P_ANTHROPIC,
	    REQ(MSG, "Authorization: Bearer " TOKEN "2\r\n"),
	    FWD(FMSG, "Authorization: Bearer " TOKEN "2\r\n", GOV), 0, NULL },
	/* the token table, X-Api-Key */
	{ "api key equal", P_ANTHROPIC,
	    REQ(MSG, "X-Api-Key: " TOKEN "\r\n"),
	    FWD(FMSG, "X-Api-Key: " TOKEN "\r\n", ""), 0, NULL },
	{ "api key different", P_ANTHROPIC,
	    REQ(MSG, "x-api-key: sk-ant-other\r\n"),
	    FWD(FMSG, "x-api-key: sk-ant-other\r\n", GOV), 0, NULL },
	{ "api key empty", P_ANTHROPIC,
	    REQ(MSG, "X-Api-Key: \r\n"),
	    FWD(FMSG, "X-Api-Key: \r\n", BEARER), 0, NULL },
	{ "bearer wins over api key", P_ANTHROPIC,
	    REQ(MSG, BEARER "X-Api-Key: sk-ant-other\r\n"),
	    FWD(FMSG, BEARER "X-Api-Key: sk-ant-other\r\n", ""), 0, NULL },
	{ "bearer different, api key equal", P_ANTHROPIC,
	    REQ(MSG, "Authorization: Bearer sk-other\r\nX-Api-Key: " TOKEN
	    "\r\n"),
	    FWD(FMSG, "Authorization: Bearer sk-other\r\nX-Api-Key: " TOKEN
	    "\r\n", GOV), 0, NULL },
	{ "not a bearer, api key equal", P_ANTHROPIC,
	    REQ(MSG, "Authorization: Basic dTp4\r\nX-Api-Key: " TOKEN "\r\n"),
	    FWD(FMSG, "Authorization: Basic dTp4\r\nX-Api-Key: " TOKEN "\r\n",
	    ""), 0, NULL },
	/* an Authorization that is no credential: no second one */
	{ "basic authorization", P_ANTHROPIC,
	    REQ(MSG, "Authorization: Basic dTp4\r\n"),
	    FWD(FMSG, "Authorization: Basic dTp4\r\n", GOV), 0, NULL },
	{ "bearer with three fields", P_ANTHROPIC,
	    REQ(MSG, "Authorization: Bearer " TOKEN " x\r\n"),
	    FWD(FMSG, "Authorization: Bearer " TOKEN " x\r\n", GOV), 0, NULL },
	{ "bearer alone", P_ANTHROPIC,
	    REQ(MSG, "Authorization: Bearer\r\n"),
	    FWD(FMSG, "Authorization: Bearer\r\n", GOV), 0, NULL },
	/* client governance headers never get through */
	{ "client governance token, bearer equal", P_ANTHROPIC,
	    REQ(MSG, BEARER HDR_GOV_TOKEN ": zzzzzzzzzz-forged\r\n"),
	    FWD(FMSG, BEARER, ""), 0, NULL },
	{ "client governance token, no credential", P_ANTHROPIC,
	    REQ(MSG, "x-coder-ai-governance-token: zzzzzzzzzz-forged\r\n"),
	    FWD(FMSG, "", BEARER), 0, NULL },
	{ "client governance token, bearer different", P_ANTHROPIC,
	    REQ(MSG, HDR_GOV_TOKEN ": zzzzzzzzzz-forged\r\n"
	    "Authorization: Bearer sk-other\r\n"),
	    FWD(FMSG, "Authorization: Bearer sk-other\r\n", GOV), 0, NULL },
	{ "client request id", P_ANTHROPIC,
	    REQ(MSG, HDR_GOV_REQUEST_ID ": forged\r\n" BEARER
	    "X-Coder-AI-Governance-Request-ID: forged2\r\n"),
	    FWD(FMSG, BEARER, ""), 0, NULL },
	/* Host, hop-by-hop, order */
	{ "hop-by-hop", P_ANTHROPIC,
	    "GET /v1/models HTTP/1.1\r\n"
	    "A: 1\r\n"
	    "Connection: keep-alive, X-Hop\r\n"
	    "B: 2\r\n"
	    "Host: api.anthropic.com\r\n"
	    "Keep-Alive: timeout=5\r\n"
	    "X-Hop: secret\r\n"
	    "Proxy-Authorization: Basic dTp4\r\n"
	    "Proxy-Authenticate: Basic\r\n"
	    "Proxy-Connection: keep-alive\r\n"
	    "TE: trailers\r\n"
	    "Upgrade: websocket\r\n"
	    "connection: x-hop2\r\n"
	    "x-hop2: y\r\n"
	    "C: 3\r\n"
	    "A: 4\r\n"
	    "\r\n",
	    "GET " PFX "/v1/models HTTP/1.1\r\n"
	    "Host: coder.example.com\r\n"
	    "A: 1\r\n"
	    "B: 2\r\n"
	    "C: 3\r\n"
	    "A: 4\r\n"
	    HDR_GOV_REQUEST_ID ": " RID "\r\n"
	    BEARER
	    "\r\n", 0, NULL },
	{ "framing headers named in Connection stay", P_ANTHROPIC,
	    "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
	    "Connection: Content-Length, transfer-encoding, host\r\n"
	    "Content-Length: 2\r\n\r\n",
	    FWD(FMSG, "", BEARER), 0, NULL },
	{ "chunked kept", P_ANTHROPIC,
	    "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n",
	    "POST " FMSG " HTTP/1.1\r\nHost: coder.example.com\r\n"
	    "Transfer-Encoding: chunked\r\n" HDR_GOV_REQUEST_ID ": " RID
	    "\r\n" BEARER "\r\n", 0, NULL },
	{ "credential named in Connection", P_ANTHROPIC,
	    REQ(MSG, "Connection: Authorization\r\n"
	    "Authorization: Bearer sk-other\r\n"),
	    FWD(FMSG, "", BEARER), 0, NULL },
	{ "HTTP/1.0 client", P_ANTHROPIC,
	    "GET /v1/models HTTP/1.0\r\n\r\n",
	    "GET " PFX "/v1/models HTTP/1.1\r\nHost: coder.example.com\r\n"
	    HDR_GOV_REQUEST_ID ": " RID "\r\n" BEARER "\r\n", 0, NULL },
	{ "absolute form", P_ANTHROPIC,
	    REQ("https://api.anthropic.com/v1/messages?beta=true", BEARER),
	    FWD(FMSG "?beta=true", BEARER, ""), 0, NULL },
	/* Copilot: the token always in the governance header */
	{ "copilot, GitHub token", P_COPILOT,
	    REQ("/chat/completions", "Authorization: Bearer ghu_github\r\n"),
	    FWD(COPILOT, "Authorization: Bearer ghu_github\r\n", GOV),
	    0, NULL },
	{ "copilot, no credential", P_COPILOT,
	    REQ("/chat/completions", ""),
	    FWD(COPILOT, "", GOV), 0, NULL },
	/* the Coder token must not reach GitHub as the client credential */
	{ "copilot, bearer equal", P_COPILOT,
	    REQ("/chat/completions", BEARER),
	    FWD(COPILOT, "", GOV), 0, NULL },
	{ "copilot, x-api-key equal", P_COPILOT,
	    REQ("/chat/completions", "X-Api-Key: " TOKEN "\r\n"),
	    FWD(COPILOT, "", GOV), 0, NULL },
	{ "copilot, forged governance token", P_COPILOT,
	    REQ("/chat/completions", HDR_GOV_TOKEN ": zzzzzzzzzz-forged\r\n"
	    "Authorization: Bearer ghu_github\r\n"),
	    FWD(COPILOT, "Authorization: Bearer ghu_github\r\n", GOV),
	    0, NULL },
	/* refusals */
	{ "traversal", P_ANTHROPIC,
	    REQ("/v1/../../api/v2/users/me", ""), NULL, 400, DOT },
	{ "another authority", P_ANTHROPIC,
	    REQ("https://evil.example/x", ""), NULL, 400, OTHER },
	{ "repeated Authorization", P_ANTHROPIC,
	    REQ(MSG, BEARER "Authorization: Bearer sk-other\r\n"),
	    NULL, 400, "repeated credential header" },
	{ "repeated X-Api-Key", P_ANTHROPIC,
	    REQ(MSG, "X-Api-Key: " TOKEN "\r\nx-api-key: sk-other\r\n"),
	    NULL, 400, "repeated credential header" },
};

static void
parse_head(const char *text, struct http_head *h)
{
	struct http_error	 err;

	memset(&err, 0, sizeof(err));
	ck_assert_msg(http_parse_request(text, strlen(text), HEAD_MAX, h,
	    &err) == HTTP_COMPLETE, "test head does not parse: %s",
	    err.why ? err.why : "(null)");
	ck_assert_uint_eq(h->size, strlen(text));
}

static char *
buf_string(const struct buf *b)
{
	char	*s;

	ck_assert_ptr_nonnull(s = malloc(buf_len(b) + 1));
	if (buf_len(b) > 0)
		memcpy(s, buf_rptr(b), buf_len(b));
	s[buf_len(b)] = '\0';
	return (s);
}

START_TEST(test_request)
{
	const struct request_case	*c = &request_cases[_i];
	struct rewrite_ctx		 ctx;
	struct bridge_config		 bc;
	struct http_head		 h;
	struct buf			 out;
	const char			*why = NULL;
	char				*s;
	int				 rv, status = 0;

	make_ctx(&ctx, &bc, c->prov, "", 443);
	parse_head(c->in, &h);
	buf_init(&out, HEAD_MAX);
	rv = rewrite_request(&ctx, &h, &out, &status, &why);
	s = buf_string(&out);
	if (c->out != NULL) {
		ck_assert_msg(rv == 0, "%s: refused %d %s", c->name, status,
		    why ? why : "(null)");
		ck_assert_msg(strcmp(s, c->out) == 0,
		    "%s:\n--- got\n%s--- expected\n%s", c->name, s, c->out);
	} else {
		ck_assert_msg(rv == -1, "%s: accepted:\n%s", c->name, s);
		ck_assert_int_eq(status, c->status);
		ck_assert_str_eq(why, c->why);
		ck_assert_uint_eq(buf_len(&out), 0);
	}
	free(s);
	buf_free(&out);
	http_head_free(&h);
}
END_TEST

/* Heads are appended to what is queued, and fit exactly or not at all. */
START_TEST(test_request_size)
{
	const char		*in = REQ(MSG, "");
	const char		*exp = "queued" FWD(FMSG, "", BEARER);
	struct rewrite_ctx	 ctx;
	struct bridge_config	 bc;
	struct http_head	 h;
	struct buf		 out;
	const char		*why = NULL;
	char			*s;
	int			 status = 0;

	make_ctx(&ctx, &bc, P_ANTHROPIC, "", 443);
	parse_head(in, &h);

	buf_init(&out, strlen(exp));
	ck_assert_int_eq(buf_addstr(&out, "queued"), 0);
	ck_assert_int_eq(rewrite_request(&ctx, &h, &out, &status, &why), 0);
	s = buf_string(&out);
	ck_assert_str_eq(s, exp);
	free(s);
	buf_free(&out);

	buf_init(&out, strlen(exp) - 1);
	ck_assert_int_eq(buf_addstr(&out, "queued"), 0);
	ck_assert_int_eq(rewrite_request(&ctx, &h, &out, &status, &why), -1);
	ck_assert_int_eq(status, 431);
	ck_assert_str_eq(why, "request head too large for the bridge");
	s = buf_string(&out);
	ck_assert_str_eq(s, "queued");
	free(s);
	buf_free(&out);

	/* Nothing queued: nothing left behind, not even memory. */
	buf_init(&out, 32);
	ck_assert_int_eq(rewrite_request(&ctx, &h, &out, &status, &why), -1);
	ck_assert_int_eq(status, 431);
	ck_assert_uint_eq(buf_len(&out), 0);
	ck_assert_ptr_null(out.data);
	buf_free(&out);
	http_head_free(&h);
}
END_TEST

/* A long header value is written whole (not through a small buffer). */
START_TEST(test_request_long_header)
{
	struct rewrite_ctx	 ctx;
	struct bridge_config	 bc;
	struct http_head	 h;
	struct buf		 out;
	const char		*why = NULL;
	char			*in, *s, *v;
	int			 status = 0;

	make_ctx(&ctx, &bc, P_ANTHROPIC, "/coder", 443);
	ck_assert_ptr_nonnull(v = malloc(8001));
	memset(v, 'v', 8000);
	v[8000] = '\0';
	ck_assert_int_ne(asprintf(&in, "GET /v1/models HTTP/1.1\r\n"
	    "Host: api.anthropic.com\r\nX-Long: %s\r\n\r\n", v), -1);
	parse_head(in, &h);
	buf_init(&out, HEAD_MAX);
	ck_assert_int_eq(rewrite_request(&ctx, &h, &out, &status, &why), 0);
	s = buf_string(&out);
	ck_assert_ptr_nonnull(strstr(s, v));
	ck_assert_ptr_eq(strstr(s, "GET /coder" PFX "/v1/models HTTP/1.1\r\n"),
	    s);
	free(s);
	free(in);
	free(v);
	buf_free(&out);
	http_head_free(&h);
}
END_TEST

static void
check_uuid(const char *u)
{
	size_t	 i;

	ck_assert_uint_eq(strlen(u), 36);
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			ck_assert_int_eq(u[i], '-');
			continue;
		}
		ck_assert_msg((u[i] >= '0' && u[i] <= '9') ||
		    (u[i] >= 'a' && u[i] <= 'f'), "%s: bad digit at %zu", u, i);
	}
	ck_assert_int_eq(u[14], '4');
	ck_assert_msg(strchr("89ab", u[19]) != NULL, "%s: variant", u);
}

START_TEST(test_uuid)
{
	char	 a[UUID_STR_LEN], b[UUID_STR_LEN];
	int	 i, seen8 = 0, seenb = 0;

	for (i = 0; i < 1000; i++) {
		memset(a, 'X', sizeof(a));
		memset(b, 'X', sizeof(b));
		uuid4(a);
		uuid4(b);
		check_uuid(a);
		check_uuid(b);
		ck_assert_str_ne(a, b);
		seen8 |= a[19] == '8';
		seenb |= a[19] == 'b';
	}
	/* The variant keeps its two random bits. */
	ck_assert(seen8 && seenb);
}
END_TEST

/* Ids come from a pool of random bytes: a fork(2) child draws anew. */
START_TEST(test_uuid_fork)
{
	char	 a[UUID_STR_LEN], b[UUID_STR_LEN], c[UUID_STR_LEN];
	pid_t	 pid;
	int	 fds[2], status;

	uuid4(a);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ne((pid = fork()), -1);
	if (pid == 0) {
		uuid4(c);
		_exit(write(fds[1], c, sizeof(c)) == sizeof(c) ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(read(fds[0], c, sizeof(c)), sizeof(c));
	uuid4(b);
	check_uuid(c);
	ck_assert_str_ne(b, c);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

static Suite *
rewrite_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("rewrite");

	tc = tcase_create("target");
	tcase_add_loop_test(tc, test_target, 0, (int)nitems(target_cases));
	tcase_add_test(tc, test_target_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_loop_test(tc, test_request, 0, (int)nitems(request_cases));
	tcase_add_test(tc, test_request_size);
	tcase_add_test(tc, test_request_long_header);
	suite_add_tcase(s, tc);

	tc = tcase_create("uuid4");
	tcase_add_test(tc, test_uuid);
	tcase_add_test(tc, test_uuid_fork);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	int	 failed;

	failed = unit_run(rewrite_suite());
	return (failed != 0);
}
