#!/usr/bin/env bash
# it_relay_curve.sh: a relay with CURVE on both links: a relay key the root has not enrolled
# mirrors nothing; enrolled as a relay key it mirrors, an agent enrolled at the relay,
# pinning the relay's cert, installs the root's release through it, and the relay's key
# cannot push to the root (a stolen relay key publishes nothing).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

[ "${FC_INSECURE:-0}" = 1 ] && fc_skip "this suite is about the relay's keys in the secure mode"
fc_start_broker "$FC_TMP/root"
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/app.bin" 700
printf 'conf\n' >"$src/app.conf"
fc_push "$src" 1 >/dev/null

# The relay's own broker key; its agents' key enrolled at the relay, not at the root.
mkdir -p "$FC_TMP/relay"
"$FC_CLI_BIN" keygen --role broker --out "$FC_TMP/relay" >/dev/null
"$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/behind" >/dev/null
"$FC_CLI_BIN" keys add-agent "$FC_TMP/behind/agent.cert" --data "$FC_TMP/relay" >/dev/null
ports=($(fc_ports 2))
RELAY="tcp://127.0.0.1:${ports[0]}"
"$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "$RELAY" --announce "tcp://127.0.0.1:${ports[1]}" \
  --upstream "$FC_SERVICE" --upstream-key "$FC_TMP/root/broker.cert" >"$FC_TMP/relay.log" 2>&1 &
FC_PIDS+=("$!")
fc_wait_port "${ports[0]}" || fc_fail "relay did not start: $(cat "$FC_TMP/relay.log")"
sleep 3
grep -q 'mirrored' "$FC_TMP/relay.log" && fc_fail "a relay the root has not enrolled mirrored a release"
fc_pass "a relay key the root has not enrolled mirrors nothing"

"$FC_CLI_BIN" keys add-relay "$FC_TMP/relay/broker.cert" --data "$FC_TMP/root" >/dev/null
fc_wait_for "the enrolled relay mirrors release 1" 20 grep -q 'release stable 1 (serial 1) mirrored' \
  "$FC_TMP/relay.log"
fc_pass "enrolled at the root as a relay key, the relay mirrors release 1"

FC_AGENT_SEC_ARGS=(--broker-key "$FC_TMP/relay/broker.cert" --key "$FC_TMP/behind/agent.cert_secret")
FC_AGENT_BROKER="$RELAY" fc_agent_run b1 --timeout 60 ||
  fc_fail "the agent behind the relay failed: $(tail -5 "$FC_TMP/b1.log")"
diff -r "$src" "$FC_TMP/b1/install/current/" || fc_fail "the tree behind the relay differs"
fc_pass "an agent enrolled at the relay installs the root's release through it over CURVE"

# The relay's key at the root: it reads, it does not publish.
out=$("$FC_CLI_BIN" --broker-key "$FC_TMP/root/broker.cert" --cert "$FC_TMP/relay/broker.cert_secret" \
  --broker "$FC_SERVICE" --quiet release push "$src" --channel stable --version 2 \
  --key "$FC_TMP/keys/signing.key" 2>&1) && fc_fail "the relay's key pushed a release: $out"
echo "$out" | grep -q "needs a publisher key; this key is a relay key" ||
  fc_fail "the refusal does not say the key is a relay key: $out"
"$FC_CLI_BIN" keys list --data "$FC_TMP/root" | grep -q '^relay ' || fc_fail "keys list shows no relay key"
fc_pass "the relay's key cannot push to the root: $(echo "$out" | head -1)"
