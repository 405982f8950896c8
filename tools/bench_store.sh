#!/usr/bin/env bash
# bench_store.sh: issue 17's benchmark, the broker's store on SQLite and on PostgreSQL side by side.
#
# usage: tools/bench_store.sh [--rounds N] [--only LIST] [--build-dir DIR] [--keep]
#   Each figure is measured by the tool that already measures it, run once per store per round,
#   alternating (SQLite, PostgreSQL, SQLite, ...), so both meet the same machine load:
#     push     tools/bench_release.sh --size FC_STORE_PUSH_MIB --runs 1: the push of one
#              file of that size (and the cold agent install after it)
#     fanout   tools/bench_fanout.sh --agents FC_STORE_AGENTS --size FC_STORE_AGENT_MIB --runs 1
#     config   fleetcast-fleetsim --start-broker -n FC_STORE_CONFIG_AGENTS --idle FC_STORE_IDLE
#              --bench-config FC_STORE_CONFIG_ROUNDS: config p99 (all rounds) and idle broker CPU
#     failover SIGKILL of the broker an agent downloads from (a FC_STORE_FAILOVER_MIB file, 2.5 s
#              in) to the first GET_CHUNK the other broker serves (its --verbose log, ms). On
#              PostgreSQL: two brokers on one database and one data dir (it_pg_failover.sh). On
#              SQLite one store has no peer: two relays of one root (it_multi_broker.sh), the
#              other relay's cache warm; labelled so.
#   --rounds N     rounds (default FC_STORE_ROUNDS, else 3); medians over the rounds
#   --only LIST    comma-separated figures of push,fanout,config,failover (default all)
#   --keep         keep the work dir (logs of every run)
#   Sizes (env): FC_STORE_PUSH_MIB 1024, FC_STORE_AGENTS 100, FC_STORE_AGENT_MIB 64,
#   FC_STORE_CONFIG_AGENTS 1000, FC_STORE_CONFIG_ROUNDS 5, FC_STORE_IDLE 30 (seconds),
#   FC_STORE_FAILOVER_MIB 16. BUILD_DIR (env, default "build") holds the built programs.
#   FC_BENCH_INSECURE=1: plain TCP for push and fanout too (failover always runs --insecure).
# PostgreSQL: one server for the whole run (tests/pg.sh: Debian's binaries, a temp dir, a free
# loopback port, stopped by PID), a fresh database for every run, dropped after it. Prints a
# line per figure per store per round, then a markdown table of the medians and PG/SQLite.
set -euo pipefail

PROG=bench_store.sh
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/bench_lib.sh
source "$REPO/tools/bench_lib.sh"
ROUNDS=${FC_STORE_ROUNDS:-3}
ONLY=push,fanout,config,failover
BUILD_DIR=${BUILD_DIR:-build}
KEEP=0
PUSH_MIB=${FC_STORE_PUSH_MIB:-1024}
AGENTS=${FC_STORE_AGENTS:-100}
AGENT_MIB=${FC_STORE_AGENT_MIB:-64}
CONFIG_AGENTS=${FC_STORE_CONFIG_AGENTS:-1000}
CONFIG_ROUNDS=${FC_STORE_CONFIG_ROUNDS:-5}
IDLE=${FC_STORE_IDLE:-30}
FAILOVER_MIB=${FC_STORE_FAILOVER_MIB:-16}

usage() { bench_usage 4,26; }

while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS=${2:?--rounds needs N}; shift 2 ;;
    --only) ONLY=${2:?--only needs a list}; shift 2 ;;
    --build-dir) BUILD_DIR=${2:?--build-dir needs DIR}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
for v in ROUNDS PUSH_MIB AGENTS AGENT_MIB CONFIG_AGENTS CONFIG_ROUNDS IDLE FAILOVER_MIB; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive number, not '${!v}'"
done
FIGURES=()
IFS=, read -r -a FIGURES <<<"$ONLY"
for f in "${FIGURES[@]}"; do
    case "$f" in push | fanout | config | failover) ;; *) die "--only: unknown figure '$f'" ;; esac
done
wants() { [[ ",$ONLY," == *",$1,"* ]]; }
bench_find_programs
SIM=$(find_bin fleetcast-fleetsim tools)
TRANSPORT=curve
[ "${FC_BENCH_INSECURE:-0}" = 1 ] && TRANSPORT=plain

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/fc-store.XXXXXX")
CHILD_PID=""
store_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$CHILD_PID" ]; then kill -TERM "$CHILD_PID" 2>/dev/null || true; wait "$CHILD_PID" 2>/dev/null || true; fi
    fc_pg_stop
    if [ "$KEEP" = 1 ]; then echo "$PROG: kept $WORK" >&2; else rm -rf "$WORK"; fi
    exit $rc
}
# The server (tests/pg.sh starts it when sourced, exporting FC_TEST_PG), then the traps that
# stop it and whatever run is under way.
# shellcheck source=tests/pg.sh
source "$REPO/tests/pg.sh"
trap store_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PG_PORT=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$FC_TEST_PG")
echo "$PROG: PostgreSQL on 127.0.0.1:$PG_PORT, work dir $WORK" >&2

