# aibproxyd: GNU make (gmake on OpenBSD).
#
#	make			build into obj/
#	make check		build, then run the unit and integration tests
#	make check SANITIZE=1	the same under ASan + UBSan, into obj-san/
#	make fuzz		libFuzzer harnesses, FUZZ_SECONDS each, obj-fuzz/
#	make run		a development proxy on 127.0.0.1:8888
#	make install		PREFIX, DESTDIR, SBINDIR, LIBEXECDIR, MANDIR, DATADIR,
#				SYSCONFDIR

PREFIX		?= /usr
SBINDIR		?= $(PREFIX)/sbin
LIBEXECDIR	?= $(PREFIX)/libexec/aibproxyd
MANDIR		?= $(PREFIX)/share/man
DATADIR		?= $(PREFIX)/share/aibproxyd
SYSCONFDIR	?= /etc
RUNDIR		?= /run
SYSTEMDDIR	?= $(PREFIX)/lib/systemd/system
DESTDIR		?=

SANITIZE	?= 0
ifeq ($(SANITIZE),1)
O		?= obj-san
SANFLAGS	 = -fsanitize=address,undefined -fno-omit-frame-pointer \
		   -fno-sanitize-recover=undefined
# The sanitizers' runtime makes calls the daemon does not: the
# sandboxes let those through in this build only (sandbox_linux.c).
SANDEFS		 = -DAIB_SANITIZE
else
O		?= obj
SANFLAGS	 =
endif

CC		?= cc
PKGS		 = libtls libcrypto yaml-0.1 libbsd-overlay check jansson

# The system-call sandbox for this system (common/sandbox.h).
ifeq ($(shell uname),OpenBSD)
SANDBOX_SRC	 = common/sandbox_openbsd.c
LIB_SECCOMP	 =
else
SANDBOX_SRC	 = common/sandbox_linux.c
PKGS		+= libseccomp
LIB_SECCOMP	 = $(shell pkg-config --libs libseccomp 2>/dev/null)
endif
CFLAGS		?= -O2 -g
CFLAGS		+= -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
		   -Wmissing-prototypes -Wstrict-prototypes -Wshadow \
		   -Wpointer-arith -Wno-unused-parameter \
		   -Icommon -I$(O) $(SANFLAGS) $(SANDEFS)
LDFLAGS		+= $(SANFLAGS)

# pkg-config is only asked once the packages are there (see deps).
PKG_CFLAGS	 = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIB_TLS		 = $(shell pkg-config --libs libtls libssl libcrypto 2>/dev/null)
LIB_CRYPTO	 = $(shell pkg-config --libs libcrypto 2>/dev/null)
LIB_YAML	 = $(shell pkg-config --libs yaml-0.1 2>/dev/null)
LIB_BSD		 = $(shell pkg-config --libs libbsd-overlay 2>/dev/null)
LIB_CHECK	 = $(shell pkg-config --libs check 2>/dev/null)
LIB_JSON	 = $(shell pkg-config --libs jansson 2>/dev/null)
LIB_EV		 = -lev
LIB_P11		 = $(shell pkg-config --libs libp11 2>/dev/null)
CFLAGS		+= $(PKG_CFLAGS)

COMMON_SRCS	 = common/compat.c common/log.c common/imsg.c \
		   common/hostname.c common/config.c common/config_yaml.c \
		   common/config_value.c common/config_url.c \
		   common/config_check.c common/config_schema.c \
		   common/config_listen.c common/proc.c \
		   common/file.c common/buf.c common/http.c common/http_body.c \
		   common/http_field.c \
		   common/pem.c common/keypair.c common/pkcs11_uri.c \
		   $(SANDBOX_SRC) \
		   common/stats.c common/buildinfo.c common/log_render.c \
		   common/proxyproto.c common/failtab.c common/cryptoerr.c \
		   common/asn1time.c
PROXY_SRCS	 = aibproxyd/aibproxyd.c aibproxyd/parent.c \
		   aibproxyd/parent_config.c aibproxyd/parent_check.c \
		   aibproxyd/parent_child.c aibproxyd/parent_health.c \
		   aibproxyd/parent_auth.c aibproxyd/parent_sock.c \
		   aibproxyd/resolver.c \
		   aibproxyd/imsgev.c $(WORKER_SRCS)
