#!/usr/bin/env bash
# it_release_prune.sh: `release prune` drops a channel's old releases and collects the blobs no
# kept release names, audited, but never what an agent may still fetch: the current release
# and the one before it stay whatever --keep says, and a release a slow agent is downloading
# stays (its download completes). Partial uploads a day old are collected, younger ones not.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only

fc_start_broker "$FC_TMP/broker"
fc_keygen
key="$FC_TMP/keys/signing.key"
push() { fc_cli release push "$FC_TMP/$1" --channel stable --version "$1" --key "$key" >/dev/null; }
blobs() { find "$FC_TMP/broker/blobs" -type f -name '????????????????????????????????????????????????????????????????' | wc -l; }
versions() { fc_cli release list --channel stable --json | tr -d ' \n' | grep -o '"version":"[^"]*"' | cut -d'"' -f4 | sort | tr '\n' ' '; }
for v in 0.9 1.0 2.0 3.0; do mkdir -p "$FC_TMP/$v"; done
fc_random_file "$FC_TMP/0.9/a" 1024
fc_random_file "$FC_TMP/1.0/b" 4096
fc_random_file "$FC_TMP/1.0/c" 3072
fc_random_file "$FC_TMP/2.0/d" 64
fc_random_file "$FC_TMP/3.0/e" 64
push 0.9
push 1.0

# A slow agent starts on 1.0 (the latest then), about 1 MB/s.
fc_start_proxy --rate 1000000
FC_AGENT_BROKER=$FC_PROXY fc_agent_once slow &
slow_pid=$!
FC_PIDS+=("$slow_pid")
downloading() { fc_cli status --json | tr -d ' \n' | grep -q '"id":"slow","channel":"stable","version":"[^"]*","state":"downloading"'; }
fc_wait_for "the slow agent to be downloading" 30 downloading
push 2.0
push 3.0
before=$(blobs)

out=$(fc_cli release prune --channel stable --keep 1 --json) || fc_fail "prune: $out"
[ "$(fc_json_num removed <<<"$out")" = 1 ] || fc_fail "prune removed other than 0.9: $out"
[ "$(versions)" = "1.0 2.0 3.0 " ] || fc_fail "after prune the channel lists: $(versions)"
[ "$(blobs)" = $((before - 1)) ] || fc_fail "prune left $(blobs) blobs of $before, not one fewer"
fc_cli audit | grep -q "release.prune" || fc_fail "prune is not audited"
grep -q "kept: in transfer" "$FC_TMP/broker.log" || fc_fail "the broker does not say what it kept"
fc_pass "prune --keep 1 kept the current and previous releases and the one in transfer, removed 0.9 and its blob"

# It fetches all of 1.0 (7 MiB: none of its chunks went missing), then finds 3.0 newer and
# installs that.
rc=0; wait "$slow_pid" || rc=$?
[ "$rc" = 0 ] || fc_fail "the slow agent failed (exit $rc): $(tail -3 "$FC_TMP/slow.log")"
fetched=$(fc_json_field "$FC_TMP/slow.json" bytes_fetched)
[ "$fetched" -ge $((7 * 1048576)) ] || fc_fail "the slow agent fetched $fetched bytes: 1.0's download broke: $(cat "$FC_TMP/slow.log")"
grep -qi "not found\|ENOTFOUND\|failed" "$FC_TMP/slow.log" && fc_fail "the slow agent saw errors: $(cat "$FC_TMP/slow.log")"
diff -r "$FC_TMP/3.0" "$FC_TMP/slow/install/current/" >/dev/null || fc_fail "the slow agent's tree differs from 3.0"
fc_pass "the slow agent's download of 1.0 completed through the prune ($fetched bytes)"

rc=0; fc_cli release rollback --channel stable --to 0.9 --key "$key" 2>"$FC_TMP/err" || rc=$?
[ "$rc" = 1 ] || fc_fail "rollback to a pruned release exited $rc"
fc_pass "a pruned release cannot be named by a rollback"

# Partial uploads: one a day old (recorded) and an orphan .part file as old go, a fresh one stays.
fc_random_file "$FC_TMP/big" 20480
mkdir -p "$FC_TMP/4.0"; cp "$FC_TMP/big" "$FC_TMP/4.0/big"
fc_stop_proxy >/dev/null
fc_start_proxy --rate 2000000
"$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_PROXY" --quiet release push "$FC_TMP/4.0" \
  --channel stable --version 4.0 --key "$key" >/dev/null 2>&1 &
push_pid=$!
FC_PIDS+=("$push_pid")
has_part() { [ -n "$(find "$FC_TMP/broker/incoming" -name '*.part' -size +100k 2>/dev/null)" ]; }
fc_wait_for "a partial upload" 30 has_part
fc_kill9 "$push_pid"
part=$(find "$FC_TMP/broker/incoming" -name '*.part' | head -1)
orphan="$FC_TMP/broker/incoming/$(printf 'ab%.0s' $(seq 32)).part"
fresh="$FC_TMP/broker/incoming/$(printf 'cd%.0s' $(seq 32)).part"
echo x >"$orphan"; echo y >"$fresh"
touch -d '2 days ago' "$orphan" "$part"
sqlite3 "$FC_TMP/broker/fleetcast.db" "PRAGMA busy_timeout=5000; UPDATE uploads SET started = started - 200000;" >/dev/null
fc_cli release prune --channel stable --keep 5 >/dev/null || fc_fail "second prune"
[ ! -e "$part" ] && [ ! -e "$orphan" ] || fc_fail "day-old partial uploads were not collected: $(ls "$FC_TMP/broker/incoming")"
[ -e "$fresh" ] || fc_fail "a fresh .part file was collected"
[ "$(sqlite3 "$FC_TMP/broker/fleetcast.db" 'SELECT count(*) FROM uploads')" = 0 ] || fc_fail "upload records left"
fc_pass "partial uploads a day old were collected, a fresh one kept"
fc_check "$FC_TMP/broker" slow || fc_fail "invariants: $(cat "$FC_TMP/check.out")"
