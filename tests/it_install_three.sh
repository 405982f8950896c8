#!/usr/bin/env bash
# it_install_three.sh: push once, three agents install; trees byte-identical to the source,
# and the broker's status lists all three as installed.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
src="$FC_TMP/src"
mkdir -p "$src/bin" "$src/lib/deep/er" "$src/empty-dir-file"
fc_random_file "$src/bin/app" 700
chmod 750 "$src/bin/app"
fc_random_file "$src/lib/deep/er/data.bin" 3000
: >"$src/empty-dir-file/zero-length"
echo "hello" >"$src/README"
chmod 600 "$src/README"
fc_push "$src" 1.0 >/dev/null

pids=()
for a in a1 a2 a3; do fc_agent_once "$a" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fc_fail "agent exited non-zero: $(cat "$FC_TMP"/a*.log)"; done

size=$(( 700*1024 + 3000*1024 + 6 ))
for a in a1 a2 a3; do
  cur="$FC_TMP/$a/install/current"
  [ -L "$cur" ] || fc_fail "$a: current is not a symlink"
  diff -r "$src" "$cur/" || fc_fail "$a: installed tree differs"
  [ "$(stat -c %a "$cur/bin/app")" = 750 ] || fc_fail "$a: mode of bin/app not kept"
  [ "$(stat -c %a "$cur/README")" = 600 ] || fc_fail "$a: mode of README not kept"
  [ "$(fc_json_field "$FC_TMP/$a.json" version)" = 1.0 ] || fc_fail "$a: JSON version"
  fetched=$(fc_json_field "$FC_TMP/$a.json" bytes_fetched)
  [ "$fetched" -eq "$size" ] || fc_fail "$a: fetched $fetched bytes, release has $size"
done
fc_pass "three agents installed byte-identical trees with modes kept"

# A second --once is a no-op: up to date, nothing fetched.
fc_agent_run a1 || fc_fail "second run should exit 0 (up to date)"
[ "$(fc_json_field "$FC_TMP/a1.json" bytes_fetched)" -eq 0 ] || fc_fail "up-to-date run fetched bytes"
fc_pass "an up-to-date agent fetches nothing"

status=$(fc_cli status --json)
for a in a1 a2 a3; do
  echo "$status" | grep -q "\"id\": *\"$a\"" || fc_fail "status does not list $a: $status"
done
[ "$(echo "$status" | grep -o '"version": *"1.0"' | wc -l)" -eq 3 ] || fc_fail "status versions: $status"
fc_cli release list | grep -q "stable .*1.0" || fc_fail "release list lacks 1.0"
fc_pass "status lists every agent with its installed version"
