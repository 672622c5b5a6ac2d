#!/usr/bin/env bash
# Load (tests/load/load_test.py): 64 concurrent scrapers (wrk) on /metrics of
# an exporter running 10,000 probes for 60 s, a good and a broken reload in
# the middle; no scrape lost, no counter reset. Prints "N passed, N failed"
# and the numbers (also in BUILD_DIR/artifacts/load-report.txt).
#
# Usage (CTest, repo root as working directory): bash tests/load/load_test.sh BUILD_DIR
exec bash "$(dirname "${BASH_SOURCE[0]}")/../lib/run_driver.sh" load tests/load/load_test.py \
  "${1:?usage: load_test.sh BUILD_DIR}"
