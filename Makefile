# Thin wrapper over CMake. The two commands a newcomer needs:
#   make demo   install what is missing, build, run the exporter against the simulators
#   make test   install what is missing, build, run every test (plus an ASan/UBSan unit build)
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS       ?= 2

.PHONY: all deps build demo test test-unit test-asan fuzz clean

all: build

deps:
	./scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	./scripts/demo.sh $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 600
	$(MAKE) test-asan

# Unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTRIAGE_SANITIZE=ON -DTRIAGE_INTEGRATION_TESTS=OFF
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target triage_unit_tests fuzz_corpus_runners
	cd $(ASAN_BUILD) && ctest --output-on-failure --timeout 600

# Every libFuzzer target of tests/fuzz for FUZZ_SECONDS each (clang, ASan/UBSan).
fuzz:
	./scripts/install-deps.sh --fuzz
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DTRIAGE_SANITIZE=ON -DTRIAGE_FUZZ=ON -DTRIAGE_INTEGRATION_TESTS=OFF -DTRIAGE_BENCH=OFF \
	  -DTRIAGE_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_run

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
