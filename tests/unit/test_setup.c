/*
 * The setup page at / (setup.c, setup_page.c): which Host values name
 * the listener (host_authority()), which Accept values get HTML
 * (http_accepts()), the page as curl and a browser see it on a worker
 * driven by the harness, a hostile Host header that never reaches it,
 * and the fingerprint against openssl x509 -fingerprint -sha256.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../aibproxyd/session.h"
#include "../../aibproxyd/setup.h"
#include "harness.h"
#include "hostname.h"
#include "http.h"
#include "unit.h"

static struct wh	 W;

#define BROWSER_ACCEPT							\
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,"	\
	"image/avif,image/webp,*/*;q=0.8\r\n"

static const struct {
	const char	*in;
	int		 defport;
	const char	*want;		/* NULL: refused */
} hosts[] = {
	{ "proxy.example.com:8888", 80, "proxy.example.com:8888" },
	{ "Proxy.Example.COM", 80, "proxy.example.com:80" },
	{ "proxy.example.com.:3128", 80, "proxy.example.com:3128" },
	{ "proxy", 443, "proxy:443" },
	{ "192.0.2.1:8888", 80, "192.0.2.1:8888" },
	{ "192.0.2.1", 443, "192.0.2.1:443" },
	{ "[2001:db8::1]:8888", 80, "[2001:db8::1]:8888" },
	{ "[::1]", 80, "[::1]:80" },
	{ "", 80, NULL },
	{ ":80", 80, NULL },
	{ "host:", 80, NULL },
	{ "host:0", 80, NULL },
	{ "host:65536", 80, NULL },
	{ "host:+80", 80, NULL },
	{ "host: 80", 80, NULL },
	{ "host:80:81", 80, NULL },
	{ "::1", 80, NULL },
	{ "[::1", 80, NULL },
	{ "[::1]x:80", 80, NULL },
	{ "[fe80::1%25eth0]:80", 80, NULL },
	{ "[192.0.2.1]:80", 80, NULL },
	{ "127.1", 80, NULL },
	{ "0x7f.1:80", 80, NULL },
	{ "1.2.3.4.5", 80, NULL },
	{ "a..b", 80, NULL },
	{ "-a.example", 80, NULL },
	{ "user@host:80", 80, NULL },
	{ "host/path", 80, NULL },
	{ "a b", 80, NULL },
	{ "<script>alert(1)</script>", 80, NULL },
	{ "x\"><img src=y>", 80, NULL },
	{ "ex%61mple.com", 80, NULL },
	{ "\xc3\xa9xample.com", 80, NULL }
};

START_TEST(test_host_authority)
{
	char	 out[AIB_HOSTNAME_MAX + 16], small[8];
	int	 r;

	r = host_authority(hosts[_i].in, hosts[_i].defport, out, sizeof(out));
	if (hosts[_i].want == NULL) {
		ck_assert_msg(r == -1, "\"%s\" taken as %s", hosts[_i].in,
		    out);
		return;
	}
	ck_assert_msg(r == 0, "\"%s\" refused", hosts[_i].in);
	ck_assert_str_eq(out, hosts[_i].want);
	/* An output too small is refused, not cut. */
	ck_assert_int_eq(host_authority(hosts[_i].in, hosts[_i].defport,
	    small, sizeof(small)), -1);
}
END_TEST

static const struct {
	const char	*headers;
	int		 html;
} accepts[] = {
	{ BROWSER_ACCEPT, 1 },
	{ "Accept: */*\r\n", 0 },
	{ "", 0 },
	{ "Accept: TEXT/HTML\r\n", 1 },
	{ "Accept: text/html;q=0\r\n", 0 },
	{ "Accept: text/html ; q=0.000\r\n", 0 },
	{ "Accept: text/html;q=0.001\r\n", 1 },
	{ "Accept: text/html;level=1;Q=0.\r\n", 0 },
	{ "Accept: text/*\r\n", 0 },
	{ "Accept: text/htmlx, xtext/html\r\n", 0 },
	{ "Accept: text/plain, text/html;q=0\r\n", 0 },
	{ "Accept: application/json,  text/html  \r\n", 1 },
	{ "Accept: application/json\r\nAccept: text/html\r\n", 1 },
	{ "Accept: ,,;,\r\n", 0 }
};

