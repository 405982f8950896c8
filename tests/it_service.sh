#!/usr/bin/env bash
# it_service.sh: what running as a service needs of the programs: --version on each, one
# agent per state directory (a second exits naming the PID holding it), and SIGHUP that
# reloads instead of killing (agent and broker).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

version=$(sed -n 's/^project(fleetcast VERSION \([0-9.]*\).*/\1/p' "$(dirname "$0")/../CMakeLists.txt")
[ -n "$version" ] || fc_fail "no project version in CMakeLists.txt"
for prog in "$FC_BROKER_BIN:fleetcast-broker" "$FC_AGENT_BIN:fleetcast-agent" "$FC_CLI_BIN:fleetcast"; do
  out=$("${prog%%:*}" --version) || fc_fail "${prog##*:} --version failed"
  grep -Eq "^${prog##*:} $version( \(git [^)]+\))?$" <<<"$out" || fc_fail "${prog##*:} --version printed: $out"
done
fc_pass "--version on every program: fleetcast-X $version (git describe)"

data="$FC_TMP/broker"
fc_start_broker "$data"
mkdir -p "$FC_TMP/src"
echo v1 >"$FC_TMP/src/app"
fc_push "$FC_TMP/src" 1 >/dev/null

fc_config_agent a1
a1=$FC_LAST_PID
fc_wait_for "a1 to install v1" 20 test -f "$FC_TMP/a1/install/current/app"
rc=0
fc_agent_run a1 --timeout 5 || rc=$?
[ "$rc" = 1 ] || fc_fail "a second agent on a1's state dir exited $rc (want 1)"
grep -qF "is in use by the agent with PID $a1" "$FC_TMP/a1.log" ||
  fc_fail "the second agent does not name PID $a1: $(tail -3 "$FC_TMP/a1.log")"
kill -0 "$a1" || fc_fail "the first agent died"
fc_pass "a second agent on the same state directory exits naming the PID holding it"

# SIGHUP reloads the agent: a key added to its --trust file counts, and a transfer under
# way goes on. a2 trusts only the suite's key at first.
"$FC_CLI_BIN" keygen --out "$FC_TMP/keys2" >/dev/null
cp "$FC_TMP/keys/signing.pub" "$FC_TMP/a2.trust"
FC_TRUST="$FC_TMP/a2.trust" fc_config_agent a2
a2=$FC_LAST_PID
fc_wait_for "a2 to install v1" 20 test -f "$FC_TMP/a2/install/current/app"
fc_random_file "$FC_TMP/src/app" 20480 # 20 MiB
fc_cli release push "$FC_TMP/src" --channel stable --version 2 --key "$FC_TMP/keys2/signing.key" \
  --cert "$FC_TMP/keys/publisher.cert_secret" >/dev/null
fc_wait_for "a2 to reject v2 (untrusted key)" 20 grep -q "rejected" "$FC_TMP/a2.log"
cat "$FC_TMP/keys2/signing.pub" >>"$FC_TMP/a2.trust"
kill -HUP "$a2"
fc_wait_for "a2 to reload" 10 grep -qF "SIGHUP: reloading" "$FC_TMP/a2.log"
grep -qF "trusted keys read again from $FC_TMP/a2.trust" "$FC_TMP/a2.log" || fc_fail "no reload line: $(cat "$FC_TMP/a2.log")"
# More hangups while it downloads: none may stop or restart the transfer.
for _ in 1 2 3; do kill -HUP "$a2" 2>/dev/null || break; sleep 0.2; done
fc_wait_for "a2 to install v2 under the reloaded keys" 60 cmp -s "$FC_TMP/src/app" "$FC_TMP/a2/install/current/app"
kill -0 "$a2" || fc_fail "SIGHUP killed the agent"
grep -q "connection lost\|starting over" "$FC_TMP/a2.log" && fc_fail "a hangup disturbed the transfer: $(cat "$FC_TMP/a2.log")"
fc_pass "SIGHUP: the agent reads its --trust file again and keeps its transfers; it does not die"

kill -HUP "$FC_BROKER_PID"
fc_wait_for "the broker to log the hangup" 10 grep -qF "SIGHUP" "$FC_TMP/broker.log"
kill -0 "$FC_BROKER_PID" || fc_fail "SIGHUP killed the broker"
fc_cli status >/dev/null || fc_fail "the broker does not answer after SIGHUP"
fc_pass "SIGHUP does not kill the broker"
