#!/usr/bin/env bash
# bench_fleet.sh: N protocol-level agents (fleetcast-swarm) against one broker: time for all
# of them to HELLO, SYNC, REPORT and acknowledge a config revision, broker RSS per connected
# agent, broker CPU while they sit connected (each reporting every 10 s, as agents do),
# `status --summary` and `config status --summary` latency (whole CLI runs, against `release
# list` as the baseline) and the full `status --json`.
#
# usage: tools/bench_fleet.sh [BUILD_DIR] (default build, relative to the repo root)
#   FC_FLEET_AGENTS (default 10000): agents in all.
#   FC_FLEET_MODE (default plain): plain (--insecure) or curve (one enrolled agent key for all).
#   FC_FLEET_PER_PROC (default 5000): agents per fleetcast-swarm process (each agent holds
#   about two file descriptors; RLIMIT_NOFILE bounds one process, and the broker's own
#   limit bounds the fleet: one descriptor per connected agent).
#   FC_FLEET_IDLE_S (default 10): seconds over which the connected fleet's CPU is measured.
#   FC_FLEET_REPORT_S (default 10): each agent's REPORT period while connected (0: none, a
#   fleet that is connected and silent).
#   The broker's CPU per summary request is measured too (20 runs each; its CPU ticks less
#   the fleet's own reporting), which the machine's load does not inflate as it does the
#   wall time.
#   FC_FLEET_TRACE (default 1): also one run of each summary under strace (if installed),
#   split into the CLI's start (exec to connect), the handshake (connect to the broker's
#   READY), each request to its reply (the broker's part, loopback included) and the end
#   (last reply to exit); strace slows the CLI's own system calls, so read the split, not
#   the sum.
# Prints one line per figure; the swarm processes' own timing lines too.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
if [ "${1:-}" = --help ]; then sed -n '2,25s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0; fi
# shellcheck source=tests/lib.sh
source "$REPO/tests/lib.sh" "$BUILD"
SWARM="$FC_BIN/tools/fleetcast-swarm"

n=${FC_FLEET_AGENTS:-10000}
mode=${FC_FLEET_MODE:-plain}
per=${FC_FLEET_PER_PROC:-5000}
idle=${FC_FLEET_IDLE_S:-10}
report=${FC_FLEET_REPORT_S:-10}
case "$mode" in
  plain) export FC_INSECURE=1 ;;
  curve) ;;
  *) echo "bench_fleet: FC_FLEET_MODE is plain or curve, not '$mode'" >&2; exit 2 ;;
esac
fc_start_broker "$FC_TMP/broker"
fc_keygen
fc_config set bench.fleet=1 >/dev/null
if [ "$mode" = plain ]; then
  sec=(--insecure)
else
  sec=(--broker-key "$FC_TMP/broker/broker.cert" --key "$FC_TMP/keys/agent.cert_secret")
fi
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$FC_BROKER_PID/status"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$FC_BROKER_PID/stat"; }
hz=$(getconf CLK_TCK)
ms() { date +%s%3N; }

sleep 1
rss0=$(rss)
t0=$(ms)
pids=()
for ((first = 0; first < n; first += per)); do
  count=$((n - first < per ? n - first : per))
  "$SWARM" "$FC_SERVICE" "$count" --first "$first" --hold --report-every "$report" --ack 1 --timeout 600 \
    "${sec[@]}" \
    >"$FC_TMP/swarm$first.out" 2>&1 &
  pids+=($!)
  FC_PIDS+=($!)
done
for ((first = 0; first < n; first += per)); do
  while ! grep -q '^swarm:' "$FC_TMP/swarm$first.out"; do
    kill -0 "${pids[$((first / per))]}" 2>/dev/null ||
      { cat "$FC_TMP/swarm$first.out" >&2; fc_fail "a swarm process ended early"; }
    sleep 0.2
  done
