/*
 * signerd/ratelimit.c: the token bucket with time passed in, then
 * signerd's request path behind it (issue_limit_request() in front of
 * ca_request()) driven past the limit with a real CA, the way a
 * compromised worker would: a fresh key for every request.
 */
#include <sys/types.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../signerd/ca.h"
#include "../../signerd/ratelimit.h"
#include "log.h"
#include "proto.h"
#include "testcrypto.h"
#include "unit.h"

#define SEC		1000000000ULL
#define MS		1000000ULL
#define T0		(1000 * SEC)	/* any monotonic start */
#define HOST		"api.anthropic.com"
#define LIFETIME	(7 * 24 * 60 * 60)
#define INSTANCE	7

/* The bucket alone. */

/* A new bucket holds its burst, and no more. */
START_TEST(test_bucket_burst)
{
	struct ratelimit	 rl;
	int			 i;

	ratelimit_init(&rl, 20, 100, T0);
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(ratelimit_check(&rl, T0), 0);
		ratelimit_charge(&rl);
	}
	ck_assert_int_eq(ratelimit_check(&rl, T0), -1);
	ck_assert_int_eq(ratelimit_check(&rl, T0 + 49 * MS), -1);
}
END_TEST

/* Credit comes back at the rate: one event every 50 ms at 20/s. */
START_TEST(test_bucket_refill)
{
	struct ratelimit	 rl;
	uint64_t		 t = T0;
	int			 i, n;

	ratelimit_init(&rl, 20, 100, t);
	while (ratelimit_check(&rl, t) == 0)
		ratelimit_charge(&rl);
	ck_assert_int_eq(ratelimit_check(&rl, t + 50 * MS - 1), -1);
	ck_assert_int_eq(ratelimit_check(&rl, t + 50 * MS), 0);
	ratelimit_charge(&rl);
	ck_assert_int_eq(ratelimit_check(&rl, t + 50 * MS), -1);

	/* Ten seconds asking every millisecond: 200 events, no more. */
	t += 50 * MS;
	for (i = 1, n = 0; i <= 10000; i++)
		if (ratelimit_check(&rl, t + (uint64_t)i * MS) == 0) {
			ratelimit_charge(&rl);
			n++;
		}
	ck_assert_int_eq(n, 200);
}
END_TEST

/* A long pause fills the bucket to its burst, not beyond. */
START_TEST(test_bucket_cap)
{
	struct ratelimit	 rl;
	int			 n;

	ratelimit_init(&rl, 20, 100, T0);
	ratelimit_charge(&rl);
	for (n = 0; ratelimit_check(&rl, T0 + 3600 * SEC) == 0; n++)
		ratelimit_charge(&rl);
	ck_assert_int_eq(n, 100);
	/* A monotonic clock cannot go back; a bucket must not care. */
	ck_assert_int_eq(ratelimit_check(&rl, T0), -1);
	ck_assert_int_eq(ratelimit_check(&rl, T0 + 50 * MS), 0);
}
END_TEST

/* Looking is free: only charged events use credit. */
START_TEST(test_bucket_check_free)
{
	struct ratelimit	 rl;
	int			 i;

	ratelimit_init(&rl, 1, 1, T0);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(ratelimit_check(&rl, T0), 0);
	ratelimit_charge(&rl);
	ck_assert_int_eq(ratelimit_check(&rl, T0 + SEC - 1), -1);
	ck_assert_int_eq(ratelimit_check(&rl, T0 + SEC), 0);
}
END_TEST

/* signerd's request path. */

static struct ca	*ca;
static int		 log_fd = -1, log_saved = -1;

