# salient - build, test, demo.
#   make            build ./salient and the libraries (installs missing Debian packages when root)
#   make test       run the whole test suite (ends with "N passed, M failed")
#   make test-slow  the same plus the golden runs that take minutes (every
#                   golden comparison on the double-accumulating reference path too)
#   make asan       build + test under AddressSanitizer and UBSan
#   make fuzz       build the libFuzzer targets (safetensors/JSON/npy/image parsers, DICOM, NIfTI)
#   make NATIVE=1   tune for this CPU (default: portable x86-64 with AVX2)
#   make demo       the main job on the bundled models and images
#   make study      the seed paper's comparison on the held-out sets (hours; resumes;
#                   SALIENT_DATA=folder of the data sets, default ../shared/data; docs/STUDY.md)
#   make bench      the benchmarks (never part of make test)
#   make test T=pic only the tests whose file name contains "pic"
#   make install    bin/salient, lib/libsalient.{a,so}, include/salient/, lib/pkgconfig/salient.pc
#                   under PREFIX (default /usr/local), staged under DESTDIR if set
#   make uninstall  removes what make install put there

CC      ?= cc
BUILD   ?= build
DEPS_PKGS = libopenblas-dev libstb-dev libwebp-dev zlib1g-dev pkg-config

ifeq ($(NATIVE),1)
  ARCHFLAGS = -march=native
else
  ARCHFLAGS = -march=x86-64-v3
endif

OPT      ?= -O2
WARN      = -Wall -Wextra -Wshadow -Wswitch-enum -Wno-unused-parameter -Wno-sign-compare
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null || echo -I/usr/include/x86_64-linux-gnu/openblas-pthread)
BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
# The release (VERSION) and the commit it was built from: "0.2.0 (a1b2c3d)".
RELEASE     := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_VERSION := $(RELEASE) ($(shell git describe --always --dirty --exclude 'v*' 2>/dev/null || echo no git))
CFLAGS  += -std=c11 $(OPT) -g $(ARCHFLAGS) -fno-fast-math $(WARN) -D_GNU_SOURCE \
           -I. $(BLAS_CFLAGS) -DSALIENT_VERSION='"$(GIT_VERSION)"' \
           -DSALIENT_CFLAGS='"$(OPT) $(ARCHFLAGS) $(SAN)"' $(SAN)
LDLIBS  += $(BLAS_LIBS) -lwebp -lz -lm -lpthread
# The library's objects are position-independent so that one set of objects
# makes both libsalient.a and libsalient.so; -fno-semantic-interposition lets
# the compiler inline and call directly within the library as without -fPIC
# (salient bench: no measurable difference).
PIC_CFLAGS = -fPIC -fno-semantic-interposition

