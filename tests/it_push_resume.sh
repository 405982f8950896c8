#!/usr/bin/env bash
# it_push_resume.sh: a push killed half-way and run again uploads only the rest.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
mkdir -p "$FC_TMP/src"
fc_random_file "$FC_TMP/src/big.bin" $((32*1024))
size=$((32*1048576))
fc_start_proxy --rate $((8*1048576))
"$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_PROXY" --quiet release push "$FC_TMP/src" --channel stable \
  --version 1 --key "$FC_TMP/keys/signing.key" >/dev/null 2>&1 &
pusher=$!
FC_PIDS+=("$pusher")
sleep 2
kill -0 "$pusher" 2>/dev/null || fc_fail "push finished before it could be killed"
fc_kill9 "$pusher"
fc_cli release list | grep -q "no releases" || fc_fail "a half push was committed"

out=$(fc_cli --json release push "$FC_TMP/src" --channel stable --version 1 --key "$FC_TMP/keys/signing.key")
up=$(echo "$out" | sed -n 's/.*"bytes_uploaded": *\([0-9]*\).*/\1/p')
present=$(echo "$out" | sed -n 's/.*"bytes_present": *\([0-9]*\).*/\1/p')
[ "$present" -gt 0 ] && [ "$up" -lt "$size" ] || fc_fail "re-run uploaded $up, present $present: $out"
[ $((up + present)) -eq "$size" ] || fc_fail "uploaded + present != size: $out"
fc_agent_run a1 || fc_fail "install after resumed push"
cmp "$FC_TMP/src/big.bin" "$FC_TMP/a1/install/current/big.bin" || fc_fail "content differs"
fc_pass "the re-run push uploaded $up of $size bytes and the release installs"
