#!/usr/bin/env bash
# it_object_delta.sh: a 4 KiB change in one 1 MiB file costs the agent a delta of that file's
# chunk list (GET_OBJECT_DELTA against the installed release's list of the same path), far
# below the whole list, and the release installs byte-identical.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

# One 1 MiB file (cut into 1-16 KiB chunks: a chunk list of about 8 KiB) and a few small ones.
fc_broker_and_src
fc_random_file "$src/big.bin" 1024
for i in 1 2 3; do head -c 3000 /dev/urandom >"$src/small-$i.txt"; done
fc_push "$src" 1 >/dev/null || fc_fail "push of 1 failed"
fc_agent_run a1 || fc_fail "install of 1 failed"

head -c 4096 /dev/urandom | dd of="$src/big.bin" bs=4096 seek=100 conv=notrunc status=none
fc_push "$src" 2 >/dev/null || fc_fail "push of 2 failed"
fc_start_proxy
FC_AGENT_BROKER=$FC_PROXY fc_agent_run a1 || fc_fail "install of 2 failed"
read -r _ wire < <(fc_stop_proxy)
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 2 tree differs"
fetched=$(fc_json_field "$FC_TMP/a1.json" bytes_fetched)
over=$((wire - fetched))
# The largest object the agent holds is a chunk list of big.bin (release 1's or 2's).
list=$(find "$FC_TMP/a1/state/objects" -type f -printf '%s\n' | sort -n | tail -1)
echo "update: $wire bytes on the service connection, $fetched of them chunk data, $over the rest;" \
  "big.bin's chunk list whole: $list bytes"
[ "$list" -ge 6000 ] || fc_fail "the chunk list is $list bytes: not the case this test is for"
# Everything beside chunk data (top level, page, the list's delta, hello, sync, report) must
# stay well below the one list whole: without a delta it alone would cost $list bytes.
[ "$over" -le $((list / 2)) ] ||
  fc_fail "a 4 KiB change cost $over bytes beside its data, the chunk list whole is $list"
fc_pass "a 4 KiB change in a 1 MiB file costs $over bytes beside its data (its chunk list: $list)"
