#!/usr/bin/env bash
# it_check.sh: fleetcast-check passes a healthy broker and fleet, and catches each kind of
# damage: a tampered, missing or extra file or a wrong mode in current, current at a staging
# or incomplete tree, a missing or corrupt blob, a revision gap, a corrupt database, and
# (--expect-latest) an agent behind on its release or config.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only

data="$FC_TMP/broker"
fc_start_broker "$data"
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
fc_agent_run a1 || fc_fail "a1 install"
fc_agent_run a2 || fc_fail "a2 install"

FC_CHECK_ARGS=--expect-latest fc_check "$data" a1 a2 || fc_fail "healthy fleet flagged: $(cat "$FC_TMP/check.out")"
grep -q "^OK: 1 releases, 2 blobs, 2 config revisions, 2 agents" "$FC_TMP/check.out" \
  || fc_fail "summary: $(cat "$FC_TMP/check.out")"
fc_pass "a healthy broker and two agents pass"

# expect_problem KIND WHAT: the checker must fail and name KIND.
expect_problem() {
  if fc_check "$data" a1 a2; then fc_fail "$2 not caught"; fi
  grep -q "^PROBLEM $1: " "$FC_TMP/check.out" || fc_fail "$2: no $1 problem: $(cat "$FC_TMP/check.out")"
  fc_pass "$2 caught: $(grep "^PROBLEM $1" "$FC_TMP/check.out" | head -1)"
}
cur="$FC_TMP/a1/install/current"
cp -p "$cur/data.bin" "$FC_TMP/data.bak"
fc_flip_byte "$cur/data.bin" 300000
expect_problem current-file "a byte flipped in a current file"
cp -p "$FC_TMP/data.bak" "$cur/data.bin"
fc_check "$data" a1 a2 || fc_fail "restored file still flagged: $(cat "$FC_TMP/check.out")"

chmod 700 "$cur/app"
expect_problem current-mode "a wrong mode"
chmod 755 "$cur/app"

echo stray >"$cur/stray"
expect_problem current-extra-file "a file not in the release"
rm "$cur/stray"

mv "$cur/data.bin" "$FC_TMP/data.moved"
expect_problem current-incomplete "current at an incomplete tree"
mv "$FC_TMP/data.moved" "$cur/data.bin"

mkdir -p "$FC_TMP/a1/install/releases/.staging-2"
target=$(readlink "$cur")
ln -sfn releases/.staging-2 "$cur"
expect_problem current-partial "current at a staging tree"
ln -sfn "$target" "$cur"

mkdir -p "$FC_TMP/a1/install/releases/9"
ln -sfn releases/9 "$cur"
expect_problem current-unknown "current at a tree no manifest names"
ln -sfn "$target" "$cur"
fc_check "$data" a1 a2 || fc_fail "restored agent still flagged: $(cat "$FC_TMP/check.out")"

blob=$(find "$data/blobs" -type f -size +100k | head -1)
cp "$blob" "$FC_TMP/blob.bak"
fc_flip_byte "$blob" 1000
expect_problem blob-corrupt "a corrupt blob"
rm "$blob"
expect_problem blob-missing "a missing blob"
cp "$FC_TMP/blob.bak" "$blob"

# Behind on release and config: a2 does not run again.
echo two >"$src/app"
fc_push "$src" 2 >/dev/null
fc_config set x=3 >/dev/null
fc_agent_run a1 || fc_fail "a1 update"
fc_check "$data" a1 a2 || fc_fail "without --expect-latest a2 is fine: $(cat "$FC_TMP/check.out")"
FC_CHECK_ARGS=--expect-latest expect_problem not-latest "an agent on an older release"
grep -q "^PROBLEM config-not-latest: .*/a2/install" "$FC_TMP/check.out" || fc_fail "config lag not caught"
if grep -q "a1/install" "$FC_TMP/check.out"; then fc_fail "a1 is up to date: $(cat "$FC_TMP/check.out")"; fi
"$FC_CHECK_BIN" --data "$data" --agent "$FC_TMP/a2" --expect-latest --json >"$FC_TMP/check.json" || true
grep -q '"ok":false' <(tr -d ' ' <"$FC_TMP/check.json") || fc_fail "--json: $(cat "$FC_TMP/check.json")"
grep -q '"kind":"not-latest"' <(tr -d ' ' <"$FC_TMP/check.json") || fc_fail "--json kinds"
fc_pass "--json reports the same problems"

fc_stop "$FC_BROKER_PID"
cp "$data/fleetcast.db" "$FC_TMP/db.bak"
sqlite3 "$data/fleetcast.db" "DELETE FROM config_revisions WHERE rev = 2"
expect_problem revision-gap "a missing config revision"
cp "$FC_TMP/db.bak" "$data/fleetcast.db"
pages=$(( $(stat -c %s "$data/fleetcast.db") / 4096 ))
for p in $(seq 2 $((pages - 1))); do
  head -c 64 /dev/urandom | dd of="$data/fleetcast.db" bs=1 seek=$((p * 4096 + 8)) conv=notrunc status=none
done
expect_problem database "a corrupt database"
