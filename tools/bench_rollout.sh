#!/usr/bin/env bash
# bench_rollout.sh: a release rolled out in waves to N agent daemons: the total time against
# the sum of the waves' own install times, i.e. what the waves cost beyond the installs.
#
# usage: tools/bench_rollout.sh [--agents N] [--size MIB] [--waves LIST] [--runs R]
#                               [--build-dir DIR] [--keep]
#   defaults: 100 agents, 8 MiB, waves 10,50,100, 3 runs; prints each run's waves (agents, own
#   install time), their sum, the total and the ratio total/sum, then the medians.
#   FC_BENCH_BROKER_ARGS / FC_BENCH_CLIENT_ARGS / FC_BENCH_AGENT_ARGS add words to the
#   broker / fleetcast / fleetcast-agent command lines.
#   Transport: CURVE (keys made and enrolled in the temp dir); FC_BENCH_INSECURE=1: plain TCP.
# Each run pushes a new release (fresh random content, so nothing is reused locally) with
# --waves. An agent's install starts when its releases/VER@SERIAL directory is born (staging)
# and ends when its `current` symlink is swapped (both from the file system, in ns). A wave's
# own install time runs from its first agent's start to its last agent's end; the total from
# the first start of wave 1 to the last end of the last wave. What the total has beyond the
# sum is the rollout's own cost: the last report of a wave reaching the broker, the next wave
# offered and announced, its agents syncing.
set -euo pipefail

PROG=bench_rollout.sh
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/bench_lib.sh
source "$REPO/tools/bench_lib.sh"
AGENTS=100
SIZE_MIB=8
WAVES=10,50,100
RUNS=3
KEEP=0
BUILD_DIR=${BUILD_DIR:-build}

usage() { bench_usage 4,12; }

while [ $# -gt 0 ]; do
    case "$1" in
    --agents) AGENTS=${2:?--agents needs N}; shift 2 ;;
    --size) SIZE_MIB=${2:?--size needs MIB}; shift 2 ;;
    --waves) WAVES=${2:?--waves needs LIST}; shift 2 ;;
    --runs) RUNS=${2:?--runs needs R}; shift 2 ;;
    --build-dir) BUILD_DIR=${2:?--build-dir needs DIR}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
