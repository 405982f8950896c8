#!/usr/bin/env bash
# it_journal_damage.sh: an agent killed mid-download finds its journal truncated, garbled,
# or lying (claiming chunks never written, or a staged chunk damaged since): it re-verifies
# what it has instead of trusting the journal, and installs a byte-identical release.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

data="$FC_TMP/broker"
fc_start_broker "$data"
fc_keygen
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/big.bin" $((24*1024))
size=$((24*1048576))
fc_push "$src" 1 >/dev/null

fc_start_proxy --rate $((12*1048576))
FC_AGENT_BROKER=$FC_PROXY fc_agent_once a1 &
agent=$!
FC_PIDS+=("$agent")
sleep 1
kill -0 "$agent" 2>/dev/null || fc_fail "agent finished before it could be killed"
fc_kill9 "$agent"
fc_stop_proxy >/dev/null
journal=$(ls "$FC_TMP"/a1/state/download-*.journal)
staged=$(ls -d "$FC_TMP"/a1/install/releases/.staging-*)
[ -s "$journal" ] && [ -f "$staged/big.bin" ] || fc_fail "no journal or stage after the kill"
[ ! -e "$FC_TMP/a1/install/current" ] || fc_fail "a partial download was installed"
cp -a "$FC_TMP/a1" "$FC_TMP/a1.snap"
records=$(( ($(stat -c %s "$journal") - 44) / 12 ))
echo "killed with $records journaled chunks"

# damage NAME: restore the snapshot, run the damage command, resume, and check.
resume_after() {
  local what=$1; shift
  rm -rf "$FC_TMP/a1"; cp -a "$FC_TMP/a1.snap" "$FC_TMP/a1"
  "$@"
  fc_agent_run a1 --timeout 30 || fc_fail "$what: resume failed: $(tail -3 "$FC_TMP/a1.log")"
  cmp "$src/big.bin" "$FC_TMP/a1/install/current/big.bin" || fc_fail "$what: content differs"
  FC_CHECK_ARGS=--expect-latest fc_check "$data" a1 || fc_fail "$what: $(cat "$FC_TMP/check.out")"
  fc_pass "$what: installed intact, fetched $(fc_json_field "$FC_TMP/a1.json" bytes_fetched) bytes"
}
truncate_mid_record() { truncate -s $(( $(stat -c %s "$journal") - 5 )) "$journal"; }
truncate_header() { truncate -s 10 "$journal"; }
garble() { head -c 4096 /dev/urandom | dd of="$journal" bs=1 seek=60 conv=notrunc status=none; }
# Well-formed records (index, index ^ key) for every chunk: the journal claims it all.
lie() {
  python3 - "$journal" $(( (size + 262143) / 262144 )) <<'PY'
import struct, sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "ab") as f:
    for i in range(n):
        f.write(struct.pack("<QI", i, (i & 0xffffffff) ^ (i >> 32) ^ 0x9e3779b9))
PY
}
damage_staged() { printf 'XXXX' | dd of="$staged/big.bin" bs=1 seek=1000 conv=notrunc status=none; }

resume_after "a journal truncated mid-record" truncate_mid_record
fetched=$(fc_json_field "$FC_TMP/a1.json" bytes_fetched)
[ "$fetched" -lt "$size" ] || fc_fail "a torn last record made it start over ($fetched bytes)"
resume_after "a journal truncated inside its header" truncate_header
resume_after "a garbled journal" garble
resume_after "a journal claiming every chunk" lie
resume_after "a journaled chunk damaged on disk" damage_staged
