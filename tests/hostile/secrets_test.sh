#!/usr/bin/env bash
# Canary secrets (tests/hostile/secrets_test.py): a canary in every kind of
# credentials file, and none of them in any output of the exporter (pages,
# metrics, /probe?debug=true, error messages, the log at debug level).
# Prints "N passed, N failed".
#
# Usage (CTest, repo root as working directory): bash tests/hostile/secrets_test.sh BUILD_DIR
exec bash "$(dirname "${BASH_SOURCE[0]}")/../lib/run_driver.sh" secrets tests/hostile/secrets_test.py \
  "${1:?usage: secrets_test.sh BUILD_DIR}"
