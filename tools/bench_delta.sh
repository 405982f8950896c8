#!/usr/bin/env bash
# bench_delta.sh: bytes a small change costs an agent, fleetcast against rsync, side by side.
#
# usage: tools/bench_delta.sh [--files N] [--build-dir DIR] [--real]
#   --files N     files of 1 MiB of random bytes in the base tree (default 24)
#   --real        adds the real pair: this project's installed trees (`cmake --install`, with
#                 DESTDIR) built at two commits, FC_BENCH_REAL_OLD (default cfa56eb, the last
#                 of 2026-11-22) and FC_BENCH_REAL_NEW (default e8aaea6, the last of
#                 2026-12-06: no commit lies between them, so "a week apart" is two weeks).
#                 Built by tools/bench_real_tree.sh and cached in FC_BENCH_REAL_CACHE
#                 (default $TMPDIR or /tmp, /fleetcast-real-pair): the first run builds
#                 twice (minutes on 2 cores), later ones reuse the trees.
#   BUILD_DIR (env, default "build", relative to the repo root) holds the built programs.
# For each change of the base tree (4 KiB overwritten in one file, 1 KiB inserted at the start
# of one file, one file renamed, 10% of the files with 4 KiB overwritten each): an agent that
# installed the base release installs the changed one through a counting relay
# (fleetcast-faultproxy, no faults) in front of the broker's service port, so every byte on
# its service connection counts, both ways: manifest, chunks, reports, heartbeats. rsync
# (daemon on loopback, `rsync -a --stats`) updates a copy of the base tree to the changed
# one; its figure is its total bytes sent plus received. The publisher's upload for the
# change is shown too: the chunk data it uploaded (push --json bytes_uploaded) and every byte
# on its connection (through a relay as the agent's), and the ratio of those to the agent's
# bytes. Plain TCP for both. rsync is installed with tools/apt_install.sh when missing.
set -euo pipefail

PROG=bench_delta.sh
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/bench_lib.sh
source "$REPO/tools/bench_lib.sh"
NFILES=24
REAL=0
BUILD_DIR=${BUILD_DIR:-build}

usage() { bench_usage 4,14; }

while [ $# -gt 0 ]; do
    case "$1" in
    --files) NFILES=${2:?--files needs N}; shift 2 ;;
    --build-dir) BUILD_DIR=${2:?--build-dir needs DIR}; shift 2 ;;
    --real) REAL=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done
[[ "$NFILES" =~ ^[1-9][0-9]*$ ]] && [ "$NFILES" -ge 2 ] || die "--files needs a number of at least 2"

bench_find_programs
PROXY=$(find_bin fleetcast-faultproxy tools)
command -v rsync >/dev/null || "$REPO/tools/apt_install.sh" rsync >&2 || die "cannot install rsync"

BROKER_PID="" RSYNCD_PID="" PROXY_PID="" CHILD_PID=""
bench_pids() { echo "$CHILD_PID $PROXY_PID $BROKER_PID $RSYNCD_PID"; }
# The real pair first: it may build for minutes, before any server is started.
if [ "$REAL" = 1 ]; then
    REAL_CACHE=${FC_BENCH_REAL_CACHE:-${TMPDIR:-/tmp}/fleetcast-real-pair}
    REAL_OLD=${FC_BENCH_REAL_OLD:-cfa56eb}
    REAL_NEW=${FC_BENCH_REAL_NEW:-e8aaea6}
    echo "$PROG: building the real pair $REAL_OLD and $REAL_NEW (cached in $REAL_CACHE)" >&2
    REAL_OLD_TREE=$("$REPO/tools/bench_real_tree.sh" "$REAL_OLD" "$REAL_CACHE") ||
        die "cannot build $REAL_OLD"
    REAL_NEW_TREE=$("$REPO/tools/bench_real_tree.sh" "$REAL_NEW" "$REAL_CACHE") ||
        die "cannot build $REAL_NEW"
fi
bench_make_work bench_delta $((NFILES * 1024 * 12 + REAL * 256 * 1024)) "$NFILES MiB trees"
bench_keys
bench_ports 3
P_SVC=${PORTS[0]} P_ANN=${PORTS[1]} P_RSYNC=${PORTS[2]}

