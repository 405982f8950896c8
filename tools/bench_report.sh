#!/usr/bin/env bash
# bench_report.sh: how long `fleetcast release list` takes while one agent key sends REPORTs
# naming large blobs as corrupt, against the same LIST on an idle broker.
#
# usage: tools/bench_report.sh [BUILD_DIR] (default build, relative to the repo root)
#   FC_REPORT_BLOB_MB (default 128): size of each of the two blobs.
#   FC_BENCH_ROUNDS (default 5): bursts of 20 reports (naming the two blobs in turn) to time
#   LISTs against; each burst uses a fresh key, so the per-key limit does not hide the cost
#   of the per-blob one, and waits out the per-blob minute first.
# Prints the median and the slowest LIST idle and during the bursts, and the broker's
# re-reads (its "our copy" log lines).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
# shellcheck source=tests/lib.sh
source "$REPO/tests/lib.sh" "$BUILD"

mb=${FC_REPORT_BLOB_MB:-128}
rounds=${FC_BENCH_ROUNDS:-5}
data="$FC_TMP/broker"
fc_start_broker "$data"
fc_keygen
hexes=()
for v in 1 2; do
  src="$FC_TMP/src$v"
  mkdir -p "$src"
  fc_random_file "$src/big.bin" $((mb * 1024))
  fc_cli release push "$src" --channel stable --version "$v" --key "$FC_TMP/keys/signing.key" >/dev/null
  hexes+=("$(find "$data/blobs" -type f -size +$((mb * 1024 - 1))k -newer "$src/big.bin" -printf '%f\n' | head -1)")
done

ms_now() { date +%s%3N; }
list_ms() { local t0; t0=$(ms_now); fc_cli --timeout 60 release list >/dev/null; echo $(($(ms_now) - t0)); }
stats() { sort -n | awk '{ a[NR] = $1 } END { printf "median %d ms, slowest %d ms (%d LISTs)", a[int((NR + 1) / 2)], a[NR], NR }'; }

for _ in $(seq 20); do list_ms; done >"$FC_TMP/idle.ms"

for r in $(seq "$rounds"); do
  [ "$r" = 1 ] || sleep 61 # the per-blob window
  "$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/k$r" >/dev/null
  "$FC_CLI_BIN" keys add-agent "$FC_TMP/k$r/agent.cert" --data "$data" >/dev/null
  sleep 1.5 # the broker re-reads its keys at most once a second
  (
    for i in $(seq 20); do
      "$FC_HOSTILE_BIN" --broker-key "$data/broker.cert" --cert "$FC_TMP/k$r/agent.cert_secret" \
        as-agent "$FC_SERVICE" "thief$r" report-blob "${hexes[$((i % 2))]}" >/dev/null 2>&1 || true
    done
  ) &
  burst=$!
  while kill -0 "$burst" 2>/dev/null; do list_ms; done >>"$FC_TMP/burst.ms"
  wait "$burst" || true
done
sleep 3
rereads=$(grep -c "corrupt; our copy" "$FC_TMP/broker.log" || true)
echo "two ${mb} MiB blobs, $rounds bursts of 20 reports from one key each"
echo "LIST idle:         $(stats <"$FC_TMP/idle.ms")"
echo "LIST during burst: $(stats <"$FC_TMP/burst.ms")"
echo "blob re-reads by the broker: $rereads"
