#!/usr/bin/env bash
# The layers of docs/architecture.md: no include points up a layer, and the
# build's own compile flags refuse one (tests/tree/layers.py).
# Usage (CTest, repo root as working directory): bash tests/tree/layers_test.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: layers_test.sh BUILD_DIR}
exec python3 "$(dirname "${BASH_SOURCE[0]}")/layers.py" "$(pwd)" "$BUILD"
