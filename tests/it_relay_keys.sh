#!/usr/bin/env bash
# it_relay_keys.sh: agent keys reach relays without a manual copy (RELAY_KEYS, topic K):
# root -> relay A -> relay B, CURVE on every link. An agent key enrolled only at the root,
# after the relays are up, connects to either relay and installs a release; revoked at the
# root, it is refused at both relays on new connections, its open sessions stop hearing
# announcements, and a copy of its cert put back by hand at a relay is removed again. Only a
# relay key may read the keys (RELAY_KEYS from an agent or publisher key: FC_EPERM). Prints
# how long enrolment and revocation took to reach each relay.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

[ "${FC_INSECURE:-0}" = 1 ] && fc_skip "this suite is about keys, in the secure mode"
fc_start_broker "$FC_TMP/root"
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/app.bin" 300
printf 'v1\n' >"$src/app.conf"
fc_push "$src" 1 >/dev/null

# fc_relay NAME UPSTREAM_EP UPSTREAM_DATA: a relay whose key is enrolled upstream as a relay
# key; sets RELAY_EP.
fc_relay() {
  mkdir -p "$FC_TMP/$1"
  "$FC_CLI_BIN" keygen --role broker --out "$FC_TMP/$1" >/dev/null
  "$FC_CLI_BIN" keys add-relay "$FC_TMP/$1/broker.cert" --data "$3" >/dev/null
  local ports; ports=($(fc_ports 2))
  "$FC_BROKER_BIN" --data "$FC_TMP/$1" --service "tcp://127.0.0.1:${ports[0]}" \
    --announce "tcp://127.0.0.1:${ports[1]}" --upstream "$2" --upstream-key "$3/broker.cert" \
    >"$FC_TMP/$1.log" 2>&1 &
  FC_PIDS+=("$!")
  fc_wait_port "${ports[0]}" || fc_fail "relay $1 did not start: $(cat "$FC_TMP/$1.log")"
  RELAY_EP="tcp://127.0.0.1:${ports[0]}"
}
fc_relay relay-a "$FC_SERVICE" "$FC_TMP/root"; A=$RELAY_EP
fc_relay relay-b "$A" "$FC_TMP/relay-a"; B=$RELAY_EP
for r in relay-a relay-b; do
  fc_wait_for "relay $r mirrors release 1" 20 grep -q 'release stable 1 (serial 1) mirrored' \
    "$FC_TMP/$r.log"
done
fc_pass "root -> relay A -> relay B over CURVE mirror release 1"

# Only a relay key reads the enrolled agent keys, at the root and at a relay.
hostile() { # DATA_OF_THE_BROKER CERT_SECRET ENDPOINT
  "$FC_HOSTILE_BIN" --broker-key "$1/broker.cert" --cert "$2" relay-keys "$3"
}
for who in agent publisher; do
  out=$(hostile "$FC_TMP/root" "$FC_TMP/keys/$who.cert_secret" "$FC_SERVICE") ||
    fc_fail "RELAY_KEYS from the $who key got no answer: $out"
  echo "$out" | grep -q '^error 13 (.*): RELAY_KEYS needs a relay key; this key is a' ||
    fc_fail "RELAY_KEYS from the $who key was not refused with FC_EPERM: $out"
done
out=$(hostile "$FC_TMP/relay-a" "$FC_TMP/keys/agent.cert_secret" "$A")
echo "$out" | grep -q '^error 13 ' || fc_fail "relay A gave an agent key the agent keys: $out"
grep -q 'denied RELAY_KEYS from key' "$FC_TMP/broker.log" || fc_fail "the root did not log the refusal"
out=$(hostile "$FC_TMP/root" "$FC_TMP/relay-a/broker.cert_secret" "$FC_SERVICE")
agent_key=$("$FC_CLI_BIN" keys list --data "$FC_TMP/root" | awk '$1 == "agent" { print $2 }')
echo "$out" | grep -q '^ok keys 1 ' && echo "$out" | grep -qxF -e "$agent_key" ||
  fc_fail "the relay key does not read the root's one agent key: $out"
fc_pass "RELAY_KEYS: FC_EPERM for agent and publisher keys (root and relay), served to a relay key"

