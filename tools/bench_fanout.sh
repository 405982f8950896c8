#!/usr/bin/env bash
# bench_fanout.sh: N agent processes fetch one release at once from a broker, against N curl
# processes fetching the same file at once from nginx, side by side in each run.
#
# usage: tools/bench_fanout.sh [--agents N] [--size MIB] [--runs R] [--build-dir DIR] [--keep]
#   defaults: 100 agents, 64 MiB, 3 runs; prints each run, the medians, the ratios
#   agents/curl and agents/(curl+b2sum+sync), and the broker's peak RSS.
#   FC_BENCH_BROKER_ARGS / FC_BENCH_CLIENT_ARGS / FC_BENCH_AGENT_ARGS add words to the
#   broker / fleetcast / fleetcast-agent command lines.
#   Transport: CURVE (keys made and enrolled in the temp dir); FC_BENCH_INSECURE=1: plain TCP.
# Both sides read from a warm page cache and write into the same file system: each curl
# writes its own copy, each agent (fleetcast-agent --once, fresh install and state dirs)
# verifies every chunk, writes, fsyncs and swaps its own tree. curl is timed when the last
# one exits and again after an fsync of every copy ("curl+sync", the durability the agents
# give). A third phase does the agents' work with curl: each curl's copy checked against the
# file's BLAKE2b by b2sum as soon as it is complete, then the fsync ("curl+b2sum+sync"). nginx: one worker, sendfile, on a free loopback port, config/pid/logs in the temp
# dir, stopped by PID. The broker's peak RSS (VmHWM) is reset after the push (clear_refs),
# so it is the peak while serving; its peak including the push is printed too.
set -euo pipefail

PROG=bench_fanout.sh
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/bench_lib.sh
source "$REPO/tools/bench_lib.sh"
AGENTS=100
SIZE_MIB=64
RUNS=3
KEEP=0
BUILD_DIR=${BUILD_DIR:-build}

usage() { bench_usage 4,10; }

while [ $# -gt 0 ]; do
    case "$1" in
    --agents) AGENTS=${2:?--agents needs N}; shift 2 ;;
    --size) SIZE_MIB=${2:?--size needs MIB}; shift 2 ;;
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
bench_find_programs
bench_need_nginx_curl

