#!/usr/bin/env bash
# it_relay_damaged.sh: a blob damaged at the root (--insecure): the relay fetching it finds
# that it does not match its hash, stores nothing of it, and answers the agents waiting for
# it with an ERROR naming the upstream instead of leaving them to wait; once the root's copy
# is good again, the agent installs through the relay.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_relay_root
fc_random_file "$src/app.bin" 600
fc_push "$src" 1 >/dev/null
blob=$(find "$FC_TMP/root/blobs" -type f | head -1)
[ -n "$blob" ] || fc_fail "no blob at the root"
fc_flip_byte "$blob" 1000

ports=($(fc_ports 2))
RELAY="tcp://127.0.0.1:${ports[0]}"
"$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "$RELAY" --announce "tcp://127.0.0.1:${ports[1]}" \
  --upstream "$FC_SERVICE" --insecure >"$FC_TMP/relay.log" 2>&1 &
FC_PIDS+=("$!")
fc_wait_port "${ports[0]}" || fc_fail "relay did not start: $(cat "$FC_TMP/relay.log")"
fc_wait_for "the relay mirrors release 1" 20 grep -q 'release stable 1 (serial 1) mirrored' \
  "$FC_TMP/relay.log"

FC_AGENT_BROKER="$RELAY" fc_agent_run a1 --timeout 8 --verbose &&
  fc_fail "the agent installed a damaged release"
grep -q 'content does not match its hash; discarded' "$FC_TMP/relay.log" ||
  fc_fail "the relay did not find the damage: $(tail -5 "$FC_TMP/relay.log")"
grep -q "could not fetch it from $FC_SERVICE" "$FC_TMP/a1.log" ||
  fc_fail "the agent was not told why: $(tail -5 "$FC_TMP/a1.log")"
"$FC_CHECK_BIN" --data "$FC_TMP/relay" --relay >"$FC_TMP/check" ||
  fc_fail "the relay stored damaged content: $(cat "$FC_TMP/check")"
[ ! -d "$FC_TMP/a1/install/current" ] || fc_fail "the agent has a current tree"
fc_pass "a blob damaged upstream is refused at the relay and the waiting agent told why"

# The root's copy repaired (the byte flipped back): the agent installs through the relay.
fc_flip_byte "$blob" 1000
FC_AGENT_BROKER="$RELAY" fc_agent_run a1 --timeout 60 ||
  fc_fail "the agent did not install once the root was repaired: $(tail -5 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "a1's tree differs"
fc_pass "once the root holds a good copy, the agent installs through the relay"