# new_db STORE N: for STORE postgresql, a fresh database bench_N; sets STORE_ARG to the
# broker's --store for it (a URL: one word, as FC_BENCH_BROKER_ARGS splits on spaces), empty
# for sqlite
new_db() {
    STORE_ARG=""
    DB_NAME=""
    [ "$1" = postgresql ] || return 0
    DB_NAME=bench_$2
    "$PGBIN/psql" -qtA -v ON_ERROR_STOP=1 "$FC_TEST_PG" -c "CREATE DATABASE $DB_NAME" >/dev/null ||
        die "cannot create database $DB_NAME"
    STORE_ARG="postgresql://postgres@127.0.0.1:$PG_PORT/$DB_NAME"
}
# db_used TABLE: for a PostgreSQL run, true if the run's database has rows in TABLE (so the
# broker did keep its state there); always true for SQLite
db_used() {
    [ -n "$DB_NAME" ] || return 0
    local n
    n=$("$PGBIN/psql" -qtA "postgresql://postgres@127.0.0.1:$PG_PORT/$DB_NAME" \
        -c "SELECT count(*) FROM $1" 2>/dev/null || true)
    [ "${n:-0}" -gt 0 ] && return 0
    echo "$PROG: database $DB_NAME has no $1 rows: the broker did not keep its state there" >&2
    return 1
}
drop_db() {
    [ -z "$DB_NAME" ] ||
        "$PGBIN/psql" -qtA "$FC_TEST_PG" -c "DROP DATABASE $DB_NAME WITH (FORCE)" >/dev/null 2>&1 || true
}

# the figures of run STORE,ROUND,FIGURE; a run that failed leaves them empty
declare -A FIG=()
# record STORE ROUND NAME VALUE UNIT: keeps a figure and prints its line
record() {
    FIG[$1,$2,$3]=$4
    echo "round $2 $1: $3 = $4 $5"
}
# run_tool STORE ROUND WHAT CMD...: runs CMD (its output in WORK/WHAT-STORE-ROUND.log) with
# the broker on STORE (FC_BENCH_BROKER_ARGS gets --store for PostgreSQL); false if it failed
run_tool() {
    local store=$1 round=$2 what=$3 log rc=0
    shift 3
    log="$WORK/$what-$store-$round.log"
    new_db "$store" "$what$round"
    run_child env FC_BENCH_BROKER_ARGS="${FC_BENCH_BROKER_ARGS:-}${STORE_ARG:+ --store $STORE_ARG}" \
        BUILD_DIR="$BUILD_DIR" "$@" >"$log" 2>&1 || rc=$?
    [ "$rc" != 0 ] || db_used releases || rc=1
    drop_db
    if [ "$rc" != 0 ]; then
        echo "round $round $store: $what FAILED (exit $rc): $(tail -3 "$log" | tr '\n' ' ')" >&2
        return 1
    fi
}

fig_push() { # STORE ROUND
    local log="$WORK/push-$1-$2.log"
    run_tool "$1" "$2" push bash "$REPO/tools/bench_release.sh" --size "$PUSH_MIB" --runs 1 \
        --transport "$TRANSPORT" || return 0
    record "$1" "$2" push_s "$(sed -n "s/^push over $TRANSPORT: \([0-9.]*\) s.*/\1/p" "$log")" s
    record "$1" "$2" install_s "$(awk '$1 == "median" { print $4 }' "$log")" s
}

fig_fanout() { # STORE ROUND
    local log="$WORK/fanout-$1-$2.log"
    run_tool "$1" "$2" fanout bash "$REPO/tools/bench_fanout.sh" --agents "$AGENTS" \
        --size "$AGENT_MIB" --runs 1 || return 0
    record "$1" "$2" fanout_s "$(awk '$1 == "median" { print $5 }' "$log")" s
    record "$1" "$2" fanout_rss_mib \
        "$(sed -n 's/^broker peak RSS while serving.*: \([0-9.]*\) MiB/\1/p' "$log")" MiB
}

