#!/usr/bin/env bash
# Hostile targets (tests/hostile/hostile_test.py): one exporter per misbehaving
# target, beside 50 healthy probes; prints a table of every case (end time,
# reason, peak RSS) and "N passed, N failed", and writes the table to
# BUILD_DIR/artifacts/hostile-table.txt.
#
# Usage (CTest, repo root as working directory): bash tests/hostile/hostile_test.sh BUILD_DIR
# Ctrl-C or a TERM stops everything it started (tests/lib/run_driver.sh).
exec bash "$(dirname "${BASH_SOURCE[0]}")/../lib/run_driver.sh" hostile tests/hostile/hostile_test.py \
  "${1:?usage: hostile_test.sh BUILD_DIR}"
