#!/usr/bin/env bash
# it_relay_upstream_gone.sh: a relay whose root dies behind a TCP proxy (which accepts each
# reconnection and closes it, as bench_relay.sh's links do) says once that its upstream went
# away, not once per reconnection attempt, and keeps running (--insecure: no key to name).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_relay_root
fc_start_proxy
ports=($(fc_ports 2))
"$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "tcp://127.0.0.1:${ports[0]}" \
  --announce "tcp://127.0.0.1:${ports[1]}" --upstream "$FC_PROXY" --insecure --verbose \
  >"$FC_TMP/relay.log" 2>&1 &
relay=$!
FC_PIDS+=("$relay")
fc_wait_port "${ports[0]}" || fc_fail "relay did not start: $(cat "$FC_TMP/relay.log")"
fc_wait_for "the relay to connect upstream" 10 grep -q "connected to upstream" "$FC_TMP/relay.log"

fc_kill9 "$FC_BROKER_PID"
sleep 6 # reconnection attempts every 0.1 to 2 s, each accepted and closed by the proxy
kill -0 "$relay" 2>/dev/null || fc_fail "the relay died: $(tail -5 "$FC_TMP/relay.log")"
gone=$(grep -c "went away" "$FC_TMP/relay.log" || true)
[ "$gone" = 1 ] || fc_fail "'went away' logged $gone times for one loss: $(grep -c 'connected to upstream' "$FC_TMP/relay.log") connects"
fc_pass "the root's loss is logged once over $(grep -c 'connected to upstream' "$FC_TMP/relay.log") reconnections, and the relay runs on"
