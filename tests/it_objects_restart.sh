#!/usr/bin/env bash
# it_objects_restart.sh: an agent that starts with a manifest object of its installed release damaged or gone on disk still knows what it has installed: it fetches that object again, and nothing is downloaded again that it holds; only if the broker no longer has the object does the release count as not installed.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only

fc_many_installed 200 4096
objs="$FC_TMP/a1/state/objects"
nobj=$(ls "$objs" | wc -l)
[ "$nobj" -gt 1 ] || fc_fail "release 1 has $nobj manifest objects; the test needs pages"

# installed_as VERSION WHAT: the run's JSON names release VERSION as the one installed.
installed_as() {
  local v
  v=$(fc_json_field "$FC_TMP/a1.json" version)
  [ "$v" = "$1" ] || fc_fail "$2: installed version '$v', expected $1: $(cat "$FC_TMP/a1.json")"
}

# One object damaged, another removed: the restarted agent fetches both and is up to date.
victims=$(ls "$objs" | sort | sed -n 1,2p)
damaged=$(echo "$victims" | head -1)
removed=$(echo "$victims" | tail -1)
cp "$objs/$damaged" "$FC_TMP/good"
fc_flip_byte "$objs/$damaged" 0
rm "$objs/$removed"
fc_agent_run a1 || fc_fail "restart over a damaged object failed: $(cat "$FC_TMP/a1.json")"
installed_as 1 "damaged object"
fetched=$(fc_json_field "$FC_TMP/a1.json" bytes_fetched)
[ "$fetched" = 0 ] || fc_fail "release 1 was downloaded again ($fetched bytes of chunks)"
[ ! -d "$FC_TMP/a1/install/releases/.staging-1" ] || fc_fail "release 1 was staged again"
cmp -s "$objs/$damaged" "$FC_TMP/good" || fc_fail "the damaged object $damaged is still damaged"
[ -f "$objs/$removed" ] || fc_fail "the removed object $removed was not fetched again"
[ "$(ls "$objs" | wc -l)" = "$nobj" ] || fc_fail "the agent holds $(ls "$objs" | wc -l) objects, not $nobj"
grep -q "read again" "$FC_TMP/a1.log" || fc_fail "the agent did not say it read release 1 again"
fc_pass "damaged and missing objects fetched again; release 1 still installed, 0 chunk bytes fetched"

# Damaged again, and release 2 (one file changed) on the broker: the installed release's
# objects are fetched first, so only the changed file's chunks travel.
fc_flip_byte "$objs/$damaged" 0
head -c 4096 /dev/urandom >"$src/d/f-5.bin"
fc_push "$src" 2 >/dev/null || fc_fail "push of 2 failed"
fc_agent_run a1 || fc_fail "install of 2 over a damaged object failed: $(cat "$FC_TMP/a1.json")"
installed_as 2 "release 2"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 2 tree differs"
fetched=$(fc_json_field "$FC_TMP/a1.json" bytes_fetched)
[ "$fetched" -le 4096 ] || { cat "$FC_TMP/a1.log"; fc_fail "release 2 fetched $fetched bytes of chunks for one 4 KiB file"; }
fc_pass "release 2 installs over a damaged object of 1 fetching $fetched bytes of chunks"

# Release 2's own objects gone from the broker too (as after a prune; 3 and 4 pushed): the
# agent cannot have them again, says so, counts nothing as installed, and installs release 4.
for v in 3 4; do
  head -c 4096 /dev/urandom >"$src/d/f-$v.bin"
  fc_push "$src" $v >/dev/null || fc_fail "push of $v failed"
done
fc_agent_run a2 || fc_fail "a fresh agent could not install 4"
only_old=$(comm -23 <(ls "$objs" | sort) <(ls "$FC_TMP/a2/state/objects" | sort))
[ -n "$only_old" ] || fc_fail "releases 1 and 2 name no object that release 4 does not"
fc_stop "$FC_BROKER_PID"
for o in $only_old; do
  sqlite3 "$FC_TMP/broker/fleetcast.db" "DELETE FROM objects WHERE hash = X'$o'"
  rm "$objs/$o"
done
fc_restart_broker "$FC_TMP/broker"
fc_agent_run a1 || fc_fail "install of 4 after release 2's objects went failed: $(cat "$FC_TMP/a1.json")"
grep -q "installed release's manifest objects cannot be fetched again" "$FC_TMP/a1.log" ||
  fc_fail "the agent did not say release 2's objects cannot be had"
installed_as 4 "release 4"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 4 tree differs"
fc_pass "an installed release whose objects the broker no longer has counts as not installed; release 4 installs"
