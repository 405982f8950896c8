#!/usr/bin/env bash
# bench_watch.sh: `fleetcast release watch` to installed on N agents: the time from a file's
# edit until each agent's install/current holds it, for E edits in a row.
#
# usage: tools/bench_watch.sh [--agents N] [--edits E] [--debounce SECS] [--build-dir DIR] [--keep]
#   defaults: 100 agent daemons, 10 edits, the watcher's default debounce of 2 s; prints each
#   edit (publish time and the agents' median and slowest), then p50, p99 and max over all
#   agent installs against the goal debounce + 1 s.
#   FC_BENCH_BROKER_ARGS / FC_BENCH_CLIENT_ARGS / FC_BENCH_AGENT_ARGS add words to the
#   broker / fleetcast / fleetcast-agent command lines. Transport: CURVE (keys made and
#   enrolled in the temp dir); FC_BENCH_INSECURE=1: plain TCP.
# Each edit rewrites one small file of the watched tree (a 1 MiB file beside it stays); the
# watcher (one process, --json) publishes it after the debounce; the agents (fleetcast-agent
# daemons, one shared agent key) hear the announcement and install it. The script polls every
# agent's install/current/app every 20 ms (a shell read, no fork), so each figure is up to a
# sweep (20 ms and the reads) late; the polling shares the machine's cores with the agents.
set -euo pipefail

PROG=bench_watch.sh
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/bench_lib.sh
source "$REPO/tools/bench_lib.sh"
AGENTS=100
EDITS=10
DEBOUNCE=2
KEEP=0
BUILD_DIR=${BUILD_DIR:-build}

usage() { bench_usage 4,12; }

while [ $# -gt 0 ]; do
    case "$1" in
    --agents) AGENTS=${2:?--agents needs N}; shift 2 ;;
    --edits) EDITS=${2:?--edits needs E}; shift 2 ;;
    --debounce) DEBOUNCE=${2:?--debounce needs SECS}; shift 2 ;;
    --build-dir) BUILD_DIR=${2:?--build-dir needs DIR}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
for v in "$AGENTS" "$EDITS" "$DEBOUNCE"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "--agents, --edits and --debounce take positive whole numbers"
done
bench_find_programs

BROKER_PID=""
WATCH_PID=""
CHILDREN=()
bench_pids() { echo "$WATCH_PID ${CHILDREN[*]} $BROKER_PID"; }
bench_make_work fc-watch $(((AGENTS * 3 + 64) * 1024)) "this run"

bench_ports 2
ENDPOINT=tcp://127.0.0.1:${PORTS[0]}
mkdir -p "$WORK/broker" "$WORK/src"
bench_keys
if [ "${FC_BENCH_INSECURE:-0}" = 1 ]; then
    BROKER_EXTRA+=(--insecure) CLIENT_EXTRA+=(--insecure) AGENT_EXTRA+=(--insecure)
else
    bench_curve_keys "$WORK/broker"
    CLIENT_EXTRA+=("${CURVE_CLIENT_ARGS[@]}") AGENT_EXTRA+=("${CURVE_AGENT_ARGS[@]}")
fi
"$BROKER" --data "$WORK/broker" --service "$ENDPOINT" --announce "tcp://127.0.0.1:${PORTS[1]}" \
    "${BROKER_EXTRA[@]}" >"$WORK/broker.log" 2>&1 &
BROKER_PID=$!
wait_port "$BROKER_PID" "${PORTS[0]}" fleetcast-broker "$WORK/broker.log"

dd if=/dev/urandom of="$WORK/src/data.bin" bs=1M count=1 status=none
echo "edit 0" >"$WORK/src/app"
"$CLI" "${CLIENT_EXTRA[@]}" --broker "$ENDPOINT" --json release watch "$WORK/src" --channel bench \
    --key "$WORK/keys/signing.key" --debounce "$DEBOUNCE" >"$WORK/watch.out" 2>"$WORK/watch.err" &
WATCH_PID=$!

echo "$PROG: starting $AGENTS agents" >&2
for i in $(seq 1 "$AGENTS"); do
    mkdir -p "$WORK/a$i/install" "$WORK/a$i/state"
    "$AGENT" "${AGENT_EXTRA[@]}" --broker "$ENDPOINT" --channel bench --install "$WORK/a$i/install" \
        --state "$WORK/a$i/state" --trust "$WORK/keys/signing.pub" --id "watch-$i" \
        >"$WORK/a$i.out" 2>"$WORK/a$i.log" &
    CHILDREN+=($!)
done

# wait_all_have TEXT T0 LIMIT: until every agent's current/app reads TEXT; LAT gets the seconds
# from T0 each took; dies after LIMIT seconds. The sweep forks nothing (times kept raw, turned
# into latencies by one awk at the end), so it stays near its 20 ms period under load.
wait_all_have() {
    local want=$1 t0=$2 limit=$3 left=$AGENTS i line t
    local -a done_=() seen=()
    while [ "$left" -gt 0 ]; do
        t=$EPOCHREALTIME
        for ((i = 1; i <= AGENTS; i++)); do
            [ -n "${done_[$i]:-}" ] && continue
            line=""
            { read -r line <"$WORK/a$i/install/current/app"; } 2>/dev/null || true
            if [ "$line" = "$want" ]; then
                done_[$i]=1
                seen+=("$t")
                left=$((left - 1))
            fi
        done
        [ $((${t%.*} - ${t0%.*})) -lt "$limit" ] ||
            die "$left agents did not install '$want' within $limit s; e.g. $(tail -2 "$WORK/a1.log")"
        sleep 0.02
    done
    mapfile -t LAT < <(printf '%s\n' "${seen[@]}" | awk -v t0="$t0" '{ printf "%.3f\n", $1 - t0 }')
}

[ -n "${EPOCHREALTIME:-}" ] || die "needs bash 5 (EPOCHREALTIME)"
wait_all_have "edit 0" "$EPOCHREALTIME" 120
echo "$PROG: every agent has the first snapshot; $EDITS edits follow" >&2
ALL=()
for e in $(seq 1 "$EDITS"); do
    sleep 1
    published_before=$(grep -c '"event":"published"' "$WORK/watch.out" || true)
    t0=$EPOCHREALTIME
    echo "edit $e" >"$WORK/src/app"
    wait_all_have "edit $e" "$t0" 60
    tp=$(grep '"event":"published"' "$WORK/watch.out" | sed -n "$((published_before + 1))p" |
        sed -n 's/.*"time":\([0-9.]*\).*/\1/p')
    ALL+=("${LAT[@]}")
    slowest=$(printf '%s\n' "${LAT[@]}" | sort -g | tail -1)
    printf 'edit %2d: published after %s s; installed: median %s s, slowest %s s\n' "$e" \
        "$(elapsed "$t0" "${tp:-$t0}")" "$(median "${LAT[@]}")" "$slowest"
done
pct() { printf '%s\n' "${ALL[@]}" | sort -g | awk -v p="$1" '{ v[NR] = $1 }
    END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; printf "%.3f", v[i] }'; }
printf '%d installs (%d agents x %d edits), debounce %d s: p50 %s s, p99 %s s, max %s s; goal p99 < %d s\n' \
    "${#ALL[@]}" "$AGENTS" "$EDITS" "$DEBOUNCE" "$(pct 50)" "$(pct 99)" "$(pct 100)" $((DEBOUNCE + 1))
