#!/usr/bin/env bash
# it_pg_multihost.sh: a broker follows its database through the loss of the database's
# machine without being restarted (issue 17): given a multi-host connection string listing a
# primary and its synchronous streaming standby with target_session_attrs=read-write, after
# the primary is SIGKILLed and the standby promoted, pushes and config sets work again on
# the same broker process and the agent converges; and after that server is stopped and
# started again, the broker carries on once more. An operation made while no server takes
# writes fails; one that meets the loss is run again (at most 20 runs, 0.5 s apart; the
# runs each took are printed).
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
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups --reset-env "$@"; else "$@"; fi; }

# The standby: a base backup of the primary (-R: it follows it), on a port of its own.
standby="$FC_PG_DIR/standby"
standby_port=$(fc_ports 1)
STANDBY_PID=
s_start_standby() {
  (if [ "$(id -u)" = 0 ]; then exec setpriv --reuid=postgres --regid=postgres --init-groups --reset-env \
    "$bin/postgres" -D "$standby" -k "$FC_PG_DIR" -c listen_addresses=127.0.0.1 -p "$standby_port"; fi
  exec "$bin/postgres" -D "$standby" -k "$FC_PG_DIR" -c listen_addresses=127.0.0.1 -p "$standby_port") \
    >>"$FC_TMP/standby.log" 2>&1 &
  STANDBY_PID=$!
  fc_wait_for "the standby's server to accept connections" 30 "$bin/pg_isready" -q -h 127.0.0.1 -p "$standby_port"
}
# A fast shutdown (SIGINT: the broker's connections are cut, not waited for); also before
# pg.sh removes the directory the standby lives in.
s_stop_standby() {
  [ -n "$STANDBY_PID" ] || return 0
  kill -INT "$STANDBY_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$STANDBY_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$STANDBY_PID" 2>/dev/null || true
  wait "$STANDBY_PID" 2>/dev/null || true
  STANDBY_PID=
}
trap 's_stop_standby; fc_pg_stop; fc_cleanup' EXIT
as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$standby" -R -X stream -c fast \
  >"$FC_TMP/basebackup.log" 2>&1 || fc_fail "pg_basebackup failed: $(cat "$FC_TMP/basebackup.log")"
s_start_standby
sql "$primary_port" "ALTER SYSTEM SET synchronous_standby_names = '*'" >/dev/null
sql "$primary_port" "SELECT pg_reload_conf()" >/dev/null
fc_wait_for "the standby to be synchronous" 30 bash -c \
  '[ "$("$0" -qtA -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "SELECT sync_state FROM pg_stat_replication")" = sync ]' \
  "$bin/psql" "$primary_port"

# One connection string for both servers: libpq takes the first that accepts writes.
store="postgresql://postgres@127.0.0.1:$primary_port,127.0.0.1:$standby_port/fleetcast?target_session_attrs=read-write"
fc_start_broker "$FC_TMP/broker" --store "$store"
BROKER=$FC_BROKER_PID
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/a.bin" 256
fc_push "$src" 1 >/dev/null
fc_config set color=blue >/dev/null
fc_agent_run a1 --timeout 30 || fc_fail "agent a1 failed: $(tail -5 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "a1 does not run release 1"
fc_config_has a1 color '"blue"' || fc_fail "a1 lacks color=blue: $(fc_config_text a1)"
fc_pass "a broker on a multi-host connection string (primary and synchronous standby): push and set acknowledged"

# s_retry WHAT CMD...: CMD until it succeeds, at most 20 runs 0.5 s apart.
s_retry() {
  local what=$1 i
  shift
  for i in $(seq 20); do
    if "$@" >"$FC_TMP/retry.out" 2>&1; then
      echo "$what: succeeded at run $i"
      return 0
    fi
    echo "$what: run $i failed: $(tail -1 "$FC_TMP/retry.out")"
    sleep 0.5
  done
  fc_fail "$what did not succeed in 20 runs: $(cat "$FC_TMP/retry.out")"
}

# The primary goes, as a machine would: SIGKILL, no shutdown; the standby is promoted. The
# broker is left as it is.
kill -KILL "$FC_PG_PID"
wait "$FC_PG_PID" 2>/dev/null || true
FC_PG_PID=
# While no server takes writes, an operation fails, with a reason, and the broker stays up.
if fc_config set color=yellow >"$FC_TMP/nowhere.out" 2>&1; then
  fc_fail "a config set succeeded with no primary"
fi
echo "a config set with no primary: $(tail -1 "$FC_TMP/nowhere.out")"
grep -q "cannot reconnect to the database yet" "$FC_TMP/broker.log" ||
  fc_fail "the broker did not log its failed reconnection: $(tail -5 "$FC_TMP/broker.log")"
kill -0 "$BROKER" 2>/dev/null || fc_fail "the broker is gone: $(tail -5 "$FC_TMP/broker.log")"
sql "$standby_port" "SELECT pg_promote()" >/dev/null
fc_wait_for "the standby to be promoted" 30 bash -c \
  '[ "$("$0" -qtA -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "SELECT pg_is_in_recovery()")" = f ]' \
  "$bin/psql" "$standby_port"
fc_random_file "$src/b.bin" 64
s_retry "push of release 2 after the failover" fc_push "$src" 2
s_retry "config set color=green after the failover" fc_config set color=green
kill -0 "$BROKER" 2>/dev/null || fc_fail "the broker is gone: $(tail -5 "$FC_TMP/broker.log")"
fc_agent_run a1 --timeout 30 || fc_fail "agent a1 failed: $(tail -5 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "a1 does not run release 2"
fc_config_has a1 color '"green"' || fc_fail "a1 lacks color=green: $(fc_config_text a1)"
grep -q "database connection lost: .*; reconnected to 127.0.0.1:$standby_port" "$FC_TMP/broker.log" ||
  fc_fail "the broker did not log its reconnection to the promoted standby: $(grep -i database "$FC_TMP/broker.log" | tail -5)"
fc_pass "primary SIGKILLed, standby promoted: the same broker process pushes and sets again, and the agent converges"

# The database's server stopped and started again (a restart, an upgrade): the broker
# carries on.
s_stop_standby
s_start_standby
fc_random_file "$src/c.bin" 64
s_retry "push of release 3 after the server's restart" fc_push "$src" 3
s_retry "config set color=red after the server's restart" fc_config set color=red
kill -0 "$BROKER" 2>/dev/null || fc_fail "the broker is gone: $(tail -5 "$FC_TMP/broker.log")"
fc_agent_run a1 --timeout 30 || fc_fail "agent a1 failed: $(tail -5 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "a1 does not run release 3"
fc_config_has a1 color '"red"' || fc_fail "a1 lacks color=red: $(fc_config_text a1)"
[ "$(grep -c "reconnected to 127.0.0.1:$standby_port" "$FC_TMP/broker.log")" -ge 2 ] ||
  fc_fail "the broker did not log a second reconnection: $(grep -i database "$FC_TMP/broker.log" | tail -5)"
fc_pass "the database's server stopped and started again: the same broker process carries on"
