#!/usr/bin/env bash
# it_delta.sh: a second release changing one file of many: the publisher uploads and the
# agents fetch only that file's changed chunk (chunks are cut by content, 1 to 16 KiB in files
# below 8 MiB);
# everything else is reused locally.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
src="$FC_TMP/src"
mkdir -p "$src"
for i in $(seq 1 20); do fc_random_file "$src/file-$i.bin" 1024; done   # 20 x 1 MiB
fc_push "$src" 1 >/dev/null
fc_agent_run a1 || fc_fail "install of 1 failed"

# Change 100 bytes inside one file.
printf 'x%.0s' $(seq 100) | dd of="$src/file-7.bin" bs=1 seek=$((2*262144 + 1000)) conv=notrunc status=none
push=$(fc_cli --json release push "$src" --channel stable --version 2 --key "$FC_TMP/keys/signing.key")
uploaded=$(echo "$push" | sed -n 's/.*"bytes_uploaded": *\([0-9]*\).*/\1/p')
# The changed file is new content (a new blob), but the broker holds its other chunks in the
# old file's blob and copies them (UPLOAD_PREFIXES): the publisher sends the few chunks
# around the change (each at most FC_CDC_MAX, 16 KiB), never the rest of the file nor the
# other 19.
[ "$uploaded" -ge 100 ] && [ "$uploaded" -le $((4 * 16384)) ] ||
  fc_fail "publisher uploaded $uploaded bytes for a 100-byte change: $push"
fc_pass "the publisher uploads only the chunks around the change ($uploaded bytes)"

fc_agent_run a1 || fc_fail "install of 2 failed"
fetched=$(fc_json_field "$FC_TMP/a1.json" bytes_fetched)
reused=$(fc_json_field "$FC_TMP/a1.json" bytes_reused)
# The chunk holding the change (at most 16 KiB), and the next few if it moved a cut point.
[ "$fetched" -gt 0 ] && [ "$fetched" -le $((4 * 16384)) ] || fc_fail "agent fetched $fetched bytes for a one-chunk change"
[ "$reused" -eq $(( 20*1048576 - fetched )) ] || fc_fail "agent reused $reused bytes"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 2 tree differs"
[ -d "$FC_TMP/a1/install/releases/1@1" ] || fc_fail "previous version not kept for rollback"
fc_pass "the agent fetches only the changed chunk and keeps the previous version"