json_str() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\{0,1\}\([^\",}]*\).*/\1/p" "$2" | head -1; }

BROKER_PID=""
CHILDREN=()
# bench_pids: what bench_cleanup stops on exit (with nginx)
bench_pids() { echo "${CHILDREN[*]} $BROKER_PID"; }
bench_make_work fc-fanout $(((SIZE_MIB * (2 * AGENTS + 3) + 512) * 1024)) "this run"

# wait_all: waits for every PID in CHILDREN; returns how many failed
wait_all() {
    local pid failed=0
    for pid in "${CHILDREN[@]}"; do wait "$pid" || failed=$((failed + 1)); done
    CHILDREN=()
    return $failed
}

bench_ports 3
P_SERVICE=${PORTS[0]} P_ANNOUNCE=${PORTS[1]} P_HTTP=${PORTS[2]}
ENDPOINT=tcp://127.0.0.1:$P_SERVICE

bench_make_source "$SIZE_MIB"
bench_start_nginx "$P_HTTP" 1024

bench_start_broker "$P_SERVICE" "$P_ANNOUNCE"

echo "$PROG: pushing the release" >&2
"$CLI" "${CLIENT_EXTRA[@]}" --broker "$ENDPOINT" --quiet release push "$WORK/src" --channel bench \
    --version 1 --key "$WORK/keys/signing.key" >"$WORK/push.log" 2>&1 ||
    die "fleetcast release push failed: $(tail -5 "$WORK/push.log")"
HWM_PUSH=$(hwm_kib "$BROKER_PID")
# Peak RSS from here on: "5" resets VmHWM to the current RSS (proc(5), clear_refs).
HWM_RESET=0
echo 5 >"/proc/$BROKER_PID/clear_refs" 2>/dev/null && HWM_RESET=1

# The BLAKE2b (b2sum's 512-bit one: the same compression function as the agents' 256-bit
# chunk hashes) a verifying curl checks its copy against.
B2_SRC=$(b2sum <"$WORK/src/file" | cut -d' ' -f1)

run_curl() { # RUN [verify]: N curls at once; sets T_CURL, T_CSYNC (with verify: each copy is
    # hashed by b2sum when its curl exits and must match the source's hash)
    local dir="$WORK/curl$1" i t0 t1
    mkdir -p "$dir"
    sync
    t0=$(now)
    for i in $(seq 1 "$AGENTS"); do
        if [ "${2:-}" = verify ]; then
            (curl -sS -f -o "$dir/$i" "http://127.0.0.1:$P_HTTP/file" &&
                [ "$(b2sum <"$dir/$i" | cut -d' ' -f1)" = "$B2_SRC" ]) &
        else
            curl -sS -f -o "$dir/$i" "http://127.0.0.1:$P_HTTP/file" &
        fi
        CHILDREN+=($!)
    done
    wait_all || die "curl${2:+ $2} failed in run $1"
    t1=$(now)
    sync "$dir"/* # fsync of each copy (not the whole file system)
    T_CURL=$(elapsed "$t0" "$t1")
    T_CSYNC=$(elapsed "$t0" "$(now)")
    { cmp -s "$dir/1" "$WORK/src/file" && cmp -s "$dir/$AGENTS" "$WORK/src/file"; } ||
        die "a curl copy differs from the source"
    rm -rf "$dir"
}

run_agents() { # RUN: N agents at once; sets T_AGENT, FETCHED (total bytes)
    local dir="$WORK/agents$1" i t0 f
    for i in $(seq 1 "$AGENTS"); do mkdir -p "$dir/$i/install" "$dir/$i/state"; done
    sync
    t0=$(now)
    for i in $(seq 1 "$AGENTS"); do
        "$AGENT" "${AGENT_EXTRA[@]}" --broker "$ENDPOINT" --channel bench --install "$dir/$i/install" \
            --state "$dir/$i/state" --trust "$WORK/keys/signing.pub" --id "fan-$i" --once --json \
            >"$dir/$i.json" 2>"$dir/$i.log" &
        CHILDREN+=($!)
    done
    local failed=0
    wait_all || failed=$?
    T_AGENT=$(elapsed "$t0" "$(now)")
    [ "$failed" = 0 ] || die "$failed agents failed in run $1; e.g.: $(cat "$dir"/*.log | tail -3)"
    FETCHED=0
    for i in $(seq 1 "$AGENTS"); do
        [ "$(json_str version "$dir/$i.json")" = 1 ] || die "agent $i did not install version 1"
        f=$(json_str bytes_fetched "$dir/$i.json")
        FETCHED=$((FETCHED + ${f:-0}))
    done
    { cmp -s "$dir/1/install/current/file" "$WORK/src/file" &&
        cmp -s "$dir/$AGENTS/install/current/file" "$WORK/src/file"; } ||
        die "an agent's installed file differs from the source"
    rm -rf "$dir"
}

run_verify() { # RUN: curls that verify their copies; sets T_VERIFY (T_CURL, T_CSYNC kept)
    local curl=$T_CURL csync=$T_CSYNC
    run_curl "$1" verify
    T_VERIFY=$T_CSYNC T_CURL=$curl T_CSYNC=$csync
}

CURL_T=() CSYNC_T=() VERIFY_T=() AGENT_T=()
T_CURL="" T_CSYNC=""
for run in $(seq 1 "$RUNS"); do
    echo "$PROG: run $run/$RUNS" >&2
    # Alternate who goes first, so neither always meets the others' leftovers.
    if [ $((run % 2)) = 1 ]; then
        run_curl "$run"; run_verify "$run"; run_agents "$run"
    else
        run_agents "$run"; run_verify "$run"; run_curl "$run"
    fi
    CURL_T+=("$T_CURL") CSYNC_T+=("$T_CSYNC") VERIFY_T+=("$T_VERIFY") AGENT_T+=("$T_AGENT")
    printf '%s: run %d: curl %s s, curl+sync %s s, curl+b2sum+sync %s s, agents %s s (fetched %s bytes)\n' \
        "$PROG" "$run" "$T_CURL" "$T_CSYNC" "$T_VERIFY" "$T_AGENT" "$FETCHED" >&2
done
HWM=$(hwm_kib "$BROKER_PID")
[ -n "$HWM" ] || die "fleetcast-broker is gone before the end; its log: $(tail -5 "$WORK/broker.log")"

CURL_MED=$(median "${CURL_T[@]}")
CSYNC_MED=$(median "${CSYNC_T[@]}")
VERIFY_MED=$(median "${VERIFY_T[@]}")
AGENT_MED=$(median "${AGENT_T[@]}")
echo
echo "fleetcast fan-out benchmark: $AGENTS processes x $SIZE_MIB MiB at once, $RUNS runs, loopback"
printf '%-8s %12s %12s %17s %12s\n' run "curl s" "curl+sync s" "curl+b2sum+sync s" "agents s"
for i in $(seq 0 $((RUNS - 1))); do
    printf '%-8s %12s %12s %17s %12s\n' $((i + 1)) "${CURL_T[$i]}" "${CSYNC_T[$i]}" "${VERIFY_T[$i]}" \
        "${AGENT_T[$i]}"
done
printf '%-8s %12s %12s %17s %12s\n' median "$CURL_MED" "$CSYNC_MED" "$VERIFY_MED" "$AGENT_MED"
awk -v a="$AGENT_MED" -v c="$CURL_MED" -v s="$CSYNC_MED" -v v="$VERIFY_MED" 'BEGIN {
    printf "ratio agents/curl (median): %.2f\n", (c > 0) ? a / c : 0
    printf "ratio agents/(curl+sync) (median): %.2f\n", (s > 0) ? a / s : 0
    printf "ratio agents/(curl+b2sum+sync) (median): %.2f\n", (v > 0) ? a / v : 0 }'
if [ "$HWM_RESET" = 1 ]; then
    awk -v k="$HWM" -v p="$HWM_PUSH" 'BEGIN {
        printf "broker peak RSS while serving (VmHWM after reset): %.1f MiB\n", k / 1024
        printf "broker peak RSS including the push: %.1f MiB\n", (p > k ? p : k) / 1024 }'
else
    awk -v k="$HWM" 'BEGIN { printf "broker peak RSS (VmHWM, push included): %.1f MiB\n", k / 1024 }'
fi
