#!/usr/bin/env bash
# it_release_watch.sh: `release watch` publishes a directory as it changes. Its first snapshot
# and every edit (new directories too) reach the agents; a tree changed and changed back
# publishes nothing, a touched file's new time is published; a file written slowly across
# the debounce (its writer keeps it open) is never published half-written; a push failing while the broker is down is retried until it
# succeeds; SIGTERM stops it with exit 0.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
src="$FC_TMP/src"; mkdir -p "$src/etc"
echo v1 >"$src/app"
fc_random_file "$src/etc/data" 200
"$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_SERVICE" --timeout 3 --json release watch "$src" \
  --channel stable --key "$FC_TMP/keys/signing.key" --debounce 1 --version-template 'w%Y%m%d.%H%M%S' \
  >"$FC_TMP/watch.out" 2>"$FC_TMP/watch.err" &
watch_pid=$!
FC_PIDS+=("$watch_pid")
agents=(d1 d2)
for a in "${agents[@]}"; do fc_config_agent "$a"; done
has() { [ "$(cat "$FC_TMP/$1/install/current/$2" 2>/dev/null)" = "$3" ]; }
all_have() { local a; for a in "${agents[@]}"; do has "$a" "$1" "$2" || return 1; done; }
serials() { fc_cli release list --channel stable --json | fc_json_nums serial | sort -n | tr '\n' ' '; }
latest() { fc_cli release list --channel stable --json | fc_json_nums serial | sort -n | tail -1; }

fc_wait_for "the first snapshot on every agent" 60 all_have app v1
grep -q '"event":"published"' "$FC_TMP/watch.out" || fc_fail "no published line: $(cat "$FC_TMP/watch.out")"
fc_pass "the watcher published the tree at start and the agents installed it"

echo v2 >"$src/app"
fc_wait_for "the edited file on every agent" 60 all_have app v2
mkdir -p "$src/new/deeper"
echo fresh >"$src/new/deeper/file"
fc_wait_for "a file in a new directory on every agent" 60 all_have new/deeper/file fresh
fc_pass "an edit and a file in a new directory were published and installed"

# A file created and removed again leaves the tree as it was (the release's root directory
# is not an entry, so its time is not either): the watcher looks and publishes nothing.
before=$(serials)
echo scratch >"$src/.scratch" && rm "$src/.scratch"
fc_wait_for "the watcher to see the tree unchanged" 30 grep -q '"event":"unchanged"' "$FC_TMP/watch.out"
[ "$(serials)" = "$before" ] || fc_fail "an unchanged tree published: $before -> $(serials)"
fc_pass "a tree changed and changed back publishes nothing"

# Same content, new mtime: times are part of a release (manifest format 2), so a touch
# publishes the new time and every agent installs it.
n_before=$(latest)
touch -d '2021-01-02 03:04:05' "$src/app"
app_time() { [ "$(stat -c %Y "$FC_TMP/$1/install/current/app" 2>/dev/null)" = "$(stat -c %Y "$src/app")" ]; }
all_time() { local a; for a in "${agents[@]}"; do app_time "$a" || return 1; done; }
fc_wait_for "the touched time on every agent" 60 all_time
[ "$(latest)" -gt "$n_before" ] || fc_fail "a touch published no release"
fc_pass "touching a file publishes its new time and the agents install it"

# A slow writer: half the file, a pause of 3 debounces, the rest. Every release published
# from then on must hold the whole file or none of it.
n0=$(latest)
head -c 300000 /dev/urandom >"$FC_TMP/slow.full"
exec 7>"$src/slow.bin"
head -c 150000 "$FC_TMP/slow.full" >&7
sleep 3
tail -c +150001 "$FC_TMP/slow.full" >&7
exec 7>&-
whole() { local a; for a in "${agents[@]}"; do cmp -s "$FC_TMP/slow.full" "$FC_TMP/$a/install/current/slow.bin" || return 1; done; }
fc_wait_for "the slow file, whole, on every agent" 60 whole
want=$(find "$src" -type f -printf '%s\n' | awk '{ n += $1 } END { print n }')
fc_cli release list --channel stable --json | tr -d ' \n' | grep -o '{[^}]*}' | while read -r r; do
  s=$(fc_json_num serial <<<"$r"); size=$(fc_json_num size <<<"$r")
  [ "$s" -le "$n0" ] || [ "$size" = "$want" ] || fc_fail "serial $s was published with $size bytes, not $want: half-written"
done
grep -q '"event":"waiting"' "$FC_TMP/watch.out" || fc_fail "the watcher never waited for the writer"
fc_pass "a file written across the debounce was published only whole"

# The broker goes away: the push fails, is logged, and is retried until the broker is back.
fc_stop "$FC_BROKER_PID"
echo v3 >"$src/app"
fc_wait_for "a failed push in the log" 60 grep -q '"event":"failed"' "$FC_TMP/watch.out"
kill -0 "$watch_pid" 2>/dev/null || fc_fail "the watcher exited after a failed push"
fc_restart_broker "$FC_TMP/broker"
fc_wait_for "the retried push on every agent" 90 all_have app v3
fc_pass "a failed push was retried with backoff until the broker was back"

kill -TERM "$watch_pid"
rc=0; wait "$watch_pid" || rc=$?
[ "$rc" = 0 ] || fc_fail "the watcher exited $rc on SIGTERM"
grep -q '"event":"stopped"' "$FC_TMP/watch.out" || fc_fail "no stopped line"
fc_pass "SIGTERM stops the watcher cleanly (exit 0)"
