#!/usr/bin/env bash
# it_chunk_backfill.sh: a broker whose blobs have no chunk index rows (stored before the index existed) indexes them in the background after it starts, so a push of an edited file then uploads only the chunks around the edit.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only

# One 4 MiB file: its blob is what the backfill indexes.
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/app.bin" 4096
data="$FC_TMP/broker"
fc_start_broker "$data"
fc_keygen
fc_push "$src" 1 >/dev/null || fc_fail "push of 1 failed"

# What an older broker left: the blob, without a row of the index, and no backfill begun.
fc_stop "$FC_BROKER_PID"
sqlite3 "$data/fleetcast.db" "DELETE FROM chunk_index; DROP TABLE chunk_index_backfill;"
fc_restart_broker "$data"
fc_wait_for "the backfill" 20 grep -q "chunk index backfilled: 1 blobs looked at, 1 indexed" "$FC_TMP/broker.log" ||
  fc_fail "the broker did not backfill the chunk index: $(tail -5 "$FC_TMP/broker.log")"
[ "$(sqlite3 "$data/fleetcast.db" "SELECT count(*) FROM chunk_index")" -gt 10 ] ||
  fc_fail "no index rows after the backfill"
fc_pass "the broker indexed the blob stored without index rows"

# 4 KiB overwritten in the middle: only the chunks around it travel.
head -c 4096 /dev/urandom | dd of="$src/app.bin" bs=1 seek=2000000 conv=notrunc status=none
out=$(fc_push "$src" 2 --json) || fc_fail "push of 2 failed: $out"
up=$(fc_json_num bytes_uploaded <<<"$out")
[ "$up" -ge 4096 ] && [ "$up" -le $((2 * 262144)) ] ||
  fc_fail "release 2 uploaded $up bytes for a 4 KiB change in a 4 MiB file: $out"
fc_agent_run a1 || fc_fail "install of 2 failed: $(cat "$FC_TMP/a1.json")"
cmp "$src/app.bin" "$FC_TMP/a1/install/current/app.bin" || fc_fail "release 2 differs"
fc_pass "the push of an edited file uploaded $up bytes, not 4 MiB"

# Restarted again: the backfill is done and is not repeated.
fc_stop "$FC_BROKER_PID"
fc_restart_broker "$data"
sleep 2
[ "$(grep -c "chunk index backfilled" "$FC_TMP/broker.log")" = 1 ] || fc_fail "the backfill ran again"
fc_pass "a restart does not backfill again"
