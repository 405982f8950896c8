#!/usr/bin/env bash
# bench_release.sh: times cold fleetcast-agent installs of a big release (CURVE and plain) against curl.
#
# usage: tools/bench_release.sh [--size MIB] [--runs N] [--transport curve|plain|both] [--build-dir DIR]
#   --transport both (the default) starts two brokers, one CURVE (keys made and enrolled in the
#   work dir) and one --insecure, pushes the same release to each and, in every run, times curl,
#   curl+sync, the agent over CURVE and the agent over plain (the two agents in alternating order).
#   FC_BENCH_INSECURE=1 makes plain the default transport (as before --transport existed).
#   BUILD_DIR (env, default "build", relative to the repo root) holds the built programs.
#   FC_BENCH_BROKER_ARGS / FC_BENCH_CLIENT_ARGS / FC_BENCH_AGENT_ARGS add words to the
#   broker / fleetcast / fleetcast-agent command lines.
# Both contenders read from the page cache (warm for both: the file was just written and
# pushed) and write into the same file system, so the ratio compares transfer machinery.
# curl is timed twice in the same run: when it exits (its data may still be dirty in the page
# cache) and after an fsync of its output ("curl+sync"), which is the durability the agent
# gives before it swaps (every chunk verified, files fsynced); the ratio is shown against both.
# CPU seconds are counted too (the agent's from its rusage, the broker's from /proc/PID/stat
# around each agent run), so the extra CPU that CURVE costs shows apart from hashing and disk;
# a one-off `b2sum` of the file gives the BLAKE2b reference cost on the same machine.
set -euo pipefail

PROG=bench_release.sh
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/bench_lib.sh
source "$REPO/tools/bench_lib.sh"
SIZE_MIB=1024
RUNS=3
BUILD_DIR=${BUILD_DIR:-build}
TRANSPORT=both
[ "${FC_BENCH_INSECURE:-0}" = 1 ] && TRANSPORT=plain

usage() { bench_usage 4,11; }

while [ $# -gt 0 ]; do
    case "$1" in
    --size) SIZE_MIB=${2:?--size needs MIB}; shift 2 ;;
    --runs) RUNS=${2:?--runs needs N}; shift 2 ;;
    --transport) TRANSPORT=${2:?--transport needs curve, plain or both}; shift 2 ;;
    --build-dir) BUILD_DIR=${2:?--build-dir needs DIR}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ "$SIZE_MIB" =~ ^[1-9][0-9]*$ ]] || die "--size must be a positive number of MiB"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive number"
case "$TRANSPORT" in
curve | plain) TRANSPORTS=("$TRANSPORT") ;;
both) TRANSPORTS=(curve plain) ;;
*) die "--transport must be curve, plain or both" ;;
esac
bench_find_programs
bench_need_nginx_curl

json_num() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\{0,1\}\([0-9.]*\).*/\1/p" "$2" | head -1; }

# clock ticks per second for /proc/PID/stat; CPU times are read from there and from `times`
CLK_TCK=$(getconf CLK_TCK)
# proc_cpu PID: user + system CPU seconds the process has used so far
proc_cpu() { awk -v hz="$CLK_TCK" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# children_cpu: sets CPU_NOW to the user + system CPU seconds of every child this shell has
# waited for so far (`times` must run in this shell, not in $(...): a subshell starts with its
# children's times at zero)
children_cpu() {
    times >"$WORK/times"
    CPU_NOW=$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
        printf "%.3f", t }' "$WORK/times")
}

