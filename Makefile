# joincheck: the two commands a new user runs are `make demo` and `make test`.
PRESET ?= default
BUILD_DIR ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps configure build demo test bench format clean

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

bench: build
	@$(BUILD_DIR)/bench/bench_join --benchmark_min_time=1
	@$(BUILD_DIR)/bench/bench_secure_element --benchmark_min_time=1
	@$(BUILD_DIR)/bench/bench_device_store --devices 1000000 --mac 1.0.3
	@$(BUILD_DIR)/bench/bench_suite --runs 10
	@scripts/bench-js 10 16

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	@rm -rf $(BUILD_DIR)
