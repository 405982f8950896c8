#!/usr/bin/env bash
# it_relay_config.sh: runtime config and key rotation through a relay (--insecure): the
# root's signed revisions are mirrored, a running agent behind the relay applies a later
# `config set` at the root live, `config set` at the relay is refused naming the root; a
# trusted-key list published at the root reaches an agent behind the relay, which then
# installs a release signed by the new key.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_relay_root
fc_config set port=8080 log.level=info >/dev/null

ports=($(fc_ports 2))
RELAY="tcp://127.0.0.1:${ports[0]}"
"$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "$RELAY" --announce "tcp://127.0.0.1:${ports[1]}" \
  --upstream "$ROOT" --insecure >"$FC_TMP/relay.log" 2>&1 &
FC_PIDS+=("$!")
fc_wait_port "${ports[0]}" || fc_fail "relay did not start: $(cat "$FC_TMP/relay.log")"

FC_AGENT_BROKER="$RELAY" fc_config_agent c1
fc_wait_for "c1 behind the relay to write revision 1" 20 fc_config_at c1 1
fc_config_has c1 port 8080 || fc_fail "c1: port: $(fc_config_text c1)"
fc_pass "an agent behind the relay receives the root's config revision 1"

fc_config set port=9090 >/dev/null
fc_wait_for "c1 to apply revision 2 through the relay" 20 fc_config_has c1 port 9090
fc_config_at c1 2 || fc_fail "c1: _rev not 2: $(fc_config_text c1)"
fc_pass "a config set at the root reaches the running agent behind the relay"

out=$("$FC_CLI_BIN" --insecure --broker "$RELAY" --quiet config set port=1 \
  --key "$FC_TMP/keys/signing.key" 2>&1) && fc_fail "config set at the relay succeeded: $out"
echo "$out" | grep -q "relay of $ROOT" || fc_fail "the refusal does not name the root: $out"
sleep 1
fc_config_has c1 port 9090 || fc_fail "c1's config changed after a refused set: $(fc_config_text c1)"
fc_pass "config set at the relay is refused naming the root: $(echo "$out" | head -1)"

# Key rotation at the root: the list {B}, signed by A, is mirrored; an agent behind the
# relay trusting only A installs B's release.
"$FC_CLI_BIN" keygen --out "$FC_TMP/new" >/dev/null
fc_cli keys rotate --key "$FC_TMP/keys/signing.key" --trust "$FC_TMP/new/signing.pub" >/dev/null
fc_wait_for "the relay to hold the trusted-key list" 20 sh -c \
  "'$FC_CLI_BIN' --insecure --broker '$RELAY' --quiet keys trusted | grep -qF '$(cat "$FC_TMP/new/signing.pub")'"
mkdir -p "$FC_TMP/src"
printf 'b\n' >"$FC_TMP/src/app"
fc_cli release push "$FC_TMP/src" --channel stable --version 1 --key "$FC_TMP/new/signing.key" >/dev/null
fc_wait_for "the relay mirrors B's release" 20 grep -q 'release stable 1 (serial 1) mirrored' \
  "$FC_TMP/relay.log"
# (Its exit status says the config revisions signed by A are no longer trusted, which is
# the rotation's point; the release is what this checks.)
FC_AGENT_BROKER="$RELAY" fc_agent_run t1 --timeout 60 || true
grep -q 'installed 1 (serial 1)' "$FC_TMP/t1.log" ||
  fc_fail "the agent behind the relay did not install B's release: $(tail -5 "$FC_TMP/t1.log")"
[ "$(fc_json_field "$FC_TMP/t1.json" trust_serial)" = 1 ] || fc_fail "t1 trust_serial: $(cat "$FC_TMP/t1.json")"
diff -r "$FC_TMP/src" "$FC_TMP/t1/install/current/" || fc_fail "t1's tree differs"
fc_pass "a key rotation at the root reaches the agent behind the relay (trust list serial 1)"
