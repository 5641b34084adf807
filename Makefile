# joincheck: the two commands a new user runs are `make demo` and `make test`.
PRESET ?= default
BUILD_DIR ?= build
JOBS ?= $(shell nproc)

# Seconds each libFuzzer target runs in `make fuzz`.
FUZZ_SECONDS ?= 30
# The GoogleTest suites that run threads: the HTTP(S) server's workers and client, the NS client's
# async listener, the reference JS's service and its store's committer, the NS and gateway.
TSAN_TESTS ?= ^(HttpServer|HttpClient|TlsTransport|NsClient|JoinServer|JoinServerTls|JoinServerRobustness|JoinServerFault|JoinServerFaultBehaveLike|DeviceStoreConcurrency|DeviceStoreCommit|DeviceStoreDurability|NetworkServer|SimGateway|AirLink)\.

.PHONY: all deps configure build demo test test-asan test-tsan fuzz bench package format clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build --preset $(PRESET) -j $(JOBS)

# The suite against the embedded reference JS (reports in reports/out/), a faulty JS, and decoding.
demo: build
	@scripts/demo $(BUILD_DIR)/cli/joincheck

test: build
	@ctest --preset $(PRESET) -j $(JOBS)

# The unit and command-line tests under AddressSanitizer and UBSan (clang, build-debug/).
test-asan: deps
	@cmake --preset debug >/dev/null
	@cmake --build --preset debug -j $(JOBS)
	@ctest --preset debug -j $(JOBS)

# The tests that use threads (the JS's workers and committer, the HTTP server, async listeners)
# under ThreadSanitizer (clang, build-tsan/).
test-tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS) --target test_backend test_sim
	@ctest --preset tsan -j $(JOBS) -R '$(TSAN_TESTS)'

# Every libFuzzer target of fuzz/ for FUZZ_SECONDS each, from its seed corpus (build-debug/).
fuzz: deps
	@cmake --preset debug >/dev/null
	@cmake --build --preset debug -j $(JOBS) --target fuzzers
	@scripts/fuzz --seconds $(FUZZ_SECONDS) build-debug/fuzz

bench: build
	@$(BUILD_DIR)/bench/bench_join --benchmark_min_time=1
	@$(BUILD_DIR)/bench/bench_secure_element --benchmark_min_time=1
	@$(BUILD_DIR)/bench/bench_device_store --devices 1000000 --mac 1.0.3
	@$(BUILD_DIR)/bench/bench_suite --runs 10
	@scripts/bench-js 10 16
	@scripts/bench-load 10 16

# A .deb of the program, its man pages, the Python package and the docs, in build/ (CPack).
package: build
	@cd $(BUILD_DIR) && cpack -G DEB

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	@rm -rf $(BUILD_DIR)