START_TEST(test_accepts)
{
	struct http_head	 h;
	char			 req[512];
	int			 n;

	n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\n%s\r\n",
	    accepts[_i].headers);
	ck_assert(n > 0 && (size_t)n < sizeof(req));
	ck_assert_int_eq(http_parse_request(req, strlen(req), 4096, &h, NULL),
	    HTTP_COMPLETE);
	ck_assert_msg(http_accepts(&h, "text/html") == accepts[_i].html,
	    "%s", accepts[_i].headers);
	http_head_free(&h);
}
END_TEST

/* GET or HEAD / with the given extra header lines; the whole answer. */
static const char *
get_page(const char *method, const char *host, const char *extra)
{
	static struct wh_reader	 r;
	char			 req[1024];
	int			 fd;

	snprintf(req, sizeof(req), "%s / HTTP/1.1\r\nHost: %s\r\n%s\r\n",
	    method, host, extra);
	fd = wh_client(&W);
	wh_reader_init(&r, fd);
	wh_send(fd, req);
	ck_assert_int_eq(wh_read_eof(&W, &r, 1.5), 0);
	ck_assert_int_eq(r.eof, 1);
	ck_assert_uint_lt(r.len, sizeof(r.got) - 1);
	close(fd);
	return (r.got);
}

/* The body, after checking the Content-Length matches it. */
static const char *
body_of(const char *answer)
{
	const char	*body, *cl;

	ck_assert_ptr_nonnull(body = strstr(answer, "\r\n\r\n"));
	body += 4;
	ck_assert_ptr_nonnull(cl = strstr(answer, "\r\nContent-Length: "));
	ck_assert_int_eq(strtol(cl + 18, NULL, 10), (long)strlen(body));
	return (body);
}