# The worker's files: also linked into the unit tests that drive sessions.
WORKER_SRCS	 = aibproxyd/proxy.c aibproxyd/pconf.c aibproxyd/listener.c \
		   aibproxyd/session.c aibproxyd/request.c aibproxyd/pages.c \
		   aibproxyd/metrics.c aibproxyd/metrics_health.c \
		   aibproxyd/tunnel.c aibproxyd/pipes.c \
		   aibproxyd/mitm.c aibproxyd/exchange.c aibproxyd/bridge.c \
		   aibproxyd/dial.c aibproxyd/dns.c aibproxyd/endpoint.c \
		   aibproxyd/certs.c aibproxyd/policy.c aibproxyd/auth.c \
		   aibproxyd/rewrite.c aibproxyd/upstream.c aibproxyd/dump.c \
		   aibproxyd/admit.c aibproxyd/validate.c aibproxyd/vcheck.c \
		   aibproxyd/setup.c aibproxyd/setup_page.c \
		   aibproxyd/versions.c aibproxyd/stop.c aibproxyd/proxyhdr.c \
		   aibproxyd/heapdecay.c
SIGNER_SRCS	 = signerd/signerd.c signerd/blob.c signerd/configtest.c \
		   signerd/ca.c signerd/ca_issue.c \
		   signerd/ca_names.c signerd/ratelimit.c signerd/token.c
UNIT_TESTS	 = imsg config hostname signer http buf pem policy auth rewrite \
		   stats file dump egress session tunnel mitm bridge ratelimit \
		   pkcs11 sandbox setup log names keypair proxyproto proxyhdr \
		   failtab throttle asn1time compat parent_sock

COMMON_OBJS	 = $(COMMON_SRCS:%.c=$(O)/%.o)
PROXY_OBJS	 = $(PROXY_SRCS:%.c=$(O)/%.o)
SIGNER_OBJS	 = $(SIGNER_SRCS:%.c=$(O)/%.o)
LIBCOMMON	 = $(O)/libcommon.a
AIBPROXYD	 = $(O)/aibproxyd/aibproxyd
SIGNERD		 = $(O)/signerd/signerd
UNIT_BINS	 = $(UNIT_TESTS:%=$(O)/tests/test_%)
MANPAGES	 = man/aibproxyd.8 man/signerd.8 man/aibproxyd.yaml.5
SCRIPTS		 = $(O)/etc/init.d/aibproxyd $(O)/etc/rc.d/aibproxyd \
		   $(O)/etc/systemd/aibproxyd.service

# Debian packages the build, the tests and `make run` need, checked on a
# minimal bookworm root with only make and git added (README).
# ca-certificates: the system's trust file, the bridge's default.
# libp11-dev: signerd's PKCS#11 keys; softhsm2, opensc (pkcs11-tool) and
# libengine-pkcs11-openssl: the token of t_pkcs11.sh and aibproxyd-ca -P.
# prometheus: promtool, which checks and tests the shipped alert rules
# offline (lint); nothing here starts its server.  python3-yaml: reading
# those rules in t_metrics_alerts.sh.
# haproxy: the load balancer of t_fleet.sh's rolling restart.
DEBIAN_PKGS	 = build-essential pkg-config libtls-dev libssl-dev \
		   libev-dev libyaml-dev libbsd-dev libjansson-dev check \
		   mandoc openssl ca-certificates curl python3 procps \
		   iproute2 squid-openssl libp11-dev softhsm2 opensc \
		   libengine-pkcs11-openssl libseccomp-dev prometheus \
		   python3-yaml haproxy

BENCH_PKGS	 = hey nginx-light curl python3 squid-openssl

all: $(O)/.deps-ok $(AIBPROXYD) $(SIGNERD) $(SCRIPTS)

# Service scripts with this build's paths in them.
$(O)/etc/%: etc/%.in $(O)/paths.h
	@mkdir -p $(dir $@)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    -e 's|@RUNDIR@|$(RUNDIR)|g' $< > $@
	chmod $(if $(filter %.service,$@),0444,0555) $@

# Install what is missing, once per object directory and again when the
# lists above change.
$(O)/.deps-ok: Makefile
	@sh etc/install-deps.sh $(DEBIAN_PKGS)
	@mkdir -p $(O) && touch $@

deps:
	@sh etc/install-deps.sh $(DEBIAN_PKGS)

