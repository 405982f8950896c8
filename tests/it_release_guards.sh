#!/usr/bin/env bash
# it_release_guards.sh: release push guards. An empty directory is refused (naming it) unless
# --allow-empty; a version already on the channel is refused with other content unless
# --force, and with the same content (latest or older) publishes nothing and exits 0.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
key="$FC_TMP/keys/signing.key"
push() { fc_cli release push "$@" --channel stable --key "$key"; }
serials() { fc_cli release list --channel stable --json | fc_json_nums serial | sort -n | tr '\n' ' '; }

mkdir -p "$FC_TMP/empty"
rc=0; push "$FC_TMP/empty" --version 0.1 >"$FC_TMP/out" 2>"$FC_TMP/err" || rc=$?
[ "$rc" = 1 ] || fc_fail "empty push exited $rc"
grep -qF "$FC_TMP/empty" "$FC_TMP/err" && grep -q "allow-empty" "$FC_TMP/err" ||
  fc_fail "empty push refusal does not name the directory and --allow-empty: $(cat "$FC_TMP/err")"
[ -z "$(serials)" ] || fc_fail "an empty push was published: $(serials)"
push "$FC_TMP/empty" --version 0.1 --allow-empty >/dev/null || fc_fail "--allow-empty push refused"
[ "$(serials)" = "1 " ] || fc_fail "--allow-empty published serials $(serials)"
fc_pass "empty push refused naming the directory; --allow-empty publishes it"

src="$FC_TMP/src"; mkdir -p "$src"
fc_random_file "$src/app" 300
push "$src" --version 1.0 >/dev/null || fc_fail "push 1.0"
out=$(push "$src" --version 1.0 --json) || fc_fail "identical re-push failed: $out"
grep -q '"already_published": *true' <<<"$out" || fc_fail "identical re-push not a no-op: $out"
[ "$(serials)" = "1 2 " ] || fc_fail "identical re-push published: $(serials)"
fc_pass "identical re-push of the latest version publishes nothing, exit 0"

cp -r "$src" "$FC_TMP/src2"; echo more >>"$FC_TMP/src2/app"
push "$FC_TMP/src2" --version 2.0 >/dev/null || fc_fail "push 2.0"
# 1.0 is now an older release: its tree again is still a no-op, other content is refused.
out=$(push "$src" --version 1.0) || fc_fail "identical re-push of an older version failed"
grep -q "already published as serial 2" <<<"$out" && grep -q "rollback" <<<"$out" ||
  fc_fail "re-push of an older version does not say so: $out"
rc=0; push "$FC_TMP/src2" --version 1.0 >"$FC_TMP/out" 2>"$FC_TMP/err" || rc=$?
[ "$rc" = 1 ] && grep -q "already published as serial 2 with other content" "$FC_TMP/err" ||
  fc_fail "1.0 with other content: exit $rc, $(cat "$FC_TMP/err")"
[ "$(serials)" = "1 2 3 " ] || fc_fail "a refused push published: $(serials)"
fc_pass "a version already on the channel (not the latest) is refused with other content"

out=$(push "$FC_TMP/src2" --version 1.0 --force --json) || fc_fail "--force push refused: $out"
[ "$(serials)" = "1 2 3 4 " ] || fc_fail "--force did not publish: $(serials)"
fc_pass "--force publishes the version again"
