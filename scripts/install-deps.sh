#!/usr/bin/env bash
# Installs every Debian package the build, the demo and the tests need.
# Idempotent: packages already present are skipped, apt is only called when
# something is missing. Runs as root (CI) or through sudo when available.
#   --bench   also what bench/run_all needs (nginx-light, blackbox_exporter)
#   --fuzz    also what `make fuzz` needs (clang and its libFuzzer runtime)
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  prometheus-cpp-dev libcivetweb-dev libcurl4-openssl-dev libyaml-cpp-dev
  nlohmann-json3-dev googletest libgtest-dev libgmock-dev
  libcmark-gfm-dev libcmark-gfm-extensions-dev
  libssl-dev zlib1g-dev libcrypt-dev
  curl ca-certificates openssl
  prometheus prometheus-alertmanager
  python3 python3-yaml
  wrk  # 64 concurrent scrapers in the load test (tests/load)
  iproute2  # ss: the web configuration test finds the port behind the TLS front
  chromium fonts-dejavu-core  # headless screenshots of the runbook pages (integration test)
  systemd  # systemd-analyze: the unit's security rating (tests/deploy/install_test)
)
# kubectl kustomize builds the Kubernetes manifests (tests/deploy). Debian's
# kubernetes-client ships kubectl; a kubectl from another package (a newer one)
# serves as well, and would clash with it on /usr/bin/kubectl.
if ! command -v kubectl >/dev/null 2>&1; then
  PACKAGES+=(kubernetes-client)
fi
for arg in "$@"; do
  case $arg in
    --bench) PACKAGES+=(nginx-light prometheus-blackbox-exporter) ;;
    --fuzz) PACKAGES+=(clang libclang-rt-14-dev) ;;
    *) echo "install-deps: unknown option $arg (expected --bench or --fuzz)" >&2; exit 2 ;;
  esac
done

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
# The prometheus and prometheus-alertmanager packages would start their own
# servers on :9090 and :9093 after install; the tests start both themselves,
# so a temporary policy-rc.d keeps package scripts (invoke-rc.d and
# deb-systemd-invoke both ask it) from starting services, unless the host
# already has one.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

# A host whose own policy-rc.d allows starting services gets the packages'
# daemons anyway. Stop those of the packages installed just now: the tests
# start their own Prometheus and Alertmanager on loopback.
for pkg_svc in prometheus:prometheus prometheus-alertmanager:prometheus-alertmanager \
               prometheus-blackbox-exporter:prometheus-blackbox-exporter nginx-light:nginx; do
  pkg=${pkg_svc%%:*} svc=${pkg_svc#*:}
  case " ${missing[*]} " in *" $pkg "*) ;; *) continue ;; esac
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    if systemctl is-active --quiet "$svc" 2>/dev/null; then
      echo "install-deps: stopping $svc started by its package"
      $SUDO systemctl stop "$svc" || true
    fi
  elif [ -x "/etc/init.d/$svc" ] && "/etc/init.d/$svc" status >/dev/null 2>&1; then
    echo "install-deps: stopping $svc started by its package"
    $SUDO "/etc/init.d/$svc" stop || true
  fi
done
for port in 9090 9093; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "install-deps: warning: something still listens on 127.0.0.1:$port" >&2
  fi
done
