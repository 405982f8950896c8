#!/usr/bin/env bash
# it_hooks.sh: the install hooks: a failing changing hook postpones (nothing swapped), a
# failing health check swaps back to the previous version and reports the failure, and a
# passing set of hooks sees the versions in its environment; a health check that hangs past
# --hook-timeout is stopped (with its child) and fails like one that exits non-zero.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
mkdir -p "$FC_TMP/src"
echo one >"$FC_TMP/src/app"
fc_push "$FC_TMP/src" 1 >/dev/null
hooklog="$FC_TMP/hooks.log"
fc_agent_run a1 --exec-changed "echo changed \$FLEETCAST_PREVIOUS_VERSION '->' \$FLEETCAST_VERSION >>$hooklog" \
  || fc_fail "install 1"
grep -q "changed  *-> 1\|changed -> 1" "$hooklog" || fc_fail "changed hook did not run with the version: $(cat "$hooklog")"
fc_pass "changed hook runs with FLEETCAST_VERSION"

echo two >"$FC_TMP/src/app"
fc_push "$FC_TMP/src" 2 >/dev/null

# A changing hook that refuses: postponed, exit 2, current still 1.
rc=0; fc_agent_run a1 --exec-changing "exit 1" || rc=$?
[ "$rc" -eq 2 ] || fc_fail "refused install should exit 2, got $rc"
[ "$(cat "$FC_TMP/a1/install/current/app")" = one ] || fc_fail "refused install swapped anyway"
fc_pass "a refusing changing hook postpones the install"

# A failing health check: swapped back to 1, exit 3, broker status says failed.
rc=0; fc_agent_run a1 --exec-health "test \"\$(cat current/app)\" = one" || rc=$?
[ "$rc" -eq 3 ] || fc_fail "failed health check should exit 3, got $rc"
[ "$(cat "$FC_TMP/a1/install/current/app")" = one ] || fc_fail "not rolled back to 1"
[ "$(readlink "$FC_TMP/a1/install/current")" = releases/1@1 ] || fc_fail "current -> $(readlink "$FC_TMP/a1/install/current")"
st=$(fc_cli status --json)
echo "$st" | grep -q '"state": *"rolled-back"' || fc_fail "status does not show the failure: $st"
fc_pass "a failing health check rolls back to the previous version and reports it"

# The failed serial is not retried automatically: the next run does nothing.
fc_agent_run a1 || true
[ "$(cat "$FC_TMP/a1/install/current/app")" = one ] || fc_fail "failed release retried"
fc_pass "a release that failed its health check is not installed again"

# A health check that hangs, run with --hook-timeout 1: stopped at the limit together with the
# child it left in the background (same process group), and counted as a failed health
# check: exit 3, rolled back to 1, "timed out after 1 s" in the result and the broker status.
gone() { # PID: not running (a zombie left to an init that never reaps counts as gone)
  ! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1" | cut -c1)" = Z ]
}
echo three >"$FC_TMP/src/app"
fc_push "$FC_TMP/src" 3 >/dev/null
hang="echo \$\$ >$FC_TMP/hook.pid; sleep 300 & echo \$! >$FC_TMP/child.pid; sleep 300"
start=$SECONDS
rc=0; fc_agent_run a1 --hook-timeout 1 --exec-health "$hang" || rc=$?
took=$((SECONDS - start))
[ "$rc" -eq 3 ] || fc_fail "a timed-out health check should exit 3, got $rc: $(cat "$FC_TMP/a1.json")"
[ "$took" -lt 30 ] || fc_fail "the agent waited ${took}s for a hook limited to 1 s"
grep -q 'health hook failed for 3 (timed out after 1 s): rolled back to 1' "$FC_TMP/a1.json" ||
  fc_fail "the result does not say the hook timed out: $(cat "$FC_TMP/a1.json")"
[ "$(readlink "$FC_TMP/a1/install/current")" = releases/1@1 ] || fc_fail "current -> $(readlink "$FC_TMP/a1/install/current")"
gone "$(cat "$FC_TMP/hook.pid")" || fc_fail "the timed-out hook still runs"
gone "$(cat "$FC_TMP/child.pid")" || fc_fail "the timed-out hook's child still runs"
st=$(fc_cli status --json)
echo "$st" | grep -q 'timed out after 1 s' || fc_fail "status does not show the timeout: $st"
fc_pass "--hook-timeout stops a hung health check and its child, rolls back and reports it"

# The option itself: 0 (no limit) is a value; anything but a number of seconds is refused.
help=$("$FC_AGENT_BIN" --help)
grep -q -- '--hook-timeout SECS' <<<"$help" || fc_fail "--help does not describe --hook-timeout"
for bad in -1 abc; do
  rc=0; out=$("$FC_AGENT_BIN" --hook-timeout "$bad" 2>&1) || rc=$?
  [ "$rc" -eq 1 ] && echo "$out" | grep -q -- '--hook-timeout needs' ||
    fc_fail "--hook-timeout $bad: exit $rc: $out"
done
out=$("$FC_AGENT_BIN" --hook-timeout 0 2>&1) || true
grep -q -- '--broker is required' <<<"$out" || fc_fail "--hook-timeout 0 (no limit) refused: $out"
fc_pass "--hook-timeout takes 0 (no limit) and refuses values that are not seconds"
