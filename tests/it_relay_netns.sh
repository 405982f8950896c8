#!/usr/bin/env bash
# it_relay_netns.sh: relays on separate hosts: a root and two sites, each its own network
# namespace joined to the root's by a veth pair made slow with tc tbf; a release installs on
# every agent, each site's uplink carries it about once, and a site whose uplink goes down
# mid-transfer finishes when it comes back.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
[ "${FC_STORE:-}" != postgresql ] || fc_skip "its brokers run in network namespaces, which cannot reach the suite's PostgreSQL on the host's loopback"

[ "$(id -u)" = 0 ] || fc_skip "needs root to make network namespaces"
command -v ip >/dev/null && command -v tc >/dev/null || fc_skip "needs ip and tc (iproute2)"

# Every name carries this run's PID, so parallel runs never meet and the cleanup removes
# only what this run made. Interface names are at most 15 characters.
tag=$$
NS_ROOT="fcnet-$tag-root"
NS_SITE=("fcnet-$tag-a" "fcnet-$tag-b")
UP=("fcu${tag}a" "fcu${tag}b")   # root's end of each site's uplink
DOWN=("fcd${tag}a" "fcd${tag}b") # the site's end
RATE=${FC_NETNS_RATE:-16mbit}   # each site's uplink, both ways
KIB=3072                        # the release: one 3 MiB file (about 1.6 s per uplink)
ALLOW=$((256 * 1024))           # fixed allowance per site, explained at the check below

# Programs first (by PID), then the namespaces (their veth ends go with them: both ends of
# every pair live in namespaces this run made), then lib.sh's own cleanup (temp dir,
# sanitizer reports), also when the suite fails or is interrupted.
netns_cleanup() {
  local pid ns
  for pid in "${FC_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${FC_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  FC_PIDS=()
  for ns in "$NS_ROOT" "${NS_SITE[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  fc_cleanup
}
trap netns_cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$NS_ROOT" 2>/dev/null || fc_skip "cannot make a network namespace here"
ip -n "$NS_ROOT" link set lo up
for s in 0 1; do
  ns=${NS_SITE[$s]}
  ip netns add "$ns" || fc_fail "cannot make namespace $ns"
  ip -n "$ns" link set lo up
  ip link add "${UP[$s]}" netns "$NS_ROOT" type veth peer name "${DOWN[$s]}" netns "$ns" ||
    fc_skip "cannot make a veth pair here"
  ip -n "$NS_ROOT" addr add "10.213.$((s + 1)).1/30" dev "${UP[$s]}"
  ip -n "$ns" addr add "10.213.$((s + 1)).2/30" dev "${DOWN[$s]}"
  ip -n "$NS_ROOT" link set "${UP[$s]}" up
  ip -n "$ns" link set "${DOWN[$s]}" up
  # The slow uplink, each way: tbf on the egress of both ends.
  tc -n "$NS_ROOT" qdisc add dev "${UP[$s]}" root tbf rate "$RATE" burst 32kb latency 200ms
  tc -n "$ns" qdisc add dev "${DOWN[$s]}" root tbf rate "$RATE" burst 32kb latency 200ms
done