/* curl: plain text, this listener's URL from Host, the fingerprint. */
START_TEST(test_page_text)
{
	const char	*a, *body;

	wh_init(&W);
	a = get_page("GET", "Proxy.Test:8888", "Accept: */*\r\n");
	ck_assert(strncmp(a, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\n", 57) == 0);
	ck_assert_ptr_nonnull(strstr(a, "\r\nX-Content-Type-Options: "
	    "nosniff\r\n"));
	ck_assert_ptr_nonnull(strstr(a, "\r\nVary: Accept\r\n"));
	body = body_of(a);
	ck_assert(strncmp(body, "aibproxyd: client setup\n=====", 29) == 0);
	ck_assert_ptr_nonnull(strstr(body,
	    "\n    Proxy URL:          http://proxy.test:8888/\n"));
	ck_assert_ptr_nonnull(strstr(body,
	    "http://proxy.test:8888/ca-cert.pem\n"));
	ck_assert_ptr_nonnull(strstr(body, W.pc->ca_fpr));
	ck_assert_ptr_nonnull(strstr(body, "export HTTPS_PROXY=\"http://coder:"
	    "$CODER_TOKEN@proxy.test:8888\"\n"));
	ck_assert_ptr_nonnull(strstr(body, "CODEX_CA_CERTIFICATE="));
	ck_assert_ptr_nonnull(strstr(body, "Intercepted hosts:  " WH_HOST
	    "\n"));
	ck_assert_ptr_nonnull(strstr(body, "plain HTTP"));
	/* Nothing unreplaced, no markup, no secret. */
	ck_assert_ptr_null(strstr(body, "@SCHEME@"));
	ck_assert_ptr_null(strstr(body, "@HOSTPORT@"));
	ck_assert_ptr_null(strstr(body, "@FPR@"));
	ck_assert_ptr_null(strstr(body, "<"));
	ck_assert_ptr_null(strstr(body, WH_TOKEN));
	wh_done(&W);
}
END_TEST

/* A browser: HTML, escaped, with the security headers. */
START_TEST(test_page_html)
{
	const char	*a, *body;

	wh_init(&W);
	a = get_page("GET", "proxy.test:8888", BROWSER_ACCEPT);
	ck_assert(strncmp(a, "HTTP/1.1 200 OK\r\nContent-Type: text/html; "
	    "charset=utf-8\r\n", 56) == 0);
	ck_assert_ptr_nonnull(strstr(a, "\r\nContent-Security-Policy: "
	    "default-src 'none'; base-uri 'none'; form-action 'none'; "
	    "frame-ancestors 'none'\r\n"));
	ck_assert_ptr_nonnull(strstr(a, "\r\nX-Content-Type-Options: "
	    "nosniff\r\n"));
	body = body_of(a);
	ck_assert(strncmp(body, "<!DOCTYPE html>\n", 16) == 0);
	ck_assert_ptr_nonnull(strstr(body, "<title>aibproxyd: client setup"
	    "</title>"));
	ck_assert_ptr_nonnull(strstr(body, "<a href=\"/ca-cert.pem\">"));
	ck_assert_ptr_nonnull(strstr(body, "export HTTPS_PROXY=&quot;http://"
	    "coder:$CODER_TOKEN@proxy.test:8888&quot;\n"));
	ck_assert_ptr_nonnull(strstr(body, "    &gt; &quot;"));
	ck_assert_ptr_nonnull(strstr(body, W.pc->ca_fpr));
	ck_assert_ptr_null(strstr(body, "<script"));
	ck_assert_ptr_null(strstr(body, "style"));
	ck_assert(strcmp(body + strlen(body) - 8, "</html>\n") == 0);
	wh_done(&W);
}
END_TEST

/* HEAD: the same head, no body. */
START_TEST(test_page_head)
{
	char		 get[WH_GOT_MAX];
	const char	*a, *body;

	wh_init(&W);
	strlcpy(get, get_page("GET", "proxy.test", ""), sizeof(get));
	body = strstr(get, "\r\n\r\n") + 4;
	ck_assert_ptr_nonnull(strstr(body, "http://proxy.test:80/\n"));
	a = get_page("HEAD", "proxy.test", "");
	ck_assert_uint_eq(strlen(a), (size_t)(body - get));
	ck_assert(strncmp(a, get, strlen(a)) == 0);
	wh_done(&W);
}
END_TEST

/*
 * A Host header that is not a plain host[:port] never reaches the
 * page: it names the listener by the socket's address instead.
 */
static const char *const hostile[] = {
	"<script>alert(1)</script>",
	"x\"><img src=y onerror=alert(1)>",
	"evil.example/'onmouseover='alert(1)",
	"a&amp;b.example:80",
	"evil.example:80 <b>",
	"evil.example:80@x"
};

START_TEST(test_page_hostile_host)
{
	const char	*a, *body;
	int		 html;

	wh_init(&W);
	for (html = 0; html <= 1; html++) {
		a = get_page("GET", hostile[_i], html ? BROWSER_ACCEPT : "");
		ck_assert(strncmp(a, "HTTP/1.1 200 OK\r\n", 17) == 0);
		body = body_of(a);
		ck_assert_ptr_null(strstr(body, "alert"));
		ck_assert_ptr_null(strstr(body, "evil"));
		ck_assert_ptr_null(strstr(body, "<script"));
		ck_assert_ptr_null(strstr(body, "<img"));
		ck_assert_ptr_null(strstr(body, "<b>"));
		ck_assert_ptr_null(strstr(body, "a&amp;b"));
		ck_assert_ptr_nonnull(strstr(body, "http://127.0.0.1:"));
	}
	wh_done(&W);
}
END_TEST

/* The same SHA-256 as openssl x509 -fingerprint -sha256 prints. */
START_TEST(test_fingerprint)
{
	char	 path[] = "/tmp/aib-unit-ca.XXXXXX", cmd[256], line[256];
	char	 fpr[PROXY_FPR_LEN], chain[16384];
	const char *broken = "-----BEGIN CERTIFICATE-----\nAAAA\n"
		    "-----END CERTIFICATE-----\n";
	FILE	*p;
	int	 fd;

	wh_init(&W);
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, wh_ca_pem, strlen(wh_ca_pem)),
	    (ssize_t)strlen(wh_ca_pem));
	close(fd);
	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -fingerprint "
	    "-sha256 -in %s", path);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	ck_assert_int_eq(pclose(p), 0);
	unlink(path);
	line[strcspn(line, "\n")] = '\0';
	ck_assert(strncmp(line, "sha256 Fingerprint=", 19) == 0 ||
	    strncmp(line, "SHA256 Fingerprint=", 19) == 0);
	ck_assert_str_eq(W.pc->ca_fpr, line + 19);
	ck_assert_uint_eq(strlen(W.pc->ca_fpr), PROXY_FPR_LEN - 1);
	/* The last certificate of a chain, as /ca-cert.pem serves it. */
	snprintf(chain, sizeof(chain), "-----BEGIN PRIVATE KEY-----\nx\n"
	    "-----END PRIVATE KEY-----\n%s", wh_ca_pem);
	ck_assert_int_eq(setup_fingerprint((const uint8_t *)chain,
	    strlen(chain), fpr, sizeof(fpr)), 0);
	ck_assert_str_eq(fpr, W.pc->ca_fpr);
	/* No certificate, a broken one, a buffer too small. */
	ck_assert_int_eq(setup_fingerprint((const uint8_t *)"x", 1, fpr,
	    sizeof(fpr)), -1);
	ck_assert_int_eq(setup_fingerprint((const uint8_t *)broken,
	    strlen(broken), fpr, sizeof(fpr)), -1);
	ck_assert_int_eq(setup_fingerprint((const uint8_t *)wh_ca_pem,
	    strlen(wh_ca_pem), fpr, sizeof(fpr) - 1), -1);
	wh_done(&W);
}
END_TEST

