#!/usr/bin/env bash
# bench_relay_stream.sh: how long a first agent behind a relay takes to install one big blob
# when both the relay's upstream link and the agent's link are slow (fault proxies with
# --rate), i.e. what serving held requests from the pieces already in (fc_relay_stream.c)
# saves over waiting for the whole blob.
#
# usage: tools/bench_relay_stream.sh [BUILD_DIR [SIZE_MIB [RATE_BYTES_PER_S [RUNS]]]]
#   defaults: build, 8 MiB, 2000000 B/s on each link, 3 runs; prints each run's install
#   time (the agent's --once run, fresh each time: new root, relay and agent) and the median,
#   and the time one link alone needs for the blob (SIZE / RATE). Waiting for the whole blob
#   costs about twice that; streaming about once. --insecure on every link.
#   BROKER_BIN=PATH runs another fleetcast-broker as root and relay (e.g. an older build,
#   for a before/after figure); the rest comes from BUILD_DIR.
set -euo pipefail
BUILD=${1:-build}
SIZE_MIB=${2:-8}
RATE=${3:-2000000}
RUNS=${4:-3}
# tests/lib.sh: free ports, programs, cleanup by PID and the temp dir.
source "$(dirname "$0")/../tests/lib.sh" "$BUILD"
FC_BROKER_BIN=${BROKER_BIN:-$FC_BROKER_BIN}

times=()
for run in $(seq "$RUNS"); do
  rm -rf "${FC_TMP:?}"/*
  fc_relay_root
  fc_random_file "$src/big.bin" $((SIZE_MIB * 1024))
  fc_push "$src" 1 >/dev/null
  fc_start_proxy --rate "$RATE"
  ports=($(fc_ports 3))
  "$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "tcp://127.0.0.1:${ports[0]}" \
    --announce "tcp://127.0.0.1:${ports[1]}" --upstream "$FC_PROXY" --insecure \
    >"$FC_TMP/relay.log" 2>&1 &
  FC_PIDS+=("$!")
  fc_wait_port "${ports[0]}"
  fc_wait_for "the relay mirrors the release" 20 grep -q 'release stable 1 (serial 1) mirrored' \
    "$FC_TMP/relay.log"
  "$FC_PROXY_BIN" --listen "127.0.0.1:${ports[2]}" --upstream "127.0.0.1:${ports[0]}" \
    --rate "$RATE" >/dev/null 2>&1 &
  FC_PIDS+=("$!")
  fc_wait_port "${ports[2]}"
  start=$(date +%s%N)
  FC_AGENT_BROKER="tcp://127.0.0.1:${ports[2]}" fc_agent_run "a$run" --timeout 300 ||
    fc_fail "the agent failed: $(tail -3 "$FC_TMP/a$run.log")"
  ms=$((($(date +%s%N) - start) / 1000000))
  times+=("$ms")
  echo "run $run: install $ms ms"
  fc_cleanup_pids=("${FC_PIDS[@]}")
  for pid in "${fc_cleanup_pids[@]}"; do fc_stop "$pid"; done
  FC_PIDS=()
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
echo "median install: $median ms for $SIZE_MIB MiB; one link alone: $((SIZE_MIB * 1048576 * 1000 / RATE)) ms"
