#!/usr/bin/env bash
# it_push_chunks.sh: chunk-granular upload (issue 13). A release that changes 4 KiB in the
# middle of a 1 MiB file uploads only the chunks around the change: the publisher names the
# file's chunks (UPLOAD_PREFIXES, by 8-byte hash prefixes; UPLOAD_CHUNKS to an older broker),
# the broker copies those it holds in the old file's blob, and
# the push reports a couple of chunks uploaded, not the file. The release installs intact.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

data="$FC_TMP/broker"
fc_start_broker "$data" --verbose # its log says how many bytes it copied from chunks held
fc_keygen
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/app.bin" 1024
fc_random_file "$src/lib.so" 3072
out=$(fc_cli --json release push "$src" --channel stable --version 1 --key "$FC_TMP/keys/signing.key") ||
  fc_fail "push 1 failed: $out"
fc_agent_run a1 || fc_fail "install of release 1: $(tail -3 "$FC_TMP/a1.log")"

# 4 KiB overwritten at 500,000 bytes: the content-defined chunks elsewhere stay the same.
head -c 4096 /dev/urandom | dd of="$src/app.bin" bs=1 seek=500000 conv=notrunc status=none
out=$(fc_cli --json release push "$src" --channel stable --version 2 --key "$FC_TMP/keys/signing.key") ||
  fc_fail "push 2 failed: $out"
up=$(fc_json_num bytes_uploaded <<<"$out")
present=$(fc_json_num bytes_present <<<"$out")
# A few chunks: in a file below FC_CDC_LARGE_FILE (8 MiB) each is at most FC_CDC_MAX
# (16 KiB), 4 KiB on average.
[ "$up" -ge 4096 ] && [ "$up" -le $((4 * 16384)) ] ||
  fc_fail "release 2 uploaded $up bytes for a 4 KiB change in a 1 MiB file: $out"
[ $((up + present)) -eq $((4096 * 1024)) ] || fc_fail "uploaded $up + present $present != 4 MiB: $out"
grep -qE "UPLOAD_(CHUNKS|PREFIXES) req=.*bytes copied from chunks held" "$FC_TMP/broker.log" ||
  fc_fail "the broker did not copy the unchanged chunks"
fc_pass "a 4 KiB change in a 1 MiB file uploaded $up bytes (the rest copied by the broker)"

fc_agent_run a1 || fc_fail "install of release 2: $(tail -3 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" >/dev/null || fc_fail "installed release 2 differs"
fc_check "$data" a1 || fc_fail "fleetcast-check: $(cat "$FC_TMP/check.out")"
fc_pass "release 2 installs intact and the broker's store checks clean"
