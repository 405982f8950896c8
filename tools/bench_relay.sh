#!/usr/bin/env bash
# bench_relay.sh: fleetcast-fleetsim's agent engines behind R relays of one root, on this
# machine: a release pushed at the root until every engine has it, the bytes the root served
# (counted by a fault proxy, faults off, on each relay's upstream link), config `set` at the
# root to each engine's changed handler (one relay level), the root's idle CPU, and the
# relays' memory per agent connected.
#
# usage: tools/bench_relay.sh [BUILD_DIR] (default build, relative to the repo root)
#   FC_RELAY_AGENTS (default 10000): engines in all, spread over the relays in turn.
#   FC_RELAY_PER_PROC (default 1000): engines per fleetsim process (about 10 file
#     descriptors an engine, more while it fetches; the hard fd limit bounds a process). One
#     process publishes (the release at the root, the config rounds); the others follow
#     (--follow) and every engine's install and changed-callback times are merged.
#   FC_RELAY_RELAYS (default 10): relays.
#   FC_RELAY_MIB (default 16): the release's size (one random file); the engines run with
#     --discard (fetch and verify every chunk, write none: N x MIB would not fit).
#   FC_RELAY_ROUNDS (default 5): config rounds.
#   FC_RELAY_IDLE_S (default 10): seconds over which the root's CPU is read, every engine
#     connected to its relay.
#   FC_RELAY_TIMEOUT_S (default 900): how long the engines wait to sync and to install.
#   FC_RELAY_TICK_MS (default: the agent's 100): the engines' idle tick (fleetsim --tick-ms);
#     at 100 ms, 6,000 idle engines fill this machine's 2 cores with wakeups.
#   Plain TCP (--insecure) on every link: with CURVE the engines share one --broker-key,
#     and each relay has its own.
# Prints one line per figure, then fleetsim's JSON summary.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "${1:-}" = --help ]; then sed -n '2,25s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0; fi
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
# shellcheck source=tests/lib.sh
source "$REPO/tests/lib.sh" "$BUILD"
SIM="$FC_BIN/tools/fleetcast-fleetsim"

n=${FC_RELAY_AGENTS:-10000}
per=${FC_RELAY_PER_PROC:-1000}
nr=${FC_RELAY_RELAYS:-10}
mib=${FC_RELAY_MIB:-16}
rounds=${FC_RELAY_ROUNDS:-5}
idle=${FC_RELAY_IDLE_S:-10}
wait_s=${FC_RELAY_TIMEOUT_S:-900}
tick=${FC_RELAY_TICK_MS:-}

