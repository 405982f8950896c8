#!/usr/bin/env bash
# it_relay_insecure_refused.sh: an --insecure relay whose upstream refuses its handshake (a
# CURVE root here; a dying root cut its handshakes so in the 3,000-agent benchmark) says why
# and keeps retrying: it does not crash on its missing key.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
[ "${FC_INSECURE:-0}" = 1 ] && fc_skip "this suite needs a CURVE root to refuse a plain relay"

fc_start_broker "$FC_TMP/root"
ports=($(fc_ports 2))
"$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "tcp://127.0.0.1:${ports[0]}" \
  --announce "tcp://127.0.0.1:${ports[1]}" --upstream "$FC_SERVICE" --insecure \
  >"$FC_TMP/relay.log" 2>&1 &
relay=$!
FC_PIDS+=("$relay")
fc_wait_port "${ports[0]}" || fc_fail "relay did not start: $(cat "$FC_TMP/relay.log")"

# The relay restarts its upstream link 2 s after a refusal: past two restarts it still runs.
fc_wait_for "the relay to say the root requires CURVE" 10 grep -q "requires CURVE" "$FC_TMP/relay.log"
sleep 5
kill -0 "$relay" 2>/dev/null || fc_fail "the relay died: $(tail -5 "$FC_TMP/relay.log")"
fc_pass "the --insecure relay refused by its upstream says so and keeps running: $(grep -o 'the broker at .* requires CURVE' "$FC_TMP/relay.log" | head -1)"
