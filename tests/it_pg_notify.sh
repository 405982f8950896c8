#!/usr/bin/env bash
# it_pg_notify.sh: brokers on one PostgreSQL database hear each other's commits at once
# (LISTEN/NOTIFY, issue 17): with heartbeats 30 s apart, a config set through broker B
# reaches an agent on broker A within 10 s, which only A's notification can explain (its
# next heartbeat and the agent's own periodic sync are further away); and again after A's
# listening connection is killed (it connects again). Prints the latencies seen.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
# Under FC_STORE=postgresql lib.sh has started the server already.
[ -n "${FC_TEST_PG:-}" ] || source "$(dirname "$0")/pg.sh"
FC_INSECURE=1
fc_keygen
psql=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql

fc_start_broker "$FC_TMP/a" --store "$FC_TEST_PG" --heartbeat 30s
A=$FC_SERVICE
fc_start_broker "$FC_TMP/b" --store "$FC_TEST_PG" --heartbeat 30s
B=$FC_SERVICE

# Synced through A first: what it learns afterwards must come through A's announcements.
FC_SERVICE=$A fc_config set color=red >/dev/null
FC_AGENT_BROKER=$A fc_config_agent a1
fc_wait_for "a1 to apply revision 1" 20 fc_config_has a1 color '"red"'

# Sets VALUE through B and waits up to 10 s (a third of a heartbeat) for a1 to apply it;
# prints the time taken.
s_set_through_b() {
  local value=$1 what=$2 t0 t1
  t0=$(date +%s%N)
  FC_SERVICE=$B fc_config set "color=$value" >/dev/null
  fc_wait_for "a1 (on broker A) to apply $value, set through broker B, before A's next heartbeat" \
    10 fc_config_has a1 color "\"$value\""
  t1=$(date +%s%N)
  echo "latency ($what): set through B to applied on A's agent: $(((t1 - t0) / 1000000)) ms" \
    "(heartbeat 30 s)"
}

s_set_through_b blue "notification"
fc_pass "a config set through broker B reaches an agent on broker A long before A's next heartbeat"

# A failover or a server restart cuts the listening connection: the broker connects again.
killed=$("$psql" -qtA "$FC_TEST_PG" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()")
[ "$killed" -ge 2 ] || fc_fail "expected the two brokers' LISTEN connections, found $killed"
sleep 1 # let the listener notice and connect again (its first retry is 100 ms away)
s_set_through_b green "after the listening connection was killed"
fc_pass "after its listening connection is killed the broker listens again and hears the next set"
