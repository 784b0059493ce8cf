#  rhannu - top-level build. Everything builds out of tree under $(BUILD).
#
#  make            build the library, tools and tests
#  make demo       install, build, run a broker and five agents on loopback, tell the story
#  make demo-federation   two regions, two CAs, two brokers linked: a cross-border transfer
#  make check      install missing packages, build, run every test (also under ASan+UBSan)
#  make bench      end-to-end throughput, latency, broker memory and restart figures, the
#                  broker alone as the peers are measured, each as a ratio of the baseline
#  make bench-history   the broker's throughput on a fresh store and with 1,000,000 stored
#  make bench-peers     Mosquitto and RabbitMQ (../shared/peers) beside the broker alone
#  make fuzz       run the libFuzzer harnesses (FUZZ_SECONDS each)
#  make format     reformat the sources with the committed .clang-format
#  make clean      remove build/
#
#  SAN=1 builds into build/asan with AddressSanitizer and UBSan.

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT := -O1
else
BUILD ?= build
SANFLAGS :=
OPT := -O2
endif

CC ?= cc
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(FUZZ_NAMES)  #  e.g. make fuzz FUZZ_TARGETS=agreement

PKGS := libzmq libprotobuf-c libcrypto libsodium jansson yaml-0.1
TEST_PKGS := cunit
#  Only rhannu-witness speaks HTTP: the other binaries do not link its server.
WITNESS_PKGS := libmicrohttpd
#  Only the broker is an HTTP client (it submits checkpoints to witnesses).
CURL_PKGS := libcurl
#  The broker and the agent serve metrics and health (libmicrohttpd) and talk to systemd
#  (sd_notify): lib's rh_monitor and rh_service, linked only by what uses them.
MONITOR_PKGS := libmicrohttpd libsystemd

#  pkg-config output lives in its own variables: `make CFLAGS=...` must not drop it.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lleveldb -lpthread
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
WITNESS_LIBS = $(shell pkg-config --libs $(WITNESS_PKGS) 2>/dev/null)
CURL_LIBS = $(shell pkg-config --libs $(CURL_PKGS) 2>/dev/null)
MONITOR_LIBS = $(shell pkg-config --libs $(MONITOR_PKGS) 2>/dev/null)

CFLAGS ?= $(OPT) -g
WARN := -std=c11 -Wall -Wextra -Wshadow -Wformat=2 -Werror
BASE_CPPFLAGS = $(PKG_CFLAGS) -D_GNU_SOURCE -DRH_SOURCE_DIR='"$(CURDIR)"'
COMPILE = $(CC) $(WARN) $(CFLAGS) $(SANFLAGS)
LINK = $(CC) $(SANFLAGS) $(LDFLAGS)
objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

#  The layers, bottom up: lib <- proto <- certs <- {broker, agent}. Each part compiles with its
#  own include path, so a .c that includes a header from a layer above it (or from its sibling)
#  fails to build. Only the tests see every folder. check-layers proves the same on the objects.
LIB_INC = -Ilib
PROTO_INC = $(LIB_INC) -Iproto -I$(BUILD)/gen
CERTS_INC = $(PROTO_INC) -Icerts
BROKER_INC = $(CERTS_INC) -Ibroker
AGENT_INC = $(CERTS_INC) -Iagent
#  The witness builds on lib and proto only: it needs no PKI, broker or agent.
WITNESS_INC = $(PROTO_INC) -Iwitness
TEST_INC = $(CERTS_INC) -Ibroker -Iagent -Iwitness

