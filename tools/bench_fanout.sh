#!/usr/bin/env bash
# bench_fanout.sh: N agent processes fetch one release at once from a broker, against N curl
# processes fetching the same file at once from nginx, side by side in each run.
#
# usage: tools/bench_fanout.sh [--agents N] [--size MIB] [--runs R] [--build-dir DIR] [--keep]
#   defaults: 100 agents, 64 MiB, 3 runs; prints each run, the medians, the ratio agent/curl
#   and the broker's peak RSS. FC_BENCH_BROKER_ARGS / FC_BENCH_CLIENT_ARGS /
#   FC_BENCH_AGENT_ARGS add words to the broker / fleetcast / fleetcast-agent command lines.
#   Transport: CURVE (keys made and enrolled in the temp dir); FC_BENCH_INSECURE=1: plain TCP.
# Both sides read from a warm page cache and write into the same file system: each curl
# writes its own copy, each agent (fleetcast-agent --once, fresh install and state dirs)
# verifies every chunk, writes, fsyncs and swaps its own tree. curl is timed when the last
# one exits and again after an fsync of every copy ("curl+sync", the durability the agents
# give). nginx: one worker, sendfile, on a free loopback port, config/pid/logs in the temp
# dir, stopped by PID. The broker's peak RSS (VmHWM) is reset after the push (clear_refs),
# so it is the peak while serving; its peak including the push is printed too.
set -euo pipefail

PROG=bench_fanout.sh
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AGENTS=100
SIZE_MIB=64
RUNS=3
KEEP=0
BUILD_DIR=${BUILD_DIR:-build}

