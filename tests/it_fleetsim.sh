#!/usr/bin/env bash
# it_fleetsim.sh: fleetcast-fleetsim keeps working: 20 in-process agent engines against a
# broker it starts itself, 2 config rounds, and every engine's changed callback ran in each;
# --agents-dir puts the engines' dirs elsewhere and the broker's data stays in the temp dir.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

SIM="$FC_BIN/tools/fleetcast-fleetsim"
[ -x "$SIM" ] || fc_fail "missing $SIM"

mkdir -p "$FC_TMP/agents"
out=$(TMPDIR="$FC_TMP" timeout 60 "$SIM" --start-broker -n 20 --bench-config 2 \
  --round-timeout 10 --sync-timeout 20 --agents-dir "$FC_TMP/agents" --json 2>"$FC_TMP/sim.err") ||
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
grep -q '"agents_fs":"[a-z0-9]*","data_fs":"[a-z0-9]*",' <<<"$out" || fc_fail "no file system types: $out"
# The simulator removes its temp dir and its dir in --agents-dir (not --agents-dir itself),
# and stops its broker.
[ -z "$(ls -d "$FC_TMP"/fleetsim.* 2>/dev/null)" ] || fc_fail "temp dir left behind"
[ -d "$FC_TMP/agents" ] && [ -z "$(ls -A "$FC_TMP/agents")" ] ||
  fc_fail "--agents-dir not left as it was: $(ls -A "$FC_TMP/agents")"
fc_pass "fleetsim: 20 engines converged in 2 rounds (max $max ms)"

# Where the dirs go (kept to look): the engines' in a new dir under --agents-dir, the
# broker's data in the temp dir, which holds no engine's.
mkdir -p "$FC_TMP/agents2"
TMPDIR="$FC_TMP" timeout 60 "$SIM" --start-broker -n 3 --bench-config 1 --round-timeout 10 \
  --sync-timeout 20 --agents-dir "$FC_TMP/agents2" --keep >"$FC_TMP/sim2.out" 2>"$FC_TMP/sim2.err" ||
  fc_fail "fleetsim --keep failed ($?): $(tail -5 "$FC_TMP/sim2.err")"
kept=("$FC_TMP"/agents2/fleetsim-agents.*)
[ "${#kept[@]}" = 1 ] && [ -d "${kept[0]}" ] || fc_fail "no single engines' dir in --agents-dir: ${kept[*]}"
for id in sim-0001 sim-0002 sim-0003; do
  [ -d "${kept[0]}/$id/state" ] && [ -d "${kept[0]}/$id/install" ] ||
    fc_fail "$id's dirs are not in ${kept[0]}: $(ls -R "${kept[0]}" | head -20)"
done
[ -f "${kept[0]}/sim-0001/state/config.json" ] || fc_fail "no config.json in sim-0001's state"
data=("$FC_TMP"/fleetsim.*)
[ -d "${data[0]}/broker" ] || fc_fail "no broker data in the temp dir ${data[0]}"
[ ! -e "${data[0]}/agents" ] || fc_fail "engines' dirs in the temp dir too: $(ls "${data[0]}/agents" | head)"
grep -q "kept ${data[0]} and ${kept[0]}" "$FC_TMP/sim2.err" || fc_fail "not said kept: $(tail -3 "$FC_TMP/sim2.err")"
fc_pass "fleetsim --agents-dir: engines' dirs in ${kept[0]#$FC_TMP/}, broker data in ${data[0]#$FC_TMP/}"
