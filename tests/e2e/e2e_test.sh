#!/usr/bin/env bash
# The end-to-end suite (tests/e2e/e2e.py): the real Prometheus (127.0.0.1:19190,
# or $TRIAGE_E2E_PROM_PORT) and Alertmanager (127.0.0.1:19193, or
# $TRIAGE_E2E_AM_PORT) over triage_exporter and one
# triage_simulator per failure mode; prints a table of every scenario and
# "N passed, N failed, N skipped", and writes the table to
# BUILD_DIR/artifacts/e2e-table.txt.
#
# Usage (CTest, repo root as working directory): bash tests/e2e/e2e_test.sh BUILD_DIR
# Ctrl-C or a TERM stops everything it started (tests/lib/run_driver.sh).
exec bash "$(dirname "${BASH_SOURCE[0]}")/../lib/run_driver.sh" e2e tests/e2e/e2e.py "${1:?usage: e2e_test.sh BUILD_DIR}"
