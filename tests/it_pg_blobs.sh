#!/usr/bin/env bash
# it_pg_blobs.sh: blobs on a PostgreSQL store live in the database, each broker's blobs/ a
# cache of them (issue 17): two brokers on one database with different data dirs, a release
# pushed through A is installed by an agent of B; then A is SIGKILLed and its data dir
# deleted, B stopped too, and a third broker C with an empty data dir on the same database
# serves the release to a new agent.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
# Under FC_STORE=postgresql lib.sh has started the server already.
[ -n "${FC_TEST_PG:-}" ] || source "$(dirname "$0")/pg.sh"
export FC_INSECURE=1
fc_keygen
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/big.bin" 3072 # 3 MiB: several pieces of 1 MiB, the last one short
fc_random_file "$src/small.txt" 3

fc_start_broker "$FC_TMP/a" --store "$FC_TEST_PG"
A_PID=$FC_BROKER_PID
fc_push "$src" 1 >/dev/null
fc_start_broker "$FC_TMP/b" --store "$FC_TEST_PG"
B_PID=$FC_BROKER_PID
B=$FC_SERVICE
[ -z "$(find "$FC_TMP/b/blobs" -type f 2>/dev/null)" ] || fc_fail "B holds blob files before anyone asked"
FC_AGENT_BROKER=$B fc_agent_run b1 --timeout 60 ||
  fc_fail "b1 (on broker B) did not install: $(tail -5 "$FC_TMP/b1.log")"
diff -r "$src" "$FC_TMP/b1/install/current/" || fc_fail "b1's installed tree differs from the release"
n=$(find "$FC_TMP/b/blobs" -type f | wc -l)
[ "$n" -ge 2 ] || fc_fail "B's data dir holds $n blob files after serving the release (want 2)"
[ -z "$(find "$FC_TMP/b/incoming" -name '*.fill' 2>/dev/null)" ] || fc_fail "a fill file was left in B's incoming/"
fc_pass "pushed through A, installed by an agent of B (another data dir): B filled its files from the database"

fc_kill9 "$A_PID"
rm -rf "$FC_TMP/a"
fc_stop "$B_PID"
fc_start_broker "$FC_TMP/c" --store "$FC_TEST_PG"
C=$FC_SERVICE
FC_AGENT_BROKER=$C fc_agent_run c1 --timeout 60 ||
  fc_fail "c1 (on broker C) did not install: $(tail -5 "$FC_TMP/c1.log")"
diff -r "$src" "$FC_TMP/c1/install/current/" || fc_fail "c1's installed tree differs from the release"
fc_pass "A SIGKILLed and its data dir deleted, B stopped: C with an empty data dir serves the release from the database"
