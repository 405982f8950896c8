#!/usr/bin/env bash
# it_corrupt_blob.sh: a byte flipped in a blob of the broker's store: the agent refuses the
# release by hash and reports which release and blob (fleetcast status), its running version
# untouched; the broker re-verifies the reported blob, logs "blob HEX corrupt" and marks it
# (fleetcast-check names it); a re-push of the release repairs it and the agent installs.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

data="$FC_TMP/broker"
fc_start_broker "$data"
fc_keygen
src="$FC_TMP/src"
mkdir -p "$src"
echo one >"$src/app"
fc_push "$src" 1 >/dev/null
fc_agent_run a1 || fc_fail "install 1"

fc_random_file "$src/data.bin" 1024
echo two >"$src/app"
fc_push "$src" 2 >/dev/null
blob=$(find "$data/blobs" -type f -size +500k | head -1)
hex=$(basename "$blob")
fc_flip_byte "$blob" 700000

if fc_agent_run a1 --timeout 20; then fc_fail "a release with a corrupt blob installed"; fi
[ "$(cat "$FC_TMP/a1/install/current/app")" = one ] || fc_fail "running version changed"
fc_check "$data" a1 >/dev/null || true
grep -q "PROBLEM blob-corrupt: $hex" "$FC_TMP/check.out" || fc_fail "checker: $(cat "$FC_TMP/check.out")"
st=$(fc_cli status)
grep "a1" <<<"$st" | grep -q "blob $hex" || fc_fail "status does not name the blob: $st"
grep "a1" <<<"$st" | grep -q " 2" || fc_fail "status does not name the release: $st"
fc_pass "agent refused release 2 by hash and reported blob $hex: $(grep a1 <<<"$st")"

fc_wait_for "broker log naming the blob" 10 grep -q "blob $hex corrupt" "$FC_TMP/broker.log"
grep -q "PROBLEM blob-marked-corrupt: $hex" "$FC_TMP/check.out" \
  || { fc_check "$data" >/dev/null || true; grep -q "PROBLEM blob-marked-corrupt: $hex" "$FC_TMP/check.out"; } \
  || fc_fail "blob not marked: $(cat "$FC_TMP/check.out")"
fc_pass "the broker noticed: $(grep "blob $hex corrupt" "$FC_TMP/broker.log" | head -1)"
# No longer served: an agent asking for it is told why.
if fc_agent_run a1 --timeout 3 --verbose; then fc_fail "installed from a quarantined blob"; fi
grep -q "blob $hex corrupt at the broker: re-push" "$FC_TMP/a1.log" || fc_fail "GET_CHUNK error: $(tail -3 "$FC_TMP/a1.log")"

fc_push "$src" 2 >/dev/null \
  || fc_push "$src" 2.1 >/dev/null \
  || fc_fail "re-push"
fc_check "$data" || fc_fail "after the re-push: $(cat "$FC_TMP/check.out")"
fc_agent_run a1 --timeout 20 || fc_fail "install after repair: $(tail -3 "$FC_TMP/a1.log")"
cmp "$src/data.bin" "$FC_TMP/a1/install/current/data.bin" || fc_fail "content differs"
FC_CHECK_ARGS=--expect-latest fc_check "$data" a1 || fc_fail "after repair: $(cat "$FC_TMP/check.out")"
fc_pass "a re-push repaired the blob and the agent installed it"
