#!/usr/bin/env bash
# it_manifest_objects.sh: format-3 manifest objects as hostile input: a copy damaged at the agent is refused and fetched again, a broker that keeps serving a damaged one is reported, a re-push repairs it, and the agent keeps only the objects of its installed and previous releases.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only

fc_many_installed 300 2048
objs="$FC_TMP/a1/state/objects"
first=$(ls "$objs" | sort)
[ -n "$first" ] || fc_fail "the agent keeps no manifest objects"
fc_pass "release 1 installed from its top level and $(echo "$first" | wc -l) objects"

# Every object damaged on the agent's disk: each is refused, dropped and fetched again.
for f in "$objs"/*; do printf '\x00' | dd of="$f" bs=1 seek=0 conv=notrunc status=none; done
head -c 2048 /dev/urandom >"$src/d/f-7.bin"
fc_push "$src" 2 >/dev/null || fc_fail "push of 2 failed"
fc_agent_run a1 || fc_fail "install of 2 over damaged objects failed: $(cat "$FC_TMP/a1.json")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 2 tree differs"
fc_pass "objects damaged at the agent are fetched again and release 2 installs"

# Release 3: release 1's objects that 2 and 3 do not share are gone from the agent.
head -c 2048 /dev/urandom >"$src/d/f-9.bin"
fc_push "$src" 3 >/dev/null || fc_fail "push of 3 failed"
fc_agent_run a1 || fc_fail "install of 3 failed"
third=$(ls "$objs" | sort)
gone=$(comm -23 <(echo "$first") <(echo "$third") | wc -l)
[ "$gone" -gt 0 ] || fc_fail "no object of release 1 was collected"
fc_pass "$gone objects only release 1 named were removed after release 3"

# The broker's copy of every object damaged: a new agent is told which, and installs nothing.
fc_stop "$FC_BROKER_PID"
sqlite3 "$FC_TMP/broker/fleetcast.db" "UPDATE objects SET data = X'90' || data;"
fc_restart_broker "$FC_TMP/broker"
rc=0; fc_agent_run a2 || rc=$?
[ "$rc" != 0 ] || fc_fail "an agent installed from damaged objects"
grep -q "keeps sending manifest object [0-9a-f]\{64\} damaged" "$FC_TMP/a2.json" ||
    fc_fail "the damaged object is not named: $(cat "$FC_TMP/a2.json")"
[ ! -e "$FC_TMP/a2/install/current" ] || fc_fail "something was installed"
fc_pass "a broker that keeps serving a damaged object is reported: $(grep -o 'manifest object [0-9a-f]*' "$FC_TMP/a2.json")"

# The push re-run stores the objects again: the damage is repaired, nothing new published.
fc_push "$src" 3 >/dev/null || fc_fail "re-push of 3 failed"
fc_agent_run a2 || fc_fail "install after the repair failed: $(cat "$FC_TMP/a2.json")"
diff -r "$src" "$FC_TMP/a2/install/current/" || fc_fail "release 3 tree differs"
fc_pass "a re-run of the push repairs the broker's objects"