fig_config() { # STORE ROUND: fleetsim starts the broker itself: through a wrapper adding --store
    local log="$WORK/config-$1-$2.log" bin=$BROKER
    if [ "$1" = postgresql ]; then
        new_db "$1" "config$2"
        bin="$WORK/broker-$DB_NAME"
        printf '#!/bin/sh\nexec %q "$@" --store %q\n' "$BROKER" "$STORE_ARG" >"$bin"
        chmod +x "$bin"
        DB_NAME="" # dropped after the run, below
    fi
    local rc=0
    run_child nice -n 10 "$SIM" --start-broker --broker-bin "$bin" -n "$CONFIG_AGENTS" \
        --idle "$IDLE" --bench-config "$CONFIG_ROUNDS" --json >"$log" 2>"$log.err" || rc=$?
    if [ "$1" = postgresql ]; then
        DB_NAME=bench_config$2
        [ "$rc" != 0 ] || db_used config_revisions || rc=1
        drop_db
    fi
    if [ "$rc" != 0 ]; then
        echo "round $2 $1: config FAILED (exit $rc): $(tail -3 "$log.err" | tr '\n' ' ')" >&2
        return 0
    fi
    local p99 idle
    read -r p99 idle < <(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print("%.1f %.2f" % (d["overall"]["p99_ms"], d["idle"]["broker_cpu_percent"]))' "$log") ||
        { echo "round $2 $1: config: no figures in $log" >&2; return 0; }
    record "$1" "$2" config_p99_ms "$p99" ms
    record "$1" "$2" idle_cpu_pct "$idle" "% of one core"
}

# failover_run STORE ROUND: in a subshell with tests/lib.sh (its programs, ports, cleanup by
# PID); prints "KILL_TO_FIRST_CHUNK KILL_TO_DONE" in seconds
failover_run() {
    (
        # The run's cleanup must not stop this script's server (fc_cleanup calls fc_pg_stop).
        unset -f fc_pg_stop
        unset FC_STORE
        # shellcheck source=tests/lib.sh
        source "$REPO/tests/lib.sh" "$BUILD_DIR" >&2
        export FC_INSECURE=1
        fc_keygen
        src="$FC_TMP/src"
        mkdir -p "$src"
        fc_random_file "$src/big.bin" $((FAILOVER_MIB * 1024))
        mapfile -t ports < <(fc_ports 2)
        B="tcp://127.0.0.1:${ports[0]}"
        # other_broker ARGS...: broker B on its own log, --verbose (a line per GET_CHUNK)
        other_broker() {
            "$FC_BROKER_BIN" --service "$B" --announce "tcp://127.0.0.1:${ports[1]}" --insecure \
                --verbose "$@" >"$FC_TMP/b.log" 2>&1 &
            FC_PIDS+=($!)
            fc_wait_port "${ports[0]}" || fc_fail "broker B did not start: $(tail -5 "$FC_TMP/b.log")"
        }
        if [ "$1" = postgresql ]; then
            fc_start_broker "$FC_TMP/data" --store "$STORE_ARG"
            A_PID=$FC_BROKER_PID
            fc_push "$src" 1 >/dev/null || fc_fail "push failed"
            other_broker --data "$FC_TMP/data" --store "$STORE_ARG"
        else
            fc_start_broker "$FC_TMP/root"
            ROOT=$FC_SERVICE
            fc_push "$src" 1 >/dev/null || fc_fail "push failed"
            mapfile -t rp < <(fc_ports 2)
            "$FC_BROKER_BIN" --data "$FC_TMP/relayA" --service "tcp://127.0.0.1:${rp[0]}" \
                --announce "tcp://127.0.0.1:${rp[1]}" --upstream "$ROOT" --insecure >"$FC_TMP/a.log" 2>&1 &
            A_PID=$!
            FC_PIDS+=("$A_PID")
            fc_wait_port "${rp[0]}" || fc_fail "relay A did not start: $(tail -5 "$FC_TMP/a.log")"
            FC_SERVICE="tcp://127.0.0.1:${rp[0]}"
            other_broker --data "$FC_TMP/relayB" --upstream "$ROOT"
            fc_wait_for "relay A to mirror release 1" 30 grep -q 'serial 1) mirrored' "$FC_TMP/a.log"
            fc_wait_for "relay B to mirror release 1" 30 grep -q 'serial 1) mirrored' "$FC_TMP/b.log"
            # relay B has served the release once: its cache is warm, as a peer's disk is
            FC_AGENT_BROKER=$B fc_agent_run warm --timeout 120 || fc_fail "the warm-up agent failed"
        fi
        # The agent reaches A through a proxy that makes the download last ~8 s.
        fc_start_proxy --rate $((FAILOVER_MIB * 1048576 / 8))
        FC_AGENT_BROKER="$FC_PROXY,$B" fc_agent_once a1 --timeout 120 &
        agent=$!
        sleep 2.5
        kill -0 "$agent" 2>/dev/null || fc_fail "the agent ended before the kill: $(tail -5 "$FC_TMP/a1.log")"
        # B's log up to the kill (the warm-up agent's requests) is not the move's
        lines=$(wc -l <"$FC_TMP/b.log")
        killed=$(date +%s.%N)
        fc_kill9 "$A_PID"
        wait "$agent" || fc_fail "the agent failed after the kill: $(tail -5 "$FC_TMP/a1.log")"
        done_at=$(date +%s.%N)
        diff -r "$src" "$FC_TMP/a1/install/current/" >/dev/null || fc_fail "the installed tree differs"
        line=$(tail -n +$((lines + 1)) "$FC_TMP/b.log" | grep -m1 'GET_CHUNK' || true)
        first=$(grep -o '^[0-9T:.-]*Z' <<<"$line" || true)
        [ -n "$first" ] || fc_fail "no timed GET_CHUNK line in B's log after the kill: $line"
        awk -v k="$killed" -v f="$(date -d "$first" +%s.%N)" -v d="$done_at" \
            'BEGIN { printf "%.3f %.3f\n", f - k, d - k }'
    )
}

fig_failover() { # STORE ROUND
    local log="$WORK/failover-$1-$2.log" out
    new_db "$1" "failover$2"
    out=$(failover_run "$1" "$2" 2>"$log") || out=""
    [ -z "$out" ] || db_used releases 2>>"$log" || out=""
    drop_db
    if [ -z "$out" ]; then
        echo "round $2 $1: failover FAILED: $(tail -3 "$log" | tr '\n' ' ')" >&2
        return 0
    fi
    local label="two brokers, one database"
    [ "$1" = postgresql ] || label="two relays of one root (no peer on one SQLite store)"
    record "$1" "$2" failover_first_chunk_s "${out% *}" "s ($label)"
    record "$1" "$2" failover_done_s "${out#* }" "s (kill to the agent's install of $FAILOVER_MIB MiB)"
}

echo "$PROG: $ROUNDS rounds of $ONLY; $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
    for f in "${FIGURES[@]}"; do
        # alternate which store goes first, so neither always follows the other
        if [ $((round % 2)) = 1 ]; then order=(sqlite postgresql); else order=(postgresql sqlite); fi
        for store in "${order[@]}"; do
            echo "$PROG: round $round/$ROUNDS, $f on $store" >&2
            "fig_$f" "$store" "$round"
        done
    done
done

# medians STORE NAME: the median of the rounds that measured it (empty if none)
med() {
    local v=() r
    for r in $(seq 1 "$ROUNDS"); do [ -z "${FIG[$1,$r,$2]:-}" ] || v+=("${FIG[$1,$r,$2]}"); done
    [ ${#v[@]} = 0 ] || median "${v[@]}"
}
echo
echo "Store benchmark: $ROUNDS rounds, medians; push $PUSH_MIB MiB ($TRANSPORT), fanout $AGENTS x" \
    "$AGENT_MIB MiB, config at $CONFIG_AGENTS agents ($CONFIG_ROUNDS rounds, idle ${IDLE} s)," \
    "failover $FAILOVER_MIB MiB; load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| figure | SQLite | PostgreSQL | PG/SQLite |"
echo "|---|---|---|---|"
for name in push_s install_s fanout_s fanout_rss_mib config_p99_ms idle_cpu_pct \
    failover_first_chunk_s failover_done_s; do
    s=$(med sqlite "$name")
    p=$(med postgresql "$name")
    [ -n "$s$p" ] || continue
    ratio=$(awk -v s="$s" -v p="$p" 'BEGIN { if (s > 0 && p != "") printf "%.2f", p / s; else printf "-" }')
    case "$name" in
    push_s) what="push of $PUSH_MIB MiB, s" ;;
    install_s) what="cold agent install of it, s" ;;
    fanout_s) what="$AGENTS agents x $AGENT_MIB MiB, s" ;;
    fanout_rss_mib) what="broker peak RSS serving them, MiB" ;;
    config_p99_ms) what="config p99 at $CONFIG_AGENTS agents, ms" ;;
    idle_cpu_pct) what="idle broker CPU at $CONFIG_AGENTS agents, % of a core" ;;
    failover_first_chunk_s) what="SIGKILL to first chunk from the other, s (SQLite: relays)" ;;
    failover_done_s) what="SIGKILL to install done ($FAILOVER_MIB MiB), s" ;;
    esac
    echo "| $what | ${s:--} | ${p:--} | $ratio |"
done
