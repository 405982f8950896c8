#!/usr/bin/env bash
# it_relay_reports_curve.sh: reports up through a relay with CURVE on both links: the root
# takes RELAY_REPORTS from the enrolled relay key and lists the agent behind the relay with
# it; a report the relay forwards for an agent id bound at the root to an agent key of its
# own (an agent that reports to the root directly) is skipped, and the root keeps that
# agent as it reported itself.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

[ "${FC_INSECURE:-0}" = 1 ] && fc_skip "this suite is about the relay's key in the secure mode"
fc_start_broker "$FC_TMP/root"
src="$FC_TMP/src"
mkdir -p "$src"
printf 'v1\n' >"$src/app.txt"
fc_push "$src" 1 >/dev/null

# a0 reports to the root directly with the suite's agent key: its id is bound to that key.
fc_agent_run a0 --timeout 60 || fc_fail "a0 at the root failed: $(tail -5 "$FC_TMP/a0.log")"

# The relay, its key enrolled at the root as a relay key; its agents' key enrolled at it.
mkdir -p "$FC_TMP/relay"
"$FC_CLI_BIN" keygen --role broker --out "$FC_TMP/relay" >/dev/null
"$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/behind" >/dev/null
"$FC_CLI_BIN" keys add-agent "$FC_TMP/behind/agent.cert" --data "$FC_TMP/relay" >/dev/null
"$FC_CLI_BIN" keys add-relay "$FC_TMP/relay/broker.cert" --data "$FC_TMP/root" >/dev/null
sleep 1.5 # the root looks at its key dirs once a second
ports=($(fc_ports 2))
RELAY="tcp://127.0.0.1:${ports[0]}"
"$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "$RELAY" --announce "tcp://127.0.0.1:${ports[1]}" \
  --upstream "$FC_SERVICE" --upstream-key "$FC_TMP/root/broker.cert" --relay-name site1 \
  >"$FC_TMP/relay.log" 2>&1 &
FC_PIDS+=("$!")
fc_wait_port "${ports[0]}" || fc_fail "relay did not start: $(cat "$FC_TMP/relay.log")"
fc_wait_for "the relay mirrors release 1" 20 grep -q 'release stable 1 (serial 1) mirrored' \
  "$FC_TMP/relay.log"

status_has() { # ID VIA STATE
  local st; st=$(fc_cli status --json 2>/dev/null | tr -d ' \n') || return 1
  grep -q "{\"id\":\"$1\",[^}]*\"reported_state\":\"$3\",[^}]*\"via\":\"$2\"" <<<"$st"
}
FC_AGENT_SEC_ARGS=(--broker-key "$FC_TMP/relay/broker.cert" --key "$FC_TMP/behind/agent.cert_secret")
FC_AGENT_BROKER="$RELAY" fc_agent_run b1 --timeout 60 ||
  fc_fail "b1 behind the relay failed: $(tail -5 "$FC_TMP/b1.log")"
fc_wait_for "the root to list b1 via site1" 20 status_has b1 site1 installed
fc_pass "over CURVE the root takes the relay key's forwarded reports: b1 listed via site1"

# An agent behind the relay calling itself a0: the relay forwards its reports, the root
# skips them (a0 is bound there to its own key) and keeps what a0 said itself.
FC_AGENT_BROKER="$RELAY" fc_agent_run a0 --timeout 60 --state "$FC_TMP/fake-a0" \
  --install "$FC_TMP/fake-a0/install" || true
fc_wait_for "the root to say it skipped the forwarded report of a0" 20 \
  grep -q 'relay site1: .* forwarded reports skipped (first: agent a0 is enrolled here' \
  "$FC_TMP/broker.log"
status_has a0 "" installed || fc_fail "a0 at the root changed: $(fc_cli status --json)"
fc_pass "a forwarded report for an agent bound at the root to its own key is skipped"
