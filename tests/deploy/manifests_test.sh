#!/usr/bin/env bash
# The Kubernetes manifests of deploy/kubernetes, built with kustomize and
# checked offline: their references, and their pods started on loopback as a
# kubelet would, against an API server stand-in that enforces their RBAC
# (tests/deploy/manifests_test.py). Prints "N passed, N failed".
#
# Usage (CTest, repo root as working directory): bash tests/deploy/manifests_test.sh BUILD_DIR
exec bash "$(dirname "${BASH_SOURCE[0]}")/../lib/run_driver.sh" manifests tests/deploy/manifests_test.py \
  "${1:?usage: manifests_test.sh BUILD_DIR}"
