# shellcheck shell=bash
# The shared mechanics of the integration test scripts (tests/integration/*_test.sh):
# counting checks, waiting, starting triage_simulator and triage_exporter on
# loopback ports picked by the kernel, fetching /metrics, and stopping every
# started process on exit. The scripts keep their own checks; this file only
# runs them. Source it from a script that uses `set -uo pipefail`:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh" || exit 2
#   harness_args "$@"            # EXPORTER_BIN SIMULATOR_BIN, else usage, exit 2
#   harness_init my_check        # TMP, counters, cleanup on exit
#   start_simulator echo --token-file="$TMP/token" || abort "the simulator starts"
#   start_exporter "$TMP/config.yaml" || abort "the exporter starts"
#   if metrics_match '^up 1$'; then pass "up"; else fail "up" "$(metrics)"; fi
#   finish                       # "N passed, N failed", exit 0 or 1
#
# Output: one "PASS: NAME" or "FAIL: NAME" line per check (a failure may add
# up to 40 indented detail lines), then "N passed, N failed". The exit status
# is 0 when nothing failed, 1 otherwise, 2 on a usage error.
#
# Globals:
#   ROOT              the repository root (two levels above this file, else $PWD)
#   PYTHONPATH        (exported) $ROOT/tests/lib in front: the triagetest
#                     package for the Python a script starts
#   EXPORTER          absolute path of triage_exporter       (harness_args)
#   SIMULATOR         absolute path of triage_simulator      (harness_args)
#   HARNESS_NAME      the name given to harness_init
#   TMP               a new temporary directory, removed on exit (harness_init)
#   PIDS              background processes to stop on exit (harness_init, start_*;
#                     a script that starts a process of its own adds its PID)
#   passed, failed    the counters                           (pass, fail)
#   SIM_PORT[SYSTEM]  port of the simulator playing SYSTEM   (start_simulator)
#   SIM_PID[SYSTEM]   its process                            (start_simulator)
#   EXP_PORT          port of the exporter                   (start_exporter)
#   EXP_PID           its process                            (start_exporter)
#   MODE_REPLY        the simulator's answer to the last set_mode
#   PROC_PID          the process of the last start_process
#
# Settings (unset: the behaviour described below):
#   HARNESS_CLOCK=1         set by a script before harness_init: the PASS/FAIL
#                           and harness_log lines start with "[  12.3s] ", the
#                           time since harness_init, and finish prints such a
#                           "done" line before the counts.
#   HARNESS_DETAIL_LINES=N  fail prints up to N DETAIL lines instead of 40.
#   KEEP_TMP=1              (environment) TMP is kept on exit and its path printed.
#
# Functions:
#   harness_args EXPORTER_BIN SIMULATOR_BIN
#       Sets EXPORTER and SIMULATOR (made absolute, so that the script may
#       change directory); prints the usage and exits 2 unless given two.
#   harness_init NAME
#       Creates TMP (${TMPDIR:-/tmp}/triage_NAME.XXXXXX), empties PIDS,
#       SIM_PORT, SIM_PID, EXP_PORT, EXP_PID and PROC_PID, zeroes the counters, and
#       traps EXIT to harness_cleanup.
#   harness_cleanup
#       Stops every process in PIDS (stop_pid) and removes TMP (unless
#       KEEP_TMP=1). Runs on exit, also when the script is interrupted.
#   pass NAME                 prints "PASS: NAME", counts it.
#   fail NAME [DETAIL]        prints "FAIL: NAME" and the first 40 lines of
#                             DETAIL (HARNESS_DETAIL_LINES) indented by four
#                             spaces, counts it.
#   harness_log MESSAGE...    prints the message (with the time, see HARNESS_CLOCK).
#   check NAME CMD...         pass NAME when CMD succeeds, else fail NAME.
#   finish                    when something failed, calls the script's
#                             on_failure function if it defines one (to show
#                             log tails); prints "N passed, N failed" and exits
#                             0 when nothing failed, else 1.
#   abort NAME [DETAIL]       fail, then finish: for a failed precondition that
#                             makes the later checks meaningless.
#   tail_log FILE [LINES [TITLE]]
#                             when FILE (relative to TMP unless absolute) is not
#                             empty, prints "--- TITLE (tail)" (TITLE defaults
#                             to FILE) and its last LINES lines (default 15).
#   wait_for SECONDS CMD...   runs CMD every 0.2 s until it succeeds (status 0)
#                             or SECONDS have passed (status 1).
#   stop_pid PID              SIGTERM, waits up to 5 s, SIGKILL, reaps PID and
#                             removes it from PIDS. An empty PID is ignored.
#   forget_pid PID            removes PID from PIDS (for a process the script
#                             has stopped and reaped itself).
#   port_open PORT            succeeds when something accepts on 127.0.0.1:PORT.
#   require_free_port PORT WHY
#                             aborts (FAIL, "0 passed, 1 failed", exit 1) when
#                             something listens on the fixed 127.0.0.1:PORT the
#                             script needs; WHY says what it needs it for.
#   start_simulator SYSTEM [ARG...]
#       Starts "$SIMULATOR --system=SYSTEM --listen-address=127.0.0.1:0 ARG..."
#       with stdout in $TMP/SYSTEM.out and stderr in $TMP/SYSTEM.err, adds it
#       to PIDS, sets SIM_PID[SYSTEM], and waits up to 15 s for the stdout line
#       "listening address=127.0.0.1:PORT" to set SIM_PORT[SYSTEM]. Fails when
#       the line does not come or the process exits first.
#   set_mode SYSTEM MODE      POSTs MODE to the simulator's /-/mode; succeeds
#                             when it answers with that mode. Sets MODE_REPLY.
#   start_exporter CONFIG [ARG...]
#       Starts "$EXPORTER --config.file=CONFIG --web.listen-address=127.0.0.1:0
#       ARG..." with stdout in $TMP/exporter.out and stderr in
#       $TMP/exporter.err, adds it to PIDS, sets EXP_PID, and waits up to 15 s
#       for the log line "msg=started ... address=127.0.0.1:PORT" to set
#       EXP_PORT. Fails when the line does not come or the process exits first.
#   stop_exporter             stop_pid EXP_PID; empties EXP_PORT.
#   start_process NAME CMD [ARG...]
#       Starts CMD in the background with stdout in $TMP/NAME.out and stderr in
#       $TMP/NAME.err, adds it to PIDS (so it is stopped on exit), sets PROC_PID.
#   http CURL_ARG...          curl without proxy, 10 s at most, errors shown.
#   exp_get PATH              http GET of the exporter's PATH.
#   metrics                   the exporter's /metrics, or nothing (status 1)
#                             when it does not answer; made for polling.
#   metrics_match ERE         succeeds when a line of /metrics matches ERE
#                             (the page is read whole first: grep -q on a pipe
#                             would stop reading early, a failure under pipefail).
#   promtool_check NAME FILE  pass NAME when `promtool check metrics` reports
#                             nothing on the non-empty FILE, else fail
#                             "NAME (rc=N)" with promtool's output.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ -f "$ROOT/examples/demo.yaml" ] || ROOT=$PWD
export PYTHONPATH="$ROOT/tests/lib${PYTHONPATH:+:$PYTHONPATH}"

