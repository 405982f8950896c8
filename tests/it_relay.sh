#!/usr/bin/env bash
# it_relay.sh: a relay broker between the root and its agents (--insecure on both links):
# agents behind it install the root's releases, each byte of a release crosses the relay's
# upstream link once (counted by a fault proxy on that link), later releases follow by
# announcement, and publisher operations at the relay are refused naming the root.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_relay_root
mkdir -p "$src/sub"
for i in 1 2 3; do fc_random_file "$src/file-$i.bin" 1024; done # 3 x 1 MiB
fc_random_file "$src/sub/small" 3
printf 'hello\n' >"$src/sub/hello.txt"
fc_push "$src" 1 >/dev/null
size=$(du -bc "$src"/file-*.bin "$src"/sub/* | tail -1 | cut -f1)

# The relay reaches the root through the proxy, which counts what crosses that link.
fc_start_proxy
ports=($(fc_ports 2))
RELAY="tcp://127.0.0.1:${ports[0]}"
"$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "$RELAY" --announce "tcp://127.0.0.1:${ports[1]}" \
  --upstream "$FC_PROXY" --insecure >"$FC_TMP/relay.log" 2>&1 &
RELAY_PID=$!
FC_PIDS+=("$RELAY_PID")
fc_wait_port "${ports[0]}" || fc_fail "relay did not start: $(cat "$FC_TMP/relay.log")"
fc_wait_for "the relay mirrors release 1" 20 grep -q 'release stable 1 (serial 1) mirrored' \
  "$FC_TMP/relay.log"
fc_pass "the relay mirrors the root's release"
# Mirrored, nothing fetched yet: a relay's data dir checks out with --relay (each blob counted
# as not fetched), and a broker's check would call the blobs missing.
"$FC_CHECK_BIN" --data "$FC_TMP/relay" --relay >"$FC_TMP/check1" ||
  fc_fail "fleetcast-check --relay on the relay's data dir: $(cat "$FC_TMP/check1")"
grep -q '^relay: 5 blobs not fetched yet$' "$FC_TMP/check1" ||
  fc_fail "the relay's blobs are not counted as not fetched: $(cat "$FC_TMP/check1")"
"$FC_CHECK_BIN" --data "$FC_TMP/relay" >/dev/null && fc_fail "a broker check passed blobs never fetched"
fc_pass "fleetcast-check --relay: a mirrored release, 5 blobs not fetched yet"

# Two agents behind the relay at once: both install; the release crossed the link once.
FC_AGENT_BROKER="$RELAY" fc_agent_once a1 --timeout 60 &
p1=$!
FC_AGENT_BROKER="$RELAY" fc_agent_once a2 --timeout 60 &
p2=$!
wait "$p1" || fc_fail "agent a1 behind the relay failed: $(tail -5 "$FC_TMP/a1.log")"
wait "$p2" || fc_fail "agent a2 behind the relay failed: $(tail -5 "$FC_TMP/a2.log")"
for a in a1 a2; do
  diff -r "$src" "$FC_TMP/$a/install/current/" || fc_fail "agent $a's tree differs from the release"
done
fc_pass "two agents behind the relay install release 1"
"$FC_CHECK_BIN" --data "$FC_TMP/relay" --relay >"$FC_TMP/check2" ||
  fc_fail "fleetcast-check --relay after the install: $(cat "$FC_TMP/check2")"
grep -q '^OK: 1 releases, 5 blobs' "$FC_TMP/check2" && grep -q '^relay: 0 blobs not fetched yet$' "$FC_TMP/check2" ||
  fc_fail "the relay's fetched blobs were not all checked: $(cat "$FC_TMP/check2")"
fc_pass "fleetcast-check --relay verifies the 5 blobs the relay fetched"

read -r _ bytes < <(fc_stop_proxy)
limit=$(( size * 11 / 10 ))
[ "$bytes" -ge "$size" ] && [ "$bytes" -le "$limit" ] ||
  fc_fail "the relay's upstream link carried $bytes bytes for a release of $size (limit $limit)"
fc_pass "the upstream link carried $bytes bytes for a $size-byte release and 2 agents (<= 1.1x)"

# The link back without the proxy (same port): a later release reaches the agents by
# announcement through the relay.
"$FC_PROXY_BIN" --listen "127.0.0.1:${FC_PROXY##*:}" --upstream "127.0.0.1:${ROOT##*:}" \
  >/dev/null 2>"$FC_TMP/proxy2.log" &
FC_PIDS+=("$!")
printf 'two\n' >"$src/sub/hello.txt"
fc_push "$src" 2 >/dev/null
fc_wait_for "the relay mirrors release 2" 20 grep -q 'release stable 2 (serial 2) mirrored' \
  "$FC_TMP/relay.log"
FC_AGENT_BROKER="$RELAY" fc_agent_run a1 --timeout 60 ||
  fc_fail "agent a1 did not install release 2 behind the relay: $(tail -5 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 2's tree differs"
fc_pass "a later release follows through the relay"

# Publisher operations at the relay: refused, naming the root.
out=$("$FC_CLI_BIN" --insecure --broker "$RELAY" --quiet release push "$src" --channel stable \
  --version 3 --key "$FC_TMP/keys/signing.key" 2>&1) && fc_fail "a push at the relay succeeded: $out"
echo "$out" | grep -q "relay of $FC_PROXY" || fc_fail "the refusal does not name the root: $out"
echo "$out" | grep -q "publisher operations go to the root" ||
  fc_fail "the refusal does not say where to go: $out"
# The relay lists what it mirrored (a read, served as any broker does), and nothing else.
list=$("$FC_CLI_BIN" --insecure --broker "$RELAY" --quiet --json release list --channel stable | tr -d ' \n')
echo "$list" | grep -q '"serial":2' || fc_fail "the relay does not list release 2: $list"
echo "$list" | grep -q '"serial":3' && fc_fail "release 3 was stored at the relay: $list"
fc_pass "a push at the relay is refused naming the root: $(echo "$out" | head -1)"