fc_relay_root
ROOT_PID=$FC_BROKER_PID
ROOT_PORT=${ROOT##*:}
relays=() relay_pids=() proxy_pids=()
for ((r = 0; r < nr; r++)); do
  p=($(fc_ports 3))
  "$FC_PROXY_BIN" --listen "127.0.0.1:${p[0]}" --upstream "127.0.0.1:$ROOT_PORT" \
    >/dev/null 2>"$FC_TMP/proxy$r.log" &
  proxy_pids+=($!)
  FC_PIDS+=($!)
  fc_wait_port "${p[0]}" || fc_fail "proxy $r did not start"
  "$FC_BROKER_BIN" --data "$FC_TMP/relay$r" --service "tcp://127.0.0.1:${p[1]}" \
    --announce "tcp://127.0.0.1:${p[2]}" --upstream "tcp://127.0.0.1:${p[0]}" --insecure \
    >>"$FC_TMP/relay$r.log" 2>&1 &
  relay_pids+=($!)
  FC_PIDS+=($!)
  relays+=("tcp://127.0.0.1:${p[1]}")
done
for ((r = 0; r < nr; r++)); do
  fc_wait_port "${relays[$r]##*:}" || fc_fail "relay $r did not start: $(tail -5 "$FC_TMP/relay$r.log")"
done
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
relay_rss() { local t=0 pid; for pid in "${relay_pids[@]}"; do t=$((t + $(rss "$pid"))); done; echo "$t"; }
sleep 1
rss0=$(relay_rss)

list=$(IFS=,; echo "${relays[*]}")
agents_dir=/dev/shm
[ -d "$agents_dir" ] || agents_dir=$FC_TMP
version="relay-$(date +%s)"
common=(--broker "$list" --insecure --key "$FC_TMP/keys/signing.key" --bench-release "$mib" --release-version "$version" --discard
  --bench-config "$rounds" --agents-dir "$agents_dir" --sync-timeout "$wait_s" --release-timeout "$wait_s"
  --round-timeout 120 --json ${tick:+--tick-ms "$tick"})
# sim_start NAME COUNT [options]: one fleetsim process, its output in $FC_TMP/NAME.*.
sims=() names=()
sim_start() {
  local name=$1 count=$2; shift 2
  "$SIM" "${common[@]}" -n "$count" --id-prefix "$name" --times "$FC_TMP/$name.times" "$@" \
    >"$FC_TMP/$name.json" 2>"$FC_TMP/$name.err" &
  sims+=($!)
  names+=("$name")
  FC_PIDS+=($!)
}
sim_wait_synced() {
  while ! grep -q 'synced in' "$FC_TMP/$1.err"; do
    kill -0 "$2" 2>/dev/null || { tail -5 "$FC_TMP/$1.err" >&2; fc_fail "fleetsim $1 ended early"; }
    sleep 0.5
  done
}
# The followers first, each connected and synced before the next starts (connecting them
# all at once only measures the machine's CPU queue), then the publishing one.
lead=$((n - (n - 1) / per * per))
t_start=$(date +%s)
for ((k = 1; k <= (n - 1) / per; k++)); do
  sim_start "f$k" "$per" --follow
  sim_wait_synced "f$k" "${sims[-1]}"
  echo "follower f$k: $per engines synced ($(grep -o 'synced in [0-9.]* s' "$FC_TMP/f$k.err"))"
done
rss1=$(relay_rss)
sim_start lead "$lead" --publish "$ROOT" --broker-pid "$ROOT_PID" --idle "$idle"
lead_pid=${sims[-1]}
sim_wait_synced lead "$lead_pid"
rss1=$(relay_rss)
echo "all $n engines connected and synced, $(($(date +%s) - t_start)) s after the first started"
st=0
for ((k = 0; k < ${#sims[@]}; k++)); do
  wait "${sims[$k]}" || { st=1; echo "fleetsim ${names[$k]} failed: $(tail -3 "$FC_TMP/${names[$k]}.err")" >&2; }
done
served=0
for ((r = 0; r < nr; r++)); do
  fc_stop "${proxy_pids[$r]}"
  b=$(sed -n 's/^cuts [0-9]* bytes \([0-9]*\).*/\1/p' "$FC_TMP/proxy$r.log" | tail -1)
  served=$((served + ${b:-0}))
done
size=$((mib * 1048576))
grep -E 'idle|pushing|installed|round' "$FC_TMP/lead.err" | sed 's/^/  lead: /'
echo "engines: $n behind $nr relays, ${#sims[@]} fleetsim processes; release $mib MiB (--discard)"
# The merge: the leader's push and each round's t0, every process's last install and every
# engine's changed callback (monotonic ns, one clock for the machine).
cat "$FC_TMP"/*.times | awk -v n="$n" -v lat="$FC_TMP/lat" '
  $1 == "push" { push = $2 } $1 == "last" && $2 > last { last = $2 }
  $1 == "installed" { inst += $2 } $1 == "t0" { t0[$2] = $3 } $1 == "t" { t[++k] = $2 " " $3 }
  END {
    printf "release: %d/%d engines installed, the last %.2f s after the push ended\n", inst, n,
      (last - push) / 1e9
    for (i = 1; i <= k; i++) {
      split(t[i], a, " ")
      if (a[1] in t0) { d = (a[2] - t0[a[1]]) / 1e6; printf "%.3f\n", d < 0 ? 0 : d > lat }
    }
  }'
sort -n "$FC_TMP/lat" | awk -v want=$((n * rounds)) -v rounds="$rounds" '
  { v[NR] = $1 }
  END {
    m = NR; p = int(0.99 * m + 0.999999); q = int(0.5 * m + 0.999999)
    if (m == 0) { print "config: no changed callback seen"; exit }
    printf "config set -> changed handler, all engines, %d rounds: %d of %d callbacks, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
      rounds, m, want, v[q], v[p], v[m]
  }'
echo "root idle CPU (every engine connected to its relay): $(grep -o '"broker_cpu_percent":[0-9.]*' "$FC_TMP/lead.json" | head -1 | cut -d: -f2) % of a core"
echo "relays' RSS: $((rss0 / 1024)) MiB before the engines, $((rss1 / 1024)) MiB with them connected:" \
  "$(awk -v d=$((rss1 - rss0)) -v n="$n" 'BEGIN { printf "%.1f", d / n }') KiB per agent" \
  "(its DEALER and SUB: two TCP connections)"
echo "bytes through the relays' upstream links, both ways, the whole run: $served" \
  "($(awk -v b="$served" -v s="$size" 'BEGIN { printf "%.2f", b / s }')x the release; target 11x)"
echo "leader's summary:"
cat "$FC_TMP/lead.json"
exit $st
