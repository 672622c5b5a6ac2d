#!/usr/bin/env bash
# Packaging, tried as a new user would: `cmake --install` into a staging
# directory (DESTDIR, prefix /usr), then what was installed is used as it is:
# the binaries run, an installed example passes --config.check, the installed
# triage_rulegen regenerates the rule pack from the installed catalog and
# runbooks with a site's own runbook base URL, the systemd unit names the
# installed binary and passes `systemd-analyze security --offline` with a low
# exposure, and its ExecStart and ExecReload (kill -HUP $MAINPID) start and
# reload a real exporter.
#
# Usage (CTest, repo root as working directory): bash tests/deploy/install_test.sh BUILD_DIR
# Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on any failure.
# shellcheck disable=SC2317
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh" || exit 2

BUILD=$(_harness_absolute "${1:?usage: install_test.sh BUILD_DIR}")
harness_init install
STAGE=$TMP/stage
SHARE=$STAGE/usr/share/triage_exporter
DOC=$STAGE/usr/share/doc/triage_exporter
UNIT=$STAGE/usr/lib/systemd/system/triage_exporter.service

check "cmake --install into DESTDIR with prefix /usr" \
  bash -c "DESTDIR='$STAGE' cmake --install '$BUILD' --prefix /usr >'$TMP/install.log' 2>&1"
for f in usr/bin/triage_exporter usr/bin/triage_rulegen; do
  check "$f is installed and executable" test -x "$STAGE/$f"
done
count() { find "$1" -maxdepth 1 -name "$2" | wc -l; }
check "every runbook is installed" [ "$(count "$SHARE/runbooks" '*.md')" = "$(count runbooks '*.md')" ]
check "every dashboard is installed" [ "$(count "$SHARE/dashboards" '*.json')" = "$(count dashboards '*.json')" ]
check "the rule pack is installed as generated" diff -r alerts "$SHARE/alerts"
check "the Kubernetes manifests are installed" diff -r deploy/kubernetes "$SHARE/deploy/kubernetes"
check "the example configurations are installed" diff -r examples "$DOC/examples"
check "the sysusers.d entry is installed" grep -q '^u triage_exporter ' "$STAGE/usr/lib/sysusers.d/triage_exporter.conf"

check "the installed exporter prints its version" \
  bash -c "'$STAGE/usr/bin/triage_exporter' --version | grep -q '^triage_exporter'"
check "an installed example passes --config.check" \
  "$STAGE/usr/bin/triage_exporter" --config.file="$DOC/examples/demo.yaml" --config.check
# The unit's header: the api-server example as /etc/triage_exporter/config.yaml,
# its secrets/ beside it.
ETC=$TMP/etc/triage_exporter
mkdir -p "$ETC" && cp "$DOC/examples/api-server.yaml" "$ETC/config.yaml" && cp -r "$DOC/examples/secrets" "$ETC/"
check "the configuration the unit's header sets up passes --config.check" \
  "$STAGE/usr/bin/triage_exporter" --config.file="$ETC/config.yaml" --config.check
check "install_manifest.txt lists the systemd unit" \
  grep -qx '/usr/lib/systemd/system/triage_exporter.service' "$BUILD/install_manifest.txt"
check "the installed triage_rulegen regenerates the pack with another runbook base URL" \
  bash -c "'$STAGE/usr/bin/triage_rulegen' generate --catalog '$SHARE/rules/catalog' \
    --runbooks '$SHARE/runbooks' --out '$TMP/alerts' --tests '$TMP/tests' \
    --runbook-base-url https://runbooks.example.net/triage/ >'$TMP/rulegen.log' 2>&1 &&
    grep -q 'runbook_url: https://runbooks.example.net/triage/liveness.md#' '$TMP/alerts/triage.rules.yaml'"

# The Dockerfile cannot be built here (no container engine); what can be
# checked offline is that its build stage installs only packages of
# scripts/install-deps.sh and that its runtime stage holds the package of every
# shared library the exporter links directly (bookworm-slim has libc6,
# libstdc++6 and libgcc-s1).
check "the Dockerfile's packages: the build stage's are install-deps.sh's, the runtime stage has every linked library" \
  python3 - "$BUILD/triage_exporter" <<'PY'
