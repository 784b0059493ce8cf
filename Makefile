#  rhannu - top-level build. Everything builds out of tree under $(BUILD).
#
#  make            build the library, tools and tests
#  make demo       install, build, run a broker and five agents on loopback, tell the story
#  make check      install missing packages, build, run every test (also under ASan+UBSan)
#  make bench      end-to-end throughput, latency, broker memory and restart figures
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

#  pkg-config output lives in its own variables: `make CFLAGS=...` must not drop it.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lleveldb -lpthread
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

CFLAGS ?= $(OPT) -g
WARN := -std=c11 -Wall -Wextra -Wshadow -Wformat=2 -Werror
INCLUDES := -Iproto -Icerts -Ilib -Ipolicy -Ibroker -Iagent -I$(BUILD)/gen
RH_CPPFLAGS = $(INCLUDES) $(PKG_CFLAGS) -D_GNU_SOURCE -DRH_SOURCE_DIR='"$(CURDIR)"'
ALL_CFLAGS = $(WARN) $(CFLAGS) $(SANFLAGS) $(RH_CPPFLAGS) $(CPPFLAGS)
LINK = $(CC) $(SANFLAGS) $(LDFLAGS)

GEN := $(BUILD)/gen/rhannu.pb-c.c $(BUILD)/gen/rhannu.pb-c.h
LIB_SRC := $(wildcard lib/*.c) $(wildcard proto/*.c) $(wildcard certs/rh_*.c) $(wildcard policy/*.c)
LIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(BUILD)/obj/gen/rhannu.pb-c.o
LIB := $(BUILD)/librhannu.a

TOOLS := $(BUILD)/bin/rhannu-ca $(BUILD)/bin/rhannu-broker $(BUILD)/bin/rhannu-agent \
         $(BUILD)/bin/rhannu-audit
BROKER_SRC := $(filter-out broker/main.c,$(wildcard broker/*.c))
AGENT_SRC := $(filter-out agent/main.c,$(wildcard agent/*.c))
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(BUILD)/tests/unit-tests
FUZZ_NAMES := envelope frame json agreement
FUZZ_REPLAY := $(patsubst %,$(BUILD)/tests/replay-%,$(FUZZ_NAMES))
GEN_CORPUS := $(BUILD)/tests/gen-corpus
TESTCLIENT := $(BUILD)/tests/rh-testclient
BENCH_LATENCY := $(BUILD)/tests/rh-bench-latency
BENCH_POLICY := $(BUILD)/tests/rh-bench-policy
BENCH_CASES := $(BUILD)/tests/rh-bench-cases
BENCH_AUDIT := $(BUILD)/tests/rh-bench-audit

.PHONY: all deps demo bench check check-unit check-fuzz-regress check-integration check-symbols \
        check-asan fuzz corpus format format-check clean

all: $(LIB) $(TOOLS) $(UNIT_BIN) $(FUZZ_REPLAY) $(GEN_CORPUS) $(TESTCLIENT) $(BENCH_LATENCY) \
     $(BENCH_POLICY) $(BENCH_CASES) $(BENCH_AUDIT)

#  Installs missing Debian packages; quick when nothing is missing.
deps:
	@deploy/install-deps.sh --check >/dev/null || deploy/install-deps.sh

#  protoc-c writes both files at once: a grouped target keeps -j from running it twice.
$(BUILD)/gen/rhannu.pb-c.c $(BUILD)/gen/rhannu.pb-c.h &: proto/rhannu.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -Iproto proto/rhannu.proto

#  Generated code is not ours to warn about beyond what protoc-c promises.
$(BUILD)/obj/gen/rhannu.pb-c.o: $(BUILD)/gen/rhannu.pb-c.c $(BUILD)/gen/rhannu.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) $(SANFLAGS) $(RH_CPPFLAGS) $(CPPFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(GEN) $(wildcard lib/*.h proto/*.h certs/*.h policy/*.h broker/*.h agent/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/rhannu-ca: $(BUILD)/obj/certs/rhannu_ca.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(BUILD)/bin/rhannu-broker: $(patsubst %.c,$(BUILD)/obj/%.o,broker/main.c $(BROKER_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

#  The auditor's tool reads the broker's log with the broker's own audit code.
$(BUILD)/bin/rhannu-audit: $(BUILD)/obj/audit/rhannu_audit.o $(BUILD)/obj/broker/rh_audit.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(BUILD)/bin/rhannu-agent: $(patsubst %.c,$(BUILD)/obj/%.o,agent/main.c $(AGENT_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(BUILD)/obj/tests/%.o: tests/%.c $(GEN) $(wildcard lib/*.h proto/*.h certs/*.h policy/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -c $< -o $@

$(UNIT_BIN): $(patsubst %.c,$(BUILD)/obj/%.o,$(UNIT_SRC) $(BROKER_SRC) agent/rh_link.c) $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(TEST_LIBS) $(PKG_LIBS) -o $@

$(BUILD)/tests/replay-%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay_main.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(TESTCLIENT): $(BUILD)/obj/tests/integration/rh_testclient.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(BENCH_LATENCY): $(BUILD)/obj/tests/bench/rh_bench_latency.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(BENCH_POLICY): $(BUILD)/obj/tests/bench/rh_bench_policy.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(BENCH_CASES): $(BUILD)/obj/tests/bench/rh_bench_cases.o $(BUILD)/obj/broker/rh_cases.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(BENCH_AUDIT): $(BUILD)/obj/tests/bench/rh_bench_audit.o $(BUILD)/obj/broker/rh_audit.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

$(GEN_CORPUS): $(BUILD)/obj/tests/fuzz/gen_corpus.o $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PKG_LIBS) -o $@

#  --- Demo ------------------------------------------------------------------------------------

demo: deps
	$(MAKE) all
	bash deploy/demo.sh

#  --- Tests -----------------------------------------------------------------------------------

check: deps
	$(MAKE) all
	$(MAKE) format-check check-symbols check-unit check-fuzz-regress check-integration
	$(MAKE) SAN=1 check-asan
	@echo "make check: all suites passed"

check-unit: $(UNIT_BIN)
	$(UNIT_BIN)

check-fuzz-regress: $(FUZZ_REPLAY)
	@for name in $(FUZZ_NAMES); do \
	    $(BUILD)/tests/replay-$$name tests/fuzz/corpus/$$name || exit 1; \
	done

check-integration: $(TOOLS) $(TESTCLIENT)
	@for test in tests/integration/test_*.sh; do \
	    echo "== $$test"; BUILD=$(BUILD) bash $$test || exit 1; \
	done

#  Library symbols must be rh_ (ours) or rhannu__ (generated): nothing else may leak out.
check-symbols: $(LIB)
	@bad=$$(nm -g --defined-only $(LIB) | awk 'NF == 3 && $$2 ~ /[TDBR]/ {print $$3}' \
	        | grep -v -e '^rh_' -e '^rhannu__' || true); \
	if [ -n "$$bad" ]; then echo "unprefixed symbols exported:"; echo "$$bad"; exit 1; fi; \
	echo "check-symbols: every exported symbol is prefixed"

#  The unit suite, the fuzz corpora and the integration tests (but the slow crash test) again,
#  under AddressSanitizer, LeakSanitizer and UBSan (SAN=1); any report fails the run.
ASAN_INTEGRATION := test_ca_openssl test_delivery test_security test_deadletter test_agreements \
                    test_lifecycle test_audit
check-asan:
	$(MAKE) SAN=1 $(UNIT_BIN) $(FUZZ_REPLAY) $(TOOLS) $(TESTCLIENT)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0 UBSAN_OPTIONS=print_stacktrace=1 $(UNIT_BIN)
	@for name in $(FUZZ_NAMES); do \
	    ASAN_OPTIONS=detect_leaks=1 $(BUILD)/tests/replay-$$name tests/fuzz/corpus/$$name || exit 1; \
	done
	@for test in $(ASAN_INTEGRATION); do \
	    echo "== $$test (sanitizers)"; \
	    ASAN_OPTIONS=detect_leaks=1 BUILD=$(BUILD) bash tests/integration/$$test.sh || exit 1; \
	done

#  --- Benchmarks (not part of check: figures, not pass/fail) --------------------------------

bench: deps
	$(MAKE) all
	BUILD=$(BUILD) bash tests/bench/bench_e2e.sh
	BUILD=$(BUILD) bash tests/bench/bench_latency.sh
	BUILD=$(BUILD) bash tests/bench/bench_queue.sh
	BUILD=$(BUILD) bash tests/bench/bench_cases.sh
	BUILD=$(BUILD) bash tests/bench/bench_audit.sh

#  --- Fuzzing ---------------------------------------------------------------------------------

FUZZ_BUILD := build/fuzz
FUZZ_FLAGS := -std=c11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(INCLUDES) \
              -I$(FUZZ_BUILD)/gen -D_GNU_SOURCE -DRH_SOURCE_DIR='"$(CURDIR)"'

fuzz: deps
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
	    SANFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
	    $(FUZZ_BUILD)/librhannu.a $(patsubst %,$(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o,$(FUZZ_TARGETS))
	@for name in $(FUZZ_TARGETS); do \
	    $(FUZZ_CC) -fsanitize=fuzzer,address,undefined $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_$$name.o \
	        $(FUZZ_BUILD)/librhannu.a $(PKG_LIBS) -o $(FUZZ_BUILD)/fuzz-$$name || exit 1; \
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

#  --- Housekeeping ----------------------------------------------------------------------------

SOURCES = $(shell find broker agent proto certs lib tests -name '*.[ch]' 2>/dev/null)

format:
	clang-format -i $(SOURCES)

format-check:
	@clang-format --dry-run --Werror $(SOURCES) && echo "format-check: sources match .clang-format"

clean:
	rm -rf build