# thread_cpu PID: "MAIN IO OTHER", the CPU seconds of a process's main thread, of its ZeroMQ
# I/O threads (where libzmq encrypts and decrypts CURVE) and of all its other threads
thread_cpu() {
    { cat /proc/"$1"/task/*/stat 2>/dev/null || true; } | awk -v pid="$1" -v hz="$CLK_TCK" '
        { t = ($14 + $15) / hz; if ($1 == pid) m += t; else if ($2 ~ /ZMQbg\/IO/) io += t; else o += t }
        END { printf "%.2f %.2f %.2f", m, io, o }'
}
# cpu_sub "A B C" "D E F": "D-A E-B F-C"
cpu_sub() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x); split(b, y)
    printf "%.2f %.2f %.2f", y[1] - x[1], y[2] - x[2], y[3] - x[3] }'; }
# sample_threads PID OUT: until PID is gone, keeps in OUT its largest thread_cpu sample (an
# exiting process loses its threads from /proc before it is reaped)
sample_threads() {
    local cur best=0 sum
    while kill -0 "$1" 2>/dev/null; do
        cur=$(thread_cpu "$1")
        sum=$(awk -v c="$cur" 'BEGIN { split(c, x); printf "%.2f", x[1] + x[2] + x[3] }')
        if awk -v s="$sum" -v b="$best" 'BEGIN { exit !(s >= b) }'; then
            best=$sum
            echo "$cur" >"$2"
        fi
        sleep 0.1
    done
}

declare -A BROKER_PID=()
CHILD_PID=""
SAMPLER_PID=""
# bench_pids: what bench_cleanup stops on exit (with nginx)
bench_pids() { echo "$SAMPLER_PID $CHILD_PID ${BROKER_PID[*]}"; }
# room for the source, one broker store per transport, the curl copy and the agent install
bench_make_work fc-bench $(((SIZE_MIB * (3 + ${#TRANSPORTS[@]}) + 256) * 1024)) "--size $SIZE_MIB"


NPORTS=$((1 + 2 * ${#TRANSPORTS[@]}))
bench_ports "$NPORTS"
P_HTTP=${PORTS[0]}

bench_make_source "$SIZE_MIB"
mkdir -p "$WORK/out"
SIZE_BYTES=$((SIZE_MIB * 1024 * 1024))
bench_start_nginx "$P_HTTP" 64
bench_keys

# one broker per transport, each with its own data dir, ports and security words; the CURVE
# broker gets its own certificate and the publisher's and agent's keys enrolled
declare -A ENDPOINT=() CLIENT_SEC=() AGENT_SEC=() PUSH_S=() HWM_KIB=()
i=1
for tr in "${TRANSPORTS[@]}"; do
    data="$WORK/broker-$tr"
    mkdir -p "$data"
    ENDPOINT[$tr]=tcp://127.0.0.1:${PORTS[$i]}
    announce=tcp://127.0.0.1:${PORTS[$((i + 1))]}
    i=$((i + 2))
    if [ "$tr" = plain ]; then
        broker_sec=(--insecure)
        CLIENT_SEC[$tr]=--insecure AGENT_SEC[$tr]=--insecure
    else
        bench_curve_keys "$data"
        broker_sec=()
        # words with no spaces (the work dir is from mktemp under TMPDIR), split when used
        CLIENT_SEC[$tr]="${CURVE_CLIENT_ARGS[*]}" AGENT_SEC[$tr]="${CURVE_AGENT_ARGS[*]}"
    fi
    "$BROKER" --data "$data" --service "${ENDPOINT[$tr]}" --announce "$announce" \
        "${broker_sec[@]}" "${BROKER_EXTRA[@]}" >"$WORK/broker-$tr.log" 2>&1 &
    BROKER_PID[$tr]=$!
    wait_port "${BROKER_PID[$tr]}" "${PORTS[$((i - 2))]}" "fleetcast-broker ($tr)" "$WORK/broker-$tr.log"
done
case "$WORK" in *[[:space:]]*) die "work dir $WORK has a space in it; set TMPDIR" ;; esac

for tr in "${TRANSPORTS[@]}"; do
    echo "$PROG: pushing the release over $tr" >&2
    read -r -a sec <<<"${CLIENT_SEC[$tr]}"
    t0=$(now)
    run_child "$CLI" --broker "${ENDPOINT[$tr]}" "${sec[@]}" "${CLIENT_EXTRA[@]}" release push "$WORK/src" \
        --channel bench --version 1 --key "$WORK/keys/signing.key" >"$WORK/push-$tr.log" 2>&1 ||
        die "fleetcast release push over $tr failed: $(tail -5 "$WORK/push-$tr.log")"
    PUSH_S[$tr]=$(elapsed "$t0" "$(now)")
done

# the BLAKE2b reference: coreutils' b2sum of the same (cached) file, CPU seconds
sync
children_cpu
c0=$CPU_NOW
run_child b2sum "$WORK/src/file" >/dev/null || die "b2sum failed"
children_cpu
B2_CPU=$(elapsed "$c0" "$CPU_NOW")

# run_agent TRANSPORT RUN: one cold agent (fresh install and state dirs), timed from process
# start to exit, with its CPU and the broker's CPU over the same span, in total and per thread
# kind (the agent's sampled every 0.1 s while it runs)
declare -A AGENT_T=() AGENT_CPU=() BROKER_CPU=() AGENT_THR=() BROKER_THR=() FETCHED=() RETRIED=()
# shellcheck disable=SC2034 # AGENT_THR and BROKER_THR are read through thr_med's nameref
run_agent() {
    local tr=$1 run=$2 t0 c0 b0 bt0 sec rc=0
    local inst="$WORK/run$run-$tr/install" state="$WORK/run$run-$tr/state" out="$WORK/agent$run-$tr"
    read -r -a sec <<<"${AGENT_SEC[$tr]}"
    sync
    mkdir -p "$inst" "$state"
    children_cpu
    c0=$CPU_NOW
    b0=$(proc_cpu "${BROKER_PID[$tr]}")
    bt0=$(thread_cpu "${BROKER_PID[$tr]}")
    t0=$(now)
    "$AGENT" --broker "${ENDPOINT[$tr]}" --channel bench --install "$inst" --state "$state" \
        --trust "$WORK/keys/signing.pub" --once --json "${sec[@]}" "${AGENT_EXTRA[@]}" \
        >"$out.json" 2>"$out.log" &
    CHILD_PID=$!
    echo "0.00 0.00 0.00" >"$out.threads"
    sample_threads "$CHILD_PID" "$out.threads" &
    SAMPLER_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    AGENT_T[$tr,$run]=$(elapsed "$t0" "$(now)")
    # before reaping the sampler, whose own children's CPU would be counted as ours
    children_cpu
    AGENT_CPU[$tr,$run]=$(elapsed "$c0" "$CPU_NOW")
    BROKER_CPU[$tr,$run]=$(elapsed "$b0" "$(proc_cpu "${BROKER_PID[$tr]}")")
    BROKER_THR[$tr,$run]=$(cpu_sub "$bt0" "$(thread_cpu "${BROKER_PID[$tr]}")")
    wait "$SAMPLER_PID" || true
    SAMPLER_PID=""
    AGENT_THR[$tr,$run]=$(cat "$out.threads")
    [ $rc = 0 ] || die "fleetcast-agent over $tr failed in run $run: $(tail -5 "$out.log")"
    [ "$(json_num version "$out.json")" = 1 ] ||
        die "agent over $tr did not report version 1: $(head -c 400 "$out.json")"
    cmp -s "$inst/current/file" "$WORK/src/file" || die "agent install over $tr differs from the source"
    FETCHED[$tr,$run]=$(json_num bytes_fetched "$out.json")
    RETRIED[$tr,$run]=$(json_num requests_retried "$out.json")
    rm -rf "${WORK:?}/run$run-$tr"
}

CURL_T=()
CSYNC_T=()
for run in $(seq 1 "$RUNS"); do
    echo "$PROG: run $run/$RUNS" >&2
    # (a) curl from nginx; sync first so neither contender pays for the other's dirty pages
    sync
    t0=$(now)
    run_child curl -sS -f -o "$WORK/out/file" "http://127.0.0.1:$P_HTTP/file" || die "curl failed"
    t1=$(now)
    # `sync FILE` fsyncs just that file (not the whole file system)
    run_child sync "$WORK/out/file" || die "sync of curl's output failed"
    t2=$(now)
    CURL_T+=("$(elapsed "$t0" "$t1")")
    CSYNC_T+=("$(elapsed "$t0" "$t2")")
    cmp -s "$WORK/out/file" "$WORK/src/file" || die "curl copy differs from the source"
    rm -f "$WORK/out/file"

    # (b) the agents, one per transport, in turn first so a noisy moment does not favour one
    order=("${TRANSPORTS[@]}")
    if [ ${#order[@]} = 2 ] && [ $((run % 2)) = 0 ]; then order=("${order[1]}" "${order[0]}"); fi
    for tr in "${order[@]}"; do run_agent "$tr" "$run"; done
done

for tr in "${TRANSPORTS[@]}"; do
    HWM_KIB[$tr]=$(hwm_kib "${BROKER_PID[$tr]}")
    [ -n "${HWM_KIB[$tr]}" ] ||
        die "fleetcast-broker ($tr) is gone before the end; its log: $(tail -5 "$WORK/broker-$tr.log")"
done

# col_med NAME TRANSPORT: the median over the runs of associative array NAME for TRANSPORT
col_med() {
    local -n arr=$1
    local vals=() r
    for r in $(seq 1 "$RUNS"); do vals+=("${arr[$2,$r]}"); done
    median "${vals[@]}"
}
mibs() { awk -v s="$1" -v m="$SIZE_MIB" 'BEGIN { printf "%.0f", (s > 0) ? m / s : 0 }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
CURL_MED=$(median "${CURL_T[@]}")
CSYNC_MED=$(median "${CSYNC_T[@]}")
declare -A AG_MED=() AG_CPU_MED=() BR_CPU_MED=()
for tr in "${TRANSPORTS[@]}"; do
    AG_MED[$tr]=$(col_med AGENT_T "$tr")
    AG_CPU_MED[$tr]=$(col_med AGENT_CPU "$tr")
    BR_CPU_MED[$tr]=$(col_med BROKER_CPU "$tr")
done

echo
echo "fleetcast release benchmark: $SIZE_MIB MiB file, $RUNS runs, loopback, warm page cache," \
    "transport ${TRANSPORTS[*]}; $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for tr in "${TRANSPORTS[@]}"; do
    echo "push over $tr: ${PUSH_S[$tr]} s ($(mibs "${PUSH_S[$tr]}") MiB/s)"
done
hdr=(run "curl s" "curl+sync s")
for tr in "${TRANSPORTS[@]}"; do hdr+=("agent-$tr s" "agent CPU s" "broker CPU s"); done
# row_print LABEL CELL...: one table row
row_print() { printf '%-7s' "$1"; shift; printf ' %13s' "$@"; printf '\n'; }
row_print "${hdr[@]}"
for r in $(seq 1 "$RUNS"); do
    cells=("${CURL_T[$((r - 1))]}" "${CSYNC_T[$((r - 1))]}")
    for tr in "${TRANSPORTS[@]}"; do
        cells+=("${AGENT_T[$tr,$r]}" "${AGENT_CPU[$tr,$r]}" "${BROKER_CPU[$tr,$r]}")
    done
    row_print "$r" "${cells[@]}"
done
cells=("$CURL_MED" "$CSYNC_MED")
for tr in "${TRANSPORTS[@]}"; do cells+=("${AG_MED[$tr]}" "${AG_CPU_MED[$tr]}" "${BR_CPU_MED[$tr]}"); done
row_print median "${cells[@]}"
cells=("$(mibs "$CURL_MED")" "$(mibs "$CSYNC_MED")")
for tr in "${TRANSPORTS[@]}"; do cells+=("$(mibs "${AG_MED[$tr]}")" "" ""); done
row_print "MiB/s" "${cells[@]}"
for tr in "${TRANSPORTS[@]}"; do
    echo "ratio agent-$tr/curl (median): $(div "${AG_MED[$tr]}" "$CURL_MED");" \
        "agent-$tr/(curl+sync): $(div "${AG_MED[$tr]}" "$CSYNC_MED")"
done
if [ ${#TRANSPORTS[@]} = 2 ]; then
    echo "ratio agent-curve/agent-plain (median): $(div "${AG_MED[curve]}" "${AG_MED[plain]}");" \
        "push curve/plain: $(div "${PUSH_S[curve]}" "${PUSH_S[plain]}")"
    # what CURVE adds over plain with the same hashing, disk and protocol: both ends' CPU
    awk -v ac="${AG_CPU_MED[curve]}" -v ap="${AG_CPU_MED[plain]}" -v bc="${BR_CPU_MED[curve]}" \
        -v bp="${BR_CPU_MED[plain]}" -v m="$SIZE_MIB" 'BEGIN {
        d = (ac - ap) + (bc - bp)
        printf "CURVE extra CPU (median, curve - plain): agent %+.2f s, broker %+.2f s;", ac - ap, bc - bp
        if (d > 0) printf " %.0f MiB per CPU-second of encrypt+decrypt\n", m / d; else printf " none measurable\n" }'
fi
# thr_med NAME TRANSPORT: the per-column medians of "MAIN IO OTHER" samples over the runs
thr_med() {
    local -n arr=$1
    local r k out=()
    for k in 1 2 3; do
        out+=("$(median "$(for r in $(seq 1 "$RUNS"); do echo "${arr[$2,$r]}"; done |
            awk -v k="$k" '{ print $k }')")")
    done
    echo "${out[*]}"
}
for tr in "${TRANSPORTS[@]}"; do
    read -r am ai ao <<<"$(thr_med AGENT_THR "$tr")"
    read -r bm bi bo <<<"$(thr_med BROKER_THR "$tr")"
    echo "CPU s by thread over $tr (median): agent main $am, ZeroMQ I/O $ai, other (workers) $ao;" \
        "broker main $bm, ZeroMQ I/O $bi, other (actors) $bo"
done
echo "BLAKE2b reference: b2sum of the file used $B2_CPU CPU-s ($(mibs "$B2_CPU") MiB per CPU-second)"
for tr in "${TRANSPORTS[@]}"; do
    awk -v k="${HWM_KIB[$tr]}" -v t="$tr" 'BEGIN { printf "broker (%s) peak RSS (VmHWM): %.1f MiB\n", t, k / 1024 }'
done
for tr in "${TRANSPORTS[@]}"; do
    line="agent-$tr bytes fetched / requests retried per run:"
    for r in $(seq 1 "$RUNS"); do line+=" ${FETCHED[$tr,$r]:-?}/${RETRIED[$tr,$r]:-?}"; done
    echo "$line"
    [ "${FETCHED[$tr,1]:-}" = "" ] || [ "${FETCHED[$tr,1]}" -ge "$SIZE_BYTES" ] ||
        echo "note: agent-$tr run 1 fetched ${FETCHED[$tr,1]} of $SIZE_BYTES bytes (reuse should be impossible cold)"
done