# An agent key enrolled only at the root, after both relays are up.
"$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/late" >/dev/null
late_key=$("$FC_CLI_BIN" keys add-agent "$FC_TMP/late/agent.cert" --data "$FC_TMP/root" | awk '{ print $4 }')
[ ${#late_key} = 40 ] || fc_fail "keys add-agent printed no key"
t0=$(date +%s%N)
holds() { grep -rqsF -e "$late_key" "$FC_TMP/$1/keys/agents/"; }
fc_wait_for "relay A to hold the new key" 15 holds relay-a
ta=$(date +%s%N)
fc_wait_for "relay B to hold the new key" 15 holds relay-b
tb=$(date +%s%N)
echo "figure: enrolment at the root reached relay A in $(( (ta - t0) / 1000000 )) ms, relay B in $(( (tb - t0) / 1000000 )) ms"
once() { # NAME RELAY_DATA ENDPOINT [more agent options]
  local n=$1 d=$2 ep=$3; shift 3
  FC_AGENT_SEC_ARGS=(--broker-key "$FC_TMP/$d/broker.cert" --key "$FC_TMP/late/agent.cert_secret")
  FC_AGENT_BROKER="$ep" fc_agent_run "$n" "$@"
}
fc_wait_for "the new key's agent to install through relay A" 15 once la relay-a "$A" --timeout 5
fc_wait_for "the new key's agent to install through relay B" 15 once lb relay-b "$B" --timeout 5
diff -r "$src" "$FC_TMP/la/install/current/" || fc_fail "the tree behind relay A differs"
diff -r "$src" "$FC_TMP/lb/install/current/" || fc_fail "the tree behind relay B differs"
fc_pass "an agent key enrolled only at the root installs through relay A and relay B"

# Sessions open at both relays: an honest agent (the suite's key) and the new key's agent.
daemon() { # NAME RELAY_DATA ENDPOINT KEY_SECRET
  FC_AGENT_SEC_ARGS=(--broker-key "$FC_TMP/$2/broker.cert" --key "$4")
  FC_AGENT_BROKER="$3" fc_config_agent "$1"
}
daemon ha relay-a "$A" "$FC_TMP/keys/agent.cert_secret"
daemon ra relay-a "$A" "$FC_TMP/late/agent.cert_secret"; ra_pid=$FC_LAST_PID
daemon hb relay-b "$B" "$FC_TMP/keys/agent.cert_secret"
daemon rb relay-b "$B" "$FC_TMP/late/agent.cert_secret"; rb_pid=$FC_LAST_PID
fc_config set level=1 >/dev/null || fc_fail "config set level=1"
for a in ha ra hb rb; do fc_wait_for "$a to apply level=1" 20 fc_config_has "$a" level 1; done
fc_pass "four sessions behind the relays (two with the new key) hear config revisions"

"$FC_CLI_BIN" keys revoke "$FC_TMP/late/agent.cert" --data "$FC_TMP/root" >/dev/null
t0=$(date +%s%N)
gone() { ! holds "$1"; }
fc_wait_for "relay A to drop the revoked key" 15 gone relay-a
ta=$(date +%s%N)
fc_wait_for "relay B to drop the revoked key" 15 gone relay-b
tb=$(date +%s%N)
echo "figure: revocation at the root reached relay A in $(( (ta - t0) / 1000000 )) ms, relay B in $(( (tb - t0) / 1000000 )) ms"
# Each relay's keyring looks once a second, its announce socket is re-bound at the next beat.
sleep 3
fc_config set level=2 >/dev/null || fc_fail "config set level=2"
fc_wait_for "ha to apply level=2" 20 fc_config_has ha level 2
fc_wait_for "hb to apply level=2" 20 fc_config_has hb level 2
sleep 2
kill -0 "$ra_pid" && kill -0 "$rb_pid" || fc_fail "a revoked agent died"
fc_config_has ra level 2 && fc_fail "the revoked key's session at relay A still hears announcements"
fc_config_has rb level 2 && fc_fail "the revoked key's session at relay B still hears announcements"
for r in relay-a relay-b; do
  grep -q "re-binding the announce socket" "$FC_TMP/$r.log" || fc_fail "$r did not re-bind"
done
fc_pass "revoked at the root, the key's open sessions at both relays are cut (no level=2)"
rc=0; once ra2 relay-a "$A" --timeout 3 || rc=$?
[ "$rc" = 1 ] || fc_fail "a new connection with the revoked key at relay A got exit status $rc"
rc=0; once rb2 relay-b "$B" --timeout 3 || rc=$?
[ "$rc" = 1 ] || fc_fail "a new connection with the revoked key at relay B got exit status $rc"
fc_pass "a new connection with the revoked key is refused at relay A and relay B"

# Copied back by hand at relay B: removed again, still refused. A key enrolled by hand at a
# relay (never listed by the root) is kept.
cp "$FC_TMP/late/agent.cert" "$FC_TMP/relay-b/keys/agents/copied-back.cert"
"$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/local" >/dev/null
"$FC_CLI_BIN" keys add-agent "$FC_TMP/local/agent.cert" --data "$FC_TMP/relay-b" >/dev/null
fc_wait_for "relay B to remove the copy" 10 test ! -e "$FC_TMP/relay-b/keys/agents/copied-back.cert"
sleep 1.5
rc=0; once rb3 relay-b "$B" --timeout 3 || rc=$?
[ "$rc" = 1 ] || fc_fail "the revoked key copied back by hand got exit status $rc at relay B"
FC_AGENT_SEC_ARGS=(--broker-key "$FC_TMP/relay-b/broker.cert" --key "$FC_TMP/local/agent.cert_secret")
FC_AGENT_BROKER="$B" fc_agent_run lo --timeout 20 || fc_fail "the key enrolled at relay B was refused"
fc_pass "a revoked key copied back by hand at a relay is removed and refused; a local key stays"
