# pg.sh: a throwaway PostgreSQL server for tests (Debian's binaries, a temp dir, a free
# loopback port, trust auth), exported as FC_TEST_PG and stopped by PID on exit.
# Usage: source tests/pg.sh (after tests/lib.sh) in a suite, or as a wrapper:
#   bash tests/pg.sh run CMD [ARG...]   (CMD's exit status; 77 when no server can start)
# FC_TEST_PG is a libpq conninfo ("host=127.0.0.1 port=N dbname=fleetcast user=postgres");
# for an empty database per case, CREATE DATABASE on it (fc_test_pg_fresh in
# tests/support/fc_test_pg.c does this for self-tests).

fc_pg_skip() {
  if declare -F fc_skip >/dev/null; then fc_skip "$*"; fi
  echo "SKIP: $*" >&2
  exit 77
}

# Stops the server (fast shutdown, SIGINT to its postmaster, then SIGKILL) and removes its
# directory; safe to call twice.
fc_pg_stop() {
  if [ -n "${FC_PG_PID:-}" ]; then
    kill -INT "$FC_PG_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$FC_PG_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$FC_PG_PID" 2>/dev/null || true
    wait "$FC_PG_PID" 2>/dev/null || true
    FC_PG_PID=
  fi
  if [ -n "${FC_PG_DIR:-}" ]; then
    rm -rf "$FC_PG_DIR"
    FC_PG_DIR=
  fi
}

# fc_pg_as CMD...: runs CMD as the server's user (postgres when we are root: initdb and
# postgres refuse root), replacing the process so its PID is the server's.
fc_pg_as() {
  if [ "$(id -u)" = 0 ]; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups --reset-env "$@"
  fi
  exec "$@"
}

fc_pg_start() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] && [ -x "$bin/postgres" ] ||
    fc_pg_skip "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || fc_pg_skip "no postgres user to run the server as"
    command -v setpriv >/dev/null || fc_pg_skip "no setpriv to run the server as postgres"
  fi
  # Under /tmp, not TMPDIR: a suite may point TMPDIR into its own 0700 directory, which the
  # server's user cannot enter.
  FC_PG_DIR=$(mktemp -d /tmp/fleetcast-pg.XXXXXX)
  chmod 755 "$FC_PG_DIR"
  [ "$(id -u)" != 0 ] || chown postgres: "$FC_PG_DIR"
  # --no-sync: initdb's own final sync only (a fresh cluster thrown away after the test);
  # the server itself runs with fsync on.
  if ! (fc_pg_as "$bin/initdb" -D "$FC_PG_DIR/data" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 --no-sync >"$FC_PG_DIR/initdb.log" 2>&1); then
    cat "$FC_PG_DIR/initdb.log" >&2
    fc_pg_stop
    echo "FAIL: initdb failed (above)" >&2
    exit 1
  fi
  local port try
  for try in 1 2 3 4 5; do
    # a port taken between the choice and the bind makes the server exit: choose again
    if declare -F fc_ports >/dev/null; then port=$(fc_ports 1); else port=$((20000 + RANDOM % 40000)); fi
    (fc_pg_as "$bin/postgres" -D "$FC_PG_DIR/data" -k "$FC_PG_DIR" -c listen_addresses=127.0.0.1 \
      -p "$port" -c fsync=on -c max_connections=100 -c shared_buffers=16MB \
      >"$FC_PG_DIR/server.log" 2>&1) &
    FC_PG_PID=$!
    for _ in $(seq 150); do
      kill -0 "$FC_PG_PID" 2>/dev/null || break
      "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && break
      sleep 0.1
    done
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then break; fi
    kill -INT "$FC_PG_PID" 2>/dev/null || true
    wait "$FC_PG_PID" 2>/dev/null || true
    FC_PG_PID=
    [ "$try" = 5 ] && { cat "$FC_PG_DIR/server.log" >&2; fc_pg_stop; echo "FAIL: PostgreSQL did not start (above)" >&2; exit 1; }
  done
  "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE fleetcast" >/dev/null ||
    { fc_pg_stop; echo "FAIL: cannot create the test database" >&2; exit 1; }
  export FC_TEST_PG="host=127.0.0.1 port=$port dbname=fleetcast user=postgres"
}

FC_PG_PID=
FC_PG_DIR=
if declare -F fc_cleanup >/dev/null; then
  trap 'fc_pg_stop; fc_cleanup' EXIT
else
  trap fc_pg_stop EXIT
fi
FC_PG_CMD=
# On a signal: the wrapped command goes too, then the EXIT trap stops the server.
trap '[ -z "$FC_PG_CMD" ] || kill -TERM "$FC_PG_CMD" 2>/dev/null; exit 1' INT TERM HUP
fc_pg_start

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "${1:-}" = run ]; then
  shift
  # In the background and waited for: bash runs a trap only once a foreground command ends,
  # but interrupts wait at once.
  "$@" &
  FC_PG_CMD=$!
  wait "$FC_PG_CMD"
  rc=$?
  FC_PG_CMD=
  exit $rc
fi
