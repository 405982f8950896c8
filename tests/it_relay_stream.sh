#!/usr/bin/env bash
# it_relay_stream.sh: a big blob crossing a slow upstream link: the relay serves its first
# agent's held requests from the pieces already in (each chunk checked against the
# manifest's hash) before the blob is complete, instead of making it wait for all of it; the
# agent installs the release intact, and the link still carries the blob once.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_relay_root
fc_random_file "$src/big.bin" 8192 # 8 MiB: 32 pieces of 256 KiB
fc_push "$src" 1 >/dev/null
size=$((8192 * 1024))

# The relay's upstream link at 2 MB/s: the blob takes about 4 s to cross it.
fc_start_proxy --rate 2000000
ports=($(fc_ports 2))
RELAY="tcp://127.0.0.1:${ports[0]}"
"$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "$RELAY" --announce "tcp://127.0.0.1:${ports[1]}" \
  --upstream "$FC_PROXY" --insecure >"$FC_TMP/relay.log" 2>&1 &
FC_PIDS+=("$!")
fc_wait_port "${ports[0]}" || fc_fail "relay did not start: $(cat "$FC_TMP/relay.log")"
fc_wait_for "the relay mirrors release 1" 20 grep -q 'release stable 1 (serial 1) mirrored' \
  "$FC_TMP/relay.log"

start=$(date +%s%N)
FC_AGENT_BROKER="$RELAY" fc_agent_run a1 --timeout 60 ||
  fc_fail "agent a1 behind the relay failed: $(tail -5 "$FC_TMP/a1.log")"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "a1's tree differs from the release"
line=$(grep 'were served from its pieces before' "$FC_TMP/relay.log" | tail -1)
[ -n "$line" ] || fc_fail "no held request was served before the blob was complete: $(tail -5 "$FC_TMP/relay.log")"
n=$(echo "$line" | sed 's/.*complete; \([0-9]*\) held requests.*/\1/')
[ "$n" -gt 0 ] || fc_fail "no request served from pieces: $line"
fc_pass "the first agent streams the 8 MiB blob: $n requests served from its pieces before it was complete (install ${ms} ms over a 2 MB/s upstream link)"

read -r _ bytes < <(fc_stop_proxy)
[ "$bytes" -ge "$size" ] && [ "$bytes" -le $((size * 11 / 10)) ] ||
  fc_fail "the upstream link carried $bytes bytes for a $size-byte blob (limit 1.1x)"
fc_pass "the upstream link carried $bytes bytes for the $size-byte blob (once)"
"$FC_CHECK_BIN" --data "$FC_TMP/relay" --relay >"$FC_TMP/check" ||
  fc_fail "fleetcast-check --relay: $(cat "$FC_TMP/check")"
fc_pass "fleetcast-check --relay verifies the blob the relay streamed"

# A blob damaged at the root (one byte 5 MiB in): the chunks before the damage check and
# are served from the pieces; the damaged chunk is not sent (the agent sees no chunk fail its
# hash), and the blob fails its commit, its waiting requests told why.
src2="$FC_TMP/src2"
mkdir -p "$src2"
fc_random_file "$src2/big.bin" 8192
"$FC_PROXY_BIN" --listen "127.0.0.1:${FC_PROXY##*:}" --upstream "127.0.0.1:${ROOT##*:}" \
  --rate 2000000 >/dev/null 2>"$FC_TMP/proxy2.log" &
FC_PIDS+=("$!")
find "$FC_TMP/root/blobs" -type f | sort >"$FC_TMP/blobs1"
fc_cli release push "$src2" --channel two --version 1 --key "$FC_TMP/keys/signing.key" >/dev/null ||
  fc_fail "push of channel two failed"
blob2=$(find "$FC_TMP/root/blobs" -type f | sort | comm -13 "$FC_TMP/blobs1" - | head -1)
[ -n "$blob2" ] || fc_fail "channel two's blob is not at the root"
fc_flip_byte "$blob2" $((5 * 1024 * 1024))
fc_wait_for "the relay mirrors channel two" 20 grep -q 'release two 1 (serial 1) mirrored' \
  "$FC_TMP/relay.log"
FC_AGENT_BROKER="$RELAY" FC_CHANNEL=two fc_agent_run a2 --timeout 10 --verbose &&
  fc_fail "the agent installed a damaged release"
grep -q 'content does not match its hash; discarded' "$FC_TMP/relay.log" ||
  fc_fail "the relay did not find the damage: $(tail -5 "$FC_TMP/relay.log")"
grep -q "could not fetch it from" "$FC_TMP/a2.log" ||
  fc_fail "the agent was not told why: $(tail -5 "$FC_TMP/a2.log")"
! grep -q 'did not match its hash' "$FC_TMP/a2.log" ||
  fc_fail "the relay sent a chunk that failed its hash: $(grep 'did not match' "$FC_TMP/a2.log" | head -1)"
have=$(sed -n 's/.*; have \([0-9.]*\) MiB of 8.0 MiB.*/\1/p' "$FC_TMP/a2.log" | tail -1)
[ -n "$have" ] && [ "${have%%.*}" -ge 1 ] ||
  fc_fail "the agent got none of the good chunks before the damage: $(tail -2 "$FC_TMP/a2.log")"
fc_pass "a blob damaged upstream: $have MiB of good chunks streamed, the damaged one never sent, the agent told why"
