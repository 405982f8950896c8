#!/usr/bin/env bash
# bench_push.sh: times pushing a real many-file tree (a copy of this machine's Python
# dist-packages) with fleetcast and with rsync to a daemon on loopback, side by side.
#
# usage: tools/bench_push.sh [--runs N] [--tree DIR] [--build-dir DIR]
#   --tree DIR    the tree to copy and push (default /usr/lib/python3/dist-packages, or
#                 /usr/lib/python3.X when dist-packages has under 1000 files)
#   BUILD_DIR (env, default "build", relative to the repo root) holds the built programs.
# Each run is cold for both: a fresh broker data dir (the broker holds no blob), a fresh
# rsync destination. Plain TCP for both (fleetcast --insecure, rsync's daemon protocol): the
# ratio compares the transfer machinery, not encryption. The broker makes every acknowledged
# chunk durable (fsync) before its reply; rsync does not fsync, so its figure is also shown
# with a `sync` of the destination's file system after it. Then a cold fleetcast-agent
# install of the pushed release is timed against rsync from the daemon into an empty dir.
# rsync is installed with tools/apt_install.sh when missing.
set -euo pipefail

PROG=bench_push.sh
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/bench_lib.sh
source "$REPO/tools/bench_lib.sh"
RUNS=3
BUILD_DIR=${BUILD_DIR:-build}
TREE=""

usage() { bench_usage 4,7; }

while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=${2:?--runs needs N}; shift 2 ;;
    --tree) TREE=${2:?--tree needs DIR}; shift 2 ;;
    --build-dir) BUILD_DIR=${2:?--build-dir needs DIR}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done

bench_find_programs
command -v rsync >/dev/null || "$REPO/tools/apt_install.sh" rsync >&2 || die "cannot install rsync"
if [ -z "$TREE" ]; then
    TREE=/usr/lib/python3/dist-packages
    if [ ! -d "$TREE" ] || [ "$(find "$TREE" -type f | wc -l)" -lt 1000 ]; then
        TREE=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
    fi
fi
[ -d "$TREE" ] || die "no tree at $TREE"

BROKER_PID="" RSYNCD_PID="" CHILD_PID=""
bench_pids() { echo "$CHILD_PID $BROKER_PID $RSYNCD_PID"; }
bench_make_work bench_push 1048576 "a copy of $TREE and its pushes"

cp -a "$TREE" "$WORK/src"
# What fleetcast cannot release is left out of both sides alike (sockets, FIFOs, devices).
find "$WORK/src" ! -type f ! -type d ! -type l -delete
FILES=$(find "$WORK/src" -type f | wc -l)
LINKS=$(find "$WORK/src" -type l | wc -l)
DIRS=$(find "$WORK/src" -mindepth 1 -type d | wc -l)
MIB=$(du -sm --apparent-size "$WORK/src" | cut -f1)
echo "$PROG: $TREE: $FILES files, $LINKS symlinks, $DIRS directories, $MIB MiB" >&2
bench_keys
bench_ports 3
P_SVC=${PORTS[0]} P_ANN=${PORTS[1]} P_RSYNC=${PORTS[2]}

mkdir -p "$WORK/rsync"
cat >"$WORK/rsyncd.conf" <<CONF
pid file = $WORK/rsyncd.pid
use chroot = false
[bench]
    path = $WORK/rsync
    read only = false
    uid = $(id -u)
    gid = $(id -g)
[src]
    path = $WORK/src
    read only = true
    uid = $(id -u)
    gid = $(id -g)
CONF
rsync --daemon --no-detach --config="$WORK/rsyncd.conf" --port="$P_RSYNC" --address=127.0.0.1 \
    >"$WORK/rsyncd.log" 2>&1 &
RSYNCD_PID=$!
wait_port "$RSYNCD_PID" "$P_RSYNC" "rsync --daemon" "$WORK/rsyncd.log"

