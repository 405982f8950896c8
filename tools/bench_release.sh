#!/usr/bin/env bash
# bench_release.sh: times a cold fleetcast-agent install of one big release against curl from nginx.
#
# usage: tools/bench_release.sh [--size MIB] [--runs N] [--build-dir DIR]
#   BUILD_DIR (env, default "build", relative to the repo root) holds the built programs.
#   FC_BENCH_BROKER_ARGS / FC_BENCH_CLIENT_ARGS / FC_BENCH_AGENT_ARGS add words to the
#   broker / fleetcast / fleetcast-agent command lines.
#   Transport: CURVE (keys made and enrolled in the work dir), or plain TCP with
#   FC_BENCH_INSECURE=1 (every program gets --insecure).
# Both contenders read from the page cache (warm for both: the file was just written and
# pushed) and write into the same file system, so the ratio compares transfer machinery.
# curl is timed twice in the same run: when it exits (its data may still be dirty in the page
# cache) and after an fsync of its output ("curl+sync"), which is the durability the agent
# gives before it swaps (every chunk verified, files fsynced); the ratio is shown against both.
set -euo pipefail

PROG=bench_release.sh
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE_MIB=1024
RUNS=3
BUILD_DIR=${BUILD_DIR:-build}

die() {
    echo "$PROG: $*" >&2
    exit 1
}

usage() {
    sed -n '4,7s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

while [ $# -gt 0 ]; do
    case "$1" in
    --size) SIZE_MIB=${2:?--size needs MIB}; shift 2 ;;
    --runs) RUNS=${2:?--runs needs N}; shift 2 ;;
    --build-dir) BUILD_DIR=${2:?--build-dir needs DIR}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ "$SIZE_MIB" =~ ^[1-9][0-9]*$ ]] || die "--size must be a positive number of MiB"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive number"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$REPO/$BUILD_DIR" ;; esac

# find_bin NAME SUBDIR: the built program, or a clear failure naming where it was looked for
find_bin() {
    local name=$1 sub=$2 cand
    for cand in "$BUILD_DIR/$sub/$name" "$BUILD_DIR/$name" "$BUILD_DIR/bin/$name"; do
        if [ -x "$cand" ] && [ -f "$cand" ]; then
            echo "$cand"
            return 0
        fi
    done
    die "$name not found (looked in $BUILD_DIR/$sub, $BUILD_DIR, $BUILD_DIR/bin);" \
        "build it first: cmake -S $REPO -B $BUILD_DIR && cmake --build $BUILD_DIR -j2"
}
BROKER=$(find_bin fleetcast-broker broker)
CLI=$(find_bin fleetcast publisher)
AGENT=$(find_bin fleetcast-agent subscriber)
FREEPORT=$(find_bin fleetcast-freeport tools)
read -r -a BROKER_EXTRA <<<"${FC_BENCH_BROKER_ARGS:-}"
read -r -a CLIENT_EXTRA <<<"${FC_BENCH_CLIENT_ARGS:-}"
read -r -a AGENT_EXTRA <<<"${FC_BENCH_AGENT_ARGS:-}"

# nginx and curl are the baseline; install them only if they are missing
APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null || die "$* missing and no apt-get to install it"
    [ "$(id -u)" = 0 ] || die "$* missing; install it (needs root for apt-get)"
    local policy_made=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        # keep the package's postinst from starting a system nginx on port 80
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy_made=1
    fi
    local ok=1
    for pkg in "$@"; do
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null 2>&1; then
            ok=0
            break
        fi
        if [ $APT_UPDATED = 0 ]; then
            APT_UPDATED=1
            apt-get update -q >/dev/null 2>&1 || true
            if DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null 2>&1; then
                ok=0
                break
            fi
        fi
    done
    [ $policy_made = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ $ok = 0 ] || die "could not install any of: $*"
}
NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || [ ! -x /usr/sbin/nginx ] || NGINX=/usr/sbin/nginx
if [ -z "$NGINX" ]; then
    echo "$PROG: installing nginx" >&2
    apt_install nginx-light nginx
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
if ! command -v curl >/dev/null; then
    echo "$PROG: installing curl" >&2
    apt_install curl
fi