LIB_H := $(wildcard lib/*.h)
PROTO_H := $(LIB_H) $(wildcard proto/*.h)
CERTS_H := $(PROTO_H) $(wildcard certs/*.h)
BROKER_H := $(CERTS_H) $(wildcard broker/*.h)
AGENT_H := $(CERTS_H) $(wildcard agent/*.h)
WITNESS_H := $(PROTO_H) $(wildcard witness/*.h)

GEN := $(BUILD)/gen/rhannu.pb-c.c $(BUILD)/gen/rhannu.pb-c.h
GEN_OBJ := $(BUILD)/obj/gen/rhannu.pb-c.o

#  librhannu.a: lib + proto + certs (and the generated codec), linked by every binary.
LIB_SRC := $(wildcard lib/*.c) $(wildcard proto/*.c) $(wildcard certs/rh_*.c)
LIB_OBJ := $(call objs,$(LIB_SRC)) $(GEN_OBJ)
LIB := $(BUILD)/librhannu.a

#  The broker's classes in two archives. broker-core is every broker/rh_*.c but the actor (the
#  loop, the router's sockets and the cosigner): what rhannu-audit, the unit tests and the
#  benches link; the verifier workers are there because rhannu-audit checks signatures on them
#  too. The actor classes go only into rhannu-broker (and are there for unit tests that ask for
#  them).
BROKER_ACTOR_SRC := $(wildcard broker/rh_broker.c broker/rh_router.c broker/rh_cosigner.c \
                    broker/rh_status.c broker/rh_peerlink.c)
BROKER_CORE_SRC := $(filter-out $(BROKER_ACTOR_SRC),$(wildcard broker/rh_*.c))
BROKER_CORE_LIB := $(BUILD)/librhannu-broker-core.a
BROKER_ACTOR_LIB := $(BUILD)/librhannu-broker.a

#  librhannu-agent.a: the agent's classes and librhannu's objects in one archive, for case systems
#  that link the agent (agent/rhannu_agent.h) instead of writing spool files. Built, not installed.
AGENT_LIB := $(BUILD)/librhannu-agent.a

TOOLS := $(BUILD)/bin/rhannu-ca $(BUILD)/bin/rhannu-broker $(BUILD)/bin/rhannu-agent \
         $(BUILD)/bin/rhannu-audit $(BUILD)/bin/rhannu-witness
AGENT_SRC := $(filter-out agent/main.c,$(wildcard agent/*.c))
WITNESS_SRC := $(filter-out witness/main.c,$(wildcard witness/*.c))
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(BUILD)/tests/unit-tests
FUZZ_NAMES := envelope frame json agreement broker bundle csr note record status evidence federation
FUZZ_REPLAY := $(patsubst %,$(BUILD)/tests/replay-%,$(FUZZ_NAMES))
GEN_CORPUS := $(BUILD)/tests/gen-corpus
TESTCLIENT := $(BUILD)/tests/rh-testclient
TESTLOG := $(BUILD)/tests/rh-testlog
BENCH_LATENCY := $(BUILD)/tests/rh-bench-latency
BENCH_POLICY := $(BUILD)/tests/rh-bench-policy
BENCH_CASES := $(BUILD)/tests/rh-bench-cases
BENCH_AUDIT := $(BUILD)/tests/rh-bench-audit
BENCH_YEAR := $(BUILD)/tests/rh-bench-year
BENCH_BROKER := $(BUILD)/tests/rh-bench-broker
API_EXAMPLE := $(BUILD)/tests/rh-api-example
BENCH_API := $(BUILD)/tests/rh-bench-api

.PHONY: check-contention soak soak-ha all deps demo demo-federation install uninstall programs deb deb-smoke check-deb bench bench-history bench-peers check check-unit check-fuzz-regress check-integration check-symbols \
        check-suites \
        check-layers check-asan fuzz corpus format format-check clean

all: $(LIB) $(BROKER_CORE_LIB) $(TOOLS) $(UNIT_BIN) $(FUZZ_REPLAY) $(GEN_CORPUS) $(TESTCLIENT) $(TESTLOG) \
     $(BENCH_LATENCY) $(BENCH_POLICY) $(BENCH_CASES) $(BENCH_AUDIT) $(BENCH_YEAR) $(BENCH_BROKER) \
     $(AGENT_LIB) \
     $(API_EXAMPLE) $(BENCH_API)

#  Installs missing Debian packages; quick when nothing is missing.
deps:
	@deploy/install-deps.sh --check >/dev/null || deploy/install-deps.sh

#  protoc-c writes both files at once: a grouped target keeps -j from running it twice.
$(BUILD)/gen/rhannu.pb-c.c $(BUILD)/gen/rhannu.pb-c.h &: proto/rhannu.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -Iproto proto/rhannu.proto

#  Generated code is not ours to warn about beyond what protoc-c promises.
$(GEN_OBJ): $(GEN)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) $(SANFLAGS) $(PROTO_INC) $(BASE_CPPFLAGS) $(CPPFLAGS) -c $< -o $@

$(BUILD)/obj/lib/%.o: lib/%.c $(LIB_H)
	@mkdir -p $(dir $@)
	$(COMPILE) $(LIB_INC) $(BASE_CPPFLAGS) $(LIB_DEFS) $(CPPFLAGS) -c $< -o $@

#  The one version string of every tool (--version), from the VERSION file: a tarball or a
#  package build has no git history to describe. Only rh_cli.o sees it, so a new version
#  rebuilds one object.
RH_VERSION := $(shell cat VERSION)
$(BUILD)/obj/lib/rh_cli.o: VERSION
$(BUILD)/obj/lib/rh_cli.o: LIB_DEFS = -DRH_VERSION='"$(RH_VERSION)"'

$(BUILD)/obj/proto/%.o: proto/%.c $(GEN) $(PROTO_H)
	@mkdir -p $(dir $@)
	$(COMPILE) $(PROTO_INC) $(BASE_CPPFLAGS) $(CPPFLAGS) -c $< -o $@

$(BUILD)/obj/certs/%.o: certs/%.c $(GEN) $(CERTS_H)
	@mkdir -p $(dir $@)
	$(COMPILE) $(CERTS_INC) $(BASE_CPPFLAGS) $(CPPFLAGS) -c $< -o $@

$(BUILD)/obj/broker/%.o: broker/%.c $(GEN) $(BROKER_H)
	@mkdir -p $(dir $@)
	$(COMPILE) $(BROKER_INC) $(BASE_CPPFLAGS) $(CPPFLAGS) -c $< -o $@

$(BUILD)/obj/agent/%.o: agent/%.c $(GEN) $(AGENT_H)
	@mkdir -p $(dir $@)
	$(COMPILE) $(AGENT_INC) $(BASE_CPPFLAGS) $(CPPFLAGS) -c $< -o $@

$(BUILD)/obj/witness/%.o: witness/%.c $(GEN) $(WITNESS_H)
	@mkdir -p $(dir $@)
	$(COMPILE) $(WITNESS_INC) $(BASE_CPPFLAGS) $(CPPFLAGS) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c $(GEN) $(BROKER_H) $(AGENT_H) $(WITNESS_H) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(COMPILE) $(TEST_INC) $(BASE_CPPFLAGS) $(CPPFLAGS) $(TEST_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BROKER_CORE_LIB): $(call objs,$(BROKER_CORE_SRC))
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BROKER_ACTOR_LIB): $(call objs,$(BROKER_ACTOR_SRC))
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(AGENT_LIB): $(call objs,$(AGENT_SRC)) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

#  A case system links only the library and its dependencies, and includes only the public
#  header: the example compiles with agent/ alone on its include path.
$(BUILD)/obj/tests/integration/rh_api_example.o $(BUILD)/obj/tests/bench/rh_bench_api.o: \
        $(BUILD)/obj/tests/%.o: tests/%.c agent/rhannu_agent.h
	@mkdir -p $(dir $@)
	$(COMPILE) -Iagent -D_GNU_SOURCE -c $< -o $@

$(API_EXAMPLE): $(BUILD)/obj/tests/integration/rh_api_example.o $(AGENT_LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(MONITOR_LIBS) $(PKG_LIBS) -o $@

$(BENCH_API): $(BUILD)/obj/tests/bench/rh_bench_api.o $(AGENT_LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(MONITOR_LIBS) $(PKG_LIBS) -o $@

$(BUILD)/bin/rhannu-ca: $(BUILD)/obj/certs/rhannu_ca.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

#  Archives are searched in order, so each links before the layers it builds on.
$(BUILD)/bin/rhannu-broker: $(call objs,broker/main.c $(BROKER_ACTOR_SRC)) $(BROKER_CORE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(CURL_LIBS) $(MONITOR_LIBS) $(PKG_LIBS) -o $@

#  The auditor's tool reads the broker's log with the broker's own audit and policy code, from
#  broker-core: it holds no router and no broker actor (check-layers proves it).
$(BUILD)/bin/rhannu-audit: $(BUILD)/obj/broker/rhannu_audit.o $(BROKER_CORE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(BUILD)/bin/rhannu-agent: $(call objs,agent/main.c $(AGENT_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(MONITOR_LIBS) $(PKG_LIBS) -o $@

$(BUILD)/bin/rhannu-witness: $(call objs,witness/main.c $(WITNESS_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(WITNESS_LIBS) $(PKG_LIBS) -o $@

$(UNIT_BIN): $(call objs,$(UNIT_SRC) agent/rh_link.c agent/rh_brokers.c agent/rh_sealer.c agent/rh_pruner.c $(WITNESS_SRC)) $(BROKER_ACTOR_LIB) $(BROKER_CORE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(TEST_LIBS) $(CURL_LIBS) $(MONITOR_LIBS) $(PKG_LIBS) -o $@

$(BUILD)/tests/replay-%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay_main.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

#  The broker harness drives the whole broker (loop, router, verifier workers) in-process.
$(BUILD)/tests/replay-broker: $(BUILD)/obj/tests/fuzz/fuzz_broker.o \
        $(BUILD)/obj/tests/fuzz/replay_main.o $(BROKER_ACTOR_LIB) $(BROKER_CORE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(CURL_LIBS) $(MONITOR_LIBS) $(PKG_LIBS) -o $@

#  What rhannu-broker status reads, with the broker's classes that read it.
$(BUILD)/tests/replay-status: $(BUILD)/obj/tests/fuzz/fuzz_status.o \
        $(BUILD)/obj/tests/fuzz/replay_main.o $(BROKER_ACTOR_LIB) $(BROKER_CORE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(CURL_LIBS) $(MONITOR_LIBS) $(PKG_LIBS) -o $@

#  The evidence harness checks bundles with rh_evidence, a broker-core class.
$(BUILD)/tests/replay-evidence: $(BUILD)/obj/tests/fuzz/fuzz_evidence.o \
        $(BUILD)/obj/tests/fuzz/replay_main.o $(BROKER_CORE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(TESTCLIENT): $(BUILD)/obj/tests/integration/rh_testclient.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(TESTLOG): $(BUILD)/obj/tests/integration/rh_testlog.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(BENCH_LATENCY): $(BUILD)/obj/tests/bench/rh_bench_latency.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(BENCH_POLICY): $(BUILD)/obj/tests/bench/rh_bench_policy.o $(BROKER_CORE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(BENCH_CASES): $(BUILD)/obj/tests/bench/rh_bench_cases.o $(BROKER_CORE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(BENCH_AUDIT): $(BUILD)/obj/tests/bench/rh_bench_audit.o $(BROKER_CORE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

#  A year of referrals across seven areas, for the board report (bench and test_report).
$(BENCH_YEAR): $(BUILD)/obj/tests/bench/rh_bench_year.o $(BROKER_CORE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

#  The broker alone, measured by a client that plays every agency (as rh-testclient links).
$(BENCH_BROKER): $(BUILD)/obj/tests/bench/rh_bench_broker.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(GEN_CORPUS): $(BUILD)/obj/tests/fuzz/gen_corpus.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

#  --- Demo ------------------------------------------------------------------------------------

#  The story, not the compiler's output: the build goes to a log, named if it fails.
demo: deps
	@mkdir -p $(BUILD)
	@echo "demo: building rhannu (log: $(BUILD)/demo-build.log)"
	@$(MAKE) $(SUBMAKE_J) all > $(BUILD)/demo-build.log 2>&1 || \
	    { tail -n 20 $(BUILD)/demo-build.log; echo "demo: the build failed; see $(BUILD)/demo-build.log"; exit 1; }
	@bash deploy/demo.sh

#  Two regions, two board CAs, two brokers linked, and a cross-border transfer (scenario 6).
demo-federation: deps
	@mkdir -p $(BUILD)
	@echo "demo-federation: building rhannu (log: $(BUILD)/demo-build.log)"
	@$(MAKE) $(SUBMAKE_J) all > $(BUILD)/demo-build.log 2>&1 || \
	    { tail -n 20 $(BUILD)/demo-build.log; echo "demo-federation: the build failed; see $(BUILD)/demo-build.log"; exit 1; }
	@bash deploy/demo-federation.sh

#  --- Tests -----------------------------------------------------------------------------------

#  The suites that do not depend on each other run side by side, CHECK_JOBS at a time
#  (tests/integration/run_parallel.sh: each job's output is printed whole when it ends, a failure
#  in full, and every duration at the end; the run fails if any job failed). Most of an
#  integration test's time is spent waiting for processes, so more jobs than cores pay off. The
#  crash test beside stress-ng runs alone: it is the busy machine by design. Builds use every core
#  unless make was given its own -j.
CHECK_JOBS ?= 3
BUILD_JOBS ?= $(shell nproc)
SUBMAKE_J = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(BUILD_JOBS))
PARALLEL = bash tests/integration/run_parallel.sh -j $(CHECK_JOBS)

check: deps
	$(MAKE) $(SUBMAKE_J) all
	$(MAKE) format-check check-symbols check-layers check-suites check-contention
	$(MAKE) SAN=1 check-asan
	@echo "make check: all suites passed"

check-unit: $(UNIT_BIN)
	$(UNIT_BIN)

FUZZ_REGRESS = for name in $(FUZZ_NAMES); do \
                   $(BUILD)/tests/replay-$$name tests/fuzz/corpus/$$name || exit 1; \
               done
check-fuzz-regress: $(FUZZ_REPLAY)
	@$(FUZZ_REGRESS)

#  Every tests/integration/test_*.sh, the longest first (a run of parallel jobs ends soon after
#  its longest job), then the rest in name order. integration_jobs: one job per test.
INTEGRATION_LONG := test_hostile test_agent_intake test_crash test_slow test_trust test_audit_damage \
                    test_lifecycle test_security test_api test_failover test_report test_federation_crash
#  test_deb builds the Debian packages (minutes): make check-deb runs it, make check does not
#  (test_install checks the same layout from make install, in seconds).
INTEGRATION_SEPARATE := test_deb
INTEGRATION_TESTS = $(filter-out $(INTEGRATION_SEPARATE), \
                        $(basename $(notdir $(wildcard tests/integration/test_*.sh))))
INTEGRATION_ORDER = $(filter $(INTEGRATION_TESTS),$(INTEGRATION_LONG)) \
                    $(filter-out $(INTEGRATION_LONG),$(INTEGRATION_TESTS))
integration_jobs = $(foreach test,$(1),'$(test)=$(2) BUILD=$(BUILD) bash tests/integration/$(test).sh')

check-integration: $(TOOLS) $(TESTCLIENT) $(API_EXAMPLE) $(TESTLOG) $(BENCH_YEAR)
	@$(PARALLEL) -n check-integration $(call integration_jobs,$(INTEGRATION_ORDER))

#  The unit suite, the corpus replays and the integration tests in one set of parallel jobs.
check-suites: $(UNIT_BIN) $(FUZZ_REPLAY) $(TOOLS) $(TESTCLIENT) $(API_EXAMPLE) $(TESTLOG) $(BENCH_YEAR)
	@$(PARALLEL) -n check-suites 'unit=$(UNIT_BIN)' $(call integration_jobs,$(INTEGRATION_ORDER)) \
	    'fuzz-regress=$(FUZZ_REGRESS)'

#  Library symbols must be rh_ (ours) or rhannu__ (generated): nothing else may leak out.
check-symbols: $(LIB) $(BROKER_CORE_LIB) $(BROKER_ACTOR_LIB) $(AGENT_LIB)
	@bad=$$(nm -g --defined-only $^ | awk 'NF == 3 && $$2 ~ /[TDBR]/ {print $$3}' \
	        | grep -v -e '^rh_' -e '^rhannu__' || true); \
	if [ -n "$$bad" ]; then echo "unprefixed symbols exported:"; echo "$$bad"; exit 1; fi; \
	echo "check-symbols: every exported symbol is prefixed"

#  The layers, proved on the objects (the include paths already refuse a wrong #include; this
#  also catches a declaration written by hand): no layer references a symbol that a layer above
#  it, or its sibling, defines; lib and proto reference no PKI, broker, policy or agent class by
#  name; and the auditor's tool defines no rh_broker_ or rh_router_ symbol (no broker actor).
LAYER_LIB_OBJ = $(call objs,$(wildcard lib/*.c))
LAYER_PROTO_OBJ = $(call objs,$(wildcard proto/*.c)) $(GEN_OBJ)
LAYER_CERTS_OBJ = $(call objs,$(wildcard certs/*.c))
LAYER_BROKER_OBJ = $(call objs,$(wildcard broker/*.c))
LAYER_AGENT_OBJ = $(call objs,$(wildcard agent/*.c))
LAYER_WITNESS_OBJ = $(call objs,$(wildcard witness/*.c))
check-layers: $(LAYER_LIB_OBJ) $(LAYER_PROTO_OBJ) $(LAYER_CERTS_OBJ) $(LAYER_BROKER_OBJ) \
              $(LAYER_AGENT_OBJ) $(LAYER_WITNESS_OBJ) $(BUILD)/bin/rhannu-audit
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	defs () { nm -A -g --defined-only "$$@" | awk '{print $$NF}' | grep -v '^main$$' | sort -u; }; \
	refs () { nm -A -u "$$@" | awk '{print $$NF}' | sort -u; }; \
	refs $(LAYER_LIB_OBJ) > $$tmp/lib.u; refs $(LAYER_PROTO_OBJ) > $$tmp/proto.u; \
	refs $(LAYER_CERTS_OBJ) > $$tmp/certs.u; refs $(LAYER_BROKER_OBJ) > $$tmp/broker.u; \
	refs $(LAYER_AGENT_OBJ) > $$tmp/agent.u; refs $(LAYER_WITNESS_OBJ) > $$tmp/witness.u; \
	defs $(LAYER_PROTO_OBJ) $(LAYER_CERTS_OBJ) $(LAYER_BROKER_OBJ) $(LAYER_AGENT_OBJ) \
	     $(LAYER_WITNESS_OBJ) > $$tmp/above-lib; \
	defs $(LAYER_CERTS_OBJ) $(LAYER_BROKER_OBJ) $(LAYER_AGENT_OBJ) $(LAYER_WITNESS_OBJ) > $$tmp/above-proto; \
	defs $(LAYER_BROKER_OBJ) $(LAYER_AGENT_OBJ) > $$tmp/above-certs; \
	defs $(LAYER_AGENT_OBJ) > $$tmp/agent.d; defs $(LAYER_BROKER_OBJ) > $$tmp/broker.d; \
	defs $(LAYER_CERTS_OBJ) $(LAYER_BROKER_OBJ) $(LAYER_AGENT_OBJ) > $$tmp/pki-and-up.d; \
	fail=0; \
	for pair in lib.u:above-lib proto.u:above-proto certs.u:above-certs broker.u:agent.d \
	            agent.u:broker.d witness.u:pki-and-up.d; do \
	    bad=$$(comm -12 $$tmp/$${pair%%:*} $$tmp/$${pair##*:}); \
	    if [ -n "$$bad" ]; then \
	        echo "check-layers: $${pair%%.*} uses symbols of a layer it must not see:"; \
	        echo "$$bad" | sed 's/^/    /'; fail=1; \
	    fi; \
	done; \
	bad=$$(cat $$tmp/lib.u $$tmp/proto.u \
	       | grep -E '^rh_(certstore|identity|ca|broker|router|policy|agent)_' || true); \
	if [ -n "$$bad" ]; then \
	    echo "check-layers: lib or proto names a certs, broker or agent class:"; \
	    echo "$$bad" | sed 's/^/    /'; fail=1; \
	fi; \
	bad=$$(nm -g --defined-only $(BUILD)/bin/rhannu-audit | awk '{print $$NF}' \
	       | grep -E '^rh_(broker|router)_' || true); \
	if [ -n "$$bad" ]; then \
	    echo "check-layers: rhannu-audit holds the broker actor or router:"; \
	    echo "$$bad" | sed 's/^/    /'; fail=1; \
	fi; \
	[ $$fail = 0 ] && echo "check-layers: lib <- proto <- certs <- {broker, agent}; lib <- proto <- witness; rhannu-audit has no router"

#  The unit suite, the fuzz corpora and the integration tests (but the slow crash test) again,
#  under AddressSanitizer, LeakSanitizer and UBSan (SAN=1); any report fails the run. They run as
#  parallel jobs (CHECK_JOBS), the unit suite, the longest, first; the tests in this list are
#  longest first.
#  The unit suite records each allocation's stack by frame pointers (ours are kept), as the
#  processes of the integration tests do: the full unwinder (fast_unwind_on_malloc=0) costs four
#  times the suite's time and finds nothing more. What it adds is stacks that go on through
#  libraries built without frame pointers, so a suite that a sanitizer stopped (abort: 134) is run
#  again with it, for the report.
ASAN_INTEGRATION := test_lifecycle test_override test_challenge test_security test_deadletter test_delivery test_agreements \
                    test_api test_holder test_audit test_witness test_witness_quorum test_ca_openssl \
                    test_cli test_failover test_erase test_backup test_metrics test_evidence test_report \
                    test_explain \
                    test_replies test_withdrawal test_onhold test_federation test_federation_link test_federation_case \
                    test_lateral test_strategy \
                    test_scenario7 test_federation_witness test_federation_wait
ASAN_UNIT = UBSAN_OPTIONS=print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
check-asan:
	$(MAKE) $(SUBMAKE_J) SAN=1 $(UNIT_BIN) $(FUZZ_REPLAY) $(TOOLS) $(TESTCLIENT) $(API_EXAMPLE) \
	    $(TESTLOG) $(BENCH_YEAR)
	@$(PARALLEL) -n check-asan \
	    'unit=$(ASAN_UNIT) $(UNIT_BIN) || { rc=$$?; [ $$rc != 134 ] || { echo "== again with full allocation stacks"; $(ASAN_UNIT):fast_unwind_on_malloc=0 $(UNIT_BIN); }; exit $$rc; }' \
	    $(call integration_jobs,$(ASAN_INTEGRATION),ASAN_OPTIONS=detect_leaks=1) \
	    'fuzz-regress=export ASAN_OPTIONS=detect_leaks=1; $(FUZZ_REGRESS)'

#  The crash test (kill -9 of broker and agents under load) beside stress-ng keeping every core
#  busy: what a shared, overloaded machine does to timing. About a minute with 5,000 messages, so
#  make check runs it; CONTENTION_N=10000 for the full count.
CONTENTION_N ?= 5000
check-contention: $(TOOLS) $(TESTCLIENT)
	@command -v stress-ng >/dev/null || { echo "check-contention needs stress-ng (make deps)"; exit 1; }
	stress-ng --cpu $$(( $$(nproc) * 2 )) --timeout 3600s --quiet & stress=$$!; \
	CRASH_N=$(CONTENTION_N) BUILD=$(BUILD) bash tests/integration/test_crash.sh; rc=$$?; \
	kill $$stress 2>/dev/null; wait $$stress 2>/dev/null; exit $$rc

#  Longer runs of the hostile-traffic test: 100,000 malformed frames over a valid session.
soak: $(TOOLS) $(TESTCLIENT)
	HOSTILE_GARBAGE=100000 HOSTILE_INTERVAL=20 BUILD=$(BUILD) bash tests/integration/test_hostile.sh
	SLOW_REDELIVER_MS=30000 SLOW_STOP_SECONDS=600 BUILD=$(BUILD) bash tests/integration/test_slow.sh

#  An active/standby pair on one store under load: SOAK_HA_FAILOVERS kill -9s of the active broker
#  (alternating), each while SOAK_HA_N messages flow; prints lost, unexpected, duplicated and the
#  failover times (p50, max). Not part of check: about 10 s a failover.
SOAK_HA_FAILOVERS ?= 20
SOAK_HA_N ?= 300
soak-ha: $(TOOLS)
	SOAK_HA_FAILOVERS=$(SOAK_HA_FAILOVERS) SOAK_HA_N=$(SOAK_HA_N) BUILD=$(BUILD) \
	    bash tests/integration/soak_ha.sh

#  --- Benchmarks (not part of check: figures, not pass/fail) --------------------------------

bench: deps
	$(MAKE) all
	BUILD=$(BUILD) bash tests/bench/bench_e2e.sh
	BUILD=$(BUILD) bash tests/bench/bench_latency.sh
	BUILD=$(BUILD) bash tests/bench/bench_queue.sh
	BUILD=$(BUILD) bash tests/bench/bench_cases.sh
	BUILD=$(BUILD) bash tests/bench/bench_audit.sh
	BUILD=$(BUILD) bash tests/bench/bench_report.sh
	BUILD=$(BUILD) bash tests/bench/bench_broker.sh
	BUILD=$(BUILD) bash tests/bench/bench_api.sh

#  Flat with history: the broker alone on its first 10,000 referrals, then with the store filled
#  to BENCH_HISTORY_N referrals (default 1,000,000: many minutes of both cores).
BENCH_HISTORY_N ?= 1000000
bench-history: $(TOOLS) $(BENCH_BROKER) $(BENCH_POLICY)
	BENCH_HISTORY_N=$(BENCH_HISTORY_N) BUILD=$(BUILD) bash tests/bench/bench_history.sh

#  The peer harness (Mosquitto and RabbitMQ, ~3.5 min of both cores) with our broker-only lines
#  in the same run, beside theirs. Nothing is run (and nothing fails) without the harness.
PEERS_DIR ?= ../shared/peers
bench-peers: $(TOOLS) $(BENCH_BROKER) $(BENCH_POLICY)
	@if [ ! -f "$(PEERS_DIR)/run-peers.sh" ]; then \
	    echo "bench-peers: no peer harness in $(PEERS_DIR) (set PEERS_DIR): nothing run"; exit 0; \
	fi; \
	BUILD=$(abspath $(BUILD)) PEERS_EXTRA_CMD="bash $(CURDIR)/tests/bench/bench_broker.sh" \
	    bash $(PEERS_DIR)/run-peers.sh

#  --- Fuzzing ---------------------------------------------------------------------------------

#  The harnesses build with the same per-part include paths as everything else (BUILD=build/fuzz)
#  and link the broker archives before librhannu.a (only the broker harness pulls from them).
FUZZ_BUILD := build/fuzz

#  clang (unlike gcc) warns on the `{ NULL }` that ends a configuration table.
fuzz: deps
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) WARN="$(WARN) -Wno-missing-field-initializers" \
	    SANFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
	    $(FUZZ_BUILD)/librhannu.a $(FUZZ_BUILD)/librhannu-broker.a \
	    $(FUZZ_BUILD)/librhannu-broker-core.a \
	    $(patsubst %,$(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o,$(FUZZ_TARGETS))
	@for name in $(FUZZ_TARGETS); do \
	    $(FUZZ_CC) -fsanitize=fuzzer,address,undefined $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_$$name.o \
	        $(FUZZ_BUILD)/librhannu-broker.a $(FUZZ_BUILD)/librhannu-broker-core.a \
	        $(FUZZ_BUILD)/librhannu.a $(CURL_LIBS) $(MONITOR_LIBS) $(PKG_LIBS) -o $(FUZZ_BUILD)/fuzz-$$name || exit 1; \
	    mkdir -p $(FUZZ_BUILD)/corpus-$$name; \
	    $(FUZZ_BUILD)/fuzz-$$name -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_BUILD)/crash-$$name- \
	        $(FUZZ_BUILD)/corpus-$$name tests/fuzz/corpus/$$name || exit 1; \
	done

#  Regenerates the committed fuzz seeds and the public test PKI in tests/vectors/pki.
corpus: $(GEN_CORPUS)
	rm -rf tests/vectors/pki
	$(GEN_CORPUS) tests/vectors/pki tests/fuzz/corpus/envelope
	$(GEN_CORPUS) frames tests/fuzz/corpus/frame
	$(GEN_CORPUS) bundles tests/fuzz/corpus/bundle
	$(GEN_CORPUS) notes tests/fuzz/corpus/note
	$(GEN_CORPUS) records tests/fuzz/corpus/record

#  --- Installing ------------------------------------------------------------------------------

#  make install PREFIX=/usr/local DESTDIR=/tmp/stage: the tools, the agent library and its header,
#  the systemd units (ExecStart rewritten to PREFIX/bin), the man pages in deploy/man, the
#  example configurations and agreement under share/doc/rhannu. /etc is left alone: a
#  configuration is the operator's (the Debian packages install theirs as conffiles).
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/rhannu
#  systemd reads /usr/local/lib/systemd/system too; Debian's packages put units in /lib.
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
MAN_PAGES = $(wildcard deploy/man/*.[1-8])
UNITS = $(wildcard deploy/systemd/*.service deploy/systemd/*.timer)

install: $(TOOLS) $(AGENT_LIB)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/examples
	install -m 0755 $(TOOLS) $(DESTDIR)$(BINDIR)
	install -m 0644 $(AGENT_LIB) $(DESTDIR)$(LIBDIR)
	install -m 0644 agent/rhannu_agent.h $(DESTDIR)$(INCLUDEDIR)
	for unit in $(UNITS); do \
	    sed 's|/usr/bin/rhannu-|$(BINDIR)/rhannu-|g' $$unit > $(DESTDIR)$(UNITDIR)/$$(basename $$unit) \
	        && chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$unit) || exit 1; \
	done
	install -m 0644 deploy/examples/* deploy/agreements/*.yaml $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)
	for page in $(MAN_PAGES); do \
	    section=$${page##*.}; install -d $(DESTDIR)$(MANDIR)/man$$section \
	        && install -m 0644 $$page $(DESTDIR)$(MANDIR)/man$$section || exit 1; \
	done

uninstall:
	rm -f $(patsubst $(BUILD)/bin/%,$(DESTDIR)$(BINDIR)/%,$(TOOLS)) \
	    $(DESTDIR)$(LIBDIR)/$(notdir $(AGENT_LIB)) $(DESTDIR)$(INCLUDEDIR)/rhannu_agent.h \
	    $(patsubst deploy/systemd/%,$(DESTDIR)$(UNITDIR)/%,$(UNITS))
	for page in $(MAN_PAGES); do rm -f $(DESTDIR)$(MANDIR)/man$${page##*.}/$$(basename $$page); done
	rm -rf $(DESTDIR)$(DOCDIR)

#  --- Debian packages -------------------------------------------------------------------------

#  What the packages hold: the tools and the agent library, not the tests.
programs: $(TOOLS) $(AGENT_LIB)

#  make deb: Debian packages (debhelper, compat 13) in $(DEB_DIR): rhannu-common (the rhannu
#  user, /etc/rhannu), rhannu-broker, rhannu-agent, librhannu-agent-dev, rhannu-tools (rhannu-ca,
#  rhannu-audit), rhannu-witness. The tree is copied into $(DEB_DIR)/src with deploy/debian as
#  its debian/ (the top level keeps no debian/ of its own), and built there unsigned.
#  The packaging tools and the build dependencies (deploy/debian/control) are installed if
#  missing. make deb-smoke installs the packages on this
#  system with apt, checks them and purges them (it changes the system: not part of check).
DEB_DIR ?= build/deb
DEB_TOOLS := debhelper fakeroot dpkg-dev lintian
DEB_SOURCES := Makefile README.md VERSION agent broker certs proto lib deploy tests witness .clang-format
deb:
	@missing=$$(for p in $(DEB_TOOLS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "make deb: installing $$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing \
	        > $(CURDIR)/build/deb-tools.log 2>&1 || { cat build/deb-tools.log; exit 1; }; \
	fi
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	cp -a $(wildcard $(DEB_SOURCES)) $(DEB_DIR)/src/
	cp -a deploy/debian $(DEB_DIR)/src/debian
	@cd $(DEB_DIR)/src && missing=$$(dpkg-checkbuilddeps 2>&1 \
	    | sed -n 's/.*Unmet build dependencies: //p' | sed 's/([^)]*)//g'); \
	if [ -n "$$missing" ]; then \
	    echo "make deb: installing the build dependencies $$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing \
	        > ../build-deps.log 2>&1 || { cat ../build-deps.log; exit 1; }; \
	fi
	cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b -j$(BUILD_JOBS) > ../build.log 2>&1 \
	    || { tail -40 ../build.log; exit 1; }
	@ls $(DEB_DIR)/*.deb

#  Builds the packages, runs lintian (errors fail), checks their contents and unpacks them into
#  a throw-away root. Leaves the system as it was.
check-deb: deb
	DEB_DIR=$(DEB_DIR) BUILD=$(BUILD) bash tests/integration/test_deb.sh

deb-smoke: deb
	DEB_DIR=$(DEB_DIR) BUILD=$(BUILD) bash tests/integration/test_deb.sh --install

#  --- Housekeeping ----------------------------------------------------------------------------

#  Every C file of every folder, wherever it sits, but generated code in the build folders.
SOURCES = $(shell find . \( -path ./.git -o -path ./build -o -path ./$(BUILD) \) -prune \
                         -o -name '*.[ch]' -print 2>/dev/null)

format:
	clang-format -i $(SOURCES)

format-check:
	@clang-format --dry-run --Werror $(SOURCES) && echo "format-check: sources match .clang-format"

clean:
	rm -rf build
