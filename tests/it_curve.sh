#!/usr/bin/env bash
# it_curve.sh: CURVE transport security with real processes: the ZAP handler refuses unknown
# keys and plain connections (libzmq 4.3.4 admits anyone without one), roles are checked per
# request (an agent key cannot push or change config: FC_EPERM), an agent id belongs to the
# first agent key heard with it until that key is revoked, enrolment and revocation count
# without a restart (a revoked key is refused on its open connection too), and the programs
# refuse to run without keys unless --insecure.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
[ "${FC_INSECURE:-0}" = 1 ] && fc_skip "this suite is about the secure mode"

data="$FC_TMP/broker"
fc_start_broker "$data"
mkdir -p "$FC_TMP/src"
echo v1 >"$FC_TMP/src/app"

# A key the broker has never heard of: refused in the handshake (told so), nothing recorded.
"$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/intruder" >/dev/null
rc=0
fc_agent_run intruder --key "$FC_TMP/intruder/agent.cert_secret" --timeout 3 || rc=$?
[ "$rc" = 1 ] || fc_fail "an unknown agent key got exit status $rc (want 1: refused)"
rc=0
"$FC_CLI_BIN" --broker "$FC_SERVICE" --broker-key "$data/broker.cert" \
  --cert "$FC_TMP/intruder/agent.cert_secret" --timeout 2 status >/dev/null 2>"$FC_TMP/cli.err" || rc=$?
[ "$rc" = 1 ] && grep -q "the broker refused this publisher's key" "$FC_TMP/cli.err" ||
  fc_fail "an unknown key got an answer (status $rc): $(cat "$FC_TMP/cli.err")"
fc_cli status --json | grep -q '"intruder"' && fc_fail "the broker recorded the unknown agent"
grep -q "denied" "$FC_TMP/broker.log" && fc_fail "a request from an unknown key reached the broker"
fc_pass "an unknown CURVE key is refused and leaves no trace"

# No CURVE at all: the handshake fails, told as such.
rc=0
"$FC_CLI_BIN" --broker "$FC_SERVICE" --insecure --timeout 2 status >/dev/null 2>"$FC_TMP/cli.err" || rc=$?
[ "$rc" = 1 ] && grep -q "requires CURVE" "$FC_TMP/cli.err" ||
  fc_fail "a plain client got an answer (status $rc): $(cat "$FC_TMP/cli.err")"
rc=0
fc_agent_run plain --insecure --timeout 3 || rc=$?
[ "$rc" = 1 ] || fc_fail "a plain agent got exit status $rc (want 1)"
fc_pass "a client without CURVE is refused"

# The publisher key may push; the enrolled agent key may install but not push or configure.
fc_push "$FC_TMP/src" 1 \
  >/dev/null || fc_fail "the publisher key cannot push"
fc_pass "a publisher key can push"
as_agent=(--broker "$FC_SERVICE" --broker-key "$data/broker.cert" --cert "$FC_TMP/keys/agent.cert_secret"
  --timeout 5 --quiet)
echo v2 >"$FC_TMP/src/app"
rc=0
"$FC_CLI_BIN" "${as_agent[@]}" release push "$FC_TMP/src" --channel stable --version 2 \
  --key "$FC_TMP/keys/signing.key" >/dev/null 2>"$FC_TMP/push.err" || rc=$?
[ "$rc" = 1 ] && grep -q "needs a publisher key" "$FC_TMP/push.err" ||
  fc_fail "an agent key could push (status $rc): $(cat "$FC_TMP/push.err")"
rc=0
"$FC_CLI_BIN" "${as_agent[@]}" config set evil=1 --key "$FC_TMP/keys/signing.key" \
  >/dev/null 2>"$FC_TMP/config.err" || rc=$?
[ "$rc" = 1 ] && grep -q "needs a publisher key" "$FC_TMP/config.err" ||
  fc_fail "an agent key could set config (status $rc): $(cat "$FC_TMP/config.err")"
rc=0
"$FC_CLI_BIN" "${as_agent[@]}" audit >/dev/null 2>"$FC_TMP/audit.err" || rc=$?
[ "$rc" = 1 ] && grep -q "needs a publisher key" "$FC_TMP/audit.err" ||
  fc_fail "an agent key could read the audit log (status $rc): $(cat "$FC_TMP/audit.err")"