/* On a TLS listener the proxy URL is https://. */
START_TEST(test_page_tls)
{
	static const char *const lines[] = {
		"GET / HTTP/1.1\r\nHost: " WH_PROXY_NAME ":8443\r\n\r\n", NULL
	};
	struct wh_tls	 c;

	wh_init(&W);
	wh_tls_direct(&W, &c, lines);
	ck_assert(strncmp(c.got, "HTTP/1.1 200 OK\r\n", 17) == 0);
	ck_assert_ptr_nonnull(strstr(c.got, "Proxy URL:          https://"
	    WH_PROXY_NAME ":8443/\n"));
	ck_assert_ptr_nonnull(strstr(c.got, "speaks TLS"));
	ck_assert_ptr_null(strstr(c.got, "plain HTTP"));
	wh_done(&W);
}
END_TEST

static Suite *
setup_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("setup");

	tc = tcase_create("parsers");
	tcase_add_loop_test(tc, test_host_authority, 0,
	    sizeof(hosts) / sizeof(hosts[0]));
	tcase_add_loop_test(tc, test_accepts, 0,
	    sizeof(accepts) / sizeof(accepts[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("page");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_page_text);
	tcase_add_test(tc, test_page_html);
	tcase_add_test(tc, test_page_head);
	tcase_add_loop_test(tc, test_page_hostile_host, 0,
	    sizeof(hostile) / sizeof(hostile[0]));
	tcase_add_test(tc, test_fingerprint);
	tcase_add_test(tc, test_page_tls);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(setup_suite()) != 0);
}
