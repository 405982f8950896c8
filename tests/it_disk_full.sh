#!/usr/bin/env bash
# it_disk_full.sh: the agent's disk fills mid-download: a clear error, the running version
# untouched (fleetcast-check finds current intact), and the download resumes (not restarts)
# once space is back.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

install="$FC_TMP/a1/install"
mkdir -p "$install" # mode=0755: a tmpfs is 1777 by default, which the agent refuses
mount -t tmpfs -o size=24m,mode=0755 tmpfs "$install" 2>/dev/null || fc_skip "cannot mount a tmpfs (needs root)"
FC_MOUNTS+=("$install")

fc_start_broker "$FC_TMP/broker"
fc_keygen
mkdir -p "$FC_TMP/src"
echo one >"$FC_TMP/src/app"
fc_push "$FC_TMP/src" 1 >/dev/null
fc_agent_run a1 || fc_fail "install 1"

fc_random_file "$FC_TMP/src/big.bin" $((40*1024))
echo two >"$FC_TMP/src/app"
fc_push "$FC_TMP/src" 2 >/dev/null
if fc_agent_run a1; then fc_fail "a 40 MiB release fitted in 24 MiB"; fi
grep -qiE "disk full|no space" "$FC_TMP/a1.log" || fc_fail "no clear disk-full message: $(tail -3 "$FC_TMP/a1.log")"
[ "$(cat "$install/current/app")" = one ] || fc_fail "running version changed"
fc_check "$FC_TMP/broker" a1 || fc_fail "after disk full: $(cat "$FC_TMP/check.out")"
fc_pass "disk full: clear error, version 1 still running"

mount -o remount,size=128m "$install" || fc_fail "cannot grow the tmpfs"
fc_agent_run a1 || fc_fail "install 2 after space came back: $(tail -3 "$FC_TMP/a1.log")"
fetched=$(fc_json_field "$FC_TMP/a1.json" bytes_fetched)
[ "$fetched" -lt $((40*1048576)) ] || fc_fail "fetched $fetched: started over instead of resuming"
cmp "$FC_TMP/src/big.bin" "$install/current/big.bin" || fc_fail "content differs"
FC_CHECK_ARGS=--expect-latest fc_check "$FC_TMP/broker" a1 || fc_fail "checker: $(cat "$FC_TMP/check.out")"
fc_pass "download resumed once space was back (fetched $fetched more bytes)"