# nsx NS CMD...: runs CMD in namespace NS, in the foreground.
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# nsx_bg NS CMD... &: the same in the background, its subshell replaced by ip, and ip by CMD,
# so $! is CMD's PID and the cleanup's kill reaches it (with nsx the subshell stayed between:
# the brokers outlived the suite).
nsx_bg() { local ns=$1; shift; exec ip netns exec "$ns" "$@"; }
# Waits until something listens on 127.0.0.1:PORT inside namespace NS.
ns_wait_port() {
  local i
  for i in $(seq 100); do
    nsx "$1" bash -c "exec 3<>/dev/tcp/127.0.0.1/$2" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# Bytes the site S's end of its uplink has received and sent (its interface counters).
uplink_bytes() {
  local d=/sys/class/net/${DOWN[$1]}/statistics
  nsx "${NS_SITE[$1]}" sh -c "echo \$((\$(cat $d/rx_bytes) + \$(cat $d/tx_bytes)))"
}

# The root: plain (as fc_relay_root), every interface of its namespace.
FC_INSECURE=1
fc_secure_setup "$FC_TMP/root"
fc_keygen
ports=($(fc_ports 4))
FC_SERVICE="tcp://127.0.0.1:${ports[0]}" # the publisher's view, inside the root namespace
nsx_bg "$NS_ROOT" "$FC_BROKER_BIN" --data "$FC_TMP/root" --service "tcp://*:${ports[0]}" \
  --announce "tcp://*:${ports[1]}" --insecure >>"$FC_TMP/root.log" 2>&1 &
FC_PIDS+=($!)
ns_wait_port "$NS_ROOT" "${ports[0]}" || fc_fail "root did not start: $(tail -5 "$FC_TMP/root.log")"

src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/app.bin" "$KIB"
size=$(stat -c %s "$src/app.bin")
nsx "$NS_ROOT" "$FC_CLI_BIN" --insecure --broker "$FC_SERVICE" --quiet release push "$src" \
  --channel stable --version 1 --key "$FC_TMP/keys/signing.key" >/dev/null ||
  fc_fail "push at the root failed"

# A relay in each site, its upstream the root across the site's uplink.
for s in 0 1; do
  nsx_bg "${NS_SITE[$s]}" "$FC_BROKER_BIN" --data "$FC_TMP/relay$s" \
    --service "tcp://127.0.0.1:${ports[2]}" --announce "tcp://127.0.0.1:${ports[3]}" \
    --upstream "tcp://10.213.$((s + 1)).1:${ports[0]}" --insecure >>"$FC_TMP/relay$s.log" 2>&1 &
  FC_PIDS+=($!)
done
for s in 0 1; do
  ns_wait_port "${NS_SITE[$s]}" "${ports[2]}" ||
    fc_fail "relay $s did not start: $(tail -5 "$FC_TMP/relay$s.log")"
  fc_wait_for "relay $s mirrors release 1" 30 grep -q 'release stable 1 (serial 1) mirrored' \
    "$FC_TMP/relay$s.log"
done

# site_agent S NAME: agent NAME --once in site S, behind its relay (run in the background).
site_agent() {
  mkdir -p "$FC_TMP/$2"
  exec ip netns exec "${NS_SITE[$1]}" "$FC_AGENT_BIN" --insecure \
    --broker "tcp://127.0.0.1:${ports[2]}" --channel stable --install "$FC_TMP/$2/install" \
    --state "$FC_TMP/$2/state" --trust "$FC_TMP/keys/signing.pub" --id "$2" --once --json \
    --timeout 50 >"$FC_TMP/$2.json" 2>>"$FC_TMP/$2.log"
}

# Both sites start two agents each at once; site b's uplink goes down mid-transfer.
before=("$(uplink_bytes 0)" "$(uplink_bytes 1)")
agents=()
for name in a1 a2 b1 b2; do
  case $name in a*) s=0 ;; *) s=1 ;; esac
  site_agent "$s" "$name" &
  agents+=($!)
  FC_PIDS+=($!)
done
# Down once site b's uplink has carried some of the release, not all.
for _ in $(seq 100); do
  [ $(($(uplink_bytes 1) - before[1])) -gt $((size / 8)) ] && break
  sleep 0.05
done
ip -n "${NS_SITE[1]}" link set "${DOWN[1]}" down
cut_at=$(($(uplink_bytes 1) - before[1]))
[ "$cut_at" -lt "$size" ] || fc_fail "site b's uplink carried $cut_at bytes before the cut: not mid-transfer"
sleep 3
for i in 2 3; do
  kill -0 "${agents[$i]}" 2>/dev/null ||
    fc_fail "an agent of site b finished while its uplink was down: $(tail -3 "$FC_TMP/b$((i - 1)).log")"
done
ip -n "${NS_SITE[1]}" link set "${DOWN[1]}" up

for i in 0 1 2 3; do
  name=$(sed -n "$((i + 1))p" <<<$'a1\na2\nb1\nb2')
  wait "${agents[$i]}" || fc_fail "agent $name did not install: $(tail -5 "$FC_TMP/$name.log")"
  diff -r "$src" "$FC_TMP/$name/install/current/" || fc_fail "$name's tree differs"
done
fc_pass "release 1 installs on two agents in each site, behind relays across slow ($RATE) uplinks"
fc_pass "site b's uplink down for 3 s after $cut_at of $size bytes: its agents finish when it is back"

# Each uplink carried the release about once, not once per agent. The counters count every
# frame on the wire: Ethernet, IP and TCP headers (about 5% of a full segment, well under
# the 1.1x), plus a fixed ALLOW for what does not grow with the release: the relay's
# requests, heartbeats each way (one a second for the length of the test), and the TCP
# handshakes after the cut. Two agents fetching separately would cost 2x.
for s in 0 1; do
  used=$(($(uplink_bytes "$s") - before[s]))
  limit=$((size * 11 / 10 + ALLOW))
  [ "$used" -le "$limit" ] ||
    fc_fail "site $s's uplink carried $used bytes for a $size-byte release (limit $limit)"
  fc_pass "site $s's uplink carried $used bytes for two agents' $size-byte release" \
    "($(awk -v u="$used" -v s="$size" 'BEGIN { printf "%.3f", u / s }')x; limit 1.1x + $ALLOW)"
done
