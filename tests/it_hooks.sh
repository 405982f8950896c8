#!/usr/bin/env bash
# it_hooks.sh: the install hooks: a failing changing hook postpones (nothing swapped), a
# failing health check swaps back to the previous version and reports the failure, and a
# passing set of hooks sees the versions in its environment.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
mkdir -p "$FC_TMP/src"
echo one >"$FC_TMP/src/app"
fc_cli release push "$FC_TMP/src" --channel stable --version 1 --key "$FC_TMP/keys/signing.key" >/dev/null
hooklog="$FC_TMP/hooks.log"
fc_agent_run a1 --exec-changed "echo changed \$FLEETCAST_PREVIOUS_VERSION '->' \$FLEETCAST_VERSION >>$hooklog" \
  || fc_fail "install 1"
grep -q "changed  *-> 1\|changed -> 1" "$hooklog" || fc_fail "changed hook did not run with the version: $(cat "$hooklog")"
fc_pass "changed hook runs with FLEETCAST_VERSION"

echo two >"$FC_TMP/src/app"
fc_cli release push "$FC_TMP/src" --channel stable --version 2 --key "$FC_TMP/keys/signing.key" >/dev/null

# A changing hook that refuses: postponed, exit 2, current still 1.
rc=0; fc_agent_run a1 --exec-changing "exit 1" || rc=$?
[ "$rc" -eq 2 ] || fc_fail "refused install should exit 2, got $rc"
[ "$(cat "$FC_TMP/a1/install/current/app")" = one ] || fc_fail "refused install swapped anyway"
fc_pass "a refusing changing hook postpones the install"

# A failing health check: swapped back to 1, exit 3, broker status says failed.
rc=0; fc_agent_run a1 --exec-health "test \"\$(cat current/app)\" = one" || rc=$?
[ "$rc" -eq 3 ] || fc_fail "failed health check should exit 3, got $rc"
[ "$(cat "$FC_TMP/a1/install/current/app")" = one ] || fc_fail "not rolled back to 1"
[ "$(readlink "$FC_TMP/a1/install/current")" = releases/1 ] || fc_fail "current -> $(readlink "$FC_TMP/a1/install/current")"
st=$(fc_cli status --json)
echo "$st" | grep -q '"state": *"failed"' || fc_fail "status does not show the failure: $st"
fc_pass "a failing health check rolls back to the previous version and reports it"

# The failed serial is not retried automatically: the next run does nothing.
fc_agent_run a1 || true
[ "$(cat "$FC_TMP/a1/install/current/app")" = one ] || fc_fail "failed release retried"
fc_pass "a release that failed its health check is not installed again"