/* A self-signed P-256 CA that may sign for HOST. */
static void
ca_setup(void)
{
	EVP_PKEY	*key = tc_p256();
	X509		*x;
	BIO		*cb, *kb;
	char		*certpem, *keypem, err[AIB_REASON_MAX];
	time_t		 now = time(NULL);

	if ((x = X509_new()) == NULL || !X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"rate test CA", -1, -1, 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), now - 3600) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), now + 365 * 86400) == NULL ||
	    !X509_set_pubkey(x, key))
		abort();
	tc_ext(x, NID_basic_constraints, "critical,CA:TRUE");
	tc_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign");
	tc_ext(x, NID_subject_key_identifier, "hash");
	if (!X509_sign(x, key, EVP_sha256()))
		abort();
	if ((cb = BIO_new(BIO_s_mem())) == NULL ||
	    (kb = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509(cb, x) ||
	    !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL))
		abort();
	certpem = tc_bio_text(cb);
	keypem = tc_bio_text(kb);
	ca = ca_load((const uint8_t *)certpem, strlen(certpem),
	    (const uint8_t *)keypem, strlen(keypem), now, err, sizeof(err));
	if (ca == NULL || ca_allow(ca, HOST, err, sizeof(err)) == -1) {
		fprintf(stderr, "test CA: %s\n", err);
		abort();
	}
	free(certpem);
	free(keypem);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* The DER of a fresh public key, as a worker sends it. */
static size_t
fresh_spki(uint8_t *buf, size_t len)
{
	EVP_PKEY	*pkey = tc_p256();
	unsigned char	*p = buf;
	int		 n;

	if ((n = i2d_PUBKEY(pkey, NULL)) <= 0 || (size_t)n > len ||
	    i2d_PUBKEY(pkey, &p) != n)
		abort();
	EVP_PKEY_free(pkey);
	return ((size_t)n);
}

/* signerd logs to stderr with -d; keep what it writes. */
static void
log_start(void)
{
	char	 path[] = "/tmp/aib-rate-log.XXXXXX";

	log_init(1, LOG_DAEMON);
	log_procinit("signer");
	if ((log_fd = mkstemp(path)) == -1 ||
	    (log_saved = dup(STDERR_FILENO)) == -1 ||
	    dup2(log_fd, STDERR_FILENO) == -1)
		abort();
	unlink(path);
}

