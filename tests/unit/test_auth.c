/*
 * aibproxyd/auth.c: the token inside Proxy-Authorization.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aibproxyd/auth.h"
#include "compat.h"
#include "unit.h"

#define UNTOUCHED	"untouched"

struct token_case {
	const char	*value;
	const char	*token;		/* NULL: must be refused */
};

static const struct token_case token_cases[] = {
	/* "ignored:tok-en123" */
	{ "Basic aWdub3JlZDp0b2stZW4xMjM=", "tok-en123" },
	{ "basic aWdub3JlZDp0b2stZW4xMjM=", "tok-en123" },
	{ "BASIC aWdub3JlZDp0b2stZW4xMjM=", "tok-en123" },
	{ "bAsIc aWdub3JlZDp0b2stZW4xMjM=", "tok-en123" },
	{ "Basic\taWdub3JlZDp0b2stZW4xMjM=", "tok-en123" },
	{ "  Basic   aWdub3JlZDp0b2stZW4xMjM=  ", "tok-en123" },
	/* "coder:abcdefghij-0123456789012345678901" */
	{ "Basic Y29kZXI6YWJjZGVmZ2hpai0wMTIzNDU2Nzg5MDEyMzQ1Njc4OTAx",
	    "abcdefghij-0123456789012345678901" },
	/* "u:a:b": split at the first colon */
	{ "Basic dTphOmI=", "a:b" },
	/* ":t": empty user name */
	{ "Basic OnQ=", "t" },
	/* "u:x", "u:xy", "u:xyz": no, two and one padding bytes */
	{ "Basic dTp4", "x" },
	{ "Basic dTp4eQ==", "xy" },
	{ "Basic dTp4eXo=", "xyz" },
	/* the two last letters of the alphabet, "+" and "/" */
	{ "Basic dTo/Pz4+", "?\?>>" },
	{ "Basic dTr//g==", "\xff\xfe" },
	{ "Basic dTp+fn4=", "~~~" },
	{ "Basic dTo/Pz8=", "?\?\?" },
	/* "u:a b" */
	{ "Basic dTphIGI=", "a b" },
	{ NULL, NULL },
	{ "", NULL },
	{ " ", NULL },
	{ "Basic", NULL },
	{ "Basic ", NULL },
	{ "aWdub3JlZDp0b2stZW4xMjM=", NULL },
	{ "Basic aWdub3JlZDp0b2stZW4xMjM= extra", NULL },
	{ "Basic aWdub3JlZDp0b2stZW4xMjM= aWdub3JlZDp0b2stZW4xMjM=", NULL },
	{ "Basic Basic aWdub3JlZDp0b2stZW4xMjM=", NULL },
	{ "Bearer x", NULL },
	{ "Bearer aWdub3JlZDp0b2stZW4xMjM=", NULL },
	{ "Basi aWdub3JlZDp0b2stZW4xMjM=", NULL },
	{ "Basics aWdub3JlZDp0b2stZW4xMjM=", NULL },
	{ "Basic,aWdub3JlZDp0b2stZW4xMjM=", NULL },
	/* URL-safe alphabet */
	{ "Basic dTo_Pz4-", NULL },
	{ "Basic dTr__g==", NULL },
	{ "Basic dTp-fn4=", NULL },
	{ "Basic dTo_Pz8=", NULL },
	/* missing or broken padding */
	{ "Basic dTphOmI", NULL },
	{ "Basic dTp4eQ", NULL },
	{ "Basic dTp4eQ=", NULL },
	{ "Basic dTp4eQ===", NULL },
	{ "Basic dTp4=Q==", NULL },
	{ "Basic dT==dTp4", NULL },
	{ "Basic ====", NULL },
	{ "Basic =", NULL },
	/* left-over bits not zero: a second spelling of "u:xy", "u:xyz" */
	{ "Basic dTp4eR==", NULL },
	{ "Basic dTp4eXp=", NULL },
	/* embedded whitespace and garbage */
	{ "Basic dTp4 eQ==", NULL },
	{ "Basic dTp4\teQ==", NULL },
	{ "Basic dTp4\neQ==", NULL },
	{ "Basic !!!!", NULL },
	{ "Basic dTp4eQ=!", NULL },
	{ "Basic dTp4e.==", NULL },
	{ "Basic dTp4eQ==\x01", NULL },
	/* "notoken": no colon */
	{ "Basic bm90b2tlbg==", NULL },
	/* "ignored:": empty token */
	{ "Basic aWdub3JlZDo=", NULL },
	/* "u:a\x01b", "u:a\x7fb", "u:a\x00b": control bytes, NUL */
	{ "Basic dTphAWI=", NULL },
	{ "Basic dTphf2I=", NULL },
	{ "Basic dTphAGI=", NULL },
};

START_TEST(test_token)
{
	const struct token_case	*c = &token_cases[_i];
	char			 token[AUTH_TOKEN_MAX];
	int			 rv;

	strlcpy(token, UNTOUCHED, sizeof(token));
	rv = auth_proxy_token(c->value, token, sizeof(token));
	if (c->token != NULL) {
		ck_assert_msg(rv == 0, "\"%s\" refused", c->value);
		ck_assert_str_eq(token, c->token);
	} else {
		ck_assert_msg(rv == -1, "\"%s\" accepted as \"%s\"",
		    c->value ? c->value : "(null)", token);
		ck_assert_str_eq(token, UNTOUCHED);
	}
}
END_TEST

