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
# shellcheck source=tests/pg_standby.sh
source "$(dirname "$0")/pg_standby.sh"
trap 'fc_standby_stop; fc_pg_stop; fc_cleanup' EXIT
fc_standby_make

# One connection string for both servers: libpq takes the first that accepts writes.
store="postgresql://postgres@127.0.0.1:$PRIMARY_PORT,127.0.0.1:$STANDBY_PORT/fleetcast?target_session_attrs=read-write"
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
fc_primary_kill
# While no server takes writes, an operation fails, with a reason, and the broker stays up.
if fc_config set color=yellow >"$FC_TMP/nowhere.out" 2>&1; then
  fc_fail "a config set succeeded with no primary"
fi
echo "a config set with no primary: $(tail -1 "$FC_TMP/nowhere.out")"
grep -q "cannot reconnect to the database yet" "$FC_TMP/broker.log" ||
  fc_fail "the broker did not log its failed reconnection: $(tail -5 "$FC_TMP/broker.log")"
kill -0 "$BROKER" 2>/dev/null || fc_fail "the broker is gone: $(tail -5 "$FC_TMP/broker.log")"
fc_standby_promote
fc_random_file "$src/b.bin" 64
s_retry "push of release 2 after the failover" fc_push "$src" 2
s_retry "config set color=green after the failover" fc_config set color=green
kill -0 "$BROKER" 2>/dev/null || fc_fail "the broker is gone: $(tail -5 "$FC_TMP/broker.log")"
fc_agent_run a1 --timeout 30 || fc_fail "agent a1 failed: $(tail -5 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "a1 does not run release 2"
fc_config_has a1 color '"green"' || fc_fail "a1 lacks color=green: $(fc_config_text a1)"
grep -q "database connection lost: .*; reconnected to 127.0.0.1:$STANDBY_PORT" "$FC_TMP/broker.log" ||
  fc_fail "the broker did not log its reconnection to the promoted standby: $(grep -i database "$FC_TMP/broker.log" | tail -5)"
fc_pass "primary SIGKILLed, standby promoted: the same broker process pushes and sets again, and the agent converges"

# The database's server stopped and started again (a restart, an upgrade): the broker
# carries on.
fc_standby_stop
fc_standby_start
fc_random_file "$src/c.bin" 64
s_retry "push of release 3 after the server's restart" fc_push "$src" 3
s_retry "config set color=red after the server's restart" fc_config set color=red
kill -0 "$BROKER" 2>/dev/null || fc_fail "the broker is gone: $(tail -5 "$FC_TMP/broker.log")"
fc_agent_run a1 --timeout 30 || fc_fail "agent a1 failed: $(tail -5 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "a1 does not run release 3"
fc_config_has a1 color '"red"' || fc_fail "a1 lacks color=red: $(fc_config_text a1)"
[ "$(grep -c "reconnected to 127.0.0.1:$STANDBY_PORT" "$FC_TMP/broker.log")" -ge 2 ] ||
  fc_fail "the broker did not log a second reconnection: $(grep -i database "$FC_TMP/broker.log" | tail -5)"
fc_pass "the database's server stopped and started again: the same broker process carries on"
