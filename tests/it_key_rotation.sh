#!/usr/bin/env bash
# it_key_rotation.sh: rotating the publisher key without visiting the machines. A trusted-key
# list signed by a key the agents trust replaces their --trust keys: a running agent switches
# at once, a release signed by the new key installs, one signed only by the removed key is
# refused, and a restarted agent keeps the rotated keys. A list signed by anyone else is
# refused by the broker (once it has one) and always by the agents.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_keygen                                               # A: the key agents trust today
"$FC_CLI_BIN" keygen --out "$FC_TMP/new" >/dev/null     # B: its successor
"$FC_CLI_BIN" keygen --out "$FC_TMP/rogue" >/dev/null   # C: nobody's
A="$FC_TMP/keys/signing.key" B="$FC_TMP/new/signing.key" C="$FC_TMP/rogue/signing.key"
fc_start_broker "$FC_TMP/broker"
mkdir -p "$FC_TMP/src"
release() { # version key: the version is the serial too
  echo "$1" >"$FC_TMP/src/app"
  fc_cli release push "$FC_TMP/src" --channel stable --version "$1" --key "$2" --serial "$1" >/dev/null
}
installed() { cat "$FC_TMP/$1/install/current/app" 2>/dev/null || true; }
has_installed() { [ "$(installed "$1")" = "$2" ]; }

# Before any rotation: A's release installs; nothing is published as a trust list.
release 1 "$A"
fc_agent_run r1 || fc_fail "release 1: $(cat "$FC_TMP/r1.log")"
[ "$(installed r1)" = 1 ] || fc_fail "release 1 not installed"
fc_cli keys trusted | grep -q "no trusted-key list" || fc_fail "keys trusted: $(fc_cli keys trusted)"

# A daemon (trusting A only) is running when the rotation happens.
"$FC_AGENT_BIN" "${FC_AGENT_SEC_ARGS[@]}" --broker "$FC_SERVICE" --channel stable \
  --install "$FC_TMP/d1/install" --state "$FC_TMP/d1/state" --trust "$FC_TMP/keys/signing.pub" \
  --id d1 >"$FC_TMP/d1.log" 2>&1 &
FC_PIDS+=($!)
fc_wait_for "d1 to install release 1" 20 has_installed d1 1

# The rotation: A, trusted by every agent, signs the list {B}.
out=$(fc_cli keys rotate --key "$A" --trust "$FC_TMP/new/signing.pub" --json) ||
  fc_fail "keys rotate: $out"
[ "$(fc_json_num serial <<<"$out")" = 1 ] || fc_fail "first list serial: $out"
fc_cli keys trusted >"$FC_TMP/trusted.txt"
[ "$(grep -v '^#' "$FC_TMP/trusted.txt")" = "$(cat "$FC_TMP/new/signing.pub")" ] ||
  fc_fail "keys trusted does not show {B}: $(cat "$FC_TMP/trusted.txt")"
fc_cli audit | grep -q "trust.push" || fc_fail "rotation not audited"
fc_pass "rotation published: list serial 1 = {B}, signed by A, audited"

# The running daemon switches at once (announced on the PUB), no restart.
fc_wait_for "d1 to rotate" 10 grep -q "trusted keys rotated: list serial 1" "$FC_TMP/d1.log"
fc_pass "running agent rotated: $(grep -m1 -o 'trusted keys rotated.*' "$FC_TMP/d1.log")"

# A release signed by B installs on both; one signed only by the removed A is refused.
release 2 "$B"
fc_agent_run r1 || fc_fail "release 2 (new key): $(cat "$FC_TMP/r1.log")"
[ "$(installed r1)" = 2 ] || fc_fail "release 2 not installed by r1"
[ "$(fc_json_field "$FC_TMP/r1.json" trust_serial)" = 1 ] || fc_fail "r1 trust_serial: $(cat "$FC_TMP/r1.json")"
[ -s "$FC_TMP/r1/state/trust.list" ] || fc_fail "trust.list not kept in the state dir"
fc_wait_for "d1 to install release 2" 20 has_installed d1 2
fc_pass "release signed by the new key installs (once and daemon)"
release 3 "$A"
rc=0
fc_agent_run r1 || rc=$?
[ "$rc" = 1 ] && grep -q "FC_EUNTRUSTED" "$FC_TMP/r1.json" || fc_fail "removed key's release: exit $rc: $(cat "$FC_TMP/r1.json")"
[ "$(installed r1)" = 2 ] || fc_fail "removed key's release was installed"
sleep 2
[ "$(installed d1)" = 2 ] || fc_fail "daemon installed the removed key's release"
fc_pass "release signed only by the removed key: refused"

# Rotation rules at the broker: a list signed by a key not in the current list, or with a
# serial not above it, is refused.
rc=0
fc_cli keys rotate --key "$C" --trust "$FC_TMP/rogue/signing.pub" 2>"$FC_TMP/rot.err" || rc=$?
[ "$rc" = 1 ] || fc_fail "rogue rotation accepted"
rc=0
fc_cli keys rotate --key "$B" --trust "$FC_TMP/rogue/signing.pub" --serial 1 2>"$FC_TMP/rot.err" || rc=$?
[ "$rc" = 1 ] || fc_fail "rotation with an old serial accepted"
fc_pass "broker refuses lists not signed by the current list, or not newer"

# A restarted agent keeps the rotated keys: against a fresh broker that never heard of the
# rotation, B's release installs and A's does not, though --trust still names only A.
fc_stop "$FC_BROKER_PID"
fc_start_broker "$FC_TMP/broker2"
release 4 "$B"
fc_agent_run r1 || fc_fail "after restart, new key: $(cat "$FC_TMP/r1.log")"
[ "$(installed r1)" = 4 ] || fc_fail "restarted agent forgot the rotated keys"
fc_pass "restarted agent keeps the rotated keys (state/trust.list)"

# That broker has no list, so it accepts any validly signed first one (it pins nothing):
# a rogue list {C} signed by C. The agent refuses it, and C's release with it.
fc_cli keys rotate --key "$C" --trust "$FC_TMP/rogue/signing.pub" --serial 7 >/dev/null ||
  fc_fail "first list on a fresh broker"
release 5 "$C"
rc=0
fc_agent_run r1 || rc=$?
[ "$rc" = 1 ] || fc_fail "rogue list + rogue release: exit $rc: $(cat "$FC_TMP/r1.json")"
grep -q "refused trusted-key list" "$FC_TMP/r1.log" || fc_fail "rogue list not refused: $(cat "$FC_TMP/r1.log")"
[ "$(installed r1)" = 4 ] || fc_fail "rogue release installed"
[ "$(fc_json_field "$FC_TMP/r1.json" trust_serial)" = 1 ] || fc_fail "trust_serial moved"
fc_pass "a list signed by an untrusted key is refused by the agent: $(grep -m1 -o 'refused trusted-key list.*' "$FC_TMP/r1.log")"
