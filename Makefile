# mamori — build, test, demo, bench, fuzz.  See README.md.
#
#   make          build build/mamori
#   make demo     install deps, build, replay demo/ and print the alerts
#   make test     install deps, build, unit tests (plain and ASan/UBSan), integration
#   make asan     sanitizer build + unit tests
#   make bench    benchmarks (print "name value unit" lines)
#   make fuzz     run every libFuzzer target for FUZZ_SECONDS each

CC      ?= cc
PKGS    := yaml-0.1 sqlite3 libevtx libhs libpcre2-8 jansson libpcap libmagic zlib nettle libcurl libidn2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -pthread $(PKG_CFLAGS) -DMM_HOME='"$(CURDIR)"' -Isrc
LDLIBS  := $(PKG_LIBS) -pthread -lm

B       ?= build
SRC     := $(sort $(wildcard src/*/*.c)) src/pipeline.c
OBJ     := $(SRC:%.c=$(B)/obj/%.o)
HDR     := $(wildcard src/*.h src/*/*.h src/*/*.def)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)

.PHONY: all deps demo test unit-bin asan bench fuzz fuzz-build clean
all: $(B)/mamori

deps:
	@./scripts/deps.sh

$(B)/obj/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libmamori.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/mamori: $(B)/obj/src/main.o $(B)/libmamori.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c tests/unit/test.h tests/unit/event_check.h tests/unit/intel_collect.h tests/sensor_harness.h $(B)/libmamori.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(B)/libmamori.a $(LDLIBS)

# Small programs the integration tests drive (tests/tools/).
$(B)/tools/%: tests/tools/%.c $(B)/libmamori.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libmamori.a $(LDLIBS)

$(B)/bench/%: bench/%.c $(B)/libmamori.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libmamori.a $(LDLIBS)

unit-bin: $(UNIT_BIN)

demo: deps
	@$(MAKE) --no-print-directory all
	@./scripts/demo.sh

# The test suite: unit tests, the same unit tests under ASan+UBSan, the integration
# tests through the CLI, and every fuzz target replaying its seeds (regressions).
# Ends with "N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory all unit-bin $(B)/tools/intel_pull
	@$(MAKE) --no-print-directory B=build-asan CC=clang \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    build-asan/mamori unit-bin
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@./tests/run.sh

asan: deps
	@$(MAKE) --no-print-directory B=build-asan CC=clang \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    build-asan/mamori unit-bin
	@MM_ONLY=asan ./tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@./bench/run.sh

# libFuzzer targets: tests/fuzz/fuzz_<name>.c, seeds in tests/fuzz/seeds/<name>/.
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS ?= 60
# The fuzz library is built by a sub-make into build-fuzz/lib (B differs from the
# target's folder, so the sub-make uses the generic $(B)/libmamori.a rule).
ifeq ($(MM_SUBMAKE),)
build-fuzz/lib/libmamori.a: $(SRC) $(HDR)
	@$(MAKE) --no-print-directory MM_SUBMAKE=1 B=build-fuzz/lib CC=clang \
	    CFLAGS="-O1 -g -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    build-fuzz/lib/libmamori.a
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_decoder.h tests/sensor_harness.h build-fuzz/lib/libmamori.a
	clang $(ALL_CFLAGS) -O1 -g -fsanitize=address,undefined,fuzzer -fno-sanitize-recover=all -o $@ $< build-fuzz/lib/libmamori.a $(LDLIBS)
endif
fuzz-build: deps
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
fuzz: fuzz-build
	@./tests/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf build build-asan build-fuzz
