# Kiln: `make run` runs the example pipelines on the real taxi sample; `make test` runs every
# test (normal build, then AddressSanitizer + UBSan build). Both install what they need first.
BUILD      ?= build
SAN_BUILD  ?= build-sanitize
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)
CTEST_ARGS ?= --output-on-failure -j$(JOBS)

.PHONY: all setup build build-sanitize run test check test-sanitize bench format clean

all: build

setup:
	@scripts/setup.sh >/dev/null

$(BUILD)/CMakeCache.txt: | setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: setup $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

$(SAN_BUILD)/CMakeCache.txt: | setup
	cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKILN_SANITIZE=ON

build-sanitize: setup $(SAN_BUILD)/CMakeCache.txt
	cmake --build $(SAN_BUILD) -j$(JOBS)

# The main job: the example pipelines of examples/nyc_taxi on the real sample.
run: build
	scripts/run_examples.sh $(BUILD)/kiln

# Every test, normal build then sanitizer build. CI (.ci/run) calls exactly this.
test: check test-sanitize

check: build
	cd $(BUILD) && ctest $(CTEST_ARGS)

test-sanitize: build-sanitize
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ctest $(CTEST_ARGS)

# Benchmarks (bench/README.md): each prints one JSON line.
bench: build
	bench/run_all.sh $(BUILD)/kiln

format:
	find src tests bench -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
