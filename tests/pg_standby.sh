# pg_standby.sh: a synchronous streaming standby of the suite's PostgreSQL (tests/pg.sh) for
# the failover suites; source it after pg.sh. Sets PG_BIN, PRIMARY_PORT, STANDBY_PORT and
# STANDBY_PID (empty while the standby's server is not running).
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PRIMARY_PORT=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$FC_TEST_PG")
STANDBY_DIR="$FC_PG_DIR/standby"
STANDBY_PORT=$(fc_ports 1)
STANDBY_PID=

# fc_pg_sql PORT SQL: the value(s) SQL gives on the server at PORT, unaligned.
fc_pg_sql() {
  "$PG_BIN/psql" -qtA -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"
}

# fc_pg_wait_value WHAT PORT SQL VALUE: waits (30 s) until SQL gives VALUE on PORT.
fc_pg_wait_value() {
  fc_wait_for "$1" 30 bash -c \
    '[ "$("$0" -qtA -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2")" = "$3" ]' \
    "$PG_BIN/psql" "$2" "$3" "$4"
}

# Starts the standby's server (made by fc_standby_make) and waits until it takes
# connections; its PID is the server's (fc_pg_as replaces the subshell).
fc_standby_start() {
  (fc_pg_as "$PG_BIN/postgres" -D "$STANDBY_DIR" -k "$FC_PG_DIR" -c listen_addresses=127.0.0.1 \
    -p "$STANDBY_PORT") >>"$FC_TMP/standby.log" 2>&1 &
  STANDBY_PID=$!
  FC_PIDS+=("$STANDBY_PID")
  fc_wait_for "the standby's server to accept connections" 30 \
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$STANDBY_PORT"
}

# A fast shutdown of the standby's server (SIGINT: connections are cut, not waited for).
fc_standby_stop() {
  [ -n "$STANDBY_PID" ] || return 0
  kill -INT "$STANDBY_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$STANDBY_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$STANDBY_PID" 2>/dev/null || true
  wait "$STANDBY_PID" 2>/dev/null || true
  STANDBY_PID=
}

# The standby: a base backup of the primary (-R: it follows it) on a port of its own,
# started, and made synchronous: a commit is acknowledged only once the standby has it.
fc_standby_make() {
  (fc_pg_as "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$STANDBY_DIR" \
    -R -X stream -c fast) >"$FC_TMP/basebackup.log" 2>&1 ||
    fc_fail "pg_basebackup failed: $(cat "$FC_TMP/basebackup.log")"
  fc_standby_start
  fc_pg_sql "$PRIMARY_PORT" "ALTER SYSTEM SET synchronous_standby_names = '*'" >/dev/null
  fc_pg_sql "$PRIMARY_PORT" "SELECT pg_reload_conf()" >/dev/null
  fc_pg_wait_value "the standby to be synchronous" "$PRIMARY_PORT" \
    "SELECT sync_state FROM pg_stat_replication" sync
}

# The primary goes as a machine would (SIGKILL, no shutdown).
fc_primary_kill() {
  kill -KILL "$FC_PG_PID"
  wait "$FC_PG_PID" 2>/dev/null || true
  FC_PG_PID=
}

# The standby becomes the primary.
fc_standby_promote() {
  fc_pg_sql "$STANDBY_PORT" "SELECT pg_promote()" >/dev/null
  fc_pg_wait_value "the standby to be promoted" "$STANDBY_PORT" "SELECT pg_is_in_recovery()" f
}