# Built-in absolute paths; rewritten only when they change.
$(O)/paths.h: FORCE
	@mkdir -p $(O)
	@printf '#define AIB_SIGNERD_PATH "%s"\n#define AIB_AIBPROXYD_PATH "%s"\n#define AIB_PIDFILE "%s"\n' \
	    "$(LIBEXECDIR)/signerd" "$(SBINDIR)/aibproxyd" \
	    "$(RUNDIR)/aibproxyd.pid" > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

# The version (etc/version.sh), rewritten only when it changes, so that
# a build stays incremental: only common/buildinfo.c includes it.
$(O)/version.h: FORCE
	@mkdir -p $(O)
	@printf '#define AIB_VERSION "%s"\n' "$$(sh etc/version.sh)" > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(O)/%.o: %.c | $(O)/.deps-ok $(O)/paths.h $(O)/version.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJS)
	rm -f $@
	ar rcs $@ $^

$(AIBPROXYD): $(PROXY_OBJS) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $(PROXY_OBJS) $(LIBCOMMON) $(LIB_TLS) \
	    $(LIB_YAML) $(LIB_EV) $(LIB_JSON) $(LIB_BSD) $(LIB_SECCOMP) \
	    -lpthread

$(SIGNERD): $(SIGNER_OBJS) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $(SIGNER_OBJS) $(LIBCOMMON) $(LIB_P11) \
	    $(LIB_CRYPTO) $(LIB_JSON) $(LIB_BSD) $(LIB_SECCOMP)

# Unit tests: one Check runner per module, linked with what it tests.
TEST_LIBS	 = $(LIBCOMMON) $(LIB_CHECK) $(LIB_TLS) $(LIB_YAML) \
		   $(LIB_EV) $(LIB_JSON) $(LIB_BSD) $(LIB_SECCOMP) -lpthread
# signerd's CA, for the tests that load one.
CA_OBJS		 = $(O)/signerd/ca.o $(O)/signerd/ca_issue.o \
		   $(O)/signerd/ca_names.o
$(O)/tests/test_signer: $(CA_OBJS) $(O)/tests/unit/testcrypto.o
$(O)/tests/test_ratelimit: $(O)/signerd/ratelimit.o $(CA_OBJS) \
		   $(O)/tests/unit/testcrypto.o
$(O)/tests/test_pkcs11: $(CA_OBJS)
$(O)/tests/test_names: $(CA_OBJS) $(O)/tests/unit/testcrypto.o
$(O)/tests/test_keypair: $(O)/tests/unit/testcrypto.o
$(O)/tests/test_policy: $(O)/aibproxyd/policy.o
$(O)/tests/test_auth: $(O)/aibproxyd/auth.o
$(O)/tests/test_rewrite: $(O)/aibproxyd/rewrite.o
$(O)/tests/test_dump: $(O)/aibproxyd/dump.o
$(O)/tests/test_parent_sock: $(O)/aibproxyd/parent_sock.o
# Sessions on a test's own loop: the worker's files but its main, and
# signerd's CA for the leaves the test signs in signerd's place.
SESSION_TEST_OBJS = $(filter-out $(O)/aibproxyd/proxy.o, \
		   $(WORKER_SRCS:%.c=$(O)/%.o)) $(O)/aibproxyd/imsgev.o \
		   $(CA_OBJS) \
		   $(O)/tests/unit/harness.o $(O)/tests/unit/testcrypto.o \
		   $(O)/tests/unit/peers.o $(O)/tests/unit/checks.o
$(O)/tests/test_session: $(SESSION_TEST_OBJS)
$(O)/tests/test_tunnel: $(SESSION_TEST_OBJS)
$(O)/tests/test_mitm: $(SESSION_TEST_OBJS)
$(O)/tests/test_bridge: $(SESSION_TEST_OBJS)
$(O)/tests/test_setup: $(SESSION_TEST_OBJS)
$(O)/tests/test_proxyhdr: $(SESSION_TEST_OBJS)
$(O)/tests/test_throttle: $(SESSION_TEST_OBJS)
$(O)/tests/test_%: $(O)/tests/unit/test_%.o $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(TEST_LIBS)

unit: all $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
	    echo "== $$t"; $$t || fail=1; done; exit $$fail

