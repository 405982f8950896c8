#!/usr/bin/env bash
# it_cdc_reuse.sh: chunks are addressed by hash across files and releases: a renamed file and
# a file copied under new names fetch nothing, 1 KiB inserted at a file's start fetches only
# the chunks around it (content-defined cuts), and a new file released under two names is
# fetched once.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
src="$FC_TMP/src"
mkdir -p "$src"
for i in 1 2 3 4 5 6; do fc_random_file "$src/file-$i.bin" 1024; done
fc_push "$src" 1 >/dev/null
fc_agent_run a1 || fc_fail "install of 1 failed"
total() { find "$src" -type f -printf '%s\n' | awk '{s += $1} END {print s}'; }
fetched() { fc_json_field "$FC_TMP/a1.json" bytes_fetched; }
reused() { fc_json_field "$FC_TMP/a1.json" bytes_reused; }

# 2: a file renamed into a new directory, another copied under two more names.
mkdir "$src/moved"
mv "$src/file-1.bin" "$src/moved/renamed.bin"
cp "$src/file-2.bin" "$src/dup-a.bin"
cp "$src/file-2.bin" "$src/moved/dup-b.bin"
fc_push "$src" 2 >/dev/null
fc_agent_run a1 || fc_fail "install of 2 failed"
[ "$(fetched)" -eq 0 ] || fc_fail "rename and copies fetched $(fetched) bytes"
[ "$(reused)" -eq $((8 * 1048576)) ] || fc_fail "rename and copies reused $(reused) bytes"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 2 tree differs"
fc_pass "a renamed file and a file copied under two names fetch nothing"

# 3: 1 KiB inserted at the start of one file: only the chunk around it is new.
{ head -c 1024 /dev/urandom; cat "$src/file-3.bin"; } >"$FC_TMP/f3" && mv "$FC_TMP/f3" "$src/file-3.bin"
fc_push "$src" 3 >/dev/null
fc_agent_run a1 || fc_fail "install of 3 failed"
# The chunk that holds the insertion, and the next few until the cut falls back on the old
# cut points: files below FC_CDC_LARGE_FILE (8 MiB) are cut in chunks of at most FC_CDC_MAX
# (16 KiB), 4 KiB on average, so at most 4 of them.
[ "$(fetched)" -gt 0 ] && [ "$(fetched)" -le $((4 * 16384)) ] ||
  fc_fail "1 KiB inserted at the start fetched $(fetched) bytes"
[ "$(reused)" -eq $(( $(total) - $(fetched) )) ] || fc_fail "insertion: reused $(reused) bytes"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 3 tree differs"
fc_pass "1 KiB inserted at a file's start fetched $(fetched) bytes of $(total)"

# 4: new content under two names: fetched once.
fc_random_file "$src/new-a.bin" 2048
cp "$src/new-a.bin" "$src/new-b.bin"
fc_push "$src" 4 >/dev/null
fc_agent_run a1 || fc_fail "install of 4 failed"
[ "$(fetched)" -eq $((2 * 1048576)) ] || fc_fail "a 2 MiB file under two names fetched $(fetched) bytes"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 4 tree differs"
fc_pass "new content released under two names is fetched once"
