#!/usr/bin/env bash
# it_push_kill_broker.sh: the broker commits uploads in groups (one sync per batch), and a
# reply still means on disk: a broker killed (SIGKILL) in the middle of a push of many small
# files loses nothing it acknowledged. The small files go whole, many to a PUT_BLOBS, whose
# OK means every blob of it on disk; big.bin goes by chunks. The re-run push finds every
# byte the first run was acknowledged for already held (BLOBS_QUERY, UPLOAD_QUERY), uploads
# only the rest, and the release installs intact.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

data="$FC_TMP/broker"
fc_start_broker "$data" --verbose # its log shows which requests carried the upload
fc_keygen
src="$FC_TMP/src"
mkdir -p "$src"
for d in $(seq 1 20); do
  mkdir -p "$src/pkg$d"
  for f in $(seq 1 60); do
    head -c $(( (RANDOM % 12 + 1) * 1024 )) /dev/urandom >"$src/pkg$d/mod$f.py"
  done
done
fc_random_file "$src/big.bin" 2048 # a few chunks, some acknowledged before the kill
total=$(find "$src" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')

# Slowed by the proxy so the kill lands mid-push; the publisher gives up soon after.
fc_start_proxy --rate $((2 * 1048576))
"$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_PROXY" --quiet --json --timeout 3 release push "$src" \
  --channel stable --version 1 --key "$FC_TMP/keys/signing.key" >"$FC_TMP/push1.json" 2>"$FC_TMP/push1.err" &
pusher=$!
FC_PIDS+=("$pusher")
# Killed once the blobs are going (a loaded machine may spend seconds on the manifest
# objects first), and after a moment for some of their OKs to come back.
fc_wait_for "the first PUT_BLOBS at the broker" 60 grep -q "PUT_BLOBS req=" "$FC_TMP/broker.log"
sleep 1
kill -0 "$pusher" 2>/dev/null || fc_fail "the push finished before the broker could be killed: $(cat "$FC_TMP/push1.json")"
fc_kill9 "$FC_BROKER_PID"
rc=0
wait "$pusher" || rc=$?
[ "$rc" != 0 ] || fc_fail "the push succeeded with its broker killed: $(cat "$FC_TMP/push1.json")"
acked=$(fc_json_num bytes_uploaded <"$FC_TMP/push1.json")
[ -n "$acked" ] && [ "$acked" -gt 0 ] && [ "$acked" -lt "$total" ] ||
  fc_fail "first run: acknowledged ${acked:-?} of $total bytes: $(cat "$FC_TMP/push1.json")"
grep -q "PUT_BLOBS req=" "$FC_TMP/broker.log" || fc_fail "the small files did not go by PUT_BLOBS"
fc_pass "broker killed mid-push: $acked of $total bytes were acknowledged"

fc_restart_broker "$data"
out=$(fc_cli --json release push "$src" --channel stable --version 1 --key "$FC_TMP/keys/signing.key") ||
  fc_fail "re-run push failed: $out"
up=$(fc_json_num bytes_uploaded <<<"$out")
present=$(fc_json_num bytes_present <<<"$out")
[ "$present" -ge "$acked" ] || fc_fail "acknowledged bytes lost: $acked acknowledged, $present held after the restart: $out"
[ $((up + present)) -eq "$total" ] || fc_fail "uploaded $up + present $present != $total: $out"
fc_pass "nothing acknowledged was lost: $present bytes held after the restart (>= $acked), $up uploaded"

fc_agent_run a1 || fc_fail "install after the resumed push: $(tail -3 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" >/dev/null || fc_fail "installed tree differs"
fc_check "$data" a1 || fc_fail "fleetcast-check: $(cat "$FC_TMP/check.out")"
fc_pass "the release installs intact and the broker's store checks clean"