fc_cli release list | grep -q "stable  *2 " && fc_fail "the agent key's release was committed"
fc_cli config history | grep -q "no config revisions" || fc_fail "the agent key's revision was published"
fc_cli audit | grep -q "denied" || fc_fail "the denials are not in the audit log"
grep -q "denied CONFIG_PUSH from key" "$FC_TMP/broker.log" || fc_fail "no log line for the denial"
fc_agent_run a1 || fc_fail "an enrolled agent key cannot install: $(cat "$FC_TMP/a1.log")"
[ "$(cat "$FC_TMP/a1/install/current/app")" = v1 ] || fc_fail "a1 did not install v1"
fc_pass "an agent key installs, but push, config set and audit get FC_EPERM (audited)"

# Freshness comes with the broker's cert: its heartbeats are signed with the timestamp key
# named in broker.cert, which the agent pins from --broker-key without another option.
[ "$(fc_json_field "$FC_TMP/a1.json" stale)" = false ] || fc_fail "not fresh: $(cat "$FC_TMP/a1.json")"
[ "$(fc_json_field "$FC_TMP/a1.json" last_fresh)" != null ] ||
  fc_fail "heartbeats not checked against the cert's timestamp key: $(cat "$FC_TMP/a1.json")"
[ "$(fc_json_field "$FC_TMP/a1.json" stamps_bad)" = 0 ] || fc_fail "bad stamps: $(cat "$FC_TMP/a1.json")"
fc_pass "the broker cert pins the timestamp key: signed heartbeats are fresh"

# A cert file copied by hand into keys/agents counts without a restart.
"$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/copied" >/dev/null
cp "$FC_TMP/copied/agent.cert" "$data/keys/agents/copied-by-hand.cert"
once_ok() { fc_agent_run "$1" --key "$2" --timeout 3 2>/dev/null; }
fc_wait_for "the copied cert to be admitted" 15 once_ok copied "$FC_TMP/copied/agent.cert_secret"
fc_pass "a cert file copied into keys/agents is admitted without a restart"

