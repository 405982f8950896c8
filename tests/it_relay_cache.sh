#!/usr/bin/env bash
# it_relay_cache.sh: a relay with --cache-max smaller than two releases' blobs: its blob dir
# stays within the bound (plus one blob) as agents install one release then the other, an
# evicted blob asked for again crosses the upstream link again (counted by a fault proxy on
# that link), a blob a slow agent is downloading is not evicted while the bound is exceeded,
# and fleetcast-check --relay passes on the evicted store.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

MAX=$((4 * 1024 * 1024)) # --cache-max 4M: room for one release's blob, not two
PIN=5                    # --cache-pin: a blob asked for within 5 s is in transfer

# Release 1 on channel one, release 2 on channel two: a relay mirrors each channel's latest,
# so an agent of channel one still asks for release 1 after release 2 is out.
fc_relay_root
src2="$FC_TMP/src2"
mkdir -p "$src2"
fc_random_file "$src/app.bin" 3072   # 3 MiB
fc_random_file "$src2/app.bin" 3076  # 3 MiB + 4 KiB: the two blobs told apart by size
size1=$((3072 * 1024))
size2=$((3076 * 1024))
push() { # DIR CHANNEL VERSION
  fc_cli release push "$1" --channel "$2" --version "$3" --key "$FC_TMP/keys/signing.key" >/dev/null ||
    fc_fail "push of $2 $3 failed"
}
push "$src" one 1

fc_start_proxy # on the relay's upstream link: counts every byte it carries
ports=($(fc_ports 3))
RELAY="tcp://127.0.0.1:${ports[0]}"
"$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "$RELAY" --announce "tcp://127.0.0.1:${ports[1]}" \
  --upstream "$FC_PROXY" --insecure --cache-max 4M --cache-pin "$PIN" >"$FC_TMP/relay.log" 2>&1 &
RELAY_PID=$!
FC_PIDS+=("$RELAY_PID")
fc_wait_port "${ports[0]}" || fc_fail "relay did not start: $(cat "$FC_TMP/relay.log")"
fc_wait_for "the relay mirrors release 1" 20 grep -q 'release one 1 (serial 1) mirrored' \
  "$FC_TMP/relay.log"

