#!/usr/bin/env bash
# it_check_pg.sh: fleetcast-check on a PostgreSQL store (issue 17), where it_check.sh, which
# reads fleetcast.db, does not run: a healthy broker and agent pass (text and --json); each
# damage it must catch there is reported with exit 1 and its kind (a blob's bytes, a missing
# blob, a release row or manifest changed in the database, a lost or forged config revision,
# a blob marked corrupt, the releases table gone, a server or a database it cannot reach);
# and no check changes anything stored.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
# Under FC_STORE=postgresql lib.sh has started the server already.
[ -n "${FC_TEST_PG:-}" ] || source "$(dirname "$0")/pg.sh"
export FC_INSECURE=1
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
# psql on the suite's database: one value a line, stop at the first error
sql() { "$pgbin/psql" -qtA -v ON_ERROR_STOP=1 "$FC_TEST_PG" -c "$1"; }

data="$FC_TMP/broker"
fc_start_broker "$data" --store "$FC_TEST_PG"
fc_keygen
src="$FC_TMP/src"
mkdir -p "$src/sub"
fc_random_file "$src/data.bin" 600
printf '#!/bin/sh\necho app\n' >"$src/app"
chmod 755 "$src/app"
: >"$src/sub/empty"
fc_push "$src" 1 >/dev/null
fc_config set x=1 >/dev/null
fc_config set x=2 >/dev/null
fc_config set x=3 >/dev/null
fc_agent_run a1 || fc_fail "a1 install: $(tail -5 "$FC_TMP/a1.log")"
[ "$(sql "SELECT count(*) FROM releases")" = 1 ] || fc_fail "the release is not in PostgreSQL"
[ -e "$data/fleetcast.db" ] && fc_fail "the broker made $data/fleetcast.db on --store PostgreSQL"

# check [ARGS...]: fleetcast-check on the broker's PostgreSQL store and agent a1; output in
# check.out, its exit status returned
check() {
  "$FC_CHECK_BIN" --data "$data" --store "$FC_TEST_PG" --trust "$FC_TMP/keys/signing.pub" \
    --agent "$FC_TMP/a1" "$@" >"$FC_TMP/check.out" 2>&1
}
check --expect-latest || fc_fail "healthy store flagged (broker running): $(cat "$FC_TMP/check.out")"
grep -q "^OK: 1 releases, 2 blobs, 3 config revisions, 1 agents checked, 0 problems" \
  "$FC_TMP/check.out" || fc_fail "summary: $(cat "$FC_TMP/check.out")"
fc_pass "a healthy PostgreSQL store and agent pass: $(cat "$FC_TMP/check.out")"

# The rest with the broker stopped: it would move a damaged blob aside itself, and the
# database stays still, so a dump before and after a check shows what the check changed.
fc_stop "$FC_BROKER_PID"
# stored: every row of the database (a plain dump, rows in a stable order) and the hash
# of every file under the data dir
stored() {
  "$pgbin/pg_dump" --data-only --inserts --rows-per-insert=1 -d "$FC_TEST_PG" | grep '^INSERT' | sort
  (cd "$data" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}
# checked_unchanged ARGS...: check ARGS (its status returned) and fail the suite if
# anything stored differs afterwards
checked_unchanged() {
  local rc=0
  stored >"$FC_TMP/before"
  check "$@" || rc=$?
  stored >"$FC_TMP/after"
  cmp -s "$FC_TMP/before" "$FC_TMP/after" ||
    fc_fail "fleetcast-check $* changed what is stored: $(diff "$FC_TMP/before" "$FC_TMP/after" | head -5)"
  return $rc
}
checked_unchanged --json || fc_fail "healthy store flagged (--json): $(cat "$FC_TMP/check.out")"
tr -d ' \n' <"$FC_TMP/check.out" | grep -q '"ok":true,"releases":1,"blobs":2,"revisions":3,"agents":1' ||
  fc_fail "--json: $(cat "$FC_TMP/check.out")"
grep -q "^INSERT INTO public.releases" "$FC_TMP/before" || fc_fail "the dump holds no release row"
fc_pass "--json says ok; the check changed nothing stored (every row and every file compared)"

# expect_problem KIND WHAT: the check exits 1, names KIND, and changes nothing stored.
expect_problem() {
  local rc=0
  checked_unchanged || rc=$?
  [ "$rc" = 1 ] || fc_fail "$2: exit $rc, not 1: $(cat "$FC_TMP/check.out")"
  grep -q "^PROBLEM $1: " "$FC_TMP/check.out" || fc_fail "$2: no $1 problem: $(cat "$FC_TMP/check.out")"
  fc_pass "$2 caught: $(grep "^PROBLEM $1" "$FC_TMP/check.out" | head -1)"
}
healthy() { checked_unchanged || fc_fail "restored, still flagged: $(cat "$FC_TMP/check.out")"; }

blob=$(find "$data/blobs" -type f -size +100k | head -1)
[ -n "$blob" ] || fc_fail "no blob of data.bin under $data/blobs"
cp "$blob" "$FC_TMP/blob.bak"
fc_flip_byte "$blob" 1000
expect_problem blob-corrupt "a byte flipped in a blob"
rm "$blob"
# Kept in the database (blob_stored): this broker's DIR/blobs is its cache, filled at the
# blob's first request, so a file not there is not missing.
checked_unchanged || fc_fail "a blob kept in the database but not in DIR/blobs flagged: $(cat "$FC_TMP/check.out")"
grep -q "^1 blobs kept in the database and not filled" "$FC_TMP/check.out" ||
  fc_fail "the blob not filled here is not counted: $(cat "$FC_TMP/check.out")"
fc_pass "a blob in the database and not in DIR/blobs is counted as not filled, not missing"
hex=$(basename "$blob")
size=$(sql "SELECT size FROM blob_stored WHERE blob = '\\x$hex'")
[ -n "$size" ] || fc_fail "blob $hex is not in blob_stored"
sql "DELETE FROM blob_stored WHERE blob = '\\x$hex'" >/dev/null
expect_problem blob-missing "a blob missing from DIR/blobs and from the database"
sql "INSERT INTO blob_stored (blob, size) VALUES ('\\x$hex', $size)" >/dev/null
cp "$FC_TMP/blob.bak" "$blob"
healthy

sql "UPDATE releases SET serial = serial + 5"
expect_problem release-manifest "a release row whose serial disagrees with its signed manifest"
sql "UPDATE releases SET serial = serial - 5"
healthy

manifest=$(sql "SELECT encode(manifest, 'hex') FROM releases")
# a byte in the middle of the signed manifest inverted
sql "UPDATE releases SET manifest = set_byte(manifest, length(manifest) / 2,
       255 - get_byte(manifest, length(manifest) / 2))"
