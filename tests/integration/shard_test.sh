#!/usr/bin/env bash
# Sharding, tried as a new user would: three replicas on loopback share one
# configuration (--shard.count=3, --shard.index=0..2). Together they run
# every probe exactly once; each exports triage_exporter_shard_probes for its
# own and triage_exporter_probes_configured for all; after a probe is added
# and every replica reloads, no other probe has moved. A fourth exporter with
# --shard.index=hostname and HOSTNAME=triage-exporter-1 runs replica 1's
# probes, as a StatefulSet pod would.
#
# Usage: bash tests/integration/shard_test.sh EXPORTER_BIN SIMULATOR_BIN
# (the simulator is not used). Prints PASS/FAIL per check and
# "N passed, N failed"; exits 1 on any failure.
# Functions are called indirectly (wait_for, check, finish), which shellcheck
# cannot follow.
# shellcheck disable=SC2317
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh" || exit 2

harness_args "$@"
harness_init shard

PROBES=40
declare -A RPORT=() RPID=()

write_config() {  # write_config N: probes p00..p(N-1), TCP to a closed port (fails at once)
  {
    printf 'global: {interval: 1s, timeout: 500ms}\nservices:\n  - name: s\n    probes:\n'
    for i in $(seq 0 $(($1 - 1))); do
      printf '      - {name: p%02d, kind: tcp, layer: dependency, address: "127.0.0.1:1"}\n' "$i"
    done
  } >"$TMP/config.yaml"
}

replica_port() {
  RPORT[$1]=$(grep 'msg=started' "$TMP/replica$1.err" 2>/dev/null |
    sed -n 's/.* address=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' | head -n 1)
  [ -n "${RPORT[$1]}" ]
}

start_replica() {  # start_replica NAME ARG...
  local name=$1
  shift
  start_process "replica$name" "$@"
  RPID[$name]=$PROC_PID
  wait_for 15 replica_port "$name"
}

page() { http "http://127.0.0.1:${RPORT[$1]}/metrics" 2>/dev/null; }
# The probes replica NAME exports, one per line, sorted.
owned() { page "$1" | sed -n 's/^triage_probe_info{service="s",probe="\([^"]*\)".*/\1/p' | sort; }
gauge() { page "$1" | sed -n "s/^$2 //p"; }
# Every probe of every replica has run (its probe_info is exported).
all_ran() {
  local n=0 i
  for i in 0 1 2; do n=$((n + $(owned "$i" | wc -l))); done
  [ "$n" -eq "$1" ]
}

write_config "$PROBES"
for i in 0 1 2; do
  start_replica "$i" "$EXPORTER" --config.file="$TMP/config.yaml" --web.listen-address=127.0.0.1:0 \
    --shard.count=3 --shard.index="$i" || abort "replica $i starts" "$(tail -5 "$TMP/replica$i.err")"
done
wait_for 15 all_ran "$PROBES" || fail "the three replicas export $PROBES probes together"

for i in 0 1 2; do owned "$i" >"$TMP/before$i"; done
sort "$TMP/before0" "$TMP/before1" "$TMP/before2" >"$TMP/union"
check "together the replicas run all $PROBES probes" [ "$(sort -u "$TMP/union" | wc -l)" -eq "$PROBES" ]
check "no probe runs on two replicas" [ -z "$(uniq -d "$TMP/union")" ]
for i in 0 1 2; do
  n=$(wc -l <"$TMP/before$i")
  if [ "$n" -gt 0 ] && [ "$(gauge "$i" triage_exporter_shard_probes)" = "$n" ]; then
    pass "replica $i runs some probes ($n) and says so in triage_exporter_shard_probes"
  else
    fail "replica $i runs some probes ($n) and says so in triage_exporter_shard_probes" \
      "$(gauge "$i" triage_exporter_shard_probes)"
  fi
  check "replica $i counts all probes in triage_exporter_probes_configured" \
    [ "$(gauge "$i" triage_exporter_probes_configured)" = "$PROBES" ]
done

# A probe more, and every replica reloads: none of the others moves.
write_config $((PROBES + 1))
for i in 0 1 2; do kill -HUP "${RPID[$i]}"; done
wait_for 15 all_ran $((PROBES + 1)) || fail "after the reload the replicas export $((PROBES + 1)) probes"
moved=""
for i in 0 1 2; do
  owned "$i" >"$TMP/after$i"
  extra=$(comm -13 "$TMP/before$i" "$TMP/after$i" | tr '\n' ' ')
  gone=$(comm -23 "$TMP/before$i" "$TMP/after$i" | tr '\n' ' ')
  [ -n "$gone" ] && moved="$moved replica $i lost: $gone;"
  case $extra in "" | "p$PROBES ") ;; *) moved="$moved replica $i gained: $extra;" ;; esac
done
check "adding a probe moves no other probe" [ -z "$moved" ]
check "the new probe runs on exactly one replica" \
  [ "$(cat "$TMP/after0" "$TMP/after1" "$TMP/after2" | grep -cx "p$PROBES")" -eq 1 ]

# A StatefulSet pod: the index from the host name.
start_replica pod env HOSTNAME=triage-exporter-1 "$EXPORTER" --config.file="$TMP/config.yaml" \
  --web.listen-address=127.0.0.1:0 --shard.count=3 --shard.index=hostname ||
  abort "the StatefulSet-style replica starts" "$(tail -5 "$TMP/replicapod.err")"
same_as_1() { [ "$(owned pod)" = "$(owned 1)" ]; }
check "--shard.index=hostname with HOSTNAME=triage-exporter-1 runs replica 1's probes" wait_for 10 same_as_1
"$EXPORTER" --config.file="$TMP/config.yaml" --shard.count=3 --shard.index=3 >"$TMP/bad.out" 2>"$TMP/bad.err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "outside 0..2" "$TMP/bad.err"; then
  pass "an index outside the count stops the start (exit 2) and says why"
else
  fail "an index outside the count stops the start (exit 2) and says why" "rc=$rc $(cat "$TMP/bad.err")"
fi

finish