/* A plain encoder, independent of the decoder under test. */
static char *
b64(const uint8_t *in, size_t len)
{
	static const char	 a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char			*out, *o;
	uint32_t		 v;
	size_t			 i;

	ck_assert_ptr_nonnull(out = malloc((len + 2) / 3 * 4 + 1));
	for (i = 0, o = out; i < len; i += 3, o += 4) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		o[0] = a[v >> 18];
		o[1] = a[(v >> 12) & 63];
		o[2] = i + 1 < len ? a[(v >> 6) & 63] : '=';
		o[3] = i + 2 < len ? a[v & 63] : '=';
	}
	*o = '\0';
	return (out);
}

/* "Basic base64(user:<n times 't'>)" */
static char *
basic_with_token(size_t n)
{
	uint8_t	*plain;
	char	*enc, *value;

	ck_assert_ptr_nonnull(plain = malloc(n + 5));
	memcpy(plain, "user:", 5);
	memset(plain + 5, 't', n);
	enc = b64(plain, n + 5);
	ck_assert_int_ne(asprintf(&value, "Basic %s", enc), -1);
	free(plain);
	free(enc);
	return (value);
}

START_TEST(test_token_length)
{
	char	 token[AUTH_TOKEN_MAX], small[10];
	char	*value;

	/* The encoder itself, against a known value. */
	value = b64((const uint8_t *)"u:xy", 4);
	ck_assert_str_eq(value, "dTp4eQ==");
	free(value);

	value = basic_with_token(sizeof(token) - 1);
	ck_assert_int_eq(auth_proxy_token(value, token, sizeof(token)), 0);
	ck_assert_uint_eq(strlen(token), sizeof(token) - 1);
	ck_assert_int_eq(token[0], 't');
	free(value);

	value = basic_with_token(sizeof(token));
	strlcpy(token, UNTOUCHED, sizeof(token));
	ck_assert_int_eq(auth_proxy_token(value, token, sizeof(token)), -1);
	ck_assert_str_eq(token, UNTOUCHED);
	free(value);

	/* "ignored:tok-en123": nine bytes and the NUL. */
	ck_assert_int_eq(auth_proxy_token("Basic aWdub3JlZDp0b2stZW4xMjM=",
	    small, sizeof(small)), 0);
	ck_assert_str_eq(small, "tok-en123");
	strlcpy(small, "keep", sizeof(small));
	ck_assert_int_eq(auth_proxy_token("Basic aWdub3JlZDp0b2stZW4xMjM=",
	    small, sizeof(small) - 1), -1);
	ck_assert_str_eq(small, "keep");
	ck_assert_int_eq(auth_proxy_token("Basic aWdub3JlZDp0b2stZW4xMjM=",
	    small, 0), -1);
	ck_assert_int_eq(auth_proxy_token("Basic aWdub3JlZDp0b2stZW4xMjM=",
	    NULL, 0), -1);
}
END_TEST

START_TEST(test_token_huge)
{
	char	 token[AUTH_TOKEN_MAX];
	char	*value;

	/* Far more than any buffer: refused, whatever the output size. */
	value = basic_with_token(64 * 1024);
	strlcpy(token, UNTOUCHED, sizeof(token));
	ck_assert_int_eq(auth_proxy_token(value, token, sizeof(token)), -1);
	ck_assert_str_eq(token, UNTOUCHED);
	free(value);
}
END_TEST

struct id_case {
	const char	*token;
	size_t		 idlen;
	const char	*id;
};

static const struct id_case id_cases[] = {
	{ "abcdefghij-0123456789012345678901", 64, "abcdefghij" },
	{ "abcdefghij-0123456789012345678901", 11, "abcdefghij" },
	{ "abcdefghij-0123456789012345678901", 10, "" },
	{ "abcdefghij-0123456789012345678901", 1, "" },
	{ "ABC123-x", 64, "ABC123" },
	{ "a-b-c", 64, "a" },
	{ "nodashatallsecret", 64, "" },
	{ "", 64, "" },
	{ "-secret", 64, "" },
	{ "sk_ant_secret-x", 64, "" },
	{ "sec ret-x", 64, "" },
	{ "s:e/c-x", 64, "" },
	{ NULL, 64, "" },
};

START_TEST(test_token_id)
{
	const struct id_case	*c = &id_cases[_i];
	char			 id[64];

	memset(id, 'X', sizeof(id));
	auth_token_id(c->token, id, c->idlen);
	ck_assert_str_eq(id, c->id);
}
END_TEST

START_TEST(test_token_id_zero)
{
	char	 id[4] = "abc";

	auth_token_id("abcdefghij-x", id, 0);
	ck_assert_str_eq(id, "abc");
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("auth");

	tc = tcase_create("proxy_token");
	tcase_add_loop_test(tc, test_token, 0, (int)nitems(token_cases));
	tcase_add_test(tc, test_token_length);
	tcase_add_test(tc, test_token_huge);
	suite_add_tcase(s, tc);

	tc = tcase_create("token_id");
	tcase_add_loop_test(tc, test_token_id, 0, (int)nitems(id_cases));
	tcase_add_test(tc, test_token_id_zero);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	int	 failed;

	failed = unit_run(auth_suite());
	return (failed != 0);
}