done
t1=$(ms)
cat "$FC_TMP"/swarm*.out
grep -q ' 0 errors' "$FC_TMP"/swarm*.out || true
echo "agents: $n ($mode, $(( (n + per - 1) / per )) processes of at most $per)"
echo "all HELLO, SYNC, REPORT, CONFIG_ACK answered: $((t1 - t0)) ms"
sleep 2
rss1=$(rss)
echo "broker RSS: $((rss0 / 1024)) MiB before, $((rss1 / 1024)) MiB with $n agents: $(( (rss1 - rss0) * 1024 / n )) bytes per agent"
c0=$(ticks)
sleep "$idle"
c1=$(ticks)
echo "broker CPU with $n agents connected, each reporting every ${report} s (0: never): $(awk -v t=$((c1 - c0)) -v hz="$hz" -v s="$idle" 'BEGIN { printf "%.1f", 100 * t / hz / s }')% of one core over ${idle} s"
median5() { # CMD...: the median and slowest of 5 timed runs, in ms, as "MEDIAN SLOWEST"
  local t=() i a b
  for i in 1 2 3 4 5; do
    a=$(ms)
    "$@" >/dev/null || fc_fail "$* failed"
    b=$(ms)
    t+=($((b - a)))
  done
  t=($(printf '%s\n' "${t[@]}" | sort -n))
  echo "${t[2]} ${t[4]}"
}
base=($(median5 fc_cli release list))
echo "release list (the CLI's own start, connect and one small request; baseline): median ${base[0]} ms, slowest ${base[1]} ms"
cfg=($(median5 fc_cli config status --summary))
echo "config status --summary: median ${cfg[0]} ms, slowest ${cfg[1]} ms"
lat=()
for i in 1 2 3 4 5; do
  a=$(ms)
  fc_cli status --summary >"$FC_TMP/summary.out" || fc_fail "status --summary failed"
  b=$(ms)
  lat+=($((b - a)))
done
sorted=($(printf '%s\n' "${lat[@]}" | sort -n))
echo "status --summary (whole CLI run, 5 runs): median ${sorted[2]} ms, slowest ${sorted[4]} ms"
sed 's/^/  /' "$FC_TMP/summary.out"
# The broker's own CPU per request, which the machine's load does not inflate as it does the
# wall time: its CPU ticks over N runs, less what the fleet's reporting costs over the same
# time (the rate measured above), per run.
rate=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v s="$idle" 'BEGIN { printf "%.4f", t / hz / s }')
cpu_per() { # N LABEL CMD...
  local n=$1 label=$2 a b t0 t1 i; shift 2
  t0=$(ticks); a=$(ms)
  for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 || fc_fail "$label failed"; done
  t1=$(ticks); b=$(ms)
  echo "broker CPU per $label: $(awk -v d=$((t1 - t0)) -v hz="$hz" -v r="$rate" -v w=$((b - a)) -v n="$n" \
    'BEGIN { v = (d / hz - r * w / 1000) * 1000 / n; printf "%.1f", v < 0 ? 0 : v }') ms ($n runs, less the fleet's own $rate of a core)"
}
cpu_per 20 "config status --summary" fc_cli config status --summary
cpu_per 20 "status --summary" fc_cli status --summary
cpu_per 20 "release list" fc_cli release list
# One run under strace: where a summary's time goes. The zmq I/O thread's socket calls: the
# peer's READY (NULL or CURVE) ends the handshake; then each send is a request, answered by
# the next receive that returned data.
trace_run() { # LABEL CMD...
  local label=$1; shift
  strace -f -ttt -e trace=execve,connect,sendto,recvfrom,exit_group -o "$FC_TMP/trace" "$@" \
    >/dev/null 2>&1 || { echo "$label: (strace run failed)"; return 0; }
  awk -v label="$label" '
    /execve\(/ && !t0 { t0 = $2 }
    /connect\(/ && !tc { tc = $2 }
    /recvfrom\(/ && /READY/ && !tr { tr = $2; next }
    tr && /sendto\(/ && !/= -1/ && !pending { ts = $2; pending = 1; next }
    tr && pending && /recvfrom\(/ && !/= -1/ && !/unfinished/ {
      reqs = reqs sprintf(" %.1f", ($2 - ts) * 1000); pending = 0; last = $2 }
    /exit_group/ { te = $2 }
    END { printf "%s under strace: start %.1f ms, handshake %.1f ms, request to reply%s ms, end %.1f ms\n",
            label, (tc - t0) * 1000, (tr - tc) * 1000, reqs, (te - last) * 1000 }' "$FC_TMP/trace"
}
if [ "${FC_FLEET_TRACE:-1}" = 1 ] && command -v strace >/dev/null; then
  trace_run "config status --summary" "$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_SERVICE" --quiet config status --summary
  trace_run "status --summary" "$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_SERVICE" --quiet status --summary
  trace_run "release list" "$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_SERVICE" --quiet release list
fi
a=$(ms)
fc_cli status --json >"$FC_TMP/status.json" || fc_fail "status --json failed"
b=$(ms)
listed=$(grep -o '"id":' "$FC_TMP/status.json" | wc -l)
echo "status --json: $listed agents, $(wc -c <"$FC_TMP/status.json") bytes, $((b - a)) ms"
