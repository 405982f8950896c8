#!/usr/bin/env bash
# it_fleetsim.sh: fleetcast-fleetsim keeps working: 20 in-process agent engines against a
# broker it starts itself, 2 config rounds, and every engine's changed callback ran in each.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

SIM="$FC_BIN/tools/fleetcast-fleetsim"
[ -x "$SIM" ] || fc_fail "missing $SIM"

out=$(TMPDIR="$FC_TMP" timeout 60 "$SIM" --start-broker -n 20 --bench-config 2 \
  --round-timeout 10 --sync-timeout 20 --json 2>"$FC_TMP/sim.err") ||
  fc_fail "fleetsim failed ($?): $(tail -5 "$FC_TMP/sim.err") $out"
echo "$out" >"$FC_TMP/sim.json"

grep -q '"agents":20,"started":20,"synced":20,' <<<"$out" || fc_fail "not all engines synced: $out"
# The rounds start only once every engine has heard a heartbeat on its announce socket too.
grep -q '"heard":20,' <<<"$out" || fc_fail "not all engines heard a heartbeat: $out"
rounds=$(grep -o '"round":[0-9]*,"rev":[0-9]*,"converged":20,' <<<"$out" | wc -l)
# Two rounds plus the overall entry (round 0), which must not count 20 of 40.
[ "$rounds" = 2 ] || fc_fail "expected 2 rounds with 20 converged, got $rounds: $out"
grep -q '"overall":{"round":0,"rev":0,"converged":40,' <<<"$out" ||
  fc_fail "overall is not 40 of 40: $out"
# The broker recorded every engine's ack of both revisions (config status).
acked=$(grep -o '"acked":20,' <<<"$out" | wc -l)
[ "$acked" = 2 ] || fc_fail "expected 20 acks in each round, got $acked rounds: $out"
# Latencies are real numbers within the round timeout.
max=$(sed -n 's/.*"overall":{[^}]*"max_ms":\([0-9.]*\).*/\1/p' <<<"$out")
awk -v m="$max" 'BEGIN { exit !(m > 0 && m < 10000) }' || fc_fail "overall max $max ms: $out"
grep -q '"broker":{"cpu_seconds":[0-9.]*,' <<<"$out" || fc_fail "no broker stats: $out"
# The simulator removes its temp dir and stops its broker.
[ -z "$(ls -d "$FC_TMP"/fleetsim.* 2>/dev/null)" ] || fc_fail "temp dir left behind"
fc_pass "fleetsim: 20 engines converged in 2 rounds (max $max ms)"