harness_args() {
  if [ $# -ne 2 ]; then
    echo "usage: $0 EXPORTER_BIN SIMULATOR_BIN" >&2
    exit 2
  fi
  EXPORTER=$(_harness_absolute "$1")
  SIMULATOR=$(_harness_absolute "$2")
}

# A path with a directory part, made absolute when that directory exists; a
# bare command name is left for PATH.
_harness_absolute() {
  local dir
  case $1 in
    */*)
      if dir=$(cd "$(dirname "$1")" 2>/dev/null && pwd); then
        printf '%s/%s\n' "$dir" "$(basename "$1")"
        return
      fi
      ;;
  esac
  printf '%s\n' "$1"
}

harness_init() {
  HARNESS_NAME=$1
  passed=0
  failed=0
  PIDS=()
  declare -gA SIM_PORT=() SIM_PID=()
  EXP_PORT=""
  EXP_PID=""
  MODE_REPLY=""
  PROC_PID=""
  HARNESS_T0=$(date +%s%N)
  if ! TMP=$(mktemp -d "${TMPDIR:-/tmp}/triage_$1.XXXXXX"); then
    TMP=""
    abort "a temporary directory is created"
  fi
  trap harness_cleanup EXIT
}

harness_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  [ -n "$TMP" ] || return 0
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}

harness_log() {
  if [ "${HARNESS_CLOCK:-0}" = 1 ]; then
    printf '[%6.1fs] %s\n' "$((($(date +%s%N) - HARNESS_T0) / 1000000))e-3" "$*"
  else
    printf '%s\n' "$*"
  fi
}

pass() {
  harness_log "PASS: $1"
  passed=$((passed + 1))
}

fail() {
  harness_log "FAIL: $1"
  failed=$((failed + 1))
  if [ $# -gt 1 ] && [ -n "$2" ]; then
    printf '%s\n' "$2" | head -n "${HARNESS_DETAIL_LINES:-40}" | sed 's/^/    /'
  fi
}

check() {
  local name=$1
  shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

finish() {
  if [ "$failed" -ne 0 ] && declare -F on_failure >/dev/null; then on_failure; fi
  if [ "${HARNESS_CLOCK:-0}" = 1 ]; then harness_log "done"; fi
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

abort() {
  fail "$1" "${2:-}"
  finish
}

tail_log() {
  local file=$1
  case $file in /*) ;; *) file=$TMP/$file ;; esac
  [ -s "$file" ] || return 0
  echo "--- ${3:-$1} (tail)"
  tail -n "${2:-15}" "$file"
}

wait_for() {
  local deadline=$(($(date +%s) + $1))
  shift
  while :; do
    if "$@"; then return 0; fi
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}

stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  forget_pid "$pid"
}

forget_pid() {
  local pid keep=()
  for pid in "${PIDS[@]}"; do
    [ "$pid" = "$1" ] || keep+=("$pid")
  done
  PIDS=("${keep[@]}")
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

require_free_port() {
  if port_open "$1"; then
    abort "nothing listens on 127.0.0.1:$1 ($2)" \
      "something does: stop it and rerun ($HARNESS_NAME needs this fixed port)"
  fi
}

start_simulator() {
  local system=$1 pid
  shift
  "$SIMULATOR" --system="$system" --listen-address=127.0.0.1:0 "$@" \
    >"$TMP/$system.out" 2>"$TMP/$system.err" &
  pid=$!
  PIDS+=("$pid")
  # SIM_PID is for the scripts that source this file.
  # shellcheck disable=SC2034
  SIM_PID[$system]=$pid
  SIM_PORT[$system]=""
  wait_for 15 _harness_simulator_port "$system" "$pid" && [ -n "${SIM_PORT[$system]}" ]
}

# Reads SIM_PORT[SYSTEM]; succeeds once read, or once PID has exited.
_harness_simulator_port() {
  SIM_PORT[$1]=$(sed -n 's/^listening address=127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
    "$TMP/$1.out" 2>/dev/null | head -n 1)
  [ -n "${SIM_PORT[$1]}" ] || ! kill -0 "$2" 2>/dev/null
}

set_mode() {
  MODE_REPLY=$(http -X POST "http://127.0.0.1:${SIM_PORT[$1]}/-/mode?mode=$2" 2>&1)
  grep -q "\"mode\":\"$2\"" <<<"$MODE_REPLY"
}

start_exporter() {
  local config=$1
  shift
  "$EXPORTER" --config.file="$config" --web.listen-address=127.0.0.1:0 "$@" \
    >"$TMP/exporter.out" 2>"$TMP/exporter.err" &
  EXP_PID=$!
  PIDS+=("$EXP_PID")
  EXP_PORT=""
  wait_for 15 _harness_exporter_port && [ -n "$EXP_PORT" ]
}

# Reads EXP_PORT; succeeds once read, or once the exporter has exited.
_harness_exporter_port() {
  EXP_PORT=$(grep 'msg=started' "$TMP/exporter.err" 2>/dev/null |
    sed -n 's/.* address=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' | head -n 1)
  [ -n "$EXP_PORT" ] || ! kill -0 "$EXP_PID" 2>/dev/null
}

stop_exporter() {
  stop_pid "$EXP_PID"
  EXP_PORT=""
}

start_process() {
  local name=$1
  shift
  "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  PROC_PID=$!
  PIDS+=("$PROC_PID")
}

http() {
  curl -sS --noproxy '*' --max-time 10 "$@"
}

exp_get() {
  [ -n "$EXP_PORT" ] || return 1
  http "http://127.0.0.1:$EXP_PORT$1"
}

metrics() {
  exp_get /metrics 2>/dev/null
}

metrics_match() {
  local text
  text=$(metrics)
  grep -Eq -- "$1" <<<"$text"
}

promtool_check() {
  local out rc
  out=$(promtool check metrics <"$2" 2>&1)
  rc=$?
  if [ $rc -eq 0 ] && [ -z "$out" ] && [ -s "$2" ]; then
    pass "$1"
  else
    fail "$1 (rc=$rc)" "$out"
  fi
}
