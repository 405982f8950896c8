#!/usr/bin/env bash
# it_push_idempotent.sh: re-running a push of the same directory, channel and version publishes
# nothing (one serial, agents do not reinstall); the same version with other content is refused.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
mkdir -p "$FC_TMP/src/bin"
fc_random_file "$FC_TMP/src/app.bin" 600
echo "v1" >"$FC_TMP/src/bin/run.sh"
chmod 0755 "$FC_TMP/src/bin/run.sh"
key="$FC_TMP/keys/signing.key"
push() { fc_cli "$@" release push "$FC_TMP/src" --channel stable --key "$key"; }
releases() { fc_cli --json release list | grep -o '"serial"' | wc -l; }

out=$(push --json --version 1.0) || fc_fail "first push: $out"
[ "$(echo "$out" | sed -n 's/.*"serial": *\([0-9]*\).*/\1/p')" = 1 ] || fc_fail "first push: $out"
fc_agent_run a1 || fc_fail "first install: $(cat "$FC_TMP/a1.json")"
[ "$(fc_json_field "$FC_TMP/a1.json" state)" = installed ] || fc_fail "not installed: $(cat "$FC_TMP/a1.json")"

# The same push again, as an operator re-running a script: nothing new is published.
rc=0
out=$(push --json --version 1.0) || rc=$?
[ "$rc" = 0 ] || fc_fail "re-run push: exit $rc: $out"
echo "$out" | grep -q '"ok": *true' || fc_fail "re-run push not ok: $out"
echo "$out" | grep -q '"already_published": *true' || fc_fail "re-run push not reported as already published: $out"
[ "$(echo "$out" | sed -n 's/.*"serial": *\([0-9]*\).*/\1/p')" = 1 ] || fc_fail "re-run push named another serial: $out"
[ "$(releases)" = 1 ] || fc_fail "re-run push made a new release: $(fc_cli release list)"
text=$(push --version 1.0) || fc_fail "re-run push (text): $text"
echo "$text" | grep -q "already published as serial 1" || fc_fail "re-run push (text) says: $text"
[ "$(releases)" = 1 ] || fc_fail "second re-run made a new release: $(fc_cli release list)"
fc_agent_run a1 || fc_fail "agent after re-run push: $(cat "$FC_TMP/a1.json")"
[ "$(fc_json_field "$FC_TMP/a1.json" state)" = up-to-date ] ||
  fc_fail "agent did not stay on its install: $(cat "$FC_TMP/a1.json")"
[ "$(fc_json_field "$FC_TMP/a1.json" bytes_fetched)" = 0 ] || fc_fail "agent fetched again: $(cat "$FC_TMP/a1.json")"
fc_pass "a re-run push publishes nothing: one serial, the agent stays up to date"

# The same version with other content (a file, a mode, a flag): refused, nothing published.
refused() { # WHAT ARGS...: the push must fail naming the version and suggesting a new one
  local what=$1; shift
  local rc=0 err
  err=$(push --version 1.0 "$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = 1 ] || fc_fail "$what: same version pushed (exit $rc): $err"
  echo "$err" | grep -q "1.0 is already published as serial 1 with other content" ||
    fc_fail "$what: unclear refusal: $err"
  echo "$err" | grep -q "new version" || fc_fail "$what: refusal suggests nothing: $err"
  [ "$(releases)" = 1 ] || fc_fail "$what: a release was published: $(fc_cli release list)"
}
echo "v2" >"$FC_TMP/src/bin/run.sh"
refused "changed file"
echo "v1" >"$FC_TMP/src/bin/run.sh"
chmod 0700 "$FC_TMP/src/bin/run.sh"
refused "changed mode"
chmod 0755 "$FC_TMP/src/bin/run.sh"
refused "mandatory flag" --mandatory
refused "minimum version" --min-version 0.9
touch "$FC_TMP/src/extra"
refused "added file"
rc=0
out=$(push --json --version 1.0 2>/dev/null) || rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q '"ok": *false' && echo "$out" | grep -q '"error": *".*other content' ||
  fc_fail "refusal in JSON: exit $rc: $out"
fc_pass "the same version with other content is refused, naming the published serial"

# A new version of the changed tree goes out as usual, and the agent takes it.
out=$(push --json --version 1.1) || fc_fail "new version: $out"
[ "$(echo "$out" | sed -n 's/.*"serial": *\([0-9]*\).*/\1/p')" = 2 ] || fc_fail "new version: $out"
echo "$out" | grep -q '"already_published": *false' || fc_fail "new version reported as already published: $out"
fc_agent_run a1 || fc_fail "install 1.1: $(cat "$FC_TMP/a1.json")"
[ "$(fc_json_field "$FC_TMP/a1.json" version)" = 1.1 ] || fc_fail "1.1 not installed: $(cat "$FC_TMP/a1.json")"
fc_pass "a new version is published as serial 2 and installed"
