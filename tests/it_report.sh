#!/usr/bin/env bash
# it_report.sh: what one enrolled agent key can make the broker do with REPORT (default CURVE
# mode). A burst of reports naming two large blobs as corrupt in turn re-reads each blob at
# most once in the window, off the broker's loop (a LIST sent during the burst is answered);
# a REPORT with a state outside the documented list is refused and never shown by status.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

data="$FC_TMP/broker"
fc_start_broker "$data"
fc_keygen
# Large enough that re-reading one costs the broker real time (FC_REPORT_BLOB_MB to change).
mb=${FC_REPORT_BLOB_MB:-128}
hexes=()
for v in 1 2; do
  src="$FC_TMP/src$v"
  mkdir -p "$src"
  fc_random_file "$src/big.bin" $((mb * 1024))
  fc_push "$src" "$v" \
    >/dev/null || fc_fail "push $v"
  hexes+=("$(find "$data/blobs" -type f -size +$((mb * 1024 - 1))k -newer "$src/big.bin" \
    -printf '%f\n' | head -1)")
  [ ${#hexes[$((v - 1))]} = 64 ] || fc_fail "no blob of release $v in $data/blobs"
done
[ "${hexes[0]}" != "${hexes[1]}" ] || fc_fail "both releases share one blob"

as_agent() { # ID TYPE [ARG]: fleetcast-hostile as-agent with the suite's agent key
  "$FC_HOSTILE_BIN" --broker-key "$data/broker.cert" --cert "$FC_TMP/keys/agent.cert_secret" \
    as-agent "$FC_SERVICE" "$@" 2>&1
}

# One key, 20 reports naming the two blobs in turn, as fast as it can send them, while a
# publisher asks for the release list.
(
  for i in $(seq 20); do
    out=$(as_agent thief "report-blob" "${hexes[$((i % 2))]}")
    [ "$out" = ok ] || echo "report $i: $out"
  done
) >"$FC_TMP/reports.out" 2>&1 &
burst=$!
FC_PIDS+=("$burst")
sleep 0.2
list=$(fc_cli --timeout 5 release list) || fc_fail "LIST during the burst not answered within 5 s"
grep -q stable <<<"$list" || fc_fail "LIST during the burst: $list"
wait "$burst" || true
[ ! -s "$FC_TMP/reports.out" ] || fc_fail "reports refused: $(cat "$FC_TMP/reports.out")"
fc_pass "a LIST sent during 20 corrupt-blob reports was answered"

# Each re-read is logged once it is done ("our copy verifies"); wait for the first ones,
# then give any further re-reads time to show up before counting.
fc_wait_for "the broker to re-read the first blob" 60 grep -q "reports blob ${hexes[1]} corrupt; our copy" "$FC_TMP/broker.log"
sleep 3
for h in "${hexes[@]}"; do
  n=$(grep -c "reports blob $h corrupt; our copy" "$FC_TMP/broker.log" || true)
  [ "$n" -le 1 ] || fc_fail "blob $h re-read $n times by 20 reports: $(grep "reports blob $h" "$FC_TMP/broker.log" | head -3)"
done
fc_pass "20 reports naming two ${mb} MiB blobs in turn re-read each at most once"

# States: only the documented ones are stored.
bogus=$(as_agent a-bogus report bogus-state)
grep -q "^error 1 (" <<<"$bogus" || fc_fail "a REPORT with state bogus-state was not refused FC_EPROTO: $bogus"
st=$(fc_cli status)
if grep -q "bogus-state" <<<"$st"; then fc_fail "status shows bogus-state: $st"; fi
out=$(as_agent a-good report postponed)
[ "$out" = ok ] || fc_fail "a REPORT with state postponed: $out"
grep a-good <<<"$(fc_cli status)" | grep -q postponed || fc_fail "status: $(fc_cli status)"
fc_pass "REPORT state bogus-state refused ($bogus), postponed stored and shown"
