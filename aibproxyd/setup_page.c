/*
 * The text of the setup page at /, in one place, and the one renderer
 * that makes it HTML for a browser or plain text for curl.  Every byte
 * of the HTML, template and placeholder values alike, is escaped, so
 * nothing a request supplied can become markup; the page has no
 * script and no style, and its Content-Security-Policy says so.
 *
 * Placeholders: @SCHEME@ (http or https), @HOSTPORT@ (this listener as
 * the client named it), @FPR@ (the CA's SHA-256 fingerprint), @HOSTS@
 * (the intercepted hosts) and @PROVIDER@ (the first of them).  The
 * page names the credentials ($CODER_TOKEN), never holds them.  The
 * same content is aibproxyd(8)'s CLIENT CONFIGURATION: change both.
 */
#include <string.h>

#include "setup.h"

enum sp_kind {
	SP_TITLE,
	SP_HEAD,
	SP_TEXT,		/* a paragraph; '\n' only breaks the text */
	SP_CODE,		/* literal lines */
	SP_LINK			/* href, label */
};

enum sp_when {
	SP_ALL,
	SP_TLS,			/* on a TLS listener only */
	SP_PLAIN,		/* on a plain one only */
	SP_HTML			/* in the HTML only */
};

struct sp_line {
	enum sp_kind	 kind;
	enum sp_when	 when;
	const char	*text;
	const char	*label;		/* SP_LINK */
};

#define PROXY		"@SCHEME@://@HOSTPORT@"
/* "@@" is a literal '@' followed by the @HOSTPORT@ placeholder. */
#define AUTHPROXY	"@SCHEME@://coder:$CODER_TOKEN@@HOSTPORT@"
#define CA_FILE		"$HOME/.aibproxyd-ca.pem"
#define BUNDLE		"$HOME/.aibproxyd-bundle.pem"

