#!/usr/bin/env bash
# it_pg_peers.sh: two brokers on one PostgreSQL database (issue 17): a config set through
# broker B reaches an agent connected to broker A (its heartbeat carries the database's
# sequence, the agent SYNCs); 100 concurrent sets, half through each broker, get 100 distinct,
# contiguous revision numbers (the writer lock of the database) and the agent converges on
# the last with every key.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
# Under FC_STORE=postgresql lib.sh has started the server already.
[ -n "${FC_TEST_PG:-}" ] || source "$(dirname "$0")/pg.sh"
FC_INSECURE=1
fc_keygen

fc_start_broker "$FC_TMP/a" --store "$FC_TEST_PG"
A=$FC_SERVICE
fc_start_broker "$FC_TMP/b" --store "$FC_TEST_PG"
B=$FC_SERVICE

# The agent is running and synced (through A) before the change through B: what it learns
# then comes by A's heartbeat (the database's sequence), not by its first CONFIG_SYNC; its
# own periodic sync is a minute away.
FC_SERVICE=$A fc_config set color=red >/dev/null
FC_AGENT_BROKER=$A fc_config_agent a1
fc_wait_for "a1 to apply revision 1" 20 fc_config_has a1 color '"red"'
FC_SERVICE=$B fc_config set color=blue >/dev/null
fc_wait_for "a1 (on broker A) to apply the revision made through broker B" 15 \
  fc_config_has a1 color '"blue"'
fc_pass "a config set through broker B reaches an agent on broker A (one database)"

pids=()
for i in $(seq 100); do
  if ((i % 2)); then s=$A; else s=$B; fi
  FC_SERVICE=$s fc_config set "k$i=$i" >"$FC_TMP/set$i.out" 2>&1 &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || fc_fail "set $((i + 1)) failed: $(cat "$FC_TMP/set$((i + 1)).out")"
done
psql=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql
revs=$("$psql" -qtA "$FC_TEST_PG" -c "SELECT string_agg(rev::text, ',' ORDER BY rev) FROM config_revisions")
[ "$revs" = "$(seq -s, 1 102)" ] || fc_fail "revision numbers are not 1..102: $revs"
fc_pass "100 concurrent sets through both brokers: revisions 1..102, none twice, none missing"

fc_wait_for "a1 to converge on revision 102" 60 fc_config_at a1 102
for i in $(seq 100); do
  fc_config_has a1 "k$i" "$i" || fc_fail "a1 lacks k$i: $(fc_config_text a1)"
done
fc_pass "the agent converges on the last revision, with every key set"