start_broker() { # DATA
    "$BROKER" --data "$1" --service "tcp://127.0.0.1:$P_SVC" --announce "tcp://127.0.0.1:$P_ANN" \
        --insecure "${BROKER_EXTRA[@]}" >"$1.log" 2>&1 &
    BROKER_PID=$!
    wait_port "$BROKER_PID" "$P_SVC" fleetcast-broker "$1.log"
}
stop_broker() { kill -TERM "$BROKER_PID"; wait "$BROKER_PID" || true; BROKER_PID=""; }

declare -a T_FC=() T_RS=() T_RSS=() T_AG=() T_RSI=()
for run in $(seq 1 "$RUNS"); do
    data="$WORK/broker$run"
    mkdir -p "$data"
    start_broker "$data"
    sync
    t0=$(now)
    run_child "$CLI" --broker "tcp://127.0.0.1:$P_SVC" --insecure "${CLIENT_EXTRA[@]}" --quiet \
        release push "$WORK/src" --channel bench --version "$run" --key "$WORK/keys/signing.key" \
        --allow-external-symlinks >"$WORK/push$run.log" 2>&1 ||
        die "fleetcast release push failed: $(tail -5 "$WORK/push$run.log")"
    T_FC+=("$(elapsed "$t0" "$(now)")")

    sync
    t0=$(now)
    run_child rsync -a "$WORK/src/" "rsync://127.0.0.1:$P_RSYNC/bench/run$run/" ||
        die "rsync to the daemon failed"
    T_RS+=("$(elapsed "$t0" "$(now)")")
    run_child sync -f "$WORK/rsync" || die "sync failed"
    T_RSS+=("$(elapsed "$t0" "$(now)")")

    # Installs: a cold agent against rsync from the daemon into an empty dir.
    sync
    mkdir -p "$WORK/agent$run/install" "$WORK/agent$run/state"
    t0=$(now)
    run_child "$AGENT" --broker "tcp://127.0.0.1:$P_SVC" --insecure --channel bench \
        --install "$WORK/agent$run/install" --state "$WORK/agent$run/state" \
        --trust "$WORK/keys/signing.pub" --once "${AGENT_EXTRA[@]}" >"$WORK/agent$run.log" 2>&1 ||
        die "fleetcast-agent failed: $(tail -5 "$WORK/agent$run.log")"
    T_AG+=("$(elapsed "$t0" "$(now)")")
    sync
    t0=$(now)
    run_child rsync -a "rsync://127.0.0.1:$P_RSYNC/src/" "$WORK/rsync-in$run/" || die "rsync from the daemon failed"
    run_child sync -f "$WORK/rsync" || die "sync failed"
    T_RSI+=("$(elapsed "$t0" "$(now)")")
    diff -r --no-dereference "$WORK/src" "$WORK/agent$run/install/current/" >/dev/null ||
        die "the agent's install differs from the tree"
    stop_broker
    rm -rf "$data" "$WORK/rsync/run$run" "$WORK/rsync-in$run" "$WORK/agent$run"
done

fc=$(median "${T_FC[@]}") rs=$(median "${T_RS[@]}") rss=$(median "${T_RSS[@]}")
ag=$(median "${T_AG[@]}") rsi=$(median "${T_RSI[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "tree: $TREE ($FILES files, $LINKS symlinks, $DIRS directories, $MIB MiB), $RUNS runs, medians"
printf '%-34s %8s\n' "" seconds
printf '%-34s %8s   runs: %s\n' "fleetcast release push (cold)" "$fc" "${T_FC[*]}"
printf '%-34s %8s   runs: %s\n' "rsync -a to daemon" "$rs" "${T_RS[*]}"
printf '%-34s %8s   runs: %s\n' "rsync -a to daemon + sync" "$rss" "${T_RSS[*]}"
printf '%-34s %8s   runs: %s\n' "fleetcast-agent install (cold)" "$ag" "${T_AG[*]}"
printf '%-34s %8s   runs: %s\n' "rsync -a from daemon + sync" "$rsi" "${T_RSI[*]}"
echo "push: fleetcast / rsync = $(ratio "$fc" "$rs") (/ rsync+sync = $(ratio "$fc" "$rss")); install: agent / rsync+sync = $(ratio "$ag" "$rsi")"
