#!/usr/bin/env bash
# demo.sh: the main job on embedded defaults: a broker on a temporary data dir, a sample
# release pushed once, three agents that install it and what each one fetched; then the same
# agents as daemons following runtime config: a hot change applied live, a restart-only
# change taking the restart path, a change the schema refuses, and the fleet's answers.
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

echo "== runtime config: the three agents run as daemons and follow it"
cat >"$FC_TMP/schema.json" <<'EOF'
{"keys": {"log.level": {"type": "string", "enum": ["debug", "info", "warn"]},
          "listen.port": {"type": "integer", "min": 1, "max": 65535, "reload": "restart"}}}
EOF
fc_config schema set "$FC_TMP/schema.json" >/dev/null
echo "schema: log.level one of debug/info/warn (applied live), listen.port 1-65535 (needs a restart)"
for a in agent-1 agent-2 agent-3; do
  # The application's side: a changed hook that takes the diff (JSON on stdin) live, and a
  # restart command for what cannot be changed live.
  fc_config_agent "$a" --config-changed "cat >>$FC_TMP/$a.applied" \
    --exec-restart "echo \$FLEETCAST_CONFIG_REV >>$FC_TMP/$a.restarted"
done
fc_wait_for "the agents to say HELLO" 30 fc_agents_seen agent-1 agent-2 agent-3
# all_in REV STATE: every agent has answered revision REV with STATE
all_in() { fc_config_count_ge "$1" "$2" 3; }

rev=$(fc_config set log.level=debug --message "more logs while we look" --json | fc_json_num rev)
echo "config set log.level=debug: revision $rev"
fc_wait_for "every agent to apply revision $rev" 30 all_in "$rev" applied
fc_cli config status "$rev"
echo "agent-1's changed hook got: $(tr -d '\n' <"$FC_TMP/agent-1.applied")"
echo "agent-1's config.json: $(fc_config_text agent-1)"

rev=$(fc_config set listen.port=9090 --json | fc_json_num rev)
echo "config set listen.port=9090: revision $rev (restart-only: restarts staggered by the broker)"
fc_wait_for "every agent to restart for revision $rev" 60 all_in "$rev" restarted
fc_cli config status "$rev"

echo "config set log.level=loud (not in the schema's enum):"
if out=$(fc_config set log.level=loud 2>&1); then fc_fail "the schema let log.level=loud through"; fi
echo "  refused: $out"
echo "== config history"
fc_cli config history
echo "== demo finished: every agent installed 1.0, byte-identical to the release, and took"
echo "   every config revision (live, or by restart where the schema says so)"