/* The lines logged since log_start() that contain needle. */
static int
log_count(const char *needle, char *text, size_t len)
{
	const char	*p;
	ssize_t		 n;
	int		 count = 0;

	fflush(stderr);
	if (lseek(log_fd, 0, SEEK_SET) == -1 ||
	    (n = read(log_fd, text, len - 1)) == -1)
		abort();
	text[n] = '\0';
	for (p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		count++;
	return (count);
}

static void
log_stop(void)
{
	fflush(stderr);
	if (dup2(log_saved, STDERR_FILENO) == -1)
		abort();
	close(log_fd);
	close(log_saved);
}

/*
 * One request as signerd makes it; returns what issue_limit_request()
 * returned and checks that the answer agrees with it.
 */
static int
ask(struct issue_limit *il, const uint8_t *spki, size_t len, uint64_t mono,
    int *cached)
{
	struct ca_leaf	 leaf;
	char		 reason[AIB_REASON_MAX];
	int		 rv;

	reason[0] = '\0';
	rv = issue_limit_request(il, ca, HOST, spki, len, LIFETIME,
	    time(NULL), mono, &leaf, reason, sizeof(reason));
	if (rv == 0)
		ck_assert_ptr_nonnull(leaf.cl_pem);
	else if (rv == ISSUE_LIMITED) {
		ck_assert_str_eq(reason, "rate limit");
		ck_assert_ptr_null(leaf.cl_pem);
	} else
		ck_abort_msg("refused: %s", reason);
	if (cached != NULL)
		*cached = leaf.cl_cached;
	ca_leaf_clear(&leaf);
	return (rv);
}

#define FLOOD	(ISSUE_BURST + 50)
#define NEEDLE	"worker 7 asks for more than"

/*
 * A worker sending a fresh key in a loop gets its burst, then only
 * refusals, logged once; a second later it gets the rate's worth.
 */
START_TEST(test_request_flood)
{
	struct issue_limit	 il;
	uint8_t			 spki[AIB_SPKI_MAX];
	char			 text[8192];
	size_t			 len;
	int			 i, issued = 0, limited = 0, cached;

	ca_setup();
	log_start();
	issue_limit_init(&il, INSTANCE, T0);
	for (i = 0; i < FLOOD; i++) {
		len = fresh_spki(spki, sizeof(spki));
		if (ask(&il, spki, len, T0 + (uint64_t)i * MS, &cached) == 0) {
			ck_assert_int_eq(cached, 0);
			issued++;
		} else
			limited++;
	}
	/*
	 * 150 ms of asking: the burst, and two more from the credit earned
	 * meanwhile, which leaves 49 ms of credit at the last request.
	 */
	ck_assert_int_eq(issued, ISSUE_BURST + 2);
	ck_assert_int_eq(limited, FLOOD - issued);
	ck_assert_int_eq(log_count(NEEDLE, text, sizeof(text)), 1);
	ck_assert_ptr_nonnull(strstr(text, "(burst 100): refusing\n"));

	/* A second after the last one: twenty more, then refusals again. */
	for (i = 0, issued = 0; i < 40; i++) {
		len = fresh_spki(spki, sizeof(spki));
		if (ask(&il, spki, len, T0 + 1149 * MS, NULL) == 0)
			issued++;
	}
	ck_assert_int_eq(issued, ISSUE_RATE);
	ck_assert_int_eq(log_count(NEEDLE, text, sizeof(text)), 1);
	log_stop();
	ca_free(ca);
}
END_TEST

/* A leaf served again from the cache costs no signature and no credit. */
START_TEST(test_request_cached)
{
	struct issue_limit	 il;
	uint8_t			 spki[AIB_SPKI_MAX], other[AIB_SPKI_MAX];
	size_t			 len, olen;
	int			 i, cached;

	ca_setup();
	issue_limit_init(&il, INSTANCE, T0);
	len = fresh_spki(spki, sizeof(spki));
	ck_assert_int_eq(ask(&il, spki, len, T0, &cached), 0);
	ck_assert_int_eq(cached, 0);
	for (i = 0; i < 10 * ISSUE_BURST; i++) {
		ck_assert_int_eq(ask(&il, spki, len, T0, &cached), 0);
		ck_assert_int_eq(cached, 1);
	}
	/* The rest of the burst is still there for new keys. */
	for (i = 1; i < ISSUE_BURST; i++) {
		olen = fresh_spki(other, sizeof(other));
		ck_assert_int_eq(ask(&il, other, olen, T0, &cached), 0);
		ck_assert_int_eq(cached, 0);
	}
	olen = fresh_spki(other, sizeof(other));
	ck_assert_int_eq(ask(&il, other, olen, T0, NULL), ISSUE_LIMITED);
	ca_free(ca);
}
END_TEST

/*
 * The refusal is logged once per interval, with the count of those
 * left out.  log_limited() reads the real monotonic clock, so the test
 * shortens the interval to a second and sleeps past it.
 */
START_TEST(test_request_log_interval)
{
	static uint8_t		 spkis[ISSUE_BURST + 30][AIB_SPKI_MAX];
	static size_t		 lens[ISSUE_BURST + 30];
	struct issue_limit	 il;
	char			 text[8192];
	int			 i, round;

	ca_setup();
	log_start();
	issue_limit_init(&il, INSTANCE, T0);
	il.il_log.interval = 1;
	/*
	 * The keys are made first, so that the refusals of a round come
	 * well within the one-second interval even on a loaded machine.
	 */
	for (i = 0; i < ISSUE_BURST + 30; i++)
		lens[i] = fresh_spki(spkis[i], sizeof(spkis[i]));
	for (round = 1; round <= 2; round++) {
		for (i = 0; i < ISSUE_BURST + 30; i++)
			(void)ask(&il, spkis[i], lens[i], T0, NULL);
		ck_assert_int_eq(log_count(NEEDLE, text, sizeof(text)),
		    round);
		if (round == 1)
			sleep(2);
	}
	/* The second line counts the 29 left out after the first. */
	ck_assert_ptr_nonnull(strstr(text,
	    "refusing (29 more in the last 1 s)\n"));
	log_stop();
	ca_free(ca);
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("ratelimit");

	tc = tcase_create("bucket");
	tcase_add_test(tc, test_bucket_burst);
	tcase_add_test(tc, test_bucket_refill);
	tcase_add_test(tc, test_bucket_cap);
	tcase_add_test(tc, test_bucket_check_free);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_request_flood);
	tcase_add_test(tc, test_request_cached);
	tcase_add_test(tc, test_request_log_interval);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(ratelimit_suite()) != 0);
}
