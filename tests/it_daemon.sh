#!/usr/bin/env bash
# it_daemon.sh: agents running as daemons hear each push on the announce socket and install
# it without polling; a mandatory release is installed even by an agent whose policy is
# "mandatory", and an optional one is not.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
start_daemon() { # name policy
  "$FC_AGENT_BIN" "${FC_AGENT_SEC_ARGS[@]}" --broker "$FC_SERVICE" --channel stable --install "$FC_TMP/$1/install" \
    --state "$FC_TMP/$1/state" --trust "$FC_TMP/keys/signing.pub" --id "$1" \
    --auto-update "$2" 2>>"$FC_TMP/$1.log" &
  FC_PIDS+=($!)
}
start_daemon d1 all
start_daemon d2 mandatory
installed() { [ "$(cat "$FC_TMP/$1/install/current/app" 2>/dev/null)" = "$2" ]; }
both_seen() { fc_cli status | grep -q d1 && fc_cli status | grep -q d2; }
fc_wait_for "both daemons to report to the broker" 20 both_seen

mkdir -p "$FC_TMP/src"
echo v1 >"$FC_TMP/src/app"
fc_push "$FC_TMP/src" 1 --mandatory >/dev/null
fc_wait_for "d1 to install 1" 20 installed d1 v1
fc_wait_for "d2 to install mandatory 1" 20 installed d2 v1
fc_pass "both daemons installed the mandatory release 1 after the push"

echo v2 >"$FC_TMP/src/app"
fc_push "$FC_TMP/src" 2 >/dev/null
fc_wait_for "d1 to install 2" 20 installed d1 v2
sleep 2
installed d2 v1 || fc_fail "the mandatory-only agent installed an optional release"
fc_pass "an optional release reaches the 'all' agent and not the 'mandatory' one"

echo v3 >"$FC_TMP/src/app"
fc_push "$FC_TMP/src" 3 --min-version 3 >/dev/null
fc_wait_for "d2 to install 3 (min-version above installed)" 20 installed d2 v3
fc_wait_for "d1 to install 3" 20 installed d1 v3
both_at_3() { [ "$(fc_cli status --json | grep -o '"version": *"3"' | wc -l)" -eq 2 ]; }
fc_wait_for "status to show both on 3" 20 both_at_3
fc_pass "a release whose minimum version is above the installed one is installed at once"