mkdir -p "$WORK/base"
for i in $(seq 1 "$NFILES"); do
    head -c 1048576 /dev/urandom >"$WORK/base/file-$i.bin"
done
# An old time on the base, so rsync's quick check (size and mtime) sees every changed file.
touch -d "2020-01-01 00:00:00" "$WORK/base"/*

# The changes, each a tree of its own made from the base (the real pair's from its old tree).
CASES=(overwrite insert rename tenth)
declare -A LABEL=([overwrite]="4 KiB overwritten in one file"
    [insert]="1 KiB inserted at the start of one file"
    [rename]="one file renamed"
    [tenth]="10% of the files: 4 KiB overwritten in each")
declare -A BASE=()
overwrite() { # FILE: 4 KiB of new random bytes at 300000
    head -c 4096 /dev/urandom | dd of="$1" bs=4096 seek=300000 oflag=seek_bytes conv=notrunc status=none
}
for c in "${CASES[@]}"; do
    BASE[$c]=$WORK/base
    cp -a "$WORK/base" "$WORK/$c"
    case $c in
    overwrite) overwrite "$WORK/$c/file-5.bin" ;;
    insert)
        { head -c 1024 /dev/urandom; cat "$WORK/base/file-5.bin"; } >"$WORK/$c/file-5.bin" ;;
    rename) mv "$WORK/$c/file-5.bin" "$WORK/$c/renamed-5.bin" ;;
    tenth)
        for i in $(seq 1 $(((NFILES + 9) / 10))); do overwrite "$WORK/$c/file-$((i * 7 % NFILES + 1)).bin"; done ;;
    esac
done
if [ "$REAL" = 1 ]; then
    CASES+=(real)
    LABEL[real]="real pair: installed trees of $REAL_OLD and $REAL_NEW"
    BASE[real]=$WORK/real-base
    cp -a "$REAL_OLD_TREE" "$WORK/real-base"
    cp -a "$REAL_NEW_TREE" "$WORK/real"
    # Old times on the old tree, as on the base: rsync's quick check must not skip a file.
    find "$WORK/real-base" -exec touch -h -d "2020-01-01 00:00:00" {} +
fi

{
    echo "pid file = $WORK/rsyncd.pid"
    echo "use chroot = false"
    for c in "${CASES[@]}"; do
        printf '[%s]\n    path = %s\n    read only = true\n    uid = %s\n    gid = %s\n' \
            "$c" "$WORK/$c" "$(id -u)" "$(id -g)"
    done
} >"$WORK/rsyncd.conf"
rsync --daemon --no-detach --config="$WORK/rsyncd.conf" --port="$P_RSYNC" --address=127.0.0.1 \
    >"$WORK/rsyncd.log" 2>&1 &
RSYNCD_PID=$!
wait_port "$RSYNCD_PID" "$P_RSYNC" "rsync --daemon" "$WORK/rsyncd.log"

mkdir -p "$WORK/data"
"$BROKER" --data "$WORK/data" --service "tcp://127.0.0.1:$P_SVC" --announce "tcp://127.0.0.1:$P_ANN" \
    --insecure "${BROKER_EXTRA[@]}" >"$WORK/broker.log" 2>&1 &
BROKER_PID=$!
wait_port "$BROKER_PID" "$P_SVC" fleetcast-broker "$WORK/broker.log"

push() { # EP DIR CHANNEL VERSION: prints bytes_uploaded
    local out
    out=$("$CLI" --broker "$1" --insecure "${CLIENT_EXTRA[@]}" --json \
        release push "$2" --channel "$3" --version "$4" --key "$WORK/keys/signing.key" \
        2>"$WORK/push.err") || die "push of $2 failed: $(tail -3 "$WORK/push.err")"
    sed -n 's/.*"bytes_uploaded": *\([0-9]*\).*/\1/p' <<<"$out"
}
agent() { # EP CHANNEL DIR
    run_child "$AGENT" --broker "$1" --insecure --channel "$2" --install "$3/install" \
        --state "$3/state" --trust "$WORK/keys/signing.pub" --once "${AGENT_EXTRA[@]}" \
        >"$3.log" 2>&1 || die "fleetcast-agent failed: $(tail -5 "$3.log")"
}
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }

