# bench_lib.sh: the scaffolding tools/bench_*.sh share; sourced by them, not run.
#
# Programs, work dir and cleanup by PID, a private nginx, CURVE keys, timing and medians.
# The sourcing script sets PROG (its name, for messages) and REPO (the repo root) first, and
# BUILD_DIR before bench_find_programs. The lib sets BENCH_SCRIPT (the sourcing script, whose
# header comment is its --help) and, through the functions below: BROKER CLI AGENT FREEPORT,
# BROKER_EXTRA CLIENT_EXTRA AGENT_EXTRA, NGINX, WORK, PORTS, NGINX_PID, CURVE_CLIENT_ARGS and
# CURVE_AGENT_ARGS. The script defines bench_pids (the PIDs to stop on exit besides nginx).
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are read by the sourcing script

BENCH_SCRIPT=${BASH_SOURCE[1]}

# die MSG...: the message on stderr, prefixed with the script's name, then exit 1
die() {
    echo "$PROG: $*" >&2
    exit 1
}

# run_child CMD...: runs CMD in the background and waits, so a signal interrupts the wait at
# once (bash defers traps until a foreground command ends) and cleanup can kill CMD by PID
# (the script's bench_pids names CHILD_PID)
run_child() {
    local rc=0
    "$@" &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return $rc
}

# bench_usage FIRST,LAST: the script's header lines FIRST..LAST without their "# " (its --help)
bench_usage() {
    sed -n "$1s/^# \{0,1\}//p" "$BENCH_SCRIPT"
}

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

# bench_find_programs: makes BUILD_DIR absolute (relative to REPO), sets BROKER, CLI, AGENT and
# FREEPORT to the built programs and BROKER_EXTRA / CLIENT_EXTRA / AGENT_EXTRA to the words of
# FC_BENCH_BROKER_ARGS / FC_BENCH_CLIENT_ARGS / FC_BENCH_AGENT_ARGS
bench_find_programs() {
    case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$REPO/$BUILD_DIR" ;; esac
    BROKER=$(find_bin fleetcast-broker broker)
    CLI=$(find_bin fleetcast publisher)
    AGENT=$(find_bin fleetcast-agent subscriber)
    FREEPORT=$(find_bin fleetcast-freeport tools)
    read -r -a BROKER_EXTRA <<<"${FC_BENCH_BROKER_ARGS:-}"
    read -r -a CLIENT_EXTRA <<<"${FC_BENCH_CLIENT_ARGS:-}"
    read -r -a AGENT_EXTRA <<<"${FC_BENCH_AGENT_ARGS:-}"
}

# bench_need_nginx_curl: sets NGINX to the nginx binary (FC_BENCH_NGINX, else nginx in PATH,
# else /usr/sbin/nginx) and makes sure curl is in PATH; nginx and curl are the baseline, so
# they are installed with apt-get (as root) only if they are missing
bench_need_nginx_curl() {
    NGINX=${FC_BENCH_NGINX:-$(command -v nginx || true)}
    [ -n "$NGINX" ] || [ ! -x /usr/sbin/nginx ] || NGINX=/usr/sbin/nginx
    if [ -z "$NGINX" ]; then
        echo "$PROG: installing nginx" >&2
        bash "$REPO/tools/apt_install.sh" "nginx-light|nginx" || die "could not install nginx"
        NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    fi
    [ -x "$NGINX" ] || die "no nginx at $NGINX (set FC_BENCH_NGINX)"
    if ! command -v curl >/dev/null; then
        echo "$PROG: installing curl" >&2
        bash "$REPO/tools/apt_install.sh" curl || die "could not install curl"
    fi
}

# now: monotonic-enough wall clock in seconds with microseconds, without forking
now() {
    if [ -n "${EPOCHREALTIME:-}" ]; then echo "$EPOCHREALTIME"; else date +%s.%N; fi
}
# elapsed T0 T1: T1 - T0 in seconds, 3 decimals
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# median X...: the median of the numbers, 3 decimals
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# hwm_kib PID: the process's peak RSS (VmHWM) in KiB, empty if it is gone
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# bench_make_work PREFIX NEED_KIB WHAT: checks that TMPDIR (default /var/tmp) has NEED_KIB free
# (else dies saying "WHAT needs ..."), makes the work dir WORK there (PREFIX.XXXXXX) and sets the
# traps that stop the benchmark's processes and remove WORK (kept if KEEP=1) on exit
bench_make_work() {
    local tmpbase=${TMPDIR:-/var/tmp} avail_kib
    avail_kib=$(df -Pk "$tmpbase" | awk 'NR == 2 { print $4 }')
    [ "$avail_kib" -ge "$2" ] ||
        die "$tmpbase has $((avail_kib / 1024)) MiB free; $3 needs $(($2 / 1024)) MiB"
    WORK=$(mktemp -d "$tmpbase/$1.XXXXXX")
    NGINX_PID=""
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# bench_cleanup: the EXIT trap; stops by PID what bench_pids names, then nginx (TERM, then waits
# for each), removes WORK unless KEEP=1 and exits with the script's status
bench_cleanup() {
    local rc=$? pid pids
    trap - EXIT INT TERM
    read -r -a pids <<<"$(bench_pids) $NGINX_PID"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "${KEEP:-0}" = 1 ]; then echo "$PROG: kept $WORK" >&2; else rm -rf "$WORK"; fi
    exit $rc
}

