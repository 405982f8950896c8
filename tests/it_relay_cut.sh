#!/usr/bin/env bash
# it_relay_cut.sh: a relay's upstream link cut mid-transfer, and gone for seconds, while an
# agent behind it fetches: the agent finishes once the link is back; a relay restarted with
# the blobs it fetched serves a new agent without fetching them again.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_relay_root
ROOT_PORT=${ROOT##*:}
for i in 1 2 3 4; do fc_random_file "$src/file-$i.bin" 1024; done # 4 MiB
fc_push "$src" 1 >/dev/null

LINK_PORT=$(fc_ports 1)
# Proxy on the relay's upstream link (same port each time): fc_link NAME [proxy options].
fc_link() {
  local name=$1; shift
  "$FC_PROXY_BIN" --listen "127.0.0.1:$LINK_PORT" --upstream "127.0.0.1:$ROOT_PORT" "$@" \
    >/dev/null 2>"$FC_TMP/$name.log" &
  LINK_PID=$!
  FC_PIDS+=("$LINK_PID")
  fc_wait_port "$LINK_PORT" || fc_fail "proxy $name did not start: $(cat "$FC_TMP/$name.log")"
}
# NAME: stops the link's proxy, prints "CUTS BYTES". Called in a subshell, where `wait`
# cannot wait for the proxy: wait for its summary line (as fc_stop_proxy does).
fc_link_stop() {
  fc_stop "$LINK_PID"
  local i
  for i in $(seq 200); do
    grep -q '^cuts [0-9]* bytes [0-9]*$' "$FC_TMP/$1.log" 2>/dev/null && break
    sleep 0.05
  done
  sed -n 's/.*cuts \([0-9]*\) bytes \([0-9]*\).*/\1 \2/p' "$FC_TMP/$1.log" | tail -1
}
ports=($(fc_ports 2))
RELAY="tcp://127.0.0.1:${ports[0]}"
fc_relay_start() {
  "$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "$RELAY" \
    --announce "tcp://127.0.0.1:${ports[1]}" --upstream "tcp://127.0.0.1:$LINK_PORT" --insecure \
    >>"$FC_TMP/relay.log" 2>&1 &
  RELAY_PID=$!
  FC_PIDS+=("$RELAY_PID")
  fc_wait_port "${ports[0]}" || fc_fail "relay did not start: $(tail -5 "$FC_TMP/relay.log")"
}

# 1. The link closes after every 1.5 MB it carries: a 4 MiB release needs at least three
#    connections, each cut in the middle of pieces in flight.
fc_link cut --cut-every 1500000 --max-cuts 4
fc_relay_start
fc_wait_for "the relay mirrors release 1" 20 grep -q 'release stable 1 (serial 1) mirrored' \
  "$FC_TMP/relay.log"
FC_AGENT_BROKER="$RELAY" fc_agent_run a1 --timeout 90 ||
  fc_fail "agent a1 failed behind a link cut mid-transfer: $(tail -5 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "a1's tree differs"
read -r cuts _ < <(fc_link_stop cut)
[ "$cuts" -ge 2 ] || fc_fail "the link was cut $cuts times, expected at least 2"
fc_pass "an agent behind the relay installs through $cuts cuts of the upstream link"

# 2. The link slowed, then gone for 3 s in the middle of release 2's transfer: the agent
#    does not finish meanwhile, and finishes once the link is back.
fc_link slow --rate 1000000
fc_random_file "$src/file-5.bin" 3072
fc_push "$src" 2 >/dev/null
fc_wait_for "the relay mirrors release 2" 20 grep -q 'release stable 2 (serial 2) mirrored' \
  "$FC_TMP/relay.log"
FC_AGENT_BROKER="$RELAY" fc_agent_once a1 --timeout 90 &
agent=$!
sleep 1
read -r _ part < <(fc_link_stop slow)
[ "$part" -gt 0 ] && [ "$part" -lt $((3072 * 1024)) ] ||
  fc_fail "the link carried $part bytes before it went: not mid-transfer"
sleep 3
kill -0 "$agent" 2>/dev/null || fc_fail "the agent finished while the relay's upstream was away"
fc_link back
wait "$agent" || fc_fail "agent a1 did not finish release 2 once the link was back: $(tail -5 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 2's tree differs"
fc_link_stop back >/dev/null
fc_pass "with the upstream gone after $part bytes of a 3 MiB file, the agent finishes when it returns"

# 3. The relay restarted keeps what it fetched: a new agent installs release 2 and the
#    upstream link carries none of its blobs.
fc_stop "$RELAY_PID"
fc_link warm
fc_relay_start
FC_AGENT_BROKER="$RELAY" fc_agent_run a3 --timeout 60 ||
  fc_fail "agent a3 failed behind the restarted relay: $(tail -5 "$FC_TMP/a3.log")"
diff -r "$src" "$FC_TMP/a3/install/current/" || fc_fail "a3's tree differs"
read -r _ bytes < <(fc_link_stop warm)
[ "$bytes" -lt 65536 ] || fc_fail "a warm relay fetched $bytes bytes from upstream again"
fc_pass "a relay restarted with its blobs serves a new agent; the upstream link carried $bytes bytes"
