#!/usr/bin/env bash
# it_manifest_delta.sh: a 4 KiB change in a release of 1000 files costs the agent a few KiB of manifest on the wire, not the whole manifest (issue 13, compact manifests).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

# 1000 files of 8 KiB (a couple of 1-16 KiB chunks each): 8 MiB of data, a manifest of
# more than 100 KiB whole.
fc_many_installed 1000 8192
full=$(stat -c %s "$FC_TMP/a1/state/installed.manifest")
echo "release 1's signed manifest as the agent keeps it: $full bytes"

# 4 KiB overwritten in one file; the second install through a counting relay.
head -c 4096 /dev/urandom | dd of="$src/d/f-500.bin" bs=4096 seek=1 conv=notrunc status=none
fc_push "$src" 2 >/dev/null || fc_fail "push of 2 failed"
fc_start_proxy
FC_AGENT_BROKER=$FC_PROXY fc_agent_run a1 || fc_fail "install of 2 failed"
read -r _ wire < <(fc_stop_proxy)
fetched=$(fc_json_field "$FC_TMP/a1.json" bytes_fetched)
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 2 tree differs"
over=$((wire - fetched))
echo "update: $wire bytes on the service connection, $fetched of them chunk data, $over the rest"
[ "$fetched" -le 8192 ] || fc_fail "fetched $fetched bytes of data for a change inside one 8 KiB file"
# Everything but chunk data (manifest, hello, sync, reports) within 24 KiB: a format-2
# manifest (about 120 KiB here) cannot pass; the issue's target is 64 KiB for 16,000 chunks.
[ "$over" -le $((24 * 1024)) ] ||
    fc_fail "a 4 KiB change cost $over bytes beside its data (the whole manifest travels: $full bytes)"
fc_pass "a 4 KiB change in 1000 files costs $over bytes beside its data"
