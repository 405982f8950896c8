# fc_store_wrap.sh: runs a program that takes --data DIR (fleetcast-broker, fleetcast-check)
# with --store naming a PostgreSQL database of its own for DIR, on the suite's server
# (FC_TEST_PG, tests/pg.sh): how the integration suites run on PostgreSQL
# (FC_STORE=postgresql, tests/lib.sh). The program replaces this script (exec): its PID is
# the one the suite started, to stop or kill.
# Usage: bash tests/fc_store_wrap.sh PROGRAM ARGS...
prog=$1
shift
data=
prev=
for a in "$@"; do
  case "$prev" in --data|-d) data=$a ;; esac
  case "$a" in --data=*) data=${a#--data=} ;; --store|--store=*|--help|-h|--version) exec "$prog" "$@" ;; esac
  prev=$a
done
[ -n "$data" ] && [ -n "${FC_TEST_PG:-}" ] || exec "$prog" "$@"
# One database per directory, named after its absolute path: a broker restarted on its
# directory finds its database again, and the check tool reads the broker's.
dir=$(cd "$data" 2>/dev/null && pwd || echo "$data")
name=t$(printf '%s' "$dir" | sha256sum | cut -c1-20)
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
conn=$FC_TEST_PG
# The server's own database for CREATE DATABASE (FC_TEST_PG names the suite's).
if ! "$bin/psql" -qtA "$conn" -c "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
  "$bin/psql" -q "$conn" -c "CREATE DATABASE $name" >/dev/null 2>&1 ||
    "$bin/psql" -qtA "$conn" -c "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1 ||
    { echo "fc_store_wrap: cannot create database $name on $conn" >&2; exit 1; }
fi
exec "$prog" "$@" --store "$FC_TEST_PG dbname=$name"
