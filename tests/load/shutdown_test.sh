#!/usr/bin/env bash
# SIGTERM while busy (tests/load/shutdown_test.py): a scrape being read is
# finished, a stalled reader is cut off, a hanging probe run is cancelled,
# and the exporter exits 0 within 5 s. Prints "N passed, N failed".
#
# Usage (CTest, repo root as working directory): bash tests/load/shutdown_test.sh BUILD_DIR
exec bash "$(dirname "${BASH_SOURCE[0]}")/../lib/run_driver.sh" shutdown tests/load/shutdown_test.py \
  "${1:?usage: shutdown_test.sh BUILD_DIR}"