# Revocation: a daemon connected with key K keeps its connection; after `keys revoke K` its
# requests on that connection are refused (per-request role check), and a new connection
# with K is refused by ZAP. No restart.
"$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/revoked" >/dev/null
out=$("$FC_CLI_BIN" keys add-agent "$FC_TMP/revoked/agent.cert" --data "$data")
key=$(awk '{ print $4 }' <<<"$out")
[ ${#key} = 40 ] || fc_fail "keys add-agent printed no key: $out"
"$FC_CLI_BIN" keys list --data "$data" | grep -qF -e "$key" || fc_fail "keys list lacks $key"
fc_config_agent r1 --key "$FC_TMP/revoked/agent.cert_secret"
fc_wait_for "r1 to report" 15 fc_agents_seen r1
"$FC_CLI_BIN" keys revoke "$FC_TMP/revoked/agent.cert" --data "$data" >/dev/null
"$FC_CLI_BIN" keys list --data "$data" | grep -qF -e "$key" && fc_fail "keys list still has $key"
sleep 1.5 # the broker looks at the key dirs once a second
echo v3 >"$FC_TMP/src/app"
fc_push "$FC_TMP/src" 3 >/dev/null
fc_wait_for "the broker to refuse r1's requests" 15 grep -qF "from key $key (role none)" "$FC_TMP/broker.log"
kill -0 "$FC_LAST_PID" || fc_fail "r1 died"
[ "$(cat "$FC_TMP/r1/install/current/app" 2>/dev/null)" = v3 ] && fc_fail "a revoked agent installed v3"
rc=0
fc_agent_run r2 --key "$FC_TMP/revoked/agent.cert_secret" --timeout 3 || rc=$?
[ "$rc" = 1 ] || fc_fail "a new connection with a revoked key got exit status $rc"
fc_agent_run a1 || fc_fail "the other agents stopped being served"
fc_pass "a revoked key is refused on its open connection and on new ones, without a restart"

# Agent ids belong to keys: an id belongs to the first agent key heard with it. Another
# enrolled agent key (a stolen one) cannot HELLO, REPORT, ack a config revision, take a
# restart slot or sync config as that id: FC_EPERM, audited, no effect, and the first agent
# (restarting with its key and id) is unaffected. Once the first key is revoked, the next
# key heard with the id takes it (agent.rebind), and the old key, enrolled again, is refused.
"$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/victim" >/dev/null
"$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/thief" >/dev/null
"$FC_CLI_BIN" keys add-agent "$FC_TMP/victim/agent.cert" --data "$data" >/dev/null
thief_key=$("$FC_CLI_BIN" keys add-agent "$FC_TMP/thief/agent.cert" --data "$data" | awk '{ print $4 }')
[ ${#thief_key} = 40 ] || fc_fail "keys add-agent printed no key for the thief"
as_key() { # CERT_SECRET ID TYPE [ARG]: fleetcast-hostile as-agent, the broker's answer
  local cert=$1; shift
  "$FC_HOSTILE_BIN" --broker-key "$data/broker.cert" --cert "$cert" as-agent "$FC_SERVICE" "$@" 2>&1
}
as_thief() { as_key "$FC_TMP/thief/agent.cert_secret" "$@"; }
as_victim() { as_key "$FC_TMP/victim/agent.cert_secret" "$@"; }
welcomed() { [ "$("$@")" = WELCOME ]; }
v1_ok() { fc_agent_run v1 --key "$FC_TMP/victim/agent.cert_secret" --timeout 3 2>/dev/null; }
fc_wait_for "v1 (victim key) to install" 15 v1_ok
fc_wait_for "the thief key to be admitted with an id of its own" 15 welcomed as_thief t1 hello
fc_config set curve.id=1 >/dev/null || fc_fail "cannot push a config revision"
rev=$(fc_cli config history | awk '$1 ~ /^[0-9]+$/ { r = $1 } END { print r }')
[ -n "$rev" ] || fc_fail "no revision in: $(fc_cli config history)"
for req in hello "report failed" "ack $rev" "slot $rev" sync; do
  out=$(as_thief v1 $req)
  grep -q "^error 13 (" <<<"$out" || fc_fail "the thief's key sent $req as v1: $out"
done
grep -qF "denied REPORT as agent v1 from key $thief_key" "$FC_TMP/broker.log" ||
  fc_fail "no log line for the refused REPORT"
audit=$(fc_cli audit)
for t in HELLO REPORT CONFIG_ACK RESTART_SLOT CONFIG_SYNC; do
  grep -qF "$t as agent v1 refused" <<<"$audit" || fc_fail "no audit line for $t as v1: $audit"
done
st=$(fc_cli status --json | tr -d ' \n')
grep -qF '"id":"v1","channel":"stable","version":"3","state":"installed"' <<<"$st" ||
  fc_fail "v1's status changed: $st"
grep -q forged <<<"$st" && fc_fail "the forged report was recorded: $st"
[ "$(fc_config_count "$rev" failed)" = 0 ] || fc_fail "the forged ack was recorded: $(fc_cli config status "$rev")"
v1_ok || fc_fail "v1 restarting with its key and id was refused: $(tail -5 "$FC_TMP/v1.log")"
[ "$(as_victim v1 report installed)" = ok ] || fc_fail "v1's own key cannot report as v1"
fc_cli config get --agent v1 >/dev/null || fc_fail "a publisher cannot read as agent v1"
fc_pass "an id belongs to its first key: another key is refused as it (FC_EPERM, audited, no effect)"

"$FC_CLI_BIN" keys revoke "$FC_TMP/victim/agent.cert" --data "$data" >/dev/null
fc_wait_for "the thief's key to take v1 once v1's key is revoked" 15 welcomed as_thief v1 hello
fc_cli audit | grep -F "agent.rebind" | grep -qF "agent v1 moved" ||
  fc_fail "the rebind is not in the audit log: $(fc_cli audit)"
[ "$(as_thief v1 report installed)" = ok ] || fc_fail "the new holder of v1 cannot report"
"$FC_CLI_BIN" keys add-agent "$FC_TMP/victim/agent.cert" --data "$data" >/dev/null
fc_wait_for "the victim key to be enrolled again" 15 welcomed as_victim v2 hello
out=$(as_victim v1 hello)
grep -q "^error 13 (" <<<"$out" || fc_fail "the old key still speaks as v1 after the rebind: $out"
fc_pass "revoking an id's key frees the id: the next key takes it (agent.rebind), the old key is refused"

# First start of an agent without --key: it makes STATE/agent.cert_secret (0600) and says
# how to enrol it; once enrolled, it works.
rc=0
"$FC_AGENT_BIN" --broker "$FC_SERVICE" --broker-key "$data/broker.cert" --channel stable \
  --install "$FC_TMP/n1/install" --state "$FC_TMP/n1/state" --trust "$FC_TMP/keys/signing.pub" \
  --id n1 --once --timeout 2 >/dev/null 2>"$FC_TMP/n1.log" || rc=$?
[ "$rc" = 1 ] || fc_fail "a new, unenrolled agent key got exit status $rc"
[ "$(stat -c %a "$FC_TMP/n1/state/agent.cert_secret")" = 600 ] || fc_fail "agent secret not 0600"
grep -q "keys add-agent" "$FC_TMP/n1.log" || fc_fail "no enrolment hint: $(cat "$FC_TMP/n1.log")"
"$FC_CLI_BIN" keys add-agent "$FC_TMP/n1/state/agent.cert" --data "$data" >/dev/null
n1_ok() {
  "$FC_AGENT_BIN" --broker "$FC_SERVICE" --broker-key "$data/broker.cert" --channel stable \
    --install "$FC_TMP/n1/install" --state "$FC_TMP/n1/state" --trust "$FC_TMP/keys/signing.pub" \
    --id n1 --once --timeout 3 >/dev/null 2>>"$FC_TMP/n1.log"
}
fc_wait_for "n1 to install once enrolled" 15 n1_ok
fc_pass "an agent makes its own key on first start, prints how to enrol it, works once enrolled"

# Refusals to start.
rc=0
"$FC_AGENT_BIN" --broker "$FC_SERVICE" --channel stable --install "$FC_TMP/x/i" --state "$FC_TMP/x/s" \
  --trust "$FC_TMP/keys/signing.pub" --once >/dev/null 2>"$FC_TMP/x.err" || rc=$?
[ "$rc" = 1 ] && grep -q -- "--broker-key" "$FC_TMP/x.err" ||
  fc_fail "agent without --broker-key: status $rc: $(cat "$FC_TMP/x.err")"
[ -e "$FC_TMP/x/s" ] && fc_fail "the refused agent created its state dir"
fc_pass "the agent refuses to start without --broker-key or --insecure"

ports=($(fc_ports 2))
rc=0
timeout 10 "$FC_BROKER_BIN" --data "$FC_TMP/nokeys" --service "tcp://127.0.0.1:${ports[0]}" \
  --announce "tcp://127.0.0.1:${ports[1]}" 2>"$FC_TMP/nokeys.err" || rc=$?
[ "$rc" = 1 ] && grep -q "fleetcast keygen --role broker --out $FC_TMP/nokeys" "$FC_TMP/nokeys.err" ||
  fc_fail "broker without keys: status $rc: $(cat "$FC_TMP/nokeys.err")"
"$FC_BROKER_BIN" --data "$FC_TMP/nokeys" --service "tcp://127.0.0.1:${ports[0]}" \
  --announce "tcp://127.0.0.1:${ports[1]}" --insecure 2>"$FC_TMP/insecure.err" &
pid=$!
FC_PIDS+=("$pid")
fc_wait_port "${ports[0]}" || fc_fail "the broker did not start with --insecure: $(cat "$FC_TMP/insecure.err")"
grep -q "WARNING: INSECURE MODE" "$FC_TMP/insecure.err" || fc_fail "no loud warning: $(cat "$FC_TMP/insecure.err")"
"$FC_CLI_BIN" --broker "tcp://127.0.0.1:${ports[0]}" --insecure --timeout 5 status >/dev/null ||
  fc_fail "a plain client cannot talk to an --insecure broker"
fc_stop "$pid"
fc_pass "the broker refuses to start without its key, and says loudly when --insecure"