# relay_start NAME: a counting relay (fleetcast-faultproxy, no faults) in front of the
# broker's service port; RELAY_EP is its endpoint
relay_start() {
    "$PROXY" --listen 127.0.0.1:0 --upstream "127.0.0.1:$P_SVC" --port-file "$WORK/proxy.port" \
        >/dev/null 2>"$WORK/proxy-$1.log" &
    PROXY_PID=$!
    for _ in $(seq 1 100); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
    [ -s "$WORK/proxy.port" ] || die "fleetcast-faultproxy did not start: $(tail -3 "$WORK/proxy-$1.log")"
    RELAY_EP="tcp://127.0.0.1:$(cat "$WORK/proxy.port")"
}
# relay_stop NAME: stops the relay and prints the bytes it carried, both ways
relay_stop() {
    local bytes
    kill -TERM "$PROXY_PID"
    wait "$PROXY_PID" || true
    PROXY_PID=""
    rm -f "$WORK/proxy.port"
    bytes=$(sed -n 's/^cuts [0-9]* bytes \([0-9]*\)$/\1/p' "$WORK/proxy-$1.log" | tail -1)
    [ -n "$bytes" ] || die "no byte count from the relay: $(tail -3 "$WORK/proxy-$1.log")"
    echo "$bytes"
}

declare -A FC UP PW RS
for c in "${CASES[@]}"; do
    ch="delta-$c"
    push "tcp://127.0.0.1:$P_SVC" "${BASE[$c]}" "$ch" 1 >/dev/null
    mkdir -p "$WORK/agent-$c"
    agent "tcp://127.0.0.1:$P_SVC" "$ch" "$WORK/agent-$c"
    # The second push and the second install each through a counting relay.
    relay_start "push-$c"
    UP[$c]=$(push "$RELAY_EP" "$WORK/$c" "$ch" 2)
    PW[$c]=$(relay_stop "push-$c")
    relay_start "$c"
    agent "$RELAY_EP" "$ch" "$WORK/agent-$c"
    FC[$c]=$(relay_stop "$c")
    diff -r "$WORK/$c" "$WORK/agent-$c/install/current/" >/dev/null || die "$c: the agent's tree differs"

    cp -a "${BASE[$c]}" "$WORK/rsync-$c"
    run_child rsync -a --delete --stats "rsync://127.0.0.1:$P_RSYNC/$c/" "$WORK/rsync-$c/" \
        >"$WORK/rsync-$c.log" 2>&1 || die "rsync failed: $(tail -3 "$WORK/rsync-$c.log")"
    diff -r "$WORK/$c" "$WORK/rsync-$c" >/dev/null || die "$c: rsync's tree differs"
    sent=$(sed -n 's/^Total bytes sent: \([0-9,]*\).*/\1/p' "$WORK/rsync-$c.log" | tr -d ,)
    recv=$(sed -n 's/^Total bytes received: \([0-9,]*\).*/\1/p' "$WORK/rsync-$c.log" | tr -d ,)
    RS[$c]=$((sent + recv))
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
echo "base: $NFILES files of 1 MiB; agent bytes = all bytes on its service connection, both ways"
echo
echo "publisher: chunk data it uploaded (push --json bytes_uploaded), and all bytes on its connection"
echo
echo "| change | fleetcast agent | rsync | agent / rsync | publisher: data, all | all / agent |"
echo "|---|---|---|---|---|---|"
for c in "${CASES[@]}"; do
    printf '| %s | %s | %s | %sx | %s, %s | %sx |\n' "${LABEL[$c]}" "$(kib "${FC[$c]}")" \
        "$(kib "${RS[$c]}")" "$(ratio "${FC[$c]}" "${RS[$c]}")" "$(kib "${UP[$c]}")" \
        "$(kib "${PW[$c]}")" "$(ratio "${PW[$c]}" "${FC[$c]}")"
done