# wait_port PID PORT WHAT LOG: until something accepts on 127.0.0.1:PORT, dying (with LOG's
# tail) if PID exits first or after 10 s
wait_port() {
    local pid=$1 port=$2 what=$3 log=$4 i
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || die "$what exited during startup; its log: $(tail -5 "$log")"
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    die "$what did not listen on 127.0.0.1:$port within 10 s"
}

# bench_ports N: sets PORTS to N free loopback ports
bench_ports() {
    mapfile -t PORTS < <("$FREEPORT" "$1")
    [ ${#PORTS[@]} = "$1" ] || die "fleetcast-freeport did not give $1 ports"
}

# bench_make_source SIZE_MIB: makes WORK/src/file, SIZE_MIB MiB of random bytes
bench_make_source() {
    echo "$PROG: making a ${1} MiB random file in $WORK" >&2
    mkdir -p "$WORK/src" "$WORK/nginx/tmp"
    dd if=/dev/urandom of="$WORK/src/file" bs=1M count="$1" iflag=fullblock status=none
}

# bench_start_nginx PORT CONNECTIONS: a private nginx (one worker, sendfile; its own config,
# pid, logs and temp paths under WORK/nginx) serving WORK/src on 127.0.0.1:PORT; sets NGINX_PID
# and returns once it accepts
bench_start_nginx() {
    local user=""
    [ "$(id -u)" = 0 ] && user="user $(id -un) $(id -gn);" # workers would be nobody
    cat >"$WORK/nginx/nginx.conf" <<NGINX
$user
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections $2; }
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
        listen 127.0.0.1:$1;
        root $WORK/src;
    }
}
NGINX
    "$NGINX" -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
        >"$WORK/nginx/stdout.log" 2>&1 &
    NGINX_PID=$!
    wait_port "$NGINX_PID" "$1" nginx "$WORK/nginx/error.log"
}

# bench_keys: the publisher's signing and CURVE keys in WORK/keys (log in WORK/keygen.log)
bench_keys() {
    "$CLI" keygen --out "$WORK/keys" >"$WORK/keygen.log" 2>&1 ||
        die "fleetcast keygen failed: $(tail -5 "$WORK/keygen.log")"
}

# bench_curve_keys DATA: a broker certificate in the broker data dir DATA, the agent key in
# WORK/keys (one key shared by all the agents, like a real fleet) and both the publisher's and
# the agent's keys enrolled in DATA; sets CURVE_CLIENT_ARGS and CURVE_AGENT_ARGS to the words
# fleetcast and fleetcast-agent need to reach that broker over CURVE
bench_curve_keys() {
    local data=$1
    { "$CLI" keygen --role broker --out "$data" &&
      "$CLI" keygen --role agent --out "$WORK/keys" &&
      "$CLI" keys add-publisher "$WORK/keys/publisher.cert" --data "$data" &&
      "$CLI" keys add-agent "$WORK/keys/agent.cert" --data "$data"; } >>"$WORK/keygen.log" 2>&1 ||
        die "CURVE keys failed: $(tail -5 "$WORK/keygen.log")"
    CURVE_CLIENT_ARGS=(--broker-key "$data/broker.cert" --cert "$WORK/keys/publisher.cert_secret")
    CURVE_AGENT_ARGS=(--broker-key "$data/broker.cert" --key "$WORK/keys/agent.cert_secret")
}

# bench_start_broker SERVICE_PORT ANNOUNCE_PORT: the publisher's keys (bench_keys), then CURVE
# like a real fleet (one agent key shared by all the agents, bench_curve_keys) unless
# FC_BENCH_INSECURE=1, added to BROKER_EXTRA / CLIENT_EXTRA / AGENT_EXTRA; a broker on
# WORK/broker bound to those loopback ports (log WORK/broker.log); sets BROKER_PID and returns
# once it accepts
bench_start_broker() {
    mkdir -p "$WORK/broker"
    bench_keys
    if [ "${FC_BENCH_INSECURE:-0}" = 1 ]; then
        BROKER_EXTRA+=(--insecure) CLIENT_EXTRA+=(--insecure) AGENT_EXTRA+=(--insecure)
    else
        bench_curve_keys "$WORK/broker"
        CLIENT_EXTRA+=("${CURVE_CLIENT_ARGS[@]}") AGENT_EXTRA+=("${CURVE_AGENT_ARGS[@]}")
    fi
    "$BROKER" --data "$WORK/broker" --service "tcp://127.0.0.1:$1" \
        --announce "tcp://127.0.0.1:$2" "${BROKER_EXTRA[@]}" >"$WORK/broker.log" 2>&1 &
    BROKER_PID=$!
    wait_port "$BROKER_PID" "$1" fleetcast-broker "$WORK/broker.log"
}
