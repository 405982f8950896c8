#!/usr/bin/env bash
# it_freeze.sh: the freeze defence. A broker with --timestamp-key signs its heartbeats; an
# agent pinning that key counts only fresh, validly signed timestamps. When the broker stops
# sending them the agent says it is stale (log, REPORT, --once exit 4); heartbeats that are
# forged, unsigned or replayed from an earlier recording never count as fresh.
set -euo pipefail
# Plain transport: the fake broker below speaks no CURVE, and the timestamp keys are given
# explicitly (it_curve.sh checks the key a secure broker's cert pins).
export FC_INSECURE=1
source "$(dirname "$0")/lib.sh" "$1"
FAKEBEAT="$FC_BUILD/tests/fc_fakebeat"
[ -x "$FAKEBEAT" ] || fc_skip "fc_fakebeat not built"

fc_keygen
"$FC_CLI_BIN" keygen --out "$FC_TMP/ts" >/dev/null    # the broker's timestamp key
"$FC_CLI_BIN" keygen --out "$FC_TMP/other" >/dev/null # a key the agents do not pin
fc_start_broker "$FC_TMP/broker" --timestamp-key "$FC_TMP/ts/signing.key"
pin=(--timestamp-key "$FC_TMP/ts/signing.pub")

# 1. A live broker: fresh. The exit status says so, and so does the JSON.
fc_agent_run f1 "${pin[@]}" --freeze-after 5 --timeout 10 ||
  fc_fail "pinned agent against a live broker: exit $?: $(cat "$FC_TMP/f1.log")"
[ "$(fc_json_field "$FC_TMP/f1.json" stale)" = false ] || fc_fail "live broker: $(cat "$FC_TMP/f1.json")"
[ "$(fc_json_field "$FC_TMP/f1.json" last_fresh)" != null ] || fc_fail "no last_fresh: $(cat "$FC_TMP/f1.json")"
# The verified heartbeats are counted (fleetcast-fleetsim waits on that count).
[ "$(fc_json_field "$FC_TMP/f1.json" heartbeats)" -gt 0 ] || fc_fail "no heartbeats counted: $(cat "$FC_TMP/f1.json")"
fc_pass "live broker with signed heartbeats: fresh, last_fresh $(fc_json_field "$FC_TMP/f1.json" last_fresh), $(fc_json_field "$FC_TMP/f1.json" heartbeats) heartbeats"

# 2. The broker's heartbeats checked against another key: none is fresh, --once exits 4.
rc=0
fc_agent_run f2 --timestamp-key "$FC_TMP/other/signing.pub" --freeze-after 5 --timeout 3 || rc=$?
[ "$rc" = 4 ] || fc_fail "wrong pinned key: exit $rc, want 4: $(cat "$FC_TMP/f2.json")"
[ "$(fc_json_field "$FC_TMP/f2.json" stale)" = true ] || fc_fail "not stale: $(cat "$FC_TMP/f2.json")"
[ "$(fc_json_field "$FC_TMP/f2.json" stamps_bad)" -gt 0 ] || fc_fail "bad stamps not counted"
[ "$(fc_json_field "$FC_TMP/f2.json" heartbeats)" = 0 ] || fc_fail "dropped heartbeats counted as heard: $(cat "$FC_TMP/f2.json")"
fc_pass "heartbeats signed by another key: dropped ($(fc_json_field "$FC_TMP/f2.json" stamps_bad)), exit 4"

# 3. A daemon whose broker freezes (SIGSTOP: no heartbeats at all) says it is stale, and
#    fresh again once the broker resumes.
mkdir -p "$FC_TMP/d1"
"$FC_AGENT_BIN" "${FC_AGENT_SEC_ARGS[@]}" --broker "$FC_SERVICE" --channel stable \
  --install "$FC_TMP/d1/install" --state "$FC_TMP/d1/state" --trust "$FC_TMP/keys/signing.pub" \
  --id d1 "${pin[@]}" --freeze-after 2 >"$FC_TMP/d1.log" 2>&1 &
FC_PIDS+=($!)
fc_wait_for "d1 to say HELLO" 20 grep -q "following channel" "$FC_TMP/d1.log"
sleep 3
! grep -q "stale:" "$FC_TMP/d1.log" || fc_fail "stale while the broker beats: $(cat "$FC_TMP/d1.log")"
kill -STOP "$FC_BROKER_PID"
fc_wait_for "d1 to notice the frozen broker" 10 grep -q "stale: no fresh signed timestamp" "$FC_TMP/d1.log"
kill -CONT "$FC_BROKER_PID"
fc_wait_for "d1 to see fresh timestamps again" 10 grep -q "fresh signed timestamps from the broker again" "$FC_TMP/d1.log"
fc_pass "frozen broker: $(grep -m1 -o 'stale: .*' "$FC_TMP/d1.log")"

