#!/usr/bin/env bash
# it_revoke_announce.sh: a revoked agent key stops hearing announcements on the connection it
# opened before the revocation: the broker re-binds its announce socket when it notices a
# revocation, so every subscriber authenticates again. A config revision published after the
# revocation does not reach the revoked agent, while an honest agent still gets it, on the
# same announce endpoint; re-binds in a row (ten revocations) all succeed at once.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
[ "${FC_INSECURE:-0}" = 1 ] && fc_skip "this suite is about the secure mode"

data="$FC_TMP/broker"
fc_start_broker "$data"
fc_enroll_agent gone "$data"
fc_config_agent h1
fc_config_agent r1 --key "$FC_TMP/gone/agent.cert_secret"
rpid=$FC_LAST_PID
fc_wait_for "the agents to say HELLO" 20 fc_agents_seen h1 r1
fc_config set level=1 >/dev/null || fc_fail "config set"
fc_wait_for "h1 to apply level=1" 20 fc_config_has h1 level 1
fc_wait_for "r1 to apply level=1" 20 fc_config_has r1 level 1
fc_pass "both agents hear config revisions before the revocation"

"$FC_CLI_BIN" keys revoke "$FC_TMP/gone/agent.cert" --data "$data" >/dev/null
# "Within seconds": the keyring is looked at once a second, the announce socket re-bound at
# the next heartbeat after that.
sleep 3
fc_config set level=2 >/dev/null || fc_fail "config set after the revocation"
fc_wait_for "h1 to apply level=2" 20 fc_config_has h1 level 2
sleep 2
kill -0 "$rpid" || fc_fail "r1 died"
fc_config_has r1 level 2 && fc_fail "the revoked agent still hears announcements (config values included)"
fc_config_has r1 level 1 || fc_fail "r1 lost its last good config: $(fc_config_text r1)"
grep -q "re-binding the announce socket" "$FC_TMP/broker.log" ||
  fc_fail "the broker did not log the re-bind: $(tail -5 "$FC_TMP/broker.log")"
fc_pass "a revoked agent key no longer hears announcements; an honest agent still does"

# Nothing lost for the honest agent: several revisions in a row around another revocation.
fc_enroll_agent gone2 "$data"
"$FC_CLI_BIN" keys revoke "$FC_TMP/gone2/agent.cert" --data "$data" >/dev/null
for i in 3 4 5 6; do fc_config set "step$i=$i" >/dev/null || fc_fail "config set $i"; sleep 0.5; done
for i in 3 4 5 6; do fc_wait_for "h1 to apply step$i" 20 fc_config_has h1 "step$i" "$i"; done
fc_pass "an honest agent loses no revision across a re-bind"

# Re-binds in a row: zmq_unbind closes the listener on libzmq's I/O thread, so a bind at once
# to the same port may find it still in use; the broker must keep trying (briefly), not leave
# the announce socket unbound until the next heartbeat. Ten revocations, one a heartbeat or
# so apart, each a re-bind: none may fail, and the honest agent still hears what follows.
for i in $(seq 1 10); do
  "$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/many$i" >/dev/null
  "$FC_CLI_BIN" keys add-agent "$FC_TMP/many$i/agent.cert" --data "$data" >/dev/null
done
sleep 1.5
for i in $(seq 1 10); do
  "$FC_CLI_BIN" keys revoke "$FC_TMP/many$i/agent.cert" --data "$data" >/dev/null
  sleep 1.2
done
sleep 1
binds=$(grep -c "re-binding the announce socket" "$FC_TMP/broker.log" || true)
[ "$binds" -ge 8 ] || fc_fail "only $binds re-binds logged for 12 revocations"
grep -q "cannot bind the announce endpoint" "$FC_TMP/broker.log" &&
  fc_fail "a re-bind failed: $(grep -m1 "cannot bind the announce endpoint" "$FC_TMP/broker.log")"
fc_config set after=1 >/dev/null || fc_fail "config set after the re-binds"
fc_wait_for "h1 to apply after=1" 20 fc_config_has h1 after 1
fc_pass "$binds re-binds of the announce socket, none failed; the honest agent still hears"
