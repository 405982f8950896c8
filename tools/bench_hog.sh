#!/usr/bin/env bash
# bench_hog.sh: times an honest agent's install of a big release over CURVE with and without
# a hog connected: a stolen agent key asking for a 64 MiB window of chunks that it never
# reads (fleetcast-hostile hog: 1-message receive HWM, 4 KiB receive buffer, no heartbeats).
#
# usage: tools/bench_hog.sh [--size MIB] [--runs N] [--build-dir DIR]
#   Each run installs into a fresh agent dir twice, without and with a fresh hog (connected,
#   its share taken, before the agent starts), in alternating order; prints each time and
#   the ratio of the medians. The hog is dropped by the broker 30 s after its share stuck
#   (FC_CHUNKS_DEADLINE_MS), so in a longer install the rest runs without it.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE_MIB=1024
RUNS=3
BUILD_DIR=build
while [ $# -gt 0 ]; do
  case "$1" in
  --size) SIZE_MIB=${2:?--size needs MIB}; shift 2 ;;
  --runs) RUNS=${2:?--runs needs N}; shift 2 ;;
  --build-dir) BUILD_DIR=${2:?--build-dir needs DIR}; shift 2 ;;
  -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "bench_hog.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ "$SIZE_MIB" =~ ^[1-9][0-9]*$ ]] || { echo "bench_hog.sh: --size must be a positive number" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench_hog.sh: --runs must be a positive number" >&2; exit 2; }
cd "$REPO"
# shellcheck source=tests/lib.sh
source "$REPO/tests/lib.sh" "$BUILD_DIR"

data="$FC_TMP/broker"
fc_start_broker "$data"
mkdir -p "$FC_TMP/src"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$FC_TMP/src/app"
fc_cli release push "$FC_TMP/src" --channel stable --version 1 --key "$FC_TMP/keys/signing.key" >/dev/null
rm -f "$FC_TMP/src/app" # the broker has it; keep the disk for the installs
"$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/thief" >/dev/null
"$FC_CLI_BIN" keys add-agent "$FC_TMP/thief/agent.cert" --data "$data" >/dev/null
sleep 1.5

# install NAME: prints the seconds one --once install took
install() {
  local start end
  start=$(date +%s%N)
  fc_agent_run "$1" --timeout 120 || { echo "agent $1 failed: $(tail -2 "$FC_TMP/$1.log")" >&2; exit 1; }
  end=$(date +%s%N)
  rm -rf "$FC_TMP/$1"
  awk -v ns=$((end - start)) 'BEGIN { printf "%.2f", ns / 1e9 }'
}
with_hog() {
  "$FC_HOSTILE_BIN" --broker-key "$data/broker.cert" --cert "$FC_TMP/thief/agent.cert_secret" \
    hog "$FC_SERVICE" stable 600 >"$FC_TMP/hog.out" 2>&1 &
  local hog=$!
  FC_PIDS+=($hog)
  fc_wait_for "the hog to ask" 20 grep -q "asked for" "$FC_TMP/hog.out"
  sleep 1
  install "$1"
  fc_stop "$hog"
}
alone=() hogged=()
for r in $(seq "$RUNS"); do
  if [ $((r % 2)) = 1 ]; then
    alone+=("$(install "alone$r")"); hogged+=("$(with_hog "hog$r")")
  else
    hogged+=("$(with_hog "hog$r")"); alone+=("$(install "alone$r")")
  fi
  echo "run $r: ${SIZE_MIB} MiB install alone ${alone[-1]} s, beside a hog ${hogged[-1]} s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ma=$(median "${alone[@]}") mh=$(median "${hogged[@]}")
echo "median: alone $ma s, beside a hog $mh s, ratio $(awk -v a="$ma" -v h="$mh" 'BEGIN { printf "%.2f", h / a }')"
grep -q "chunk connection .* dropped" "$FC_TMP/broker.log" && echo "broker: $(grep -c "chunk connection .* dropped" "$FC_TMP/broker.log") hog connection(s) dropped past the deadline" || true