# monotonic-enough wall clock in seconds with microseconds, without forking
now() {
    if [ -n "${EPOCHREALTIME:-}" ]; then echo "$EPOCHREALTIME"; else date +%s.%N; fi
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
json_num() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\{0,1\}\([0-9.]*\).*/\1/p" "$2" | head -1; }

TMPBASE=${TMPDIR:-/var/tmp}
need_kib=$(((SIZE_MIB * 4 + 256) * 1024)) # source, broker store, curl copy, agent install
avail_kib=$(df -Pk "$TMPBASE" | awk 'NR == 2 { print $4 }')
[ "$avail_kib" -ge "$need_kib" ] ||
    die "$TMPBASE has $((avail_kib / 1024)) MiB free; --size $SIZE_MIB needs $((need_kib / 1024)) MiB"
WORK=$(mktemp -d "$TMPBASE/fc-bench.XXXXXX")
BROKER_PID=""
NGINX_PID=""
CHILD_PID=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in $CHILD_PID $NGINX_PID $BROKER_PID; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $CHILD_PID $NGINX_PID $BROKER_PID; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run_child CMD...: runs CMD in the background and waits, so a signal interrupts the wait at
# once (bash defers traps until a foreground command ends) and cleanup can kill CMD by PID
run_child() {
    local rc=0
    "$@" &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return $rc
}

# wait_port PID PORT WHAT: until something accepts on PORT, failing if PID dies first
wait_port() {
    local pid=$1 port=$2 what=$3 i
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || die "$what exited during startup; its log: $(tail -5 "$4")"
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    die "$what did not listen on 127.0.0.1:$port within 10 s"
}

mapfile -t PORTS < <("$FREEPORT" 3)
[ ${#PORTS[@]} = 3 ] || die "fleetcast-freeport did not give 3 ports"
P_SERVICE=${PORTS[0]} P_ANNOUNCE=${PORTS[1]} P_HTTP=${PORTS[2]}
ENDPOINT=tcp://127.0.0.1:$P_SERVICE

echo "$PROG: making a ${SIZE_MIB} MiB random file in $WORK" >&2
mkdir -p "$WORK/src" "$WORK/nginx/tmp" "$WORK/out"
dd if=/dev/urandom of="$WORK/src/file" bs=1M count="$SIZE_MIB" iflag=fullblock status=none
SIZE_BYTES=$((SIZE_MIB * 1024 * 1024))

# a private nginx: its own config, pid, logs and temp paths, serving the source dir
NGINX_USER=""
[ "$(id -u)" = 0 ] && NGINX_USER="user $(id -un) $(id -gn);" # workers would be nobody
cat >"$WORK/nginx/nginx.conf" <<EOF
$NGINX_USER
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 64; }
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
EOF
"$NGINX" -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
    >"$WORK/nginx/stdout.log" 2>&1 &
NGINX_PID=$!
wait_port "$NGINX_PID" "$P_HTTP" nginx "$WORK/nginx/error.log"

mkdir -p "$WORK/broker"
"$CLI" keygen --out "$WORK/keys" >"$WORK/keygen.log" 2>&1 ||
    die "fleetcast keygen failed: $(tail -5 "$WORK/keygen.log")"
if [ "${FC_BENCH_INSECURE:-0}" = 1 ]; then
    TRANSPORT=plain
    BROKER_SEC=(--insecure) CLIENT_SEC=(--insecure) AGENT_SEC=(--insecure)
else
    TRANSPORT=curve
    { "$CLI" keygen --role broker --out "$WORK/broker" &&
      "$CLI" keygen --role agent --out "$WORK/keys" &&
      "$CLI" keys add-publisher "$WORK/keys/publisher.cert" --data "$WORK/broker" &&
      "$CLI" keys add-agent "$WORK/keys/agent.cert" --data "$WORK/broker"; } >>"$WORK/keygen.log" 2>&1 ||
        die "CURVE keys failed: $(tail -5 "$WORK/keygen.log")"
    BROKER_SEC=()
    CLIENT_SEC=(--broker-key "$WORK/broker/broker.cert" --cert "$WORK/keys/publisher.cert_secret")
    AGENT_SEC=(--broker-key "$WORK/broker/broker.cert" --key "$WORK/keys/agent.cert_secret")
fi
echo "$PROG: transport $TRANSPORT" >&2
"$BROKER" --data "$WORK/broker" --service "$ENDPOINT" --announce "tcp://127.0.0.1:$P_ANNOUNCE" \
    "${BROKER_SEC[@]}" "${BROKER_EXTRA[@]}" >"$WORK/broker.log" 2>&1 &
BROKER_PID=$!
wait_port "$BROKER_PID" "$P_SERVICE" fleetcast-broker "$WORK/broker.log"

echo "$PROG: pushing the release" >&2
t0=$(now)
run_child "$CLI" --broker "$ENDPOINT" "${CLIENT_SEC[@]}" "${CLIENT_EXTRA[@]}" release push "$WORK/src" --channel bench \
    --version 1 --key "$WORK/keys/signing.key" >"$WORK/push.log" 2>&1 ||
    die "fleetcast release push failed: $(tail -5 "$WORK/push.log")"
PUSH_S=$(elapsed "$t0" "$(now)")

CURL_T=()
CSYNC_T=()
AGENT_T=()
FETCHED=()
RETRIED=()
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

    # (b) a cold agent: fresh install and state dirs, timed from process start to exit
    sync
    inst="$WORK/run$run/install" state="$WORK/run$run/state"
    mkdir -p "$inst" "$state"
    t0=$(now)
    run_child "$AGENT" --broker "$ENDPOINT" --channel bench --install "$inst" --state "$state" \
        --trust "$WORK/keys/signing.pub" --once --json "${AGENT_SEC[@]}" "${AGENT_EXTRA[@]}" \
        >"$WORK/agent$run.json" 2>"$WORK/agent$run.log" ||
        die "fleetcast-agent failed in run $run: $(tail -5 "$WORK/agent$run.log")"
    AGENT_T+=("$(elapsed "$t0" "$(now)")")
    [ "$(json_num version "$WORK/agent$run.json")" = 1 ] ||
        die "agent did not report version 1: $(head -c 400 "$WORK/agent$run.json")"
    cmp -s "$inst/current/file" "$WORK/src/file" || die "agent install differs from the source"
    FETCHED+=("$(json_num bytes_fetched "$WORK/agent$run.json")")
    RETRIED+=("$(json_num requests_retried "$WORK/agent$run.json")")
    rm -rf "${WORK:?}/run$run"
done

HWM_KIB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$BROKER_PID/status" 2>/dev/null || true)
[ -n "$HWM_KIB" ] || die "fleetcast-broker is gone before the end; its log: $(tail -5 "$WORK/broker.log")"

CURL_MED=$(median "${CURL_T[@]}")
CSYNC_MED=$(median "${CSYNC_T[@]}")
AGENT_MED=$(median "${AGENT_T[@]}")
mibs() { awk -v s="$1" -v m="$SIZE_MIB" 'BEGIN { printf "%.0f", (s > 0) ? m / s : 0 }'; }
echo
echo "fleetcast release benchmark: $SIZE_MIB MiB file, $RUNS runs, loopback, warm page cache, transport $TRANSPORT"
echo "push: ${PUSH_S} s ($(mibs "$PUSH_S") MiB/s)"
printf '%-8s %12s %12s %12s %14s %10s\n' run "curl s" "curl+sync s" "agent s" "agent fetched" \
    retried
for i in $(seq 0 $((RUNS - 1))); do
    printf '%-8s %12s %12s %12s %14s %10s\n' $((i + 1)) "${CURL_T[$i]}" "${CSYNC_T[$i]}" \
        "${AGENT_T[$i]}" "${FETCHED[$i]:-?}" "${RETRIED[$i]:-?}"
done
printf '%-8s %12s %12s %12s\n' median "$CURL_MED" "$CSYNC_MED" "$AGENT_MED"
printf '%-8s %12s %12s %12s\n' "MiB/s" "$(mibs "$CURL_MED")" "$(mibs "$CSYNC_MED")" "$(mibs "$AGENT_MED")"
ratio() { awk -v a="$AGENT_MED" -v c="$2" -v w="$1" 'BEGIN { printf "ratio agent/%s (median): %.2f\n", w, (c > 0) ? a / c : 0 }'; }
ratio "curl" "$CURL_MED"
ratio "(curl+sync)" "$CSYNC_MED"
awk -v k="$HWM_KIB" 'BEGIN { printf "broker peak RSS (VmHWM): %.1f MiB\n", k / 1024 }'
[ "${FETCHED[0]:-}" = "" ] || [ "${FETCHED[0]}" -ge "$SIZE_BYTES" ] ||
    echo "note: run 1 fetched ${FETCHED[0]} of $SIZE_BYTES bytes (reuse should be impossible cold)"
