#!/usr/bin/env bash
# it_push_objects.sh: a push sends only the manifest objects the broker lacks (OBJECTS_QUERY): a second push of a tree differing in one file sends only that release's new objects, a re-run none, and one the broker holds damaged is sent again.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only

fc_start_broker "$FC_TMP/broker"
fc_keygen
src="$FC_TMP/src"
fc_many_files "$src" 400 2048

# push_json VERSION: pushes the tree as VERSION with --json into $FC_TMP/push-VERSION.json.
push_json() {
  fc_push "$src" "$1" --json >"$FC_TMP/push-$1.json" || fc_fail "push of $1 failed: $(cat "$FC_TMP/push-$1.json")"
}
field() { fc_json_field "$FC_TMP/push-$1.json" "$2"; }

push_json 1
total=$(field 1 objects)
[ "$total" -gt 4 ] || fc_fail "release 1 has $total objects; the test needs several pages"
[ "$(field 1 objects_sent)" = "$total" ] || fc_fail "first push sent $(field 1 objects_sent) of $total objects"
fc_pass "first push sent all $total objects"

# One file changed: its chunk list and the page naming it are new, nothing else.
head -c 2048 /dev/urandom >"$src/d/f-77.bin"
push_json 2
sent=$(field 2 objects_sent)
[ "$(field 2 objects)" = "$total" ] || fc_fail "release 2 has $(field 2 objects) objects, not $total"
[ "$sent" -ge 1 ] && [ "$sent" -le 2 ] || fc_fail "a push differing in one file sent $sent of $total objects"
fc_pass "a push differing in one file sent $sent of $total objects"

# The same version again: every object is held, none is sent.
push_json 2
[ "$(field 2 already_published)" = true ] || fc_fail "the re-run published again"
[ "$(field 2 objects_sent)" = 0 ] || fc_fail "a re-run sent $(field 2 objects_sent) objects"
fc_pass "a re-run push sends no object"

# Every object damaged at the broker: each counts as lacking and is sent again, repairing it.
fc_stop "$FC_BROKER_PID"
sqlite3 "$FC_TMP/broker/fleetcast.db" "UPDATE objects SET data = X'90' || data;"
fc_restart_broker "$FC_TMP/broker"
push_json 2
[ "$(field 2 objects_sent)" = "$total" ] || fc_fail "a push over damaged objects sent $(field 2 objects_sent) of $total"
fc_agent_run a1 || fc_fail "install after the repair failed: $(cat "$FC_TMP/a1.json")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 2 tree differs"
fc_pass "objects the broker holds damaged are sent again and the release installs"