# 4. The REPORT says so too: a daemon pinning another key is stale in the fleet status.
mkdir -p "$FC_TMP/d2"
"$FC_AGENT_BIN" "${FC_AGENT_SEC_ARGS[@]}" --broker "$FC_SERVICE" --channel stable \
  --install "$FC_TMP/d2/install" --state "$FC_TMP/d2/state" --trust "$FC_TMP/keys/signing.pub" \
  --id d2 --timestamp-key "$FC_TMP/other/signing.pub" --freeze-after 1 >"$FC_TMP/d2.log" 2>&1 &
FC_PIDS+=($!)
d2_stale() { fc_cli status --json | tr '}' '\n' | grep '"id": *"d2"' | grep -q STALE; }
fc_wait_for "the broker to hear that d2 is stale" 30 d2_stale
fc_pass "stale agent reported to the broker: $(fc_cli status | grep '^d2' | grep -o 'STALE.*')"

# 5. A replay: heartbeats recorded from the real broker, played back by a fake broker once
#    they are older than --freeze-after. Validly signed, but never fresh.
"$FAKEBEAT" record "$FC_ANNOUNCE" 3 "$FC_TMP/beats" || fc_fail "could not record heartbeats"
sleep 3
ports=($(fc_ports 2))
fake_svc="tcp://127.0.0.1:${ports[0]}"
fake_pub="tcp://127.0.0.1:${ports[1]}"
start_fake() {
  "$FAKEBEAT" serve "$fake_svc" "$fake_pub" "$@" >>"$FC_TMP/fake.log" 2>&1 &
  FAKE_PID=$!
  FC_PIDS+=("$FAKE_PID")
  fc_wait_port "${ports[0]}" || fc_fail "fake broker did not start: $(cat "$FC_TMP/fake.log")"
}
start_fake replay "$FC_TMP/beats"
rc=0
FC_AGENT_BROKER=$fake_svc fc_agent_run f3 "${pin[@]}" --freeze-after 2 --timeout 3 || rc=$?
[ "$rc" = 4 ] || fc_fail "replayed heartbeats: exit $rc, want 4: $(cat "$FC_TMP/f3.json") $(cat "$FC_TMP/f3.log")"
[ "$(fc_json_field "$FC_TMP/f3.json" stamps_replayed)" -gt 0 ] || fc_fail "replays not counted: $(cat "$FC_TMP/f3.json")"
[ "$(fc_json_field "$FC_TMP/f3.json" stamps_bad)" = 0 ] || fc_fail "the recording's signatures should verify"
fc_pass "replayed heartbeats: validly signed but old, dropped ($(fc_json_field "$FC_TMP/f3.json" stamps_replayed)), exit 4"
fc_stop "$FAKE_PID"

# 6. A fake broker signing with its own key, from the future, or not signing: never fresh
#    for a pinned agent.
start_fake forge "$FC_TMP/other/signing.key"
rc=0
FC_AGENT_BROKER=$fake_svc fc_agent_run f4 "${pin[@]}" --timeout 3 || rc=$?
[ "$rc" = 4 ] && [ "$(fc_json_field "$FC_TMP/f4.json" stamps_bad)" -gt 0 ] ||
  fc_fail "forged heartbeats: exit $rc: $(cat "$FC_TMP/f4.json")"
# Every heartbeat was forged: none counts as heard.
[ "$(fc_json_field "$FC_TMP/f4.json" heartbeats)" = 0 ] || fc_fail "forged heartbeats counted: $(cat "$FC_TMP/f4.json")"
fc_pass "forged heartbeats: dropped ($(fc_json_field "$FC_TMP/f4.json" stamps_bad)), exit 4"
fc_stop "$FAKE_PID"
# Validly signed but an hour ahead (a broker clock gone wrong, or a key used to pre-sign):
# not fresh either, or every honest timestamp after it would look old.
start_fake future "$FC_TMP/ts/signing.key"
rc=0
FC_AGENT_BROKER=$fake_svc fc_agent_run f7 "${pin[@]}" --timeout 3 || rc=$?
[ "$rc" = 4 ] && [ "$(fc_json_field "$FC_TMP/f7.json" stamps_bad)" -gt 0 ] ||
  fc_fail "future heartbeats: exit $rc: $(cat "$FC_TMP/f7.json")"
fc_pass "heartbeats from an hour ahead: dropped ($(fc_json_field "$FC_TMP/f7.json" stamps_bad)), exit 4"
fc_stop "$FAKE_PID"
start_fake unsigned
rc=0
FC_AGENT_BROKER=$fake_svc fc_agent_run f5 "${pin[@]}" --timeout 3 || rc=$?
[ "$rc" = 4 ] || fc_fail "unsigned heartbeats for a pinned agent: exit $rc"
# Without a pinned key the agent behaves as before: unsigned heartbeats are fine.
rc=0
FC_AGENT_BROKER=$fake_svc fc_agent_run f6 --timeout 5 || rc=$?
[ "$rc" = 0 ] && [ "$(fc_json_field "$FC_TMP/f6.json" stale)" = false ] ||
  fc_fail "unpinned agent: exit $rc: $(cat "$FC_TMP/f6.json") $(cat "$FC_TMP/f6.log")"
fc_pass "unsigned heartbeats: exit 4 when a key is pinned, 0 when none is"
