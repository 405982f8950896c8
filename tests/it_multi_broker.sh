#!/usr/bin/env bash
# it_multi_broker.sh: agents and the CLI given several brokers (two relays of one root, which
# serve the same data): an agent whose relay is SIGKILLed mid-download finishes through the
# other within 10 s of the kill, fetching at most one window twice; the CLI and an agent
# whose first broker is dead use the next; the list works from a config file too.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

# The root signs its heartbeats (--timestamp-key); agent a1 pins that key, so its freshness
# is checked end to end through whichever relay it is on.
export FC_INSECURE=1
fc_keygen
"$FC_CLI_BIN" keygen --out "$FC_TMP/ts" >/dev/null
fc_start_broker "$FC_TMP/root" --timestamp-key "$FC_TMP/ts/signing.key"
ROOT="$FC_SERVICE"
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/big.bin" 4096 # 4 MiB
printf 'hello\n' >"$src/hello.txt"
fc_push "$src" 1 >/dev/null
size=$(du -bc "$src"/* | tail -1 | cut -f1)

# fc_start_relay NAME: a relay of the root on free ports; sets RELAY_EP and RELAY_PID.
fc_start_relay() {
  local ports; ports=($(fc_ports 2))
  RELAY_EP="tcp://127.0.0.1:${ports[0]}"
  "$FC_BROKER_BIN" --data "$FC_TMP/$1" --service "$RELAY_EP" \
    --announce "tcp://127.0.0.1:${ports[1]}" --upstream "$ROOT" --insecure >"$FC_TMP/$1.log" 2>&1 &
  RELAY_PID=$!
  FC_PIDS+=("$RELAY_PID")
  fc_wait_port "${ports[0]}" || fc_fail "relay $1 did not start: $(cat "$FC_TMP/$1.log")"
  fc_wait_for "relay $1 mirrors release 1" 20 grep -q 'release stable 1 (serial 1) mirrored' \
    "$FC_TMP/$1.log"
}
fc_start_relay relayA
A="$RELAY_EP"
A_PID=$RELAY_PID
fc_start_relay relayB
B="$RELAY_EP"
# Relay B already serves other agents: one has installed the release through it, so its
# cache holds the chunks (the time after the kill is the move, not B's upstream fetches).
FC_AGENT_BROKER="$B" fc_agent_run w --timeout 60 || fc_fail "agent w through relay B failed"

# The agent reaches relay A through a proxy at 500 kB/s, so the 4 MiB download lasts ~8 s;
# relay B directly. The proxy stays up after the kill: connections through it to the dead
# relay open and close, which must count as lost too.
FC_SERVICE="$A"
fc_start_proxy --rate 500000
SLOW_A="$FC_PROXY"
window=$((1024 * 1024))
FC_AGENT_BROKER="$SLOW_A,$B" fc_agent_once a1 --timeout 60 --window "$window" \
  --timestamp-key "$FC_TMP/ts/signing.pub" &
fc_kill_mid_download $! "$A_PID" a1 "$src"
took=$FC_TOOK
grep -q "broker $SLOW_A lost; moving to $B" "$FC_TMP/a1.log" ||
  fc_fail "the move is not logged: $(cat "$FC_TMP/a1.log")"
[ "$(grep -c 'lost; moving to' "$FC_TMP/a1.log")" = 1 ] ||
  fc_fail "the move is logged more than once: $(cat "$FC_TMP/a1.log")"
moves=$(fc_json_field "$FC_TMP/a1.json" broker_moves)
[ "$moves" = 1 ] || fc_fail "broker_moves is '$moves', not 1"
fc_pass "relay A SIGKILLed mid-download: the agent finished through relay B $took s after the kill"
echo "# $(grep 'lost; moving to' "$FC_TMP/a1.log" | sed 's/.*fleetcast-agent: //')"
# The move is neither a replay nor a gap: the root's stamps through B are newer than those
# through A, and the agent took B's epoch and sequence from its WELCOME.
[ "$(fc_json_field "$FC_TMP/a1.json" stamps_replayed)" = 0 ] ||
  fc_fail "the move raised replayed stamps: $(cat "$FC_TMP/a1.json")"
[ "$(fc_json_field "$FC_TMP/a1.json" stale)" = false ] || fc_fail "the agent is stale after the move"
[ "$(fc_json_field "$FC_TMP/a1.json" heartbeats)" -gt 0 ] || fc_fail "no fresh heartbeat accepted"
grep -q "now served by $B" "$FC_TMP/a1.log" || fc_fail "the new broker is not logged: $(cat "$FC_TMP/a1.log")"
! grep -q "broker restarted" "$FC_TMP/a1.log" || fc_fail "the move was taken for a restart"
fc_pass "after the move: no stamp replayed, not stale, B's epoch taken as a move (not a restart)"

# Chunks fetched twice: what was fetched beyond what the release needed (none was reused).
twice=$(fc_fetched_twice a1 "$size" "$window")
# The download continued: part of it came before the kill (through the proxy) and was kept.
read -r _ through_a < <(fc_stop_proxy)
[ "$through_a" -gt $((256 * 1024)) ] ||
  fc_fail "only $through_a bytes came through relay A: the kill was not mid-download"
fc_pass "fetched twice: $twice bytes (window $window); $through_a bytes had come through relay A"

# An agent with a config file listing a dead broker first: it installs through the next.
cat >"$FC_TMP/a2.conf" <<CONF
broker = "$A,$B"
insecure = true
channel = stable
install = "$FC_TMP/a2/install"
state = "$FC_TMP/a2/state"
trust = "$FC_TMP/keys/signing.pub"
id = a2
once = true
timeout = 30
CONF
"$FC_AGENT_BIN" --config "$FC_TMP/a2.conf" >/dev/null 2>"$FC_TMP/a2.log" ||
  fc_fail "the agent from a config file with two brokers failed: $(cat "$FC_TMP/a2.log")"
diff -r "$src" "$FC_TMP/a2/install/current/" || fc_fail "a2's tree differs from the release"
grep -q "broker $A lost; moving to $B" "$FC_TMP/a2.log" || fc_fail "a2's move is not logged: $(cat "$FC_TMP/a2.log")"
fc_pass "an agent from a config file with 'broker = A,B' (A dead) installs through B"

# The CLI: a dead broker first, the live one next.
dead=$(fc_ports 1)
out=$("$FC_CLI_BIN" --insecure --broker "tcp://127.0.0.1:$dead,$B" --timeout 20 status 2>&1) ||
  fc_fail "status with a dead broker first failed: $out"
echo "$out" | grep -q a1 || fc_fail "status through the second broker does not list a1: $out"
fc_pass "fleetcast status --broker DEAD,LIVE answers through the live one"
# Every broker dead: it fails, naming the last one tried, well before its --timeout.
t0=$(date +%s)
out=$("$FC_CLI_BIN" --insecure --broker "tcp://127.0.0.1:$dead,$A" --timeout 30 status 2>&1) &&
  fc_fail "status with every broker dead succeeded: $out"
[ $(($(date +%s) - t0)) -lt 20 ] || fc_fail "status with every broker dead took until its timeout: $out"
echo "$out" | grep -q "nothing listens at" ||
  fc_fail "the failure with every broker dead says nothing useful: $out"
fc_pass "fleetcast status with every broker dead fails early: $out"