blob_bytes() { find "$FC_TMP/relay/blobs" -type f -printf '%s\n' 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
blob_of_size() { find "$FC_TMP/relay/blobs" -type f -size "$1"c 2>/dev/null | head -1; }
# Samples the blob dir's size every 0.1 s into FILE until FILE.stop exists.
sample() {
  while [ ! -e "$1.stop" ]; do blob_bytes >>"$1"; sleep 0.1; done
}
install() { # NAME CHANNEL [agent args]: installs that channel's release behind the relay
  local name=$1 channel=$2; shift 2
  FC_AGENT_BROKER="$RELAY" FC_CHANNEL=$channel fc_agent_run "$name" --timeout 60 "$@" ||
    fc_fail "agent $name ($channel) behind the relay failed: $(tail -5 "$FC_TMP/$name.log")"
}

sample "$FC_TMP/sizes" &
SAMPLER=$!
FC_PIDS+=("$SAMPLER")
install a1 one
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "a1's tree differs from release 1"
blob1=$(blob_of_size "$size1")
[ -n "$blob1" ] || fc_fail "release 1's blob is not in the relay's blob dir"
fc_pass "an agent behind the relay installs release 1 (a 3 MiB blob, cache bound 4 MiB)"

# Release 2 once release 1's blob is no longer pinned: fetching it evicts release 1's.
push "$src2" two 2
fc_wait_for "the relay mirrors release 2" 20 grep -q 'release two 2 (serial 1) mirrored' \
  "$FC_TMP/relay.log"
sleep $((PIN + 1))
install a2 two
diff -r "$src2" "$FC_TMP/a2/install/current/" || fc_fail "a2's tree differs from release 2"
fc_wait_for "the relay's blobs within the bound" 10 bash -c "[ \$(find '$FC_TMP/relay/blobs' -type f -printf '%s\n' | awk '{s += \$1} END {print s + 0}') -le $MAX ]"
[ ! -e "$blob1" ] || fc_fail "release 1's blob is still held at $(blob_bytes) bytes"
grep -q "relay cache: blob .* evicted" "$FC_TMP/relay.log" || fc_fail "no eviction was logged"
fc_pass "installing release 2 evicts release 1's blob: $(blob_bytes) bytes held (bound $MAX)"

# Release 1 again, for a new agent: fetched again on demand through the relay.
sleep $((PIN + 1))
install a3 one
diff -r "$src" "$FC_TMP/a3/install/current/" || fc_fail "a3's tree differs from release 1"
[ -e "$blob1" ] || fc_fail "release 1's blob was not fetched again"
fc_pass "an agent installs release 1 after its blob was evicted: fetched again on demand"

# A slow agent (256 KiB in flight, 250 KB/s through a proxy: about 12 s for the blob) downloads release 1 while a
# fast one makes the relay fetch release 2 again: both pinned, the bound is exceeded, and
# release 1's blob stays until the slow download is done.
sleep $((PIN + 1))
slowport=$(fc_ports 1)
"$FC_PROXY_BIN" --listen "127.0.0.1:$slowport" --upstream "127.0.0.1:${ports[0]}" --rate 250000 \
  >/dev/null 2>"$FC_TMP/slowproxy.log" &
FC_PIDS+=("$!")
fc_wait_port "$slowport" || fc_fail "slow proxy did not start"
warned=$(grep -c 'above --cache-max' "$FC_TMP/relay.log" || true)
# Watches release 1's blob file until the slow agent has all of it (its "installing" line;
# after that the blob is no longer in transfer): a line in FILE for each moment it is missing.
( while [ ! -e "$FC_TMP/watch.stop" ] && ! grep -q 'installing:' "$FC_TMP/s1.log" 2>/dev/null; do
    [ -e "$blob1" ] || echo missing >>"$FC_TMP/watch"; sleep 0.05
  done ) &
WATCH=$!
FC_PIDS+=("$WATCH")
FC_AGENT_BROKER="tcp://127.0.0.1:$slowport" FC_CHANNEL=one fc_agent_once s1 --timeout 60 --window 256K \
  --verbose &
slow=$!
FC_PIDS+=("$slow")
# Its download under way (its first chunk requests at the relay) before the bound is
# exceeded: a blob nobody has asked for lately is fair game.
fc_wait_for "the slow agent starts downloading" 20 grep -q 'downloading' "$FC_TMP/s1.log"
sleep 1
install a4 two
running=1
kill -0 "$slow" 2>/dev/null || running=0
wait "$slow" || fc_fail "the slow agent failed: $(tail -5 "$FC_TMP/s1.log")"
[ "$running" = 1 ] || fc_fail "the slow agent was done before the relay fetched release 2 again; too fast to tell"
touch "$FC_TMP/watch.stop"
wait "$WATCH" || true
diff -r "$src" "$FC_TMP/s1/install/current/" || fc_fail "s1's tree differs from release 1"
[ ! -s "$FC_TMP/watch" ] || fc_fail "release 1's blob was evicted while the slow agent downloaded it"
now=$(grep -c 'above --cache-max' "$FC_TMP/relay.log" || true)
[ "$now" -gt "$warned" ] || fc_fail "the relay did not say it was above the bound with everything in transfer"
fc_pass "a blob a slow agent is downloading stays while the bound is exceeded (said once: $(grep 'above --cache-max' "$FC_TMP/relay.log" | tail -1 | sed 's/.*relay cache: //'))"
# Once the transfers end their pins run out and the cache is trimmed to the bound again.
fc_wait_for "the relay's blobs back within the bound" $((PIN + 10)) bash -c "[ \$(find '$FC_TMP/relay/blobs' -type f -printf '%s\n' | awk '{s += \$1} END {print s + 0}') -le $MAX ]"
touch "$FC_TMP/sizes.stop"
wait "$SAMPLER" || true
peak=$(sort -n "$FC_TMP/sizes" | tail -1)
[ "$peak" -le $((MAX + size2)) ] || fc_fail "the relay's blob dir reached $peak bytes (bound $MAX plus one blob: $((MAX + size2)))"
fc_pass "the relay's blob dir peaked at $peak bytes: within the bound plus one blob, and back within it"

# The upstream link carried release 1 twice and release 2 twice (each fetch once, whatever
# number of agents), never release 1 a third time (the slow download's blob was kept).
read -r _ bytes < <(fc_stop_proxy)
want=$((2 * size1 + 2 * size2))
[ "$bytes" -ge "$want" ] && [ "$bytes" -le $((want * 11 / 10)) ] ||
  fc_fail "the upstream link carried $bytes bytes; expected each release's blob twice ($want, at most 1.1x)"
fc_pass "the upstream link carried $bytes bytes: each blob fetched twice, the pinned one not a third time"

# The evicted store checks out as a relay's: what was evicted counts as not fetched.
"$FC_CHECK_BIN" --data "$FC_TMP/relay" --relay >"$FC_TMP/check" ||
  fc_fail "fleetcast-check --relay on the evicted store: $(cat "$FC_TMP/check")"
grep -q '^relay: 1 blobs not fetched yet$' "$FC_TMP/check" ||
  fc_fail "the evicted blob is not counted as not fetched: $(cat "$FC_TMP/check")"
fc_pass "fleetcast-check --relay passes on the evicted store ($(grep '^relay:' "$FC_TMP/check"))"

# Restarted with a smaller bound: the blobs it holds (their last use read back from their
# files) are over it and no longer pinned, so they go at once; the store still checks out.
fc_stop "$RELAY_PID"
"$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "$RELAY" --announce "tcp://127.0.0.1:${ports[1]}" \
  --upstream "$FC_PROXY" --insecure --cache-max 1M --cache-pin "$PIN" >"$FC_TMP/relay2.log" 2>&1 &
FC_PIDS+=("$!")
fc_wait_for "the restarted relay trims to its new bound" 10 bash -c "[ \$(find '$FC_TMP/relay/blobs' -type f | wc -l) -eq 0 ]"
grep -q "relay cache: blob .* evicted" "$FC_TMP/relay2.log" || fc_fail "the restarted relay logged no eviction"
"$FC_CHECK_BIN" --data "$FC_TMP/relay" --relay >"$FC_TMP/check2" ||
  fc_fail "fleetcast-check --relay after the restart: $(cat "$FC_TMP/check2")"
grep -q '^relay: 2 blobs not fetched yet$' "$FC_TMP/check2" ||
  fc_fail "the evicted blobs are not counted as not fetched: $(cat "$FC_TMP/check2")"
fc_pass "restarted with --cache-max 1M, the relay evicts the blobs it held at once (its store checks out)"