expect_problem release-manifest "a manifest changed in the database"
grep -q "does not verify" "$FC_TMP/check.out" || fc_fail "the message: $(cat "$FC_TMP/check.out")"
sql "UPDATE releases SET manifest = decode('ab', 'hex')"
expect_problem release-manifest "a manifest cut to one byte"
sql "UPDATE releases SET manifest = decode('$manifest', 'hex')"
healthy

signed=$(sql "SELECT encode(signed, 'hex') FROM config_revisions WHERE rev = 2")
sql "UPDATE config_revisions SET signed = set_byte(signed, 10, 255 - get_byte(signed, 10)) WHERE rev = 2"
expect_problem revision-signature "a config revision changed in the database"
sql "UPDATE config_revisions SET signed = decode('$signed', 'hex') WHERE rev = 2"
healthy
sql "UPDATE config_revisions SET rev = 9 WHERE rev = 2"
expect_problem revision-gap "a config revision missing (2 of 1..3)"
grep -q "revisions 2..2 are missing" "$FC_TMP/check.out" || fc_fail "the gap: $(cat "$FC_TMP/check.out")"
sql "UPDATE config_revisions SET rev = 2 WHERE rev = 9"
healthy

hex=$(basename "$blob")
sql "INSERT INTO corrupt_blobs (blob, reason, time) VALUES (decode('$hex', 'hex'), 'read error', 1)"
expect_problem blob-marked-corrupt "a blob the broker marked corrupt"
sql "DELETE FROM corrupt_blobs"
healthy

sql "ALTER TABLE releases RENAME TO releases_gone"
expect_problem database "the releases table gone"
sql "ALTER TABLE releases_gone RENAME TO releases"
healthy

# A server that cannot be reached, and a database that does not exist: a problem named
# "database", exit 1, no crash.
port=$(fc_ports 1)
rc=0
"$FC_CHECK_BIN" --data "$data" --store "host=127.0.0.1 port=$port dbname=fleetcast user=postgres" \
  >"$FC_TMP/check.out" 2>&1 || rc=$?
if [ "$rc" != 1 ] || ! grep -q "^PROBLEM database: (PostgreSQL): cannot open the database" "$FC_TMP/check.out"; then
  fc_fail "no server (exit $rc): $(cat "$FC_TMP/check.out")"
fi
rc=0
"$FC_CHECK_BIN" --data "$data" --store "$FC_TEST_PG dbname=nosuchdb" >"$FC_TMP/check.out" 2>&1 || rc=$?
if [ "$rc" != 1 ] || ! grep -q "^PROBLEM database: " "$FC_TMP/check.out"; then
  fc_fail "no such database (exit $rc): $(cat "$FC_TMP/check.out")"
fi
fc_pass "no server and no database are each a database problem: $(head -1 "$FC_TMP/check.out")"
