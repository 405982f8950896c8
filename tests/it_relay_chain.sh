#!/usr/bin/env bash
# it_relay_chain.sh: two relays under one root, and a relay of a relay (root -> region ->
# site), agents behind each (--insecure): a release installs everywhere, and each relay's
# upstream link carries it at most 1.1x, whatever number of agents and relays are below.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_relay_root
for i in 1 2; do fc_random_file "$src/file-$i.bin" 1536; done # 3 MiB
printf 'chain\n' >"$src/notes.txt"
fc_push "$src" 1 >/dev/null
size=$(du -bc "$src"/* | tail -1 | cut -f1)

# fc_link NAME UPSTREAM_PORT: a counting proxy in front of that port; sets LINK_EP.
declare -A LINK_PID
fc_link() {
  local port; port=$(fc_ports 1)
  "$FC_PROXY_BIN" --listen "127.0.0.1:$port" --upstream "127.0.0.1:$2" \
    >/dev/null 2>"$FC_TMP/link-$1.log" &
  LINK_PID[$1]=$!
  FC_PIDS+=("$!")
  fc_wait_port "$port" || fc_fail "proxy $1 did not start"
  LINK_EP="tcp://127.0.0.1:$port"
}
fc_link_bytes() { # NAME: stops the proxy, prints the bytes it carried
  fc_stop "${LINK_PID[$1]}"
  local i
  for i in $(seq 200); do
    grep -q '^cuts [0-9]* bytes [0-9]*$' "$FC_TMP/link-$1.log" 2>/dev/null && break
    sleep 0.05
  done
  sed -n 's/^cuts [0-9]* bytes \([0-9]*\)$/\1/p' "$FC_TMP/link-$1.log" | tail -1
}
# fc_relay NAME UPSTREAM_EP: a relay broker; sets RELAY_EP and RELAY_PORT.
fc_relay() {
  local ports; ports=($(fc_ports 2))
  "$FC_BROKER_BIN" --data "$FC_TMP/$1" --service "tcp://127.0.0.1:${ports[0]}" \
    --announce "tcp://127.0.0.1:${ports[1]}" --upstream "$2" --insecure >"$FC_TMP/$1.log" 2>&1 &
  FC_PIDS+=("$!")
  fc_wait_port "${ports[0]}" || fc_fail "relay $1 did not start: $(cat "$FC_TMP/$1.log")"
  RELAY_EP="tcp://127.0.0.1:${ports[0]}"
  RELAY_PORT=${ports[0]}
}

ROOT_PORT=${FC_SERVICE##*:}
fc_link a "$ROOT_PORT"; fc_relay site-a "$LINK_EP"; A=$RELAY_EP
fc_link region "$ROOT_PORT"; fc_relay region "$LINK_EP"; R=$RELAY_EP; R_PORT=$RELAY_PORT
fc_link b "$R_PORT"; fc_relay site-b "$LINK_EP"; B=$RELAY_EP
for r in site-a region site-b; do
  fc_wait_for "relay $r mirrors release 1" 20 grep -q 'release stable 1 (serial 1) mirrored' \
    "$FC_TMP/$r.log"
done
fc_pass "two relays under the root and a relay of a relay mirror release 1"

pids=()
for a in a1 a2; do FC_AGENT_BROKER="$A" fc_agent_once "$a" --timeout 60 & pids+=("$!"); done
FC_AGENT_BROKER="$R" fc_agent_once r1 --timeout 60 & pids+=("$!")
for a in b1 b2; do FC_AGENT_BROKER="$B" fc_agent_once "$a" --timeout 60 & pids+=("$!"); done
for p in "${pids[@]}"; do wait "$p" || fc_fail "an agent failed (logs: $(tail -n 3 "$FC_TMP"/*1.log))"; done
for a in a1 a2 r1 b1 b2; do
  diff -r "$src" "$FC_TMP/$a/install/current/" || fc_fail "agent $a's tree differs"
done
fc_pass "agents behind each relay, and behind the relay of a relay, install release 1"

limit=$(( size * 11 / 10 ))
for l in a region b; do
  bytes=$(fc_link_bytes "$l")
  [ "$bytes" -ge "$size" ] && [ "$bytes" -le "$limit" ] ||
    fc_fail "link $l carried $bytes bytes for a $size-byte release (limit $limit)"
  fc_pass "link $l carried $bytes bytes for a $size-byte release (<= 1.1x)"
done