die() { echo "$PROG: $*" >&2; exit 1; }
usage() { sed -n '4,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

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
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$REPO/$BUILD_DIR" ;; esac

find_bin() {
    local name=$1 sub=$2 cand
    for cand in "$BUILD_DIR/$sub/$name" "$BUILD_DIR/$name" "$BUILD_DIR/bin/$name"; do
        if [ -x "$cand" ] && [ -f "$cand" ]; then echo "$cand"; return 0; fi
    done
    die "$name not found in $BUILD_DIR; build first: cmake -S $REPO -B $BUILD_DIR && cmake --build $BUILD_DIR -j2"
}
BROKER=$(find_bin fleetcast-broker broker)
CLI=$(find_bin fleetcast publisher)
AGENT=$(find_bin fleetcast-agent subscriber)
FREEPORT=$(find_bin fleetcast-freeport tools)
read -r -a BROKER_EXTRA <<<"${FC_BENCH_BROKER_ARGS:-}"
read -r -a CLIENT_EXTRA <<<"${FC_BENCH_CLIENT_ARGS:-}"
read -r -a AGENT_EXTRA <<<"${FC_BENCH_AGENT_ARGS:-}"
NGINX=${FC_BENCH_NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$NGINX" ] || die "no nginx (looked for nginx in PATH and /usr/sbin/nginx; set FC_BENCH_NGINX)"
command -v curl >/dev/null || die "no curl in PATH"

now() { if [ -n "${EPOCHREALTIME:-}" ]; then echo "$EPOCHREALTIME"; else date +%s.%N; fi; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
json_str() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\{0,1\}\([^\",}]*\).*/\1/p" "$2" | head -1; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

TMPBASE=${TMPDIR:-/var/tmp}
need_kib=$(((SIZE_MIB * (2 * AGENTS + 3) + 512) * 1024))
avail_kib=$(df -Pk "$TMPBASE" | awk 'NR == 2 { print $4 }')
[ "$avail_kib" -ge "$need_kib" ] ||
    die "$TMPBASE has $((avail_kib / 1024)) MiB free; this run needs $((need_kib / 1024)) MiB"
WORK=$(mktemp -d "$TMPBASE/fc-fanout.XXXXXX")
BROKER_PID=""
NGINX_PID=""
CHILDREN=()
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${CHILDREN[@]}" $NGINX_PID $BROKER_PID; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${CHILDREN[@]}" $NGINX_PID $BROKER_PID; do wait "$pid" 2>/dev/null || true; done
    if [ "$KEEP" = 1 ]; then echo "$PROG: kept $WORK" >&2; else rm -rf "$WORK"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_port() {
    local pid=$1 port=$2 what=$3 log=$4 i
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || die "$what exited during startup; its log: $(tail -5 "$log")"
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    die "$what did not listen on 127.0.0.1:$port within 10 s"
}

# wait_all: waits for every PID in CHILDREN; returns how many failed
wait_all() {
    local pid failed=0
    for pid in "${CHILDREN[@]}"; do wait "$pid" || failed=$((failed + 1)); done
    CHILDREN=()
    return $failed
}

mapfile -t PORTS < <("$FREEPORT" 3)
[ ${#PORTS[@]} = 3 ] || die "fleetcast-freeport did not give 3 ports"
P_SERVICE=${PORTS[0]} P_ANNOUNCE=${PORTS[1]} P_HTTP=${PORTS[2]}
ENDPOINT=tcp://127.0.0.1:$P_SERVICE

echo "$PROG: making a ${SIZE_MIB} MiB random file in $WORK" >&2
mkdir -p "$WORK/src" "$WORK/nginx/tmp"
dd if=/dev/urandom of="$WORK/src/file" bs=1M count="$SIZE_MIB" iflag=fullblock status=none

NGINX_USER=""
[ "$(id -u)" = 0 ] && NGINX_USER="user $(id -un) $(id -gn);"
cat >"$WORK/nginx/nginx.conf" <<NGINX
$NGINX_USER
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$P_HTTP;
        root $WORK/src;
    }
}
NGINX
"$NGINX" -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
    >"$WORK/nginx/stdout.log" 2>&1 &
NGINX_PID=$!
wait_port "$NGINX_PID" "$P_HTTP" nginx "$WORK/nginx/error.log"

mkdir -p "$WORK/broker"
"$CLI" keygen --out "$WORK/keys" >"$WORK/keygen.log" 2>&1 ||
    die "fleetcast keygen failed: $(tail -5 "$WORK/keygen.log")"
# CURVE like a real fleet (one agent key shared by all the agents), unless FC_BENCH_INSECURE=1.
if [ "${FC_BENCH_INSECURE:-0}" = 1 ]; then
    BROKER_EXTRA+=(--insecure) CLIENT_EXTRA+=(--insecure) AGENT_EXTRA+=(--insecure)
else
    { "$CLI" keygen --role broker --out "$WORK/broker" &&
      "$CLI" keygen --role agent --out "$WORK/keys" &&
      "$CLI" keys add-publisher "$WORK/keys/publisher.cert" --data "$WORK/broker" &&
      "$CLI" keys add-agent "$WORK/keys/agent.cert" --data "$WORK/broker"; } >>"$WORK/keygen.log" 2>&1 ||
        die "CURVE keys failed: $(tail -5 "$WORK/keygen.log")"
    CLIENT_EXTRA+=(--broker-key "$WORK/broker/broker.cert" --cert "$WORK/keys/publisher.cert_secret")
    AGENT_EXTRA+=(--broker-key "$WORK/broker/broker.cert" --key "$WORK/keys/agent.cert_secret")
fi
"$BROKER" --data "$WORK/broker" --service "$ENDPOINT" --announce "tcp://127.0.0.1:$P_ANNOUNCE" \
    "${BROKER_EXTRA[@]}" >"$WORK/broker.log" 2>&1 &
BROKER_PID=$!
wait_port "$BROKER_PID" "$P_SERVICE" fleetcast-broker "$WORK/broker.log"

echo "$PROG: pushing the release" >&2
"$CLI" "${CLIENT_EXTRA[@]}" --broker "$ENDPOINT" --quiet release push "$WORK/src" --channel bench \
    --version 1 --key "$WORK/keys/signing.key" >"$WORK/push.log" 2>&1 ||
    die "fleetcast release push failed: $(tail -5 "$WORK/push.log")"
HWM_PUSH=$(hwm_kib "$BROKER_PID")
# Peak RSS from here on: "5" resets VmHWM to the current RSS (proc(5), clear_refs).
HWM_RESET=0
echo 5 >"/proc/$BROKER_PID/clear_refs" 2>/dev/null && HWM_RESET=1

run_curl() { # RUN: N curls at once; sets T_CURL, T_CSYNC
    local dir="$WORK/curl$1" i t0 t1
    mkdir -p "$dir"
    sync
    t0=$(now)
    for i in $(seq 1 "$AGENTS"); do
        curl -sS -f -o "$dir/$i" "http://127.0.0.1:$P_HTTP/file" &
        CHILDREN+=($!)
    done
    wait_all || die "curl failed in run $1"
    t1=$(now)
    sync "$dir"/* # fsync of each copy (not the whole file system)
    T_CURL=$(elapsed "$t0" "$t1")
    T_CSYNC=$(elapsed "$t0" "$(now)")
    cmp -s "$dir/1" "$WORK/src/file" && cmp -s "$dir/$AGENTS" "$WORK/src/file" ||
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
    cmp -s "$dir/1/install/current/file" "$WORK/src/file" &&
        cmp -s "$dir/$AGENTS/install/current/file" "$WORK/src/file" ||
        die "an agent's installed file differs from the source"
    rm -rf "$dir"
}

CURL_T=() CSYNC_T=() AGENT_T=()
for run in $(seq 1 "$RUNS"); do
    echo "$PROG: run $run/$RUNS" >&2
    # Alternate who goes first, so neither always meets the other's leftovers.
    if [ $((run % 2)) = 1 ]; then run_curl "$run"; run_agents "$run"; else run_agents "$run"; run_curl "$run"; fi
    CURL_T+=("$T_CURL") CSYNC_T+=("$T_CSYNC") AGENT_T+=("$T_AGENT")
    printf '%s: run %d: curl %s s, curl+sync %s s, agents %s s (fetched %s bytes)\n' "$PROG" "$run" \
        "$T_CURL" "$T_CSYNC" "$T_AGENT" "$FETCHED" >&2
done
HWM=$(hwm_kib "$BROKER_PID")
[ -n "$HWM" ] || die "fleetcast-broker is gone before the end; its log: $(tail -5 "$WORK/broker.log")"

CURL_MED=$(median "${CURL_T[@]}")
CSYNC_MED=$(median "${CSYNC_T[@]}")
AGENT_MED=$(median "${AGENT_T[@]}")
echo
echo "fleetcast fan-out benchmark: $AGENTS processes x $SIZE_MIB MiB at once, $RUNS runs, loopback"
printf '%-8s %12s %12s %12s\n' run "curl s" "curl+sync s" "agents s"
for i in $(seq 0 $((RUNS - 1))); do
    printf '%-8s %12s %12s %12s\n' $((i + 1)) "${CURL_T[$i]}" "${CSYNC_T[$i]}" "${AGENT_T[$i]}"
done
printf '%-8s %12s %12s %12s\n' median "$CURL_MED" "$CSYNC_MED" "$AGENT_MED"
awk -v a="$AGENT_MED" -v c="$CURL_MED" -v s="$CSYNC_MED" 'BEGIN {
    printf "ratio agents/curl (median): %.2f\n", (c > 0) ? a / c : 0
    printf "ratio agents/(curl+sync) (median): %.2f\n", (s > 0) ? a / s : 0 }'
if [ "$HWM_RESET" = 1 ]; then
    awk -v k="$HWM" -v p="$HWM_PUSH" 'BEGIN {
        printf "broker peak RSS while serving (VmHWM after reset): %.1f MiB\n", k / 1024
        printf "broker peak RSS including the push: %.1f MiB\n", (p > k ? p : k) / 1024 }'
else
    awk -v k="$HWM" 'BEGIN { printf "broker peak RSS (VmHWM, push included): %.1f MiB\n", k / 1024 }'
fi
