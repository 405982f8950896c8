#!/usr/bin/env bash
# it_hostile_release.sh: hostile release traffic at the broker and planted symlinks at the
# agent: chunk requests outside a blob, manifests with a flipped byte, replayed old ones,
# path traversal and a stranger's signature are refused with a clear error; a symlink
# planted in the agent's staging or release path is not written through; nothing is stored
# or written where it should not be, and a well-behaved agent keeps installing.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only
command -v sqlite3 >/dev/null || fc_fail "sqlite3 CLI missing (run.sh installs it)"

data="$FC_TMP/broker"
db="$data/fleetcast.db"
fc_start_broker "$data"
fc_keygen
"$FC_CLI_BIN" keygen --out "$FC_TMP/rogue" >/dev/null
mkdir -p "$FC_TMP/src"
fc_random_file "$FC_TMP/src/app" 600
printf forged >"$FC_TMP/src/payload" # the content fc_forge's files carry: the blob exists
push() { fc_push "$FC_TMP/src" "$1" >/dev/null; }
rows() { sqlite3 "$db" "SELECT count(*) FROM releases;"; }
manifest_of() { sqlite3 "$db" "SELECT writefile('$2', manifest) FROM releases WHERE version = '$1';" >/dev/null; }
commit() { "$FC_HOSTILE_BIN" "${FC_CLI_SEC_ARGS[@]}" commit "$FC_SERVICE" "$1"; }

echo 1 >"$FC_TMP/src/version"; push 1
manifest_of 1 "$FC_TMP/m1"
fc_agent_run a1 || fc_fail "release 1 not installed: $(cat "$FC_TMP/a1.log")"
echo 2 >"$FC_TMP/src/version"; push 2
manifest_of 2 "$FC_TMP/m2"

# GET_CHUNK outside a blob: past the end, length overflow, offset+length wrap, unknown blob.
"$FC_HOSTILE_BIN" "${FC_CLI_SEC_ARGS[@]}" chunks "$FC_SERVICE" stable >"$FC_TMP/chunks.out" 2>&1 ||
  fc_fail "chunk requests: $(grep -E 'FAIL|NOT' "$FC_TMP/chunks.out" || cat "$FC_TMP/chunks.out")"
fc_pass "$(grep -c 'error' "$FC_TMP/chunks.out") GET_CHUNK requests outside a blob refused (EINVAL/ENOTFOUND), one inside served"

# expect NAME FILE PATTERN: the commit of FILE is refused with an error matching PATTERN.
expect() {
  local out; out=$(commit "$2") || fc_fail "$1: no answer"
  grep -qE "^error .*$3" <<<"$out" || fc_fail "$1: $out"
  fc_pass "$1 refused: $out"
}
"$FC_FORGE_BIN" tamper --in "$FC_TMP/m2" --out "$FC_TMP/m2.body" --offset 40
expect "manifest with a flipped body byte" "$FC_TMP/m2.body" "signature"
size=$(stat -c %s "$FC_TMP/m2")
"$FC_FORGE_BIN" tamper --in "$FC_TMP/m2" --out "$FC_TMP/m2.sig" --offset $((size - 1))
expect "manifest with a flipped signature byte" "$FC_TMP/m2.sig" "signature"
expect "replayed older manifest (serial 1 after 2)" "$FC_TMP/m1" "serial"
n=0
for p in "../../evil" "/$FC_TMP/evil" "bin/../../../evil" "./evil" "a//evil"; do
  n=$((n + 1))
  "$FC_FORGE_BIN" sign --key "$FC_TMP/keys/signing.key" --out "$FC_TMP/trav$n" --serial 50 \
    --version evil --path "$p"
  expect "signed manifest with path '$p'" "$FC_TMP/trav$n" "path"
done
[ "$(rows)" = 2 ] || fc_fail "a refused manifest was stored: $(rows) release rows"
fc_pass "no release row from any refused manifest"

# Symlinks planted where the agent stages and installs the next release (serial 3): the
# staging dir and the release dir point outside. The agent must not write through them.
mkdir -p "$FC_TMP/outside1" "$FC_TMP/outside2" "$FC_TMP/outside3"
echo precious >"$FC_TMP/outside3/keep"
rel="$FC_TMP/a1/install/releases"
ln -s "$FC_TMP/outside1" "$rel/.staging-3"
ln -s "$FC_TMP/outside2" "$rel/3@3"
ln -s "$FC_TMP/outside3" "$rel/old" # the cleanup of old trees removes the link, not its files
echo 3 >"$FC_TMP/src/version"; push 3
rc=0; fc_agent_run a1 || rc=$?
[ -z "$(find "$FC_TMP/outside1" "$FC_TMP/outside2" -mindepth 1)" ] || fc_fail "agent wrote through a planted symlink"
cur=$(readlink -f "$FC_TMP/a1/install/current")
case "$cur" in "$rel"/*) ;; *) fc_fail "current resolves outside the install dir: $cur" ;; esac
if [ "$rc" = 0 ]; then
  [ "$(cat "$FC_TMP/a1/install/current/version")" = 3 ] || fc_fail "release 3 content"
  [ ! -L "$rel/3@3" ] || fc_fail "release 3 installed as the planted symlink"
  [ "$(cat "$FC_TMP/outside3/keep")" = precious ] || fc_fail "the cleanup deleted through a symlink"
  fc_pass "planted symlinks at .staging-3 and releases/3@3 replaced, not followed; release 3 installed; releases/old removed, its target kept"
else
  grep -qiE "path|symlink|cannot" "$FC_TMP/a1.log" || fc_fail "no clear message: $(tail -3 "$FC_TMP/a1.log")"
  fc_pass "planted symlinks refused: $(tail -1 "$FC_TMP/a1.log")"
fi

# A manifest signed by a key nobody trusts, for files the broker holds. The broker has no
# publisher trust list in this version, so it may store it; agents must refuse it.
"$FC_FORGE_BIN" sign --key "$FC_TMP/rogue/signing.key" --out "$FC_TMP/rogue.m" --serial 99 \
  --version rogue --path payload
out=$(commit "$FC_TMP/rogue.m") || fc_fail "rogue manifest: no answer"
if grep -q "^ok" <<<"$out"; then
  : >"$FC_TMP/a1.log"
  if fc_agent_run a1; then fc_fail "agent installed a manifest signed by an untrusted key"; fi
  grep -qi "trust" "$FC_TMP/a1.log" || fc_fail "no clear message: $(tail -3 "$FC_TMP/a1.log")"
  fc_pass "manifest from an untrusted key: broker stored it ($out), agent refused: $(grep -m1 -i trust "$FC_TMP/a1.log")"
else
  grep -qE "^error .*(trust|signature)" <<<"$out" || fc_fail "rogue manifest: $out"
  fc_pass "manifest from an untrusted key refused by the broker: $out"
fi
[ "$(cat "$FC_TMP/a1/install/current/version")" = 3 ] || fc_fail "running version changed"

kill -0 "$FC_BROKER_PID" || fc_fail "broker died"
[ -z "$(find "$FC_TMP" -name evil -o -name rogue -path '*/releases/*')" ] ||
  fc_fail "a hostile file was written: $(find "$FC_TMP" -name evil)"
fc_stop "$FC_BROKER_PID"
[ "$(sqlite3 "$db" "PRAGMA integrity_check;")" = ok ] || fc_fail "store integrity check"
fc_pass "broker alive to the end, store integrity_check ok, nothing written outside the install dir"
