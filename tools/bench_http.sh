#!/usr/bin/env bash
# bench_http.sh: the cost of the broker's HTTP side at 1000 agents: broker CPU with 1000
# idle agents (fleetcast-fleetsim --idle) and --http on, first with no HTTP client, then with
# the fleet page open in headless Chromium (its event stream live) and /metrics scraped
# every 5 s; and each scrape's time.
#
# usage: tools/bench_http.sh [--agents N] [--seconds S] [--build-dir DIR]
#   Prints one line per phase: broker CPU seconds over S and as % of one core, the load
#   average, and for the second phase the scrapes' median and max time (curl's
#   time_total) and size. The engines' dirs go to /dev/shm when it exists.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AGENTS=1000
SECONDS_PER_PHASE=60
BUILD_DIR=build
while [ $# -gt 0 ]; do
  case "$1" in
  --agents) AGENTS=${2:?--agents needs N}; shift 2 ;;
  --seconds) SECONDS_PER_PHASE=${2:?--seconds needs S}; shift 2 ;;
  --build-dir) BUILD_DIR=${2:?--build-dir needs DIR}; shift 2 ;;
  -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "bench_http.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ "$AGENTS" =~ ^[1-9][0-9]*$ ]] || { echo "bench_http.sh: --agents must be a positive number" >&2; exit 2; }
[[ "$SECONDS_PER_PHASE" =~ ^[1-9][0-9]*$ ]] || { echo "bench_http.sh: --seconds must be a positive number" >&2; exit 2; }
cd "$REPO"
# shellcheck source=tests/lib.sh
source "$REPO/tests/lib.sh" "$BUILD_DIR"

http_port=$(fc_ports 1)
HTTP="http://127.0.0.1:$http_port"
# fleetcast-fleetsim starts the broker (secure, keys made and enrolled) and keeps its engines
# idle; this wrapper adds --http and tells us the broker's PID (exec keeps it).
cat >"$FC_TMP/broker-http" <<WRAP
#!/usr/bin/env bash
echo \$\$ >"$FC_TMP/broker.pid"
exec "$FC_BROKER_BIN" --http "tcp://127.0.0.1:$http_port" "\$@"
WRAP
chmod +x "$FC_TMP/broker-http"
agents_dir=()
[ -d /dev/shm ] && agents_dir=(--agents-dir /dev/shm)
"$FC_BIN/tools/fleetcast-fleetsim" --start-broker --broker-bin "$FC_TMP/broker-http" \
  -n "$AGENTS" "${agents_dir[@]}" --idle $((2 * SECONDS_PER_PHASE + 600)) \
  >"$FC_TMP/fleetsim.out" 2>"$FC_TMP/fleetsim.log" &
FC_PIDS+=($!)
fc_wait_for "the broker to start" 60 test -s "$FC_TMP/broker.pid"
FC_BROKER_PID=$(cat "$FC_TMP/broker.pid")
FC_PIDS+=("$FC_BROKER_PID")
fc_wait_port "$http_port" || { echo "bench_http.sh: no HTTP endpoint" >&2; exit 1; }
online() { curl -sf "$HTTP/metrics" | sed -n 's/^fleetcast_agents_online \([0-9]*\)$/\1/p'; }
all_online() { [ "$(online)" = "$AGENTS" ]; }
fc_wait_for "$AGENTS agents online in /metrics" 300 all_online
sleep 5 # settle: the engines' first reports and syncs are over

cpu() { awk '{ print $14 + $15 }' "/proc/$FC_BROKER_PID/stat"; } # clock ticks
hz=$(getconf CLK_TCK)
# phase NAME: the broker's CPU over SECONDS_PER_PHASE
report() {
  local name=$1 t0=$2 t1=$3
  awk -v n="$name" -v t=$((t1 - t0)) -v hz="$hz" -v s="$SECONDS_PER_PHASE" \
    -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
      printf "%-32s broker CPU %.2f s in %d s = %.2f %% of one core (load %s)\n", n, t / hz, s, 100 * t / hz / s, load }'
}

t0=$(cpu)
sleep "$SECONDS_PER_PHASE"
report "no HTTP client" "$t0" "$(cpu)"

# The page in headless Chromium (live: its event stream gets every new view), and a scrape
# every 5 s.
chrome=/usr/lib/chromium/chromium
[ -x "$chrome" ] || chrome=$(command -v chromium || true)
[ -n "$chrome" ] || { echo "bench_http.sh: no chromium" >&2; exit 1; }
sandbox=()
[ "$(id -u)" = 0 ] && sandbox=(--no-sandbox)
dt_port=$(fc_ports 1)
"$chrome" --headless=new "${sandbox[@]}" --disable-gpu --no-first-run --disable-extensions \
  --user-data-dir="$FC_TMP/chrome" --remote-debugging-port="$dt_port" "$HTTP/" \
  >"$FC_TMP/chrome.log" 2>&1 &
FC_PIDS+=($!)
fc_wait_port "$dt_port" || { echo "bench_http.sh: chromium did not start" >&2; exit 1; }
sleep 5 # the page loaded and drew its first document
t0=$(cpu)
end=$((SECONDS + SECONDS_PER_PHASE))
: >"$FC_TMP/scrapes"
while [ $SECONDS -lt $end ]; do
  curl -sf -o /dev/null -w '%{time_total} %{size_download}\n' "$HTTP/metrics" >>"$FC_TMP/scrapes"
  sleep 5
done
report "page open + scrape every 5 s" "$t0" "$(cpu)"
sort -n "$FC_TMP/scrapes" | awk '{ t[NR] = $1; b = $2 } END {
  printf "scrapes: %d, median %.1f ms, max %.1f ms, %d bytes each\n", NR, 1000 * t[int((NR + 1) / 2)], 1000 * t[NR], b }'
doc=$(curl -sf "$HTTP/fleet.json" | wc -c)
echo "the page's document (each event): $doc bytes"