static const struct sp_line setup_lines[] = {
	{ SP_TITLE, SP_ALL, "aibproxyd: client setup", NULL },
	{ SP_TEXT, SP_ALL,
"This proxy hands the requests of AI coding tools to your\n"
"organisation's AI Bridge.  Point each tool at the proxy, with your\n"
"Coder token as the proxy password, and make it trust the proxy's CA\n"
"certificate, as below.  Nothing on this page is secret.", NULL },
	{ SP_CODE, SP_ALL,
"Proxy URL:          " PROXY "/\n"
"CA certificate:     " PROXY "/ca-cert.pem\n"
"CA SHA-256:         @FPR@\n"
"Intercepted hosts:  @HOSTS@", NULL },
	{ SP_LINK, SP_HTML, "/ca-cert.pem", "Download the CA certificate" },

	{ SP_HEAD, SP_ALL, "Credentials", NULL },
	{ SP_TEXT, SP_ALL,
"The proxy URL carries your Coder token as its password; the user\n"
"name is ignored.  The commands below read the token from the shell\n"
"variable CODER_TOKEN.  Set it without leaving it in your history\n"
"(paste the token, then Enter):", NULL },
	{ SP_CODE, SP_ALL, "read -rs CODER_TOKEN && export CODER_TOKEN", NULL },
	{ SP_TEXT, SP_ALL,
"Written into a URL, a token with @ : / or % in it must have them\n"
"percent-encoded.", NULL },
	{ SP_TEXT, SP_TLS,
"This listener speaks TLS, so the token does not cross the network\n"
"in the clear.  The tools must also trust the listener's own\n"
"certificate: if the CA below did not issue it, add its issuer the\n"
"same way.", NULL },
	{ SP_TEXT, SP_PLAIN,
"This listener speaks plain HTTP: the token crosses the network in\n"
"the clear.  Use it only on a network you trust.", NULL },

	{ SP_HEAD, SP_ALL, "The CA certificate", NULL },
	{ SP_CODE, SP_ALL,
"curl -fsS -o \"" CA_FILE "\" " PROXY "/ca-cert.pem\n"
"openssl x509 -noout -fingerprint -sha256 -in \"" CA_FILE "\"", NULL },
	{ SP_TEXT, SP_TLS,
"If curl cannot verify this listener yet, add -k to the first\n"
"command once: the fingerprint is what vouches for the file.", NULL },
	{ SP_TEXT, SP_ALL,
"The fingerprint it prints must be the one above and the one your\n"
"administrator published: this page came over the same connection as\n"
"the file, so only that comparison vouches for it.", NULL },
	{ SP_TEXT, SP_ALL,
"Tools that replace the system's CAs with a file (SSL_CERT_FILE,\n"
"REQUESTS_CA_BUNDLE, CODEX_CA_CERTIFICATE) need a bundle that holds\n"
"the usual CAs as well, or the sites they reach through tunnels fail\n"
"to verify (on macOS, /etc/ssl/cert.pem is the first file):", NULL },
	{ SP_CODE, SP_ALL,
"cat /etc/ssl/certs/ca-certificates.crt \"" CA_FILE "\" \\\n"
"    > \"" BUNDLE "\"", NULL },

	{ SP_HEAD, SP_ALL, "Claude Code", NULL },
	{ SP_CODE, SP_ALL,
"export HTTPS_PROXY=\"" AUTHPROXY "\"\n"
"export NODE_EXTRA_CA_CERTS=\"" CA_FILE "\"", NULL },

	{ SP_HEAD, SP_ALL, "Codex", NULL },
	{ SP_CODE, SP_ALL,
"export HTTPS_PROXY=\"" AUTHPROXY "\"\n"
"export CODEX_CA_CERTIFICATE=\"" BUNDLE "\"", NULL },

	{ SP_HEAD, SP_ALL, "Node.js SDKs (@anthropic-ai/sdk, openai)", NULL },
	{ SP_CODE, SP_ALL,
"export HTTPS_PROXY=\"" AUTHPROXY "\"\n"
"export NODE_USE_ENV_PROXY=1\n"
"export NODE_EXTRA_CA_CERTS=\"" CA_FILE "\"", NULL },
	{ SP_TEXT, SP_ALL,
"Node.js follows HTTPS_PROXY only with NODE_USE_ENV_PROXY=1 (from\n"
"versions 22.21 and 24.5); older ones need a proxy agent in the\n"
"code.  NODE_EXTRA_CA_CERTS adds the CA to Node's own list, which\n"
"ignores the system's trust store.", NULL },

	{ SP_HEAD, SP_ALL, "Python SDKs (anthropic, openai) and requests",
	    NULL },
	{ SP_CODE, SP_ALL,
"export HTTPS_PROXY=\"" AUTHPROXY "\"\n"
"export SSL_CERT_FILE=\"" BUNDLE "\"\n"
"export REQUESTS_CA_BUNDLE=\"" BUNDLE "\"", NULL },
	{ SP_TEXT, SP_ALL,
"httpx, which the SDKs use, reads SSL_CERT_FILE; requests reads\n"
"REQUESTS_CA_BUNDLE.  Both replace the trusted CAs: hence the bundle.",
	    NULL },

	{ SP_HEAD, SP_ALL, "VS Code and GitHub Copilot", NULL },
	{ SP_TEXT, SP_ALL,
"In the user settings.json, with your token in place of TOKEN (VS\n"
"Code does not read it from the environment):", NULL },
	{ SP_CODE, SP_ALL,
"\"http.proxy\": \"@SCHEME@://coder:TOKEN@@HOSTPORT@\",\n"
"\"http.proxyStrictSSL\": true", NULL },
	{ SP_TEXT, SP_ALL,
"VS Code and the Copilot extension trust the system's store\n"
"(http.systemCertificates, on by default): add the CA to it as\n"
"below.  The Copilot CLI is a Node.js program: set HTTPS_PROXY and\n"
"NODE_EXTRA_CA_CERTS as for Claude Code, and add the CA to the\n"
"system's store as well for the servers it starts.", NULL },

	{ SP_HEAD, SP_ALL, "curl", NULL },
	{ SP_CODE, SP_ALL,
"curl --proxy " PROXY " --proxy-user \"coder:$CODER_TOKEN\" \\\n"
"    --cacert \"" CA_FILE "\" https://@PROVIDER@/v1/models", NULL },
	{ SP_TEXT, SP_TLS,
"Add --proxy-cacert with the listener's issuer if curl does not\n"
"trust the listener's certificate.", NULL },

	{ SP_HEAD, SP_ALL, "NO_PROXY", NULL },
	{ SP_TEXT, SP_ALL,
"Hosts the tools must reach directly, such as local servers.  Never\n"
"list the intercepted hosts: their requests would bypass the bridge\n"
"and fail.", NULL },
	{ SP_CODE, SP_ALL, "export NO_PROXY=localhost,127.0.0.1,::1", NULL },

	{ SP_HEAD, SP_ALL, "The system's trust store", NULL },
	{ SP_TEXT, SP_ALL,
"For the programs that read none of the variables above.  Debian\n"
"and Ubuntu:", NULL },
	{ SP_CODE, SP_ALL,
"sudo cp \"" CA_FILE "\" \\\n"
"    /usr/local/share/ca-certificates/aibproxyd.crt\n"
"sudo update-ca-certificates", NULL },
	{ SP_TEXT, SP_ALL, "macOS:", NULL },
	{ SP_CODE, SP_ALL,
"sudo security add-trusted-cert -d -r trustRoot \\\n"
"    -k /Library/Keychains/System.keychain \"" CA_FILE "\"", NULL },
	{ SP_TEXT, SP_ALL,
"Windows, in a Command Prompt run as administrator:", NULL },
	{ SP_CODE, SP_ALL,
"curl.exe -fsS -o aibproxyd-ca.pem " PROXY "/ca-cert.pem\n"
"certutil -addstore Root aibproxyd-ca.pem", NULL },
	{ SP_TEXT, SP_ALL,
"More in aibproxyd(8), section CLIENT CONFIGURATION.", NULL }
};