LIB_DIRS = engine weights io attrib eval
LIB_SRC  = $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
CLI_SRC  = $(wildcard cli/*.c)
TEST_SRC = $(wildcard tests/test_*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%) $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/tool_*.c))
HDRS     = $(foreach d,$(LIB_DIRS) cli tests,$(wildcard $(d)/*.h))
# The installed headers: salient.h and every library header, under
# include/salient/ in the same relative layout ("engine/engine.h").
PUB_HDRS = salient.h $(filter-out %_internal.h,$(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.h)))

# Installation. The shared library's soname carries the major version:
# libsalient.so -> libsalient.so.0 -> libsalient.so.0.2.0.
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR      = $(PREFIX)/bin
LIBDIR      = $(PREFIX)/lib
INCLUDEDIR  = $(PREFIX)/include
LIB_VERSION := $(if $(wildcard VERSION),$(RELEASE),0.2.0)
SO_MAJOR    := $(firstword $(subst ., ,$(LIB_VERSION)))
SO_NAME      = libsalient.so.$(SO_MAJOR)
SO_FILE      = libsalient.so.$(LIB_VERSION)
# salient.pc: the dependencies pkg-config knows by name go to Requires.private,
# the rest of LDLIBS (so any library added there) to Libs.private.
PC_REQUIRES  = $(strip $(foreach p,openblas libwebp,$(shell pkg-config --exists $(p) 2>/dev/null && echo $(p))))
PC_LIBS      = $(filter-out $(if $(filter openblas,$(PC_REQUIRES)),$(BLAS_LIBS)) \
                            $(if $(filter libwebp,$(PC_REQUIRES)),-lwebp),$(LDLIBS))

.PHONY: all deps test test-slow asan fuzz demo study clean FORCE bench lib install uninstall

all: deps salient lib

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

# Library objects are built with PIC_CFLAGS; the stamp rebuilds them once in
# a build folder whose objects predate that.
$(LIB_OBJ): CFLAGS += $(PIC_CFLAGS)
$(LIB_OBJ): $(BUILD)/.pic

$(BUILD)/.pic:
	@mkdir -p $(BUILD) && touch $@

lib: $(BUILD)/libsalient.a $(BUILD)/$(SO_FILE)

$(BUILD)/$(SO_FILE): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SO_NAME) -Wl,--no-undefined $(SAN) -o $@ $(LIB_OBJ) $(LDLIBS)

# stb's JPEG writer shifts a signed int past its range (defined in GCC,
# reported by UBSan): io/stb_write.c explains; only that file is spared.
$(BUILD)/io/stb_write.o: CFLAGS += $(if $(SAN),-fno-sanitize=shift-base)

$(BUILD)/%.o: %.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(BUILD)/libsalient.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libsalient.a $(LDLIBS)

# The version string (release and commit) is compiled into the command line
# and the report: those objects depend on a stamp that is rewritten only
# when the string changes, so a new commit rebuilds them and nothing else.
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(BUILD)
	@echo '$(GIT_VERSION)' | cmp -s - $@ || echo '$(GIT_VERSION)' > $@
FORCE:
$(CLI_OBJ) $(BUILD)/eval/report.o: VERSION $(BUILD)/version.stamp

# test_figures unit-tests eval/render.c by including it
$(BUILD)/tests/test_figures: eval/render.c

# T=NAME runs only the tests whose file name contains NAME (make test T=pic).
test: deps salient $(TEST_BIN)
	@BUILD=$(BUILD) T="$(T)" sh tests/run.sh

test-slow: deps salient $(TEST_BIN)
	@SALIENT_SLOW_TESTS=1 BUILD=$(BUILD) T="$(T)" sh tests/run.sh

# Sanitizer build in its own folder; the same suite must pass under it.
asan:
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" salient-asan

salient-asan: deps $(BUILD)/libsalient.a $(CLI_OBJ) $(TEST_BIN)
	$(CC) $(CFLAGS) -o $(BUILD)/salient $(CLI_OBJ) $(BUILD)/libsalient.a $(LDLIBS)
	@ASAN_OPTIONS=detect_leaks=0 SALIENT=$(BUILD)/salient BUILD=$(BUILD) SALIENT_ASAN=1 sh tests/run.sh

# libFuzzer target (clang): make fuzz && ./build-fuzz/fuzz_safetensors -max_total_time=60 tests/fuzz/corpus
# and ./build-fuzz/fuzz_dicom -max_total_time=60 -dict=tests/fuzz/dicom.dict NEW_DIR tests/data/dicom
# Only the file parsers (io/*.c, weights/safetensors.c) and the error helpers: no BLAS, no engine.
fuzz:
	@mkdir -p build-fuzz
	clang -std=c11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -o build-fuzz/fuzz_safetensors tests/fuzz/fuzz_safetensors.c $(wildcard io/*.c) weights/safetensors.c engine/error.c -lz -lm
	clang -std=c11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -o build-fuzz/fuzz_nifti tests/fuzz/fuzz_nifti.c $(wildcard io/*.c) engine/error.c -lz -lm
	clang -std=c11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -o build-fuzz/fuzz_dicom tests/fuzz/fuzz_dicom.c $(wildcard io/*.c) engine/error.c -lz -lm

demo: deps
	@$(MAKE) --no-print-directory -j$$(nproc) salient lib
	@sh tools/demo.sh

SALIENT_DATA ?= ../shared/data
STUDY_OUT ?= results/study
study: salient
	./salient study eval/studies/paper.study -d $(SALIENT_DATA) -o $(STUDY_OUT) $(STUDY_OPTS)

# Benchmarks (printed, never asserted): the engine's passes, PIC at 224 px,
# the Delaunay blur, one gradient pass per golden model.
bench: all $(BUILD)/tests/tool_mkmodel $(BUILD)/tests/test_pic $(BUILD)/tests/test_delaunay $(BUILD)/tests/test_attrib_grad
	@$(BUILD)/tests/tool_mkmodel resnet18 3 1000 1 F32 $(BUILD)/bench_resnet18.st >/dev/null
	./salient bench -m $(BUILD)/bench_resnet18.st
	@SALIENT_BENCH=1 $(BUILD)/tests/test_pic | grep benchmark
	@SALIENT_BENCH=1 $(BUILD)/tests/test_delaunay | grep benchmark
	@SALIENT_BENCH=1 $(BUILD)/tests/test_attrib_grad | grep timing

# DESTDIR stages the files (packaging); PREFIX is what salient.pc records.
install: salient lib
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 755 salient $(DESTDIR)$(BINDIR)/salient
	install -m 644 $(BUILD)/libsalient.a $(DESTDIR)$(LIBDIR)/libsalient.a
	install -m 755 $(BUILD)/$(SO_FILE) $(DESTDIR)$(LIBDIR)/$(SO_FILE)
	ln -sf $(SO_FILE) $(DESTDIR)$(LIBDIR)/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(LIBDIR)/libsalient.so
	@for h in $(PUB_HDRS); do \
	  install -d $(DESTDIR)$(INCLUDEDIR)/salient/$$(dirname $$h) && \
	  install -m 644 $$h $(DESTDIR)$(INCLUDEDIR)/salient/$$h || exit 1; \
	done
	@echo "install $(words $(PUB_HDRS)) headers -> $(DESTDIR)$(INCLUDEDIR)/salient/"
	@{ echo 'prefix=$(PREFIX)'; \
	   echo 'libdir=$${prefix}/lib'; \
	   echo 'includedir=$${prefix}/include'; \
	   echo '# libsalient.a and its dependencies: cc my.c $$(pkg-config --cflags salient) $$(pkg-config --variable=static_libs salient)'; \
	   echo 'static_libs=$${libdir}/libsalient.a $(strip $(LDLIBS))'; \
	   echo; \
	   echo 'Name: salient'; \
	   echo 'Description: saliency maps and their evaluation for ResNet and DenseNet image classifiers'; \
	   echo 'Version: $(LIB_VERSION)'; \
	   echo 'Requires.private: $(PC_REQUIRES)'; \
	   echo 'Cflags: -I$${includedir}/salient'; \
	   echo 'Libs: -L$${libdir} -lsalient'; \
	   echo 'Libs.private: $(strip $(PC_LIBS))'; \
	} > $(DESTDIR)$(LIBDIR)/pkgconfig/salient.pc
	@echo "install salient.pc -> $(DESTDIR)$(LIBDIR)/pkgconfig/salient.pc"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/salient $(DESTDIR)$(LIBDIR)/libsalient.a $(DESTDIR)$(LIBDIR)/$(SO_FILE) \
	      $(DESTDIR)$(LIBDIR)/$(SO_NAME) $(DESTDIR)$(LIBDIR)/libsalient.so $(DESTDIR)$(LIBDIR)/pkgconfig/salient.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/salient

clean:
	rm -rf build build-asan build-fuzz salient
