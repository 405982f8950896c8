#!/usr/bin/env bash
# it_hog.sh: a stolen agent key asks for a 64 MiB window of chunks and never reads them
# (1-message receive HWM, 4 KiB receive buffer, no heartbeats): the broker gives it no more
# than its share, an honest agent installs while it is connected, and the hog's connection
# is dropped past the deadline (logged, audited once as chunks.drop).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only
command -v sqlite3 >/dev/null || fc_fail "sqlite3 CLI missing (run.sh installs it)"

data="$FC_TMP/broker"
fc_thief_setup "$data" 8192
"$FC_HOSTILE_BIN" "${FC_THIEF_ARGS[@]}" hog "$FC_SERVICE" stable 75 >"$FC_TMP/hog.out" 2>&1 &
hog=$!
FC_PIDS+=($hog)
fc_wait_for "the hog to ask" 20 grep -q "asked for" "$FC_TMP/hog.out"
sleep 1 # its share is taken and stuck

start=$(date +%s%N)
fc_agent_once a1 --timeout 60 &
agent=$!
FC_PIDS+=($agent)
for _ in $(seq 900); do kill -0 "$agent" 2>/dev/null || break; sleep 0.1; done
kill -0 "$agent" 2>/dev/null && fc_fail "honest agent did not install within 90 s of a hog: $(tail -3 "$FC_TMP/a1.log")"
wait "$agent" || fc_fail "honest agent failed beside the hog: $(tail -3 "$FC_TMP/a1.log")"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
cmp -s "$FC_TMP/src/app" "$FC_TMP/a1/install/current/app" || fc_fail "installed app differs"
kill -0 "$hog" || fc_fail "the hog is gone: the test proves nothing ($(cat "$FC_TMP/hog.out"))"
fc_pass "honest agent installed 8 MiB in $ms ms while a hog held its share ($(cat "$FC_TMP/hog.out"))"

fc_wait_for "the hog's connection to be dropped" 60 grep -q "chunk connection .* dropped" "$FC_TMP/broker.log"
audited() { [ "$(sqlite3 "$data/fleetcast.db" "SELECT count(*) FROM audit WHERE action = 'chunks.drop';")" = 1 ]; }
fc_wait_for "the drop to be audited" 10 audited
sleep 3 # still once
audited || fc_fail "chunks.drop audited $(sqlite3 "$data/fleetcast.db" "SELECT count(*) FROM audit WHERE action = 'chunks.drop';") times"
fc_pass "the hog's connection was dropped and audited once: $(grep -o "chunk connection .* dropped.*" "$FC_TMP/broker.log" | head -1)"
