#!/usr/bin/env bash
# it_fanout_smoke.sh: tools/bench_fanout.sh keeps working: 10 agent processes and 10 curls
# fetch a 2 MiB file at once, every agent installs it (the script checks each one's result
# and compares files), and the medians, ratio and broker peak RSS are printed. No timing is
# asserted: the figures are for docs/BENCHMARKS.md, from full runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || fc_skip "no nginx"
command -v curl >/dev/null || fc_skip "no curl"
SCRIPT="$(cd "$(dirname "$0")/.." && pwd)/tools/bench_fanout.sh"

# The script starts its own broker and runs it secure (CURVE keys made in its temp dir).
out=$(TMPDIR="$FC_TMP" timeout 120 \
  bash "$SCRIPT" --build-dir "$FC_BUILD" --agents 10 --size 2 --runs 1 2>"$FC_TMP/bench.err") ||
  fc_fail "bench_fanout.sh failed: $(tail -5 "$FC_TMP/bench.err")"
echo "$out"
grep -q '^fleetcast fan-out benchmark: 10 processes x 2 MiB' <<<"$out" || fc_fail "no header: $out"
grep -Eq '^median +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' <<<"$out" || fc_fail "no medians: $out"
grep -Eq '^ratio agents/curl \(median\): [0-9.]+$' <<<"$out" || fc_fail "no ratio: $out"
grep -Eq '^ratio agents/\(curl\+b2sum\+sync\) \(median\): [0-9.]+$' <<<"$out" ||
  fc_fail "no ratio against verifying curls: $out"
rss=$(sed -n 's/^broker peak RSS[^:]*: \([0-9.]*\) MiB$/\1/p' <<<"$out" | head -1)
awk -v r="$rss" 'BEGIN { exit !(r > 0) }' || fc_fail "no broker peak RSS: $out"
# Every agent fetched the whole file once (the script sums their bytes_fetched).
grep -q 'fetched 20971520 bytes' "$FC_TMP/bench.err" || fc_fail "not 10 x 2 MiB fetched: $(cat "$FC_TMP/bench.err")"
# Nothing left behind: the script removes its temp dir and stops nginx and the broker.
[ -z "$(ls -d "$FC_TMP"/fc-fanout.* 2>/dev/null)" ] || fc_fail "temp dir left behind"
fc_pass "bench_fanout: 10 agents installed, broker peak RSS $rss MiB reported"
