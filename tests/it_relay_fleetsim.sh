#!/usr/bin/env bash
# it_relay_fleetsim.sh: tools/bench_relay.sh keeps working and is honest: 40 fleetsim engines
# in two processes (one publishing at the root, one following) behind two relays all install
# the release pushed at the root and all see every config round, merged from both processes;
# the relays' upstream links carry the release about once each. No timing is asserted: the
# figures are for docs/BENCHMARKS.md, from full runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

SCRIPT="$(cd "$(dirname "$0")/.." && pwd)/tools/bench_relay.sh"
out=$(TMPDIR="$FC_TMP" FC_RELAY_AGENTS=40 FC_RELAY_PER_PROC=20 FC_RELAY_RELAYS=2 FC_RELAY_MIB=1 \
  FC_RELAY_ROUNDS=2 FC_RELAY_IDLE_S=1 timeout 240 bash "$SCRIPT" "$FC_BUILD" 2>"$FC_TMP/bench.err") ||
  fc_fail "bench_relay.sh failed: $(tail -5 "$FC_TMP/bench.err") $out"
echo "$out" | grep -v '^{'
grep -q '^engines: 40 behind 2 relays, 2 fleetsim processes' <<<"$out" || fc_fail "no header: $out"
grep -Eq '^release: 40/40 engines installed, the last [0-9.]+ s after the push ended$' <<<"$out" ||
  fc_fail "not every engine of both processes installed: $out"
grep -Eq '^config set -> changed handler, all engines, 2 rounds: 80 of 80 callbacks, p50 [0-9.]+ ms, p99 [0-9.]+ ms' \
  <<<"$out" || fc_fail "not every engine of both processes saw both rounds: $out"
grep -Eq '^root idle CPU .*: [0-9.]+ % of a core$' <<<"$out" || fc_fail "no idle reading: $out"
grep -Eq "^relays' RSS: .* [0-9.-]+ KiB per agent" <<<"$out" || fc_fail "no memory per agent: $out"
# Two relays: each upstream link carries the 1 MiB release once (plus requests, heartbeats
# and config mirroring): at most 1.1x each.
ratio=$(sed -n 's/^bytes through .*: [0-9]* (\([0-9.]*\)x the release.*/\1/p' <<<"$out")
awk -v r="$ratio" 'BEGIN { exit !(r >= 1.9 && r <= 2.2) }' ||
  fc_fail "the relays' upstream links carried ${ratio}x the release, expected about 2x: $out"
fc_pass "bench_relay: 40 engines in 2 processes behind 2 relays installed and converged; upstream ${ratio}x"
