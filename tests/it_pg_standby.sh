#!/usr/bin/env bash
# it_pg_standby.sh: the broker's database on a PostgreSQL primary with a synchronous
# streaming standby (issue 17): after a push and a config set were acknowledged, the primary
# is SIGKILLed and the standby promoted; the broker, pointed at it, has lost nothing of
# either, and pushes and sets work again.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
[ -n "${FC_TEST_PG:-}" ] || source "$(dirname "$0")/pg.sh"
export FC_INSECURE=1
fc_keygen
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
primary_port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$FC_TEST_PG")
sql() { # PORT SQL: one value
  "$bin/psql" -qtA -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"
}

# The standby: a base backup of the primary (-R: it follows it), on a port of its own.
standby="$FC_PG_DIR/standby"
standby_port=$(fc_ports 1)
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups --reset-env "$@"; else "$@"; fi; }
as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$standby" -R -X stream -c fast \
  >"$FC_TMP/basebackup.log" 2>&1 || fc_fail "pg_basebackup failed: $(cat "$FC_TMP/basebackup.log")"
(exec setpriv --reuid=postgres --regid=postgres --init-groups --reset-env \
  "$bin/postgres" -D "$standby" -k "$FC_PG_DIR" -c listen_addresses=127.0.0.1 -p "$standby_port" \
  >"$FC_TMP/standby.log" 2>&1) &
STANDBY_PID=$!
FC_PIDS+=("$STANDBY_PID")
fc_wait_for "the standby to accept connections" 30 "$bin/pg_isready" -q -h 127.0.0.1 -p "$standby_port"
# Synchronous: a commit is acknowledged only once the standby has it.
sql "$primary_port" "ALTER SYSTEM SET synchronous_standby_names = '*'" >/dev/null
sql "$primary_port" "SELECT pg_reload_conf()" >/dev/null
fc_wait_for "the standby to be synchronous" 30 bash -c \
  '[ "$("$0" -qtA -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "SELECT sync_state FROM pg_stat_replication")" = sync ]' \
  "$bin/psql" "$primary_port"
fc_pass "a primary with a synchronous streaming standby"

data="$FC_TMP/broker"
fc_start_broker "$data" --store "$FC_TEST_PG"
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/a.bin" 256
fc_push "$src" 1 >/dev/null
fc_config set color=blue >/dev/null

# The primary goes, as a machine would: SIGKILL, no shutdown.
kill -KILL "$FC_PG_PID"
wait "$FC_PG_PID" 2>/dev/null || true
FC_PG_PID=
fc_kill9 "$FC_BROKER_PID"
sql "$standby_port" "SELECT pg_promote()" >/dev/null
fc_wait_for "the standby to be promoted" 30 bash -c \
  '[ "$("$0" -qtA -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "SELECT pg_is_in_recovery()")" = f ]' \
  "$bin/psql" "$standby_port"

# The broker, pointed at the new primary: what was acknowledged is there.
fc_restart_broker "$data" --store "${FC_TEST_PG/port=$primary_port/port=$standby_port}"
FC_AGENT_BROKER=$FC_SERVICE fc_agent_run a1 --timeout 30 || fc_fail "agent a1 failed: $(tail -5 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "a1 does not run release 1"
fc_config_has a1 color '"blue"' || fc_fail "the config set is gone: $(fc_config_text a1)"
fc_pass "after the primary's loss and the standby's promotion: the release and the config set are there"

fc_random_file "$src/b.bin" 64
fc_push "$src" 2 >/dev/null || fc_fail "a push after the failover failed"
fc_config set color=green >/dev/null || fc_fail "a config set after the failover failed"
FC_AGENT_BROKER=$FC_SERVICE fc_agent_run a1 --timeout 30 || fc_fail "agent a1 failed: $(tail -5 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "a1 does not run release 2"
fc_config_has a1 color '"green"' || fc_fail "the new config set did not arrive: $(fc_config_text a1)"
fc_pass "pushes and sets work again on the promoted standby, and the agent converges"