for v in "$AGENTS" "$SIZE_MIB" "$RUNS"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "--agents, --size and --runs take positive numbers"
done
[[ "$WAVES" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--waves takes percentages like 10,50,100"
command -v b2sum >/dev/null || die "b2sum (coreutils) is needed to know each agent's wave"
bench_find_programs

BROKER_PID=""
CHILDREN=()
# bench_pids: what bench_cleanup stops on exit
bench_pids() { echo "${CHILDREN[*]} $BROKER_PID"; }
# Each agent keeps its current and previous release.
bench_make_work fc-rollout $(((SIZE_MIB * (2 * AGENTS + 2) + 512) * 1024)) "this run"

bench_ports 2
P_SERVICE=${PORTS[0]} P_ANNOUNCE=${PORTS[1]}
ENDPOINT=tcp://127.0.0.1:$P_SERVICE
mkdir -p "$WORK/src"
bench_start_broker "$P_SERVICE" "$P_ANNOUNCE"

push() { # VERSION [options]: a release of fresh random content
    local v=$1; shift
    dd if=/dev/urandom of="$WORK/src/file" bs=1M count="$SIZE_MIB" iflag=fullblock status=none
    "$CLI" "${CLIENT_EXTRA[@]}" --broker "$ENDPOINT" --quiet release push "$WORK/src" \
        --channel bench --version "$v" --key "$WORK/keys/signing.key" "$@" >"$WORK/push.log" 2>&1 ||
        die "fleetcast release push failed: $(tail -5 "$WORK/push.log")"
}
on_version() { # VERSION: how many agents run it
    local i n=0
    for i in $(seq 1 "$AGENTS"); do
        case "$(readlink "$WORK/a/$i/install/current" 2>/dev/null)" in "releases/$1@"*) n=$((n + 1)) ;; esac
    done
    echo $n
}
wait_version() { # VERSION SECS
    local i
    for i in $(seq 1 $(($2 * 10))); do
        [ "$(on_version "$1")" = "$AGENTS" ] && return 0
        sleep 0.1
    done
    die "only $(on_version "$1") of $AGENTS agents installed $1 within $2 s"
}

echo "$PROG: $AGENTS agent daemons on release 1" >&2
push 1
for i in $(seq 1 "$AGENTS"); do
    mkdir -p "$WORK/a/$i/install" "$WORK/a/$i/state"
    "$AGENT" "${AGENT_EXTRA[@]}" --broker "$ENDPOINT" --channel bench --install "$WORK/a/$i/install" \
        --state "$WORK/a/$i/state" --trust "$WORK/keys/signing.pub" --id "ro-$i" \
        >"$WORK/a/$i.log" 2>&1 &
    CHILDREN+=($!)
done
wait_version 1 120

# The agents in offer order (docs/PROTOCOL.md, "Release rollouts"): wave k is the first
# ceil(Pk * N / 100) of them.
mapfile -t ORDER < <(for i in $(seq 1 "$AGENTS"); do
    echo "$(printf %s "ro-$i" | b2sum -l 256 | cut -c1-16) $i"
done | sort | cut -d' ' -f2)
IFS=, read -r -a PCTS <<<"$WAVES"
ENDS=()
for p in "${PCTS[@]}"; do ENDS+=($(((p * AGENTS + 99) / 100))); done

RATIOS=() TOTALS=() SUMS=()
for run in $(seq 1 "$RUNS"); do
    v=$((run + 1))
    sync
    push "$v" --waves "$WAVES"
    wait_version "$v" 600
    sleep 0.5
    serial=$(readlink "$WORK/a/1/install/current" | sed 's/.*@//')
    # Per agent: start (its release directory's birth) and end (current's mtime), in s.
    declare -A T0 T1
    for i in $(seq 1 "$AGENTS"); do
        T0[$i]=$(stat -c %.9W "$WORK/a/$i/install/releases/$v@$serial")
        T1[$i]=$(stat -c %.9Y "$WORK/a/$i/install/current")
    done
    line="run $run:"
    sum=0 first="" last="" from=0
    for w in "${!ENDS[@]}"; do
        lo="" hi=""
        for ((k = from; k < ENDS[w]; k++)); do
            i=${ORDER[$k]}
            lo=$(awk -v a="$lo" -v b="${T0[$i]}" 'BEGIN { print (a == "" || b < a) ? b : a }')
            hi=$(awk -v a="$hi" -v b="${T1[$i]}" 'BEGIN { print (a == "" || b > a) ? b : a }')
        done
        own=$(elapsed "$lo" "$hi")
        line="$line wave $((w + 1)) ($((ENDS[w] - from)) agents) $own s;"
        sum=$(awk -v a="$sum" -v b="$own" 'BEGIN { printf "%.3f", a + b }')
        [ -n "$first" ] || first=$lo
        last=$hi
        from=${ENDS[w]}
    done
    total=$(elapsed "$first" "$last")
    ratio=$(awk -v t="$total" -v s="$sum" 'BEGIN { printf "%.3f", t / s }')
    echo "$line sum $sum s, total $total s, total/sum $ratio"
    RATIOS+=("$ratio") TOTALS+=("$total") SUMS+=("$sum")
    unset T0 T1
done
echo "median of $RUNS runs ($AGENTS agents, $SIZE_MIB MiB, waves $WAVES): sum of the waves' own" \
    "install times $(median "${SUMS[@]}") s, total $(median "${TOTALS[@]}") s," \
    "total/sum $(median "${RATIOS[@]}")"