# Integration tests start the real daemon as root from a staged install,
# so the built-in signerd path is the one actually executed.
STAGE		 = $(CURDIR)/$(O)/stage
stage: all
	$(MAKE) --no-print-directory install-bin O=$(O) PREFIX=$(STAGE) \
	    SANITIZE=$(SANITIZE) DESTDIR=
	install -d $(STAGE)/etc/init.d
	install -m 0555 $(O)/etc/init.d/aibproxyd $(STAGE)/etc/init.d/aibproxyd
	@$(MAKE) --no-print-directory users

integration: stage
	@O=$(O) STAGE=$(STAGE) SANITIZE=$(SANITIZE) \
	    sh tests/integration/run.sh

check: unit integration lint

# A development proxy on 127.0.0.1:8888 with the test bridge behind it.
run: stage
	@STAGE=$(STAGE) sh etc/dev-run.sh

# Benchmarks, not tests: proxy next to direct, measured in one run.
# floor is row 7's yardstick, the least a CONNECT relay can do
# (tests/bench/floor.c); run.sh builds it too when it is missing.
BENCH_FLOOR	 = $(O)/tests/bench/floor
$(BENCH_FLOOR): $(O)/tests/bench/floor.o
	$(CC) $(LDFLAGS) -o $@ $<

bench: stage $(BENCH_FLOOR)
	@$(MAKE) --no-print-directory deps DEBIAN_PKGS="$(BENCH_PKGS)"
	@O=$(O) STAGE=$(STAGE) sh tests/bench/run.sh

# Fuzzing: one libFuzzer harness per parser (tests/fuzz), built by
# clang with ASan and UBSan into obj-fuzz/ from the same sources as the
# daemon (libcommon.a and the aibproxyd objects they test), then each
# run for FUZZ_SECONDS on a scratch copy of its seed corpus.  A crash,
# a sanitizer report or a broken invariant fails the target.
FUZZ_PKGS	 = clang libclang-rt-14-dev llvm
FUZZ_CC		?= clang
FUZZ_O		 = obj-fuzz
FUZZ_SECONDS	?= 60
FUZZ_SANFLAGS	 = -fsanitize=fuzzer-no-link,address,undefined \
		   -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_HARNESSES	 = http_request http_response http_body rewrite auth \
		   hostname imsg config proxyproto
FUZZ_BINS	 = $(FUZZ_HARNESSES:%=$(O)/fuzz/%)

$(O)/fuzz/http_request $(O)/fuzz/http_response: $(O)/tests/fuzz/headcheck.o
$(O)/fuzz/rewrite: $(O)/tests/fuzz/headcheck.o $(O)/aibproxyd/rewrite.o
$(O)/fuzz/auth: $(O)/aibproxyd/auth.o
$(O)/fuzz/%: $(O)/tests/fuzz/fuzz_%.o $(O)/tests/fuzz/fuzz.o $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $(filter %.o,$^) \
	    $(LIBCOMMON) $(LIB_TLS) $(LIB_YAML) $(LIB_EV) $(LIB_JSON) \
	    $(LIB_BSD) -lpthread
# Kept, so that a rebuild after one edit recompiles one file.
.SECONDARY: $(FUZZ_HARNESSES:%=$(O)/tests/fuzz/fuzz_%.o) \
	    $(O)/tests/fuzz/fuzz.o

fuzz-build: $(O)/.deps-ok $(FUZZ_BINS)

fuzz:
	@$(MAKE) --no-print-directory deps DEBIAN_PKGS="$(FUZZ_PKGS)"
	@$(MAKE) --no-print-directory fuzz-build O=$(FUZZ_O) CC=$(FUZZ_CC) \
	    SANITIZE=0 SANFLAGS="$(FUZZ_SANFLAGS)"
	@O=$(FUZZ_O) FUZZ_SECONDS=$(FUZZ_SECONDS) \
	    sh tests/fuzz/run.sh $(FUZZ_HARNESSES)

# Rewrite tests/fuzz/corpus/ from the unit test tables.
fuzz-corpus:
	python3 tests/fuzz/mkcorpus.py

.PHONY: fuzz fuzz-build fuzz-corpus

# The alert rules and the dashboard (etc/prometheus, etc/grafana): valid,
# and each alert firing on the series its test gives it, and only there.
PROM_RULES	 = etc/prometheus/aibproxyd.rules.yml
PROM_TESTS	 = etc/prometheus/aibproxyd.rules.test.yml
DASHBOARD	 = etc/grafana/aibproxyd.json

