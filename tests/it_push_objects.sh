#!/usr/bin/env bash
# it_push_objects.sh: a push sends only the manifest objects (pages, chunk lists) that the channel's latest release does not name, and one whose broker lost such an object still commits, sending them all (issue 13).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

data="$FC_TMP/broker"
fc_start_broker "$data" --verbose # its log names every PUT_OBJECT
fc_keygen
src="$FC_TMP/src"
mkdir -p "$src"
for i in $(seq 1 40); do fc_random_file "$src/file-$i.bin" 64; done
puts() { grep -c "PUT_OBJECT req=" "$FC_TMP/broker.log" || true; }
fc_push "$src" 1 >/dev/null || fc_fail "push of 1 failed"
first=$(puts)
# 40 chunk lists and their page(s).
[ "$first" -ge 41 ] || fc_fail "release 1 stored only $first objects"

# One file changed: its new chunk list and the page that names it, nothing else.
head -c 4096 /dev/urandom | dd of="$src/file-7.bin" bs=1 seek=10000 conv=notrunc status=none
fc_push "$src" 2 >/dev/null || fc_fail "push of 2 failed"
second=$(($(puts) - first))
[ "$second" -ge 2 ] && [ "$second" -le 3 ] ||
  fc_fail "a push changing one file of 40 sent $second objects (release 1 had $first)"
fc_agent_run a1 || fc_fail "install of 2 failed: $(tail -3 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 2 tree differs"
fc_pass "a push changing one file of 40 sent $second manifest objects, not $first"

# The broker loses every object (as if pruned by hand): the publisher, told so at the
# commit (FC_EMISSING), sends them all and commits.
fc_stop "$FC_BROKER_PID"
sqlite3 "$data/fleetcast.db" "DELETE FROM objects;"
fc_restart_broker "$data" --verbose
head -c 4096 /dev/urandom | dd of="$src/file-9.bin" bs=1 seek=10000 conv=notrunc status=none
before=$(puts)
fc_push "$src" 3 >/dev/null || fc_fail "push of 3 over a broker that lost its objects failed"
third=$(($(puts) - before))
[ "$third" -ge 41 ] || fc_fail "push of 3 sent $third objects to a broker that had lost them"
fc_agent_run a1 || fc_fail "install of 3 failed: $(tail -3 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 3 tree differs"
fc_pass "a broker that lost the latest release's objects gets them all again ($third) and release 3 installs"
