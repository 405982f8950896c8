#!/usr/bin/env bash
# it_release_rollback.sh: `release rollback` publishes a new serial with an older release's
# content, signed anew, with no tree on disk: agents that keep that release (the previous one)
# go back to it fetching almost nothing. `release copy` promotes a release to another channel
# uploading nothing, and its agents fetch nothing they already have.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
key="$FC_TMP/keys/signing.key"
v1="$FC_TMP/v1"; v2="$FC_TMP/v2"
mkdir -p "$v1/lib" "$v2/lib"
fc_random_file "$v1/lib/big.bin" 2048
fc_random_file "$v1/app" 512
fc_random_file "$v2/lib/big.bin" 2048
fc_random_file "$v2/app" 512
fc_cli release push "$v1" --channel stable --version 1.0 --key "$key" >/dev/null
agents=(a1 a2 a3)
for a in "${agents[@]}"; do fc_agent_run "$a" || fc_fail "$a: install 1.0"; done
fc_cli release push "$v2" --channel stable --version 2.0 --key "$key" >/dev/null
for a in "${agents[@]}"; do fc_agent_run "$a" || fc_fail "$a: install 2.0"; done
for a in "${agents[@]}"; do diff -r "$v2" "$FC_TMP/$a/install/current/" >/dev/null || fc_fail "$a not on 2.0"; done

# Nothing can name a release the channel never had.
rc=0; fc_cli release rollback --channel stable --to 9.9 --key "$key" 2>"$FC_TMP/err" || rc=$?
[ "$rc" = 1 ] && grep -q "no release of version 9.9" "$FC_TMP/err" || fc_fail "rollback to 9.9: $rc $(cat "$FC_TMP/err")"

rm -rf "$v1" # no old tree needed
out=$(fc_cli release rollback --channel stable --key "$key" --json) || fc_fail "rollback: $out"
[ "$(fc_json_num serial <<<"$out")" = 3 ] && [ "$(fc_json_num from_serial <<<"$out")" = 1 ] ||
  fc_fail "rollback did not publish serial 3 from serial 1: $out"
for a in "${agents[@]}"; do
  fc_agent_run "$a" || fc_fail "$a: install the rollback: $(tail -3 "$FC_TMP/$a.log")"
  [ "$(fc_json_field "$FC_TMP/$a.json" version)" = 1.0 ] || fc_fail "$a: not back on 1.0: $(cat "$FC_TMP/$a.json")"
  fetched=$(fc_json_field "$FC_TMP/$a.json" bytes_fetched)
  [ "$fetched" -lt 65536 ] || fc_fail "$a fetched $fetched bytes to roll back"
  cmp -s "$FC_TMP/a1/install/current/lib/big.bin" "$FC_TMP/$a/install/current/lib/big.bin" || fc_fail "$a: tree differs"
done
[ "$(readlink "$FC_TMP/a1/install/current")" = "releases/1.0@3" ] || fc_fail "a1 current: $(readlink "$FC_TMP/a1/install/current")"
fc_check "$FC_TMP/broker" a1 a2 a3 ||
  fc_fail "invariants broken after the rollback: $(cat "$FC_TMP/check.out")"
fc_pass "rollback: serial 3 carries 1.0's content; every agent went back fetching nothing"

# Rolling back again goes to the newest other version, 2.0; rolling back to the current one
# publishes nothing.
out=$(fc_cli release rollback --channel stable --key "$key" --json) || fc_fail "second rollback: $out"
[ "$(fc_json_num serial <<<"$out")" = 4 ] && grep -q '"version": *"2.0"' <<<"$out" || fc_fail "second rollback: $out"
out=$(fc_cli release rollback --channel stable --to 2.0 --key "$key") || fc_fail "rollback to current: $out"
grep -q "nothing published" <<<"$out" || fc_fail "rollback to the current version: $out"
[ "$(fc_cli release list --channel stable --json | fc_json_nums serial | sort -n | tail -1)" = 4 ] ||
  fc_fail "a rollback to the current release published"
fc_pass "a second rollback goes to the other version; to the current one publishes nothing"

# Copy 2.0 from stable to beta: nothing uploaded (the broker's blobs and partial uploads stay
# as they were), beta's agent gets it; copying again publishes nothing.
blobs() { find "$FC_TMP/broker/blobs" "$FC_TMP/broker/incoming" -type f 2>/dev/null | sort | md5sum; }
before=$(blobs)
out=$(fc_cli release copy --from stable --to beta --key "$key" --json) || fc_fail "copy: $out"
[ "$(fc_json_num serial <<<"$out")" = 1 ] && grep -q '"version": *"2.0"' <<<"$out" || fc_fail "copy: $out"
[ "$(blobs)" = "$before" ] || fc_fail "copy changed the broker's blobs"
FC_CHANNEL=beta fc_agent_run b1 || fc_fail "b1: install the copy"
diff -r "$v2" "$FC_TMP/b1/install/current/" >/dev/null || fc_fail "b1 tree differs from 2.0"
out=$(fc_cli release copy --from stable --to beta --key "$key") || fc_fail "second copy"
grep -q "nothing published" <<<"$out" || fc_fail "second copy published: $out"
out=$(fc_cli release push "$FC_TMP/b1/install/current/" --channel beta --version 2.0 --key "$key" --json) ||
  fc_fail "push of the copied tree: $out"
[ "$(fc_json_num bytes_uploaded <<<"$out")" = 0 ] && grep -q '"already_published": *true' <<<"$out" ||
  fc_fail "push of the copied tree is not a no-op: $out"
FC_CHANNEL=beta fc_agent_run b1 || fc_fail "b1 second run"
[ "$(fc_json_field "$FC_TMP/b1.json" bytes_fetched)" = 0 ] || fc_fail "b1 fetched again"
fc_pass "copy stable -> beta published serial 1 uploading nothing; a second copy publishes nothing"