# Source files stay under SRC_LINES_MAX lines (STYLE.md: small files
# with one job); one over it is named with its length.
SRC_LINES_MAX	 = 800
SRC_DIRS	 = aibproxyd common signerd

lint:
	@wc -l $(wildcard $(SRC_DIRS:%=%/*.c) $(SRC_DIRS:%=%/*.h)) | \
	    awk -v max=$(SRC_LINES_MAX) '$$2 != "total" && $$1 > max { \
	    printf "%s: %d lines, over %d\n", $$2, $$1, max; bad = 1 } \
	    END { exit bad }'
	mandoc -Tlint -Wwarning $(MANPAGES)
	promtool check rules $(PROM_RULES)
	promtool test rules $(PROM_TESTS)
	python3 -m json.tool $(DASHBOARD) > /dev/null

users:
	@sh etc/create-users.sh

install-bin: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR)
	install -m 0555 $(AIBPROXYD) $(DESTDIR)$(SBINDIR)/aibproxyd
	install -m 0555 etc/aibproxyd-ca $(DESTDIR)$(SBINDIR)/aibproxyd-ca
	install -m 0555 $(SIGNERD) $(DESTDIR)$(LIBEXECDIR)/signerd

install: install-bin
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0444 man/aibproxyd.8 man/signerd.8 $(DESTDIR)$(MANDIR)/man8
	install -m 0444 man/aibproxyd.yaml.5 $(DESTDIR)$(MANDIR)/man5
	install -d $(DESTDIR)$(DATADIR)/prometheus $(DESTDIR)$(DATADIR)/grafana
	install -m 0444 $(PROM_RULES) $(PROM_TESTS) $(DESTDIR)$(DATADIR)/prometheus
	install -m 0444 $(DASHBOARD) $(DESTDIR)$(DATADIR)/grafana
	install -d $(DESTDIR)$(SYSCONFDIR)
	test -e $(DESTDIR)$(SYSCONFDIR)/aibproxyd.yaml || \
	    install -m 0640 etc/aibproxyd.yaml $(DESTDIR)$(SYSCONFDIR)/aibproxyd.yaml
	if [ "$$(uname)" = OpenBSD ]; then \
		install -d $(DESTDIR)$(SYSCONFDIR)/rc.d; \
		install -m 0555 $(O)/etc/rc.d/aibproxyd $(DESTDIR)$(SYSCONFDIR)/rc.d/aibproxyd; \
	else \
		install -d $(DESTDIR)$(SYSCONFDIR)/init.d $(DESTDIR)$(SYSTEMDDIR); \
		install -m 0555 $(O)/etc/init.d/aibproxyd $(DESTDIR)$(SYSCONFDIR)/init.d/aibproxyd; \
		install -m 0444 $(O)/etc/systemd/aibproxyd.service $(DESTDIR)$(SYSTEMDDIR)/aibproxyd.service; \
	fi
	test -n "$(DESTDIR)" || $(MAKE) --no-print-directory users

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/aibproxyd $(DESTDIR)$(SBINDIR)/aibproxyd-ca \
	    $(DESTDIR)$(LIBEXECDIR)/signerd
	-rmdir $(DESTDIR)$(LIBEXECDIR)
	rm -f $(DESTDIR)$(SYSCONFDIR)/init.d/aibproxyd \
	    $(DESTDIR)$(SYSCONFDIR)/rc.d/aibproxyd \
	    $(DESTDIR)$(SYSTEMDDIR)/aibproxyd.service
	rm -f $(DESTDIR)$(MANDIR)/man8/aibproxyd.8 \
	    $(DESTDIR)$(MANDIR)/man8/signerd.8 \
	    $(DESTDIR)$(MANDIR)/man5/aibproxyd.yaml.5
	rm -f $(DESTDIR)$(DATADIR)/prometheus/aibproxyd.rules.yml \
	    $(DESTDIR)$(DATADIR)/prometheus/aibproxyd.rules.test.yml \
	    $(DESTDIR)$(DATADIR)/grafana/aibproxyd.json
	-rmdir $(DESTDIR)$(DATADIR)/prometheus $(DESTDIR)$(DATADIR)/grafana \
	    $(DESTDIR)$(DATADIR)

clean:
	rm -rf obj obj-san obj-fuzz

FORCE:

.PHONY: all deps unit stage integration check run bench lint users install-bin \
	install uninstall clean FORCE

-include $(shell find $(O) -name '*.d' -type f 2>/dev/null)
