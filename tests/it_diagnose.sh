#!/usr/bin/env bash
# it_diagnose.sh: connection mistakes each say what is wrong and what to do, within 5 s
# (libzmq's socket monitor tells a dead endpoint from a refused key, a wrong broker key and a
# CURVE/plain mismatch): the CLI exits 1 with the reason; a one-shot agent too; a daemon
# agent keeps retrying and repeats the reason at a growing interval, never silent.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
[ "${FC_INSECURE:-0}" = 1 ] && fc_skip "this suite is about the secure mode's keys"

data="$FC_TMP/broker"
fc_start_broker "$data"
dead_port=$(fc_ports 1)
dead="tcp://127.0.0.1:$dead_port"

# expect_fast WHAT WANT CMD...: CMD exits 1 within 5 s and prints WANT (fixed string) on stderr.
expect_fast() {
  local what=$1 want=$2; shift 2
  local t0 rc=0 took
  t0=$(date +%s%N)
  "$@" >/dev/null 2>"$FC_TMP/err" || rc=$?
  took=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$rc" = 1 ] || fc_fail "$what: exit status $rc (want 1): $(cat "$FC_TMP/err")"
  grep -qF -e "$want" "$FC_TMP/err" || fc_fail "$what: does not say '$want': $(cat "$FC_TMP/err")"
  [ "$took" -lt 5000 ] || fc_fail "$what: took $took ms (want < 5 s)"
  echo "  $what: ${took} ms: $(head -1 "$FC_TMP/err")"
}

cli_as() { # CERT BROKER_KEY ENDPOINT CLI-ARGS...
  local cert=$1 bkey=$2 ep=$3; shift 3
  "$FC_CLI_BIN" --broker "$ep" --broker-key "$bkey" --cert "$cert" --timeout 30 "$@"
}

# Nothing listens: the CLI gives up within 5 s (its --timeout is 30) and says so.
expect_fast "CLI, nothing listening" "nothing listens at $dead: is the broker running?" \
  cli_as "$FC_TMP/keys/publisher.cert_secret" "$data/broker.cert" "$dead" status
fc_pass "the CLI says nothing listens at the endpoint within 5 s"

# An unenrolled publisher key: refused by ZAP, told how to enrol it.
"$FC_CLI_BIN" keygen --role publisher --out "$FC_TMP/stranger" >/dev/null
stranger="$FC_TMP/stranger/publisher.cert_secret"
expect_fast "CLI, unenrolled key" "the broker refused this publisher's key: enrol it with \`fleetcast keys add-publisher" \
  cli_as "$stranger" "$data/broker.cert" "$FC_SERVICE" status
fc_pass "the CLI says its key is not enrolled, and how to enrol it"

# The broker logs the refusal with the key and the address, once a minute per key.
for _ in 1 2 3; do cli_as "$stranger" "$data/broker.cert" "$FC_SERVICE" status >/dev/null 2>&1 || true; done
fc_wait_for "the broker to log the refused key" 5 grep -qF "refused a connection from 127.0.0.1: CURVE key" "$FC_TMP/broker.log"
n=$(grep -cF "refused a connection from 127.0.0.1: CURVE key" "$FC_TMP/broker.log")
[ "$n" = 1 ] || fc_fail "the broker logged $n refusals of one key within a minute: $(grep refused "$FC_TMP/broker.log")"
grep "refused a connection" "$FC_TMP/broker.log" | grep -q " warning fleetcast-broker: " ||
  fc_fail "the refusal is not a warning in the log format: $(grep refused "$FC_TMP/broker.log")"
fc_pass "the broker logs a refused key with its address, once a minute per key"

# Another broker's key given as --broker-key.
"$FC_CLI_BIN" keygen --role broker --out "$FC_TMP/other" >/dev/null
expect_fast "CLI, wrong broker key" "the broker's key does not match --broker-key" \
  cli_as "$FC_TMP/keys/publisher.cert_secret" "$FC_TMP/other/broker.cert" "$FC_SERVICE" status
fc_pass "the CLI says the broker key does not match"

# A plain client against a CURVE broker.
expect_fast "CLI, plain against CURVE" "requires CURVE" \
  "$FC_CLI_BIN" --broker "$FC_SERVICE" --insecure --timeout 30 status
fc_pass "the CLI says the broker requires CURVE"

# A one-shot agent with an unenrolled key: says so and how to enrol it, within 5 s.
"$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/intruder" >/dev/null
agent_as() { # NAME KEY BROKER_KEY ENDPOINT MORE... (exec: in the background, $! is the agent)
  local name=$1 key=$2 bkey=$3 ep=$4; shift 4
  exec "$FC_AGENT_BIN" --broker "$ep" --broker-key "$bkey" --key "$key" --channel stable \
    --install "$FC_TMP/$name/install" --state "$FC_TMP/$name/state" \
    --trust "$FC_TMP/keys/signing.pub" --id "$name" "$@"
}
agent_run() { ( agent_as "$@" ); }
expect_fast "agent --once, unenrolled key" "the broker refused this agent's key: enrol it with \`fleetcast keys add-agent" \
  agent_run intruder "$FC_TMP/intruder/agent.cert_secret" "$data/broker.cert" "$FC_SERVICE" --once --timeout 30
expect_fast "agent --once, wrong broker key" "the broker's key does not match --broker-key" \
  agent_run wrongkey "$FC_TMP/keys/agent.cert_secret" "$FC_TMP/other/broker.cert" "$FC_SERVICE" --once --timeout 30
fc_pass "a one-shot agent says its key is refused or the broker key is wrong, within 5 s"

# A daemon agent pointed at a port nothing listens on: not silent, keeps retrying, repeats.
agent_as lost "$FC_TMP/keys/agent.cert_secret" "$data/broker.cert" "$dead" 2>"$FC_TMP/lost.log" &
lost=$!
FC_PIDS+=("$lost")
said() { [ "$(grep -cF "nothing listens at $dead: is the broker running?" "$FC_TMP/lost.log")" -ge "$1" ]; }
fc_wait_for "the daemon agent to say nothing listens" 5 said 1
fc_wait_for "the daemon agent to say it again" 8 said 2
kill -0 "$lost" || fc_fail "the daemon agent gave up: $(cat "$FC_TMP/lost.log")"
fc_pass "a daemon agent says nothing listens within 5 s, keeps retrying and says it again"

# ... and once a broker listens there, it says it is connected.
"$FC_BROKER_BIN" --data "$data" --service "$dead" --announce "tcp://127.0.0.1:$(fc_ports 1)" \
  >>"$FC_TMP/broker2.log" 2>&1 &
FC_PIDS+=($!)
fc_wait_for "the daemon agent to connect" 15 grep -qF "connected to $dead" "$FC_TMP/lost.log"
fc_pass "the daemon agent says when the broker is reachable again"
