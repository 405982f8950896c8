#!/usr/bin/env bash
# it_fleetsim_release.sh: fleetcast-fleetsim's release benchmark keeps working and is honest:
# 10 engines install a freshly pushed 2 MiB release for real (each tree equals the payload),
# and with --discard they all reach it too while keeping only sparse files; the idle reading
# and the broker's CPU and peak RSS are reported. Timing is not asserted.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

SIM="$FC_BIN/tools/fleetcast-fleetsim"
[ -x "$SIM" ] || fc_fail "missing $SIM"

# Real installs, kept for inspection.
out=$(TMPDIR="$FC_TMP" timeout 120 "$SIM" --start-broker -n 10 --bench-release 2 --idle 1 \
  --release-timeout 60 --keep --json 2>"$FC_TMP/sim.err") ||
  fc_fail "fleetsim failed ($?): $(tail -5 "$FC_TMP/sim.err") $out"
grep -q '"release":{"mib":2,"discard":false,' <<<"$out" || fc_fail "no release result: $out"
grep -q '"installed":10,' <<<"$out" || fc_fail "not all 10 installed: $out"
grep -Eq '"broker_peak_rss_kib":[1-9][0-9]*' <<<"$out" || fc_fail "no broker peak RSS: $out"
# What amplifies load is counted: the engines' CPU, re-sent requests and lost connections.
grep -Eq '"sim_cpu_seconds":[0-9.]+,"requests_retried":[0-9]+,"disconnects":[0-9]+\}' \
  <<<"$out" || fc_fail "no engine CPU, re-send and disconnect counts: $out"
grep -Eq '"idle":\{"seconds":[0-9.]+,"broker_cpu_seconds":[0-9.]+,"broker_cpu_percent":[0-9.]+' \
  <<<"$out" || fc_fail "no idle reading: $out"
dir=$(ls -d "$FC_TMP"/fleetsim.* | head -1)
n=0
for cur in "$dir"/agents/*/install/current; do
  cmp -s "$cur/file.bin" "$dir/payload/file.bin" || fc_fail "$cur/file.bin differs from the payload"
  n=$((n + 1))
done
[ "$n" = 10 ] || fc_fail "expected 10 installed trees, found $n"
rm -rf "$dir"

# --discard: every engine reaches the release, its file has the right size and no blocks.
out=$(TMPDIR="$FC_TMP" timeout 120 "$SIM" --start-broker -n 10 --bench-release 2 --discard \
  --release-timeout 60 --keep --json 2>"$FC_TMP/sim2.err") ||
  fc_fail "fleetsim --discard failed ($?): $(tail -5 "$FC_TMP/sim2.err") $out"
grep -q '"release":{"mib":2,"discard":true,' <<<"$out" || fc_fail "not reported as discard: $out"
grep -q '"installed":10,' <<<"$out" || fc_fail "not all 10 reached it: $out"
dir=$(ls -d "$FC_TMP"/fleetsim.* | head -1)
for cur in "$dir"/agents/*/install/current; do
  [ "$(stat -c %s "$cur/file.bin")" = 2097152 ] || fc_fail "$cur/file.bin has the wrong size"
  [ "$(stat -c %b "$cur/file.bin")" = 0 ] || fc_fail "$cur/file.bin holds data under --discard"
done
fc_pass "fleetsim release: 10 real installs equal the payload; --discard verified, kept nothing"
