#!/usr/bin/env bash
# it_pg_failover.sh: two brokers on one PostgreSQL database (issue 17), on one machine and
# one data directory (the blobs): a release pushed through broker A is served by B too, and
# an agent given both whose broker A is SIGKILLed mid-download finishes through B within
# 10 s of the kill, fetching at most one window twice.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
# Under FC_STORE=postgresql lib.sh has started the server already.
[ -n "${FC_TEST_PG:-}" ] || source "$(dirname "$0")/pg.sh"
export FC_INSECURE=1
fc_keygen
data="$FC_TMP/data"
fc_start_broker "$data" --store "$FC_TEST_PG"
A=$FC_SERVICE
A_PID=$FC_BROKER_PID
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/big.bin" 4096 # 4 MiB
fc_push "$src" 1 >/dev/null
size=$(du -bc "$src"/* | tail -1 | cut -f1)
fc_start_broker "$data" --store "$FC_TEST_PG"
B=$FC_SERVICE

# The agent reaches A through a proxy at 500 kB/s (the 4 MiB last ~8 s), B directly.
FC_SERVICE=$A
fc_start_proxy --rate 500000
window=$((1024 * 1024))
FC_AGENT_BROKER="$FC_PROXY,$B" fc_agent_once a1 --timeout 60 --window "$window" &
fc_kill_mid_download $! "$A_PID" a1 "$src"
took=$FC_TOOK
grep -q "lost; moving to $B" "$FC_TMP/a1.log" || fc_fail "the move is not logged: $(cat "$FC_TMP/a1.log")"
fc_pass "broker A SIGKILLed mid-download: the agent finished through broker B (same database) $took s after the kill"

twice=$(fc_fetched_twice a1 "$size" "$window")
read -r _ through_a < <(fc_stop_proxy)
[ "$through_a" -gt $((256 * 1024)) ] || fc_fail "only $through_a bytes came through A: the kill was not mid-download"
fc_pass "fetched twice: $twice bytes (window $window); $through_a bytes had come through A"
