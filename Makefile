# Thin wrapper over CMake. The two commands a newcomer needs:
#   make demo   install what is missing, build, run the exporter against the simulators
#   make test   install what is missing, build, run every test (plus an ASan/UBSan unit build)
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= 2

.PHONY: all deps build demo test test-unit test-asan clean

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
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target triage_unit_tests
	cd $(ASAN_BUILD) && ctest --output-on-failure --timeout 600

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
