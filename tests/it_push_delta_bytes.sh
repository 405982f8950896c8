#!/usr/bin/env bash
# it_push_delta_bytes.sh: a small change to one 1 MiB file costs the publisher at most twice
# what it costs an agent (the broker derives the file's chunk list, DERIVE_OBJECT, and the
# upload names chunks by prefix, UPLOAD_PREFIXES), for a 4 KiB overwrite and a 1 KiB insertion.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

# One 1 MiB file (1-16 KiB chunks: a chunk list of about 8 KiB) and a few small ones.
fc_broker_and_src
fc_random_file "$src/big.bin" 1024
for i in 1 2 3; do head -c 3000 /dev/urandom >"$src/small-$i.txt"; done
fc_push "$src" 1 >/dev/null || fc_fail "push of 1 failed"
fc_agent_run a1 || fc_fail "install of 1 failed"

# Pushes version V through the proxy (its bytes into pub_wire, its --json into pub_json),
# then installs it on a1 through the proxy (agent_wire).
s_measure() {
  local v=$1
  fc_start_proxy
  pub_json=$("$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_PROXY" --quiet --json release push \
    "$src" --channel stable --version "$v" --key "$FC_TMP/keys/signing.key") ||
    fc_fail "push of $v failed"
  read -r _ pub_wire < <(fc_stop_proxy)
  fc_start_proxy
  FC_AGENT_BROKER=$FC_PROXY fc_agent_run a1 || fc_fail "install of $v failed"
  read -r _ agent_wire < <(fc_stop_proxy)
  diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "release $v tree differs"
}

s_check() {
  local what=$1
  local derived; derived=$(echo "$pub_json" | sed -n 's/.*"objects_derived": *\([0-9]*\).*/\1/p')
  echo "$what: publisher $pub_wire bytes, agent $agent_wire bytes, lists derived $derived"
  [ "${derived:-0}" -ge 1 ] || fc_fail "$what: the broker derived no chunk list: $pub_json"
  [ "$pub_wire" -le $((2 * agent_wire)) ] ||
    fc_fail "$what: the publisher sent $pub_wire bytes, over twice the agent's $agent_wire"
  fc_pass "$what: the publisher's $pub_wire bytes are within twice the agent's $agent_wire"
}

head -c 4096 /dev/urandom | dd of="$src/big.bin" bs=4096 seek=100 conv=notrunc status=none
s_measure 2
s_check "4 KiB overwritten"

{ head -c 1024 /dev/urandom; cat "$src/big.bin"; } >"$FC_TMP/big.new"
mv "$FC_TMP/big.new" "$src/big.bin"
s_measure 3
s_check "1 KiB inserted at the start"
