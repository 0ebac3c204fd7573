# salient - build, test, demo.
#   make            build ./salient (installs missing Debian packages when root)
#   make test       run the whole test suite (ends with "N passed, M failed")
#   make test-slow  the same plus the golden runs that take minutes (every
#                   golden comparison on the double-accumulating reference path too)
#   make asan       build + test under AddressSanitizer and UBSan
#   make fuzz       build the libFuzzer targets for the safetensors/JSON/image and DICOM parsers
#   make NATIVE=1   tune for this CPU (default: portable x86-64 with AVX2)
#   make demo       the main job on the bundled models and images

CC      ?= cc
BUILD   ?= build
DEPS_PKGS = libopenblas-dev libstb-dev libwebp-dev pkg-config zlib1g-dev

ifeq ($(NATIVE),1)
  ARCHFLAGS = -march=native
else
  ARCHFLAGS = -march=x86-64-v3
endif

OPT      ?= -O2
WARN      = -Wall -Wextra -Wshadow -Wswitch-enum -Wno-unused-parameter -Wno-sign-compare
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null || echo -I/usr/include/x86_64-linux-gnu/openblas-pthread)
BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
GIT_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
CFLAGS  += -std=c11 $(OPT) -g $(ARCHFLAGS) -fno-fast-math $(WARN) -D_GNU_SOURCE \
           -I. $(BLAS_CFLAGS) -DSALIENT_VERSION='"$(GIT_VERSION)"' \
           -DSALIENT_CFLAGS='"$(OPT) $(ARCHFLAGS) $(SAN)"' $(SAN)
LDLIBS  += $(BLAS_LIBS) -lwebp -lz -lm -lpthread

LIB_DIRS = engine weights io attrib eval
LIB_SRC  = $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
CLI_SRC  = $(wildcard cli/*.c)
TEST_SRC = $(wildcard tests/test_*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%) $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/tool_*.c))
HDRS     = $(foreach d,$(LIB_DIRS) cli tests,$(wildcard $(d)/*.h))

.PHONY: all deps test test-slow asan fuzz demo clean bench

all: deps salient

# deps: a no-op when the headers and libraries are there; installs them as
# root with apt; otherwise stops with the exact command to run.
deps:
	@missing=""; \
	for h in /usr/include/stb/stb_image.h /usr/include/stb/stb_image_write.h; do [ -f $$h ] || missing="$$missing libstb-dev"; done; \
	pkg-config --exists openblas 2>/dev/null || [ -f /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h ] || missing="$$missing libopenblas-dev"; \
	[ -f /usr/include/webp/encode.h ] || missing="$$missing libwebp-dev"; \
	[ -f /usr/include/zlib.h ] || missing="$$missing zlib1g-dev"; \
	command -v pkg-config >/dev/null || missing="$$missing pkg-config"; \
	if [ -n "$$missing" ]; then \
	  missing=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "deps: installing $$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; } || \
	    { echo "deps: apt-get failed; run: sudo apt-get install -y $$missing"; exit 1; }; \
	  else \
	    echo "deps: missing packages. Run:  sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi

salient: $(BUILD)/libsalient.a $(CLI_OBJ)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libsalient.a $(LDLIBS)

$(BUILD)/libsalient.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(BUILD)/libsalient.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libsalient.a $(LDLIBS)

# test_figures unit-tests cli/render.c by including it
$(BUILD)/tests/test_figures: cli/render.c

test: deps salient $(TEST_BIN)
	@BUILD=$(BUILD) sh tests/run.sh

test-slow: deps salient $(TEST_BIN)
	@SALIENT_SLOW_TESTS=1 BUILD=$(BUILD) sh tests/run.sh

# Sanitizer build in its own folder; the same suite must pass under it.
asan:
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" salient-asan

salient-asan: deps $(BUILD)/libsalient.a $(CLI_OBJ) $(TEST_BIN)
	$(CC) $(CFLAGS) -o $(BUILD)/salient $(CLI_OBJ) $(BUILD)/libsalient.a $(LDLIBS)
	@ASAN_OPTIONS=detect_leaks=0 SALIENT=$(BUILD)/salient BUILD=$(BUILD) SALIENT_ASAN=1 sh tests/run.sh

# libFuzzer target (clang): make fuzz && ./build-fuzz/fuzz_safetensors -max_total_time=60 tests/fuzz/corpus
# and ./build-fuzz/fuzz_dicom -max_total_time=60 -dict=tests/fuzz/dicom.dict NEW_DIR tests/data/dicom
# Only the file parsers (io/*.c, weights/safetensors.c): no BLAS, no engine.
fuzz:
	@mkdir -p build-fuzz
	clang -std=c11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -o build-fuzz/fuzz_safetensors tests/fuzz/fuzz_safetensors.c $(wildcard io/*.c) weights/safetensors.c -lz -lm
	clang -std=c11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -o build-fuzz/fuzz_dicom tests/fuzz/fuzz_dicom.c $(wildcard io/*.c) -lz -lm

demo: all
	@sh tools/demo.sh

bench: all
	./salient bench -m tests/data/resnet18_c1k10.safetensors

clean:
	rm -rf build build-asan build-fuzz salient
