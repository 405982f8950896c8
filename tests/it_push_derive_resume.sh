#!/usr/bin/env bash
# it_push_derive_resume.sh: a push killed while uploading a changed file, whose chunk list
# the broker is to derive once the blob is whole (DERIVE_OBJECT after the upload), is run
# again: the re-run uploads only the rest, the broker derives the list then, and the
# release installs byte-identical.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_broker_and_src
# 8 MiB: the largest blob whose list the broker derives (FC_MAX_DERIVE_BLOB).
fc_random_file "$src/big.bin" $((8 * 1024))
head -c 3000 /dev/urandom >"$src/small.txt"
fc_push "$src" 1 >/dev/null || fc_fail "push of 1 failed"

# Release 2: most of big.bin new, so its upload takes a few seconds through a slow proxy.
head -c $((6 * 1048576)) /dev/urandom | dd of="$src/big.bin" bs=1048576 seek=1 conv=notrunc status=none
fc_start_proxy --rate $((2 * 1048576))
"$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_PROXY" --quiet release push "$src" \
  --channel stable --version 2 --key "$FC_TMP/keys/signing.key" >/dev/null 2>&1 &
pusher=$!
FC_PIDS+=("$pusher")
# Killed once the broker holds 2 MiB of the new content beside the 2 MiB it copied (the
# partial upload's blocks on disk), whatever the machine's speed.
held=0
for _ in $(seq 600); do
  kill -0 "$pusher" 2>/dev/null || fc_fail "push finished before it could be killed"
  held=$(du -sk "$FC_TMP/broker/incoming" 2>/dev/null | cut -f1)
  [ "${held:-0}" -ge $((4 * 1024)) ] && break
  sleep 0.1
done
[ "${held:-0}" -ge $((4 * 1024)) ] || fc_fail "the push uploaded too little to be killed half-way"
fc_kill9 "$pusher"
fc_stop_proxy >/dev/null
[ "$(fc_cli --json release list | grep -o '"serial"' | wc -l)" = 1 ] || fc_fail "a half push was committed"

out=$(fc_cli --json release push "$src" --channel stable --version 2 --key "$FC_TMP/keys/signing.key") ||
  fc_fail "re-run push failed: $out"
num() { echo "$out" | sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p"; }
size=$(stat -c %s "$src/big.bin")
# 6 MiB of big.bin are new, and the killed run left about 2 MiB of them: a re-run that
# resumed uploads at most 5 MiB, and finds more present than the 2 MiB unchanged.
[ "$(num bytes_present)" -gt $((3 * 1048576)) ] && [ "$(num bytes_uploaded)" -le $((5 * 1048576)) ] ||
  fc_fail "the re-run did not resume the upload: $out"
[ "$(num objects_derived)" -ge 1 ] || fc_fail "the re-run derived no chunk list: $out"
fc_agent_run a1 || fc_fail "install of 2 after the re-run failed"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release 2 tree differs"
fc_pass "a killed push re-run uploaded $(num bytes_uploaded) bytes, derived $(num objects_derived) list(s), and installs"
