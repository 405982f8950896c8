#!/usr/bin/env bash
# it_relay_heartbeat.sh: the root's signed heartbeat end to end through relays (--insecure
# links, the root signing with --timestamp-key): an agent behind a relay pinning the root's
# key is fresh, one pinning another key is not; a frozen root (SIGSTOP) behind a live relay
# makes it stale and fresh again when the root resumes; a relay following a fake root that
# replays recorded heartbeats does not make them fresh; the stamp passes a chain of relays.
set -euo pipefail
export FC_INSECURE=1
source "$(dirname "$0")/lib.sh" "$1"
FAKEBEAT="$FC_BUILD/tests/fc_fakebeat"
[ -x "$FAKEBEAT" ] || fc_skip "fc_fakebeat not built"

fc_keygen
"$FC_CLI_BIN" keygen --out "$FC_TMP/ts" >/dev/null    # the root's timestamp key
"$FC_CLI_BIN" keygen --out "$FC_TMP/other" >/dev/null # a key the agents do not pin
fc_start_broker "$FC_TMP/root" --timestamp-key "$FC_TMP/ts/signing.key"
ROOT="$FC_SERVICE"
ROOT_PID="$FC_BROKER_PID"
pin=(--timestamp-key "$FC_TMP/ts/signing.pub")

# start_relay NAME UPSTREAM: a relay (no timestamp key of its own); sets RELAY, RELAY_PID.
start_relay() {
  local ports; ports=($(fc_ports 2))
  RELAY="tcp://127.0.0.1:${ports[0]}"
  "$FC_BROKER_BIN" --data "$FC_TMP/$1" --service "$RELAY" --announce "tcp://127.0.0.1:${ports[1]}" \
    --upstream "$2" --insecure >"$FC_TMP/$1.log" 2>&1 &
  RELAY_PID=$!
  FC_PIDS+=("$RELAY_PID")
  fc_wait_port "${ports[0]}" || fc_fail "relay $1 did not start: $(cat "$FC_TMP/$1.log")"
}
start_relay relay "$ROOT"
R1="$RELAY"

# 1. Behind the relay, the root's stamps are fresh for an agent pinning the root's key.
FC_AGENT_BROKER="$R1" fc_agent_run f1 "${pin[@]}" --freeze-after 5 --timeout 10 ||
  fc_fail "pinned agent behind a relay: exit $?: $(cat "$FC_TMP/f1.log")"
[ "$(fc_json_field "$FC_TMP/f1.json" stale)" = false ] || fc_fail "f1: $(cat "$FC_TMP/f1.json")"
[ "$(fc_json_field "$FC_TMP/f1.json" heartbeats)" -gt 0 ] || fc_fail "f1 counted no heartbeat"
[ "$(fc_json_field "$FC_TMP/f1.json" stamps_replayed)" = 0 ] ||
  fc_fail "a live root's stamps counted as replayed behind the relay: $(cat "$FC_TMP/f1.json")"
fc_pass "agent behind a relay, pinning the root's key: fresh ($(fc_json_field "$FC_TMP/f1.json" heartbeats) heartbeats, none replayed)"

# 2. Pinning another key behind the relay: nothing is fresh, exit 4.
rc=0
FC_AGENT_BROKER="$R1" fc_agent_run f2 --timestamp-key "$FC_TMP/other/signing.pub" \
  --freeze-after 5 --timeout 3 || rc=$?
[ "$rc" = 4 ] && [ "$(fc_json_field "$FC_TMP/f2.json" stamps_bad)" -gt 0 ] ||
  fc_fail "another key pinned behind the relay: exit $rc: $(cat "$FC_TMP/f2.json")"
fc_pass "behind a relay, a key other than the root's: dropped ($(fc_json_field "$FC_TMP/f2.json" stamps_bad)), exit 4"

# 3. A frozen root behind a live relay: the daemon says stale, then fresh again.
mkdir -p "$FC_TMP/d1"
"$FC_AGENT_BIN" "${FC_AGENT_SEC_ARGS[@]}" --broker "$R1" --channel stable --install "$FC_TMP/d1/install" \
  --state "$FC_TMP/d1/state" --trust "$FC_TMP/keys/signing.pub" --id d1 "${pin[@]}" \
  --freeze-after 2 >"$FC_TMP/d1.log" 2>&1 &
FC_PIDS+=($!)
fc_wait_for "d1 to say HELLO" 20 grep -q "following channel" "$FC_TMP/d1.log"
sleep 3
! grep -q "stale:" "$FC_TMP/d1.log" || fc_fail "stale while the root beats: $(cat "$FC_TMP/d1.log")"
kill -STOP "$ROOT_PID"
fc_wait_for "d1 to notice the frozen root behind the relay" 10 grep -q \
  "stale: no fresh signed timestamp" "$FC_TMP/d1.log"
kill -0 "$RELAY_PID" || fc_fail "the relay died"
kill -CONT "$ROOT_PID"
fc_wait_for "d1 to see fresh root timestamps again" 15 grep -q \
  "fresh signed timestamps from the broker again" "$FC_TMP/d1.log"
fc_pass "frozen root behind a live relay: $(grep -m1 -o 'stale: .*' "$FC_TMP/d1.log")"

# 4. The root's stamp passes a chain: root -> relay -> relay2 -> agent.
start_relay relay2 "$R1"
R2="$RELAY"
FC_AGENT_BROKER="$R2" fc_agent_run f3 "${pin[@]}" --freeze-after 5 --timeout 10 ||
  fc_fail "pinned agent behind two relays: exit $?: $(cat "$FC_TMP/f3.log")"
[ "$(fc_json_field "$FC_TMP/f3.json" heartbeats)" -gt 0 ] || fc_fail "f3 counted no heartbeat"
fc_pass "behind two relays the root's stamps are fresh ($(fc_json_field "$FC_TMP/f3.json" heartbeats) heartbeats)"

# 5. A relay following a fake root that replays the real root's recorded heartbeats (once
#    older than --freeze-after): validly signed, carried, never fresh.
"$FAKEBEAT" record "$FC_ANNOUNCE" 3 "$FC_TMP/beats" || fc_fail "could not record heartbeats"
sleep 3
ports=($(fc_ports 2))
fake_svc="tcp://127.0.0.1:${ports[0]}"
"$FAKEBEAT" serve "$fake_svc" "tcp://127.0.0.1:${ports[1]}" replay "$FC_TMP/beats" \
  >>"$FC_TMP/fake.log" 2>&1 &
FC_PIDS+=($!)
fc_wait_port "${ports[0]}" || fc_fail "fake root did not start: $(cat "$FC_TMP/fake.log")"
start_relay relay3 "$fake_svc"
rc=0
FC_AGENT_BROKER="$RELAY" fc_agent_run f4 "${pin[@]}" --freeze-after 2 --timeout 4 || rc=$?
[ "$rc" = 4 ] || fc_fail "replayed root behind a relay: exit $rc, want 4: $(cat "$FC_TMP/f4.json") $(cat "$FC_TMP/f4.log")"
[ "$(fc_json_field "$FC_TMP/f4.json" stamps_replayed)" -gt 0 ] ||
  fc_fail "the replayed root stamps were not carried and dropped: $(cat "$FC_TMP/f4.json") $(tail -5 "$FC_TMP/relay3.log")"
fc_pass "replaying root behind a relay: carried but old, dropped ($(fc_json_field "$FC_TMP/f4.json" stamps_replayed)), exit 4"