import re, subprocess, sys
text = open("Dockerfile").read()
stages = re.split(r"^FROM ", text, flags=re.M)[1:]
def apt(stage):
    m = re.search(r"--no-install-recommends(.*?)&&", stage, flags=re.S)
    return set(m.group(1).replace("\\", " ").split()) if m else set()
build, runtime = apt(stages[0]), apt(stages[1])
# The entries of install-deps.sh's PACKAGES=( ... ) and PACKAGES+=( ... ), comments left out.
deps = set()
for block in re.findall(r"PACKAGES\+?=\(([^)]*)\)", open("scripts/install-deps.sh").read()):
    deps |= set(re.sub(r"#[^\n]*", "", block).split())
extra = sorted(p for p in build if p not in deps and p not in ("git",))
needed = re.findall(r"NEEDED\).*\[(.+)\]", subprocess.run(["readelf", "-d", sys.argv[1]],
                    capture_output=True, text=True).stdout)
missing = []
for lib in needed:
    path = subprocess.run(["sh", "-c", "ldconfig -p | awk '$1 == \"%s\" {print $NF; exit}'" % lib],
                          capture_output=True, text=True).stdout.strip()
    pkgs = set()
    for cand in (path, "/usr" + path, path.replace("/usr/", "/", 1)):
        out = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True).stdout
        pkgs |= {l.split(":")[0] for l in out.splitlines() if l}
    if not pkgs & (runtime | {"libc6", "libstdc++6", "libgcc-s1"}):
        missing.append((lib, sorted(pkgs)))
print("    build stage: %d packages, runtime stage: %d, linked libraries: %d" % (len(build), len(runtime), len(needed)))
if extra or missing or not build or not runtime or not needed:
    print("    not in install-deps.sh: %s; no runtime package for: %s" % (extra, missing))
    sys.exit(1)
PY

# The unit.
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
exec_reload=$(sed -n 's/^ExecReload=//p' "$UNIT")
check "ExecStart runs the installed binary" [ "${exec_start%% *}" = /usr/bin/triage_exporter ]
check "ExecReload sends SIGHUP to the main process" [ "$exec_reload" = '/bin/kill -HUP $MAINPID' ]
if command -v systemd-analyze >/dev/null; then
  # --threshold: exit status 1 when the exposure (0 best, 10 worst) is above it.
  check "systemd-analyze security --offline rates the unit's exposure at 2.0 or less" \
    bash -c "systemd-analyze security --offline=yes --threshold=20 '$UNIT' >'$TMP/security.txt' 2>&1"
  grep -o 'Overall exposure level.*' "$TMP/security.txt" | sed 's/^/    /'
else
  fail "systemd-analyze is installed (scripts/install-deps.sh: systemd)"
fi

# ExecStart and ExecReload, for real: the unit's command line with the
# configuration moved to a temporary file and a loopback port added ($ARGS).
# Not under the unit's sandbox: no systemd runs as PID 1 here.
cat >"$TMP/config.yaml" <<'YAML'
global: {interval: 1s, timeout: 500ms}
services:
  - name: s
    probes:
      - {name: closed, kind: tcp, layer: dependency, address: "127.0.0.1:1"}
YAML
EXPORTER=$STAGE/usr/bin/triage_exporter
args=${exec_start#* }
args=${args//\/etc\/triage_exporter\/config.yaml/$TMP/config.yaml}
args=${args//\$ARGS/--web.listen-address=127.0.0.1:0}
# shellcheck disable=SC2086  # the unit's arguments, split as systemd splits them
start_process exporter "$EXPORTER" $args
EXP_PID=$PROC_PID
check "ExecStart starts the exporter" wait_for 15 _harness_exporter_port
check "the exporter answers" metrics_match '^triage_exporter_config_last_reload_successful 1'
printf '      - {name: added, kind: tcp, layer: dependency, address: "127.0.0.1:1"}\n' >>"$TMP/config.yaml"
reload=${exec_reload//\$MAINPID/$EXP_PID}
# shellcheck disable=SC2086
check "ExecReload runs" $reload
check "after ExecReload the exporter runs the added probe" \
  wait_for 10 metrics_match '^triage_probe_success\{service="s",probe="added"'
check "the reload succeeded" metrics_match '^triage_exporter_config_last_reload_successful 1'
stop_exporter
finish