#define SP_INDENT	"    "	/* literal lines in the plain text */

static int
sp_put(struct buf *b, int html, const char *s, size_t n)
{
	const char	*e;
	size_t		 i;

	if (!html)
		return (buf_add(b, s, n));
	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default: e = NULL; break;
		}
		if (e != NULL ? buf_addstr(b, e) : buf_add(b, s + i, 1))
			return (-1);
	}
	return (0);
}

/* The value of the placeholder at s, its length in *n; NULL if none. */
static const char *
sp_var(const char *s, const struct setup_vars *v, size_t *n)
{
	const struct {
		const char	*name;
		const char	*value;
	} vars[] = {
		{ "@SCHEME@", v->tls ? "https" : "http" },
		{ "@HOSTPORT@", v->hostport },
		{ "@FPR@", v->fingerprint },
		{ "@HOSTS@", v->hosts },
		{ "@PROVIDER@", v->provider }
	};
	size_t	 i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		*n = strlen(vars[i].name);
		if (strncmp(s, vars[i].name, *n) == 0)
			return (vars[i].value);
	}
	return (NULL);
}

/* Text with its placeholders filled in; indent after each newline. */
static int
sp_expand(struct buf *b, int html, const char *s,
    const struct setup_vars *v, const char *indent)
{
	const char	*val;
	size_t		 n;

	while (*s != '\0') {
		if (*s == '@' && (val = sp_var(s, v, &n)) != NULL) {
			if (sp_put(b, html, val, strlen(val)) == -1)
				return (-1);
			s += n;
			continue;
		}
		if (sp_put(b, html, s, 1) == -1 ||
		    (*s == '\n' && buf_addstr(b, indent) == -1))
			return (-1);
		s++;
	}
	return (0);
}

static int
sp_html(struct buf *b, const struct sp_line *l, const struct setup_vars *v)
{
	static const char *const tags[] = { "h1", "h2", "p", "pre" };

	if (l->kind == SP_LINK)
		return (buf_addstr(b, "<p><a href=\"") == -1 ||
		    sp_put(b, 1, l->text, strlen(l->text)) == -1 ||
		    buf_addstr(b, "\">") == -1 ||
		    sp_expand(b, 1, l->label, v, "") == -1 ||
		    buf_addstr(b, "</a></p>\n") == -1 ? -1 : 0);
	return (buf_printf(b, "<%s>", tags[l->kind]) == -1 ||
	    sp_expand(b, 1, l->text, v, "") == -1 ||
	    buf_printf(b, "</%s>\n", tags[l->kind]) == -1 ? -1 : 0);
}

/* Underlines for the plain text's headings. */
static int
sp_rule(struct buf *b, char c, size_t n)
{
	while (n-- > 0)
		if (buf_add(b, &c, 1) == -1)
			return (-1);
	return (buf_addstr(b, "\n\n"));
}

static int
sp_text(struct buf *b, const struct sp_line *l, const struct setup_vars *v)
{
	switch (l->kind) {
	case SP_TITLE:
	case SP_HEAD:
		return (sp_expand(b, 0, l->text, v, "") == -1 ||
		    buf_addstr(b, "\n") == -1 ||
		    sp_rule(b, l->kind == SP_TITLE ? '=' : '-',
		    strlen(l->text)) == -1 ? -1 : 0);
	case SP_TEXT:
		return (sp_expand(b, 0, l->text, v, "") == -1 ||
		    buf_addstr(b, "\n\n") == -1 ? -1 : 0);
	case SP_CODE:
		return (buf_addstr(b, SP_INDENT) == -1 ||
		    sp_expand(b, 0, l->text, v, SP_INDENT) == -1 ||
		    buf_addstr(b, "\n\n") == -1 ? -1 : 0);
	case SP_LINK:
		break;
	}
	return (0);
}

static int
sp_shown(const struct sp_line *l, int html, int tls)
{
	switch (l->when) {
	case SP_ALL:
		return (1);
	case SP_TLS:
		return (tls);
	case SP_PLAIN:
		return (!tls);
	case SP_HTML:
		return (html);
	}
	return (0);
}

int
setup_page(struct buf *b, int html, const struct setup_vars *v)
{
	size_t	 i;

	if (html && (buf_addstr(b, "<!DOCTYPE html>\n<html lang=\"en\">\n"
	    "<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n<title>") ==
	    -1 || sp_expand(b, 1, setup_lines[0].text, v, "") == -1 ||
	    buf_addstr(b, "</title>\n</head>\n<body>\n") == -1))
		return (-1);
	for (i = 0; i < sizeof(setup_lines) / sizeof(setup_lines[0]); i++) {
		if (!sp_shown(&setup_lines[i], html, v->tls))
			continue;
		if ((html ? sp_html(b, &setup_lines[i], v) :
		    sp_text(b, &setup_lines[i], v)) == -1)
			return (-1);
	}
	if (html && buf_addstr(b, "</body>\n</html>\n") == -1)
		return (-1);
	return (0);
}
