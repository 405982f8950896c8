#!/usr/bin/env bash
# demo.sh: the main job on embedded defaults: a broker on a temporary data dir, a sample
# release pushed once, three agents that install it, and what each one fetched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/lib.sh" "${1:-build}"

echo "== fleetcast demo (temporary dir $FC_TMP)"
fc_start_broker "$FC_TMP/broker"
echo "broker: service $FC_SERVICE, announce $FC_ANNOUNCE (pid $FC_BROKER_PID)"
if [ "${FC_INSECURE:-0}" = 1 ]; then
  echo "security: NONE (FC_INSECURE=1: broker, agents and CLI run with --insecure)"
else
  echo "security: CURVE on both broker sockets; broker key $FC_TMP/broker/broker.cert,"
  echo "  enrolled: publisher $FC_TMP/keys/publisher.cert, agent $FC_TMP/keys/agent.cert"
  "$FC_CLI_BIN" keys list --data "$FC_TMP/broker" | sed 's/^/  /'
fi

fc_keygen
echo "publisher key: $FC_TMP/keys/signing.key (agents trust $FC_TMP/keys/signing.pub)"

# A sample release: an application binary, a config file and some assets.
src="$FC_TMP/release-1.0"
mkdir -p "$src/bin" "$src/share/assets"
printf '#!/bin/sh\necho "hello from demo-app 1.0"\n' >"$src/bin/demo-app"
chmod 755 "$src/bin/demo-app"
printf 'log_level = info\nlisten = 127.0.0.1:8080\n' >"$src/app.conf"
for i in 1 2 3; do fc_random_file "$src/share/assets/asset-$i.bin" 1024; done
fc_cli release push "$src" --channel stable --version 1.0 --key "$FC_TMP/keys/signing.key"

echo "== three agents install it"
pids=()
for a in agent-1 agent-2 agent-3; do
  fc_agent_once "$a" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fc_fail "an agent failed (logs in $FC_TMP)"; done
for a in agent-1 agent-2 agent-3; do
  j="$FC_TMP/$a.json"
  cur="$FC_TMP/$a/install/current"
  diff -r "$src" "$cur/" >/dev/null || fc_fail "$a: installed tree differs from the release"
  printf '%s: installed version %s -> %s, fetched %s bytes, reused %s bytes, in %.3f s\n' \
    "$a" "$(fc_json_field "$j" version)" "$(readlink "$cur")" \
    "$(fc_json_field "$j" bytes_fetched)" "$(fc_json_field "$j" bytes_reused)" \
    "$(fc_json_field "$j" seconds)"
done
"$cur/bin/demo-app"

echo "== fleet status"
fc_cli status
echo "== demo finished: every agent installed 1.0, byte-identical to the release"
