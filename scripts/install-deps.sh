#!/usr/bin/env bash
# Installs every Debian package the build, the demo and the tests need.
# Idempotent: packages already present are skipped, apt is only called when
# something is missing. Runs as root (CI) or through sudo when available.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  prometheus-cpp-dev libcivetweb-dev libcurl4-openssl-dev libyaml-cpp-dev
  nlohmann-json3-dev googletest libgtest-dev libgmock-dev
  libssl-dev zlib1g-dev
  curl ca-certificates openssl
  prometheus
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The prometheus package would start its own server on :9090 after install;
# the tests start Prometheus themselves, so a temporary policy-rc.d keeps
# package scripts from starting services (unless the host already has one).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
