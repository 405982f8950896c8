#!/usr/bin/env bash
# it_relay_halt.sh: a config canary halted at the root is halted behind a relay (--insecure):
# the root's canary members fail (slowly), the relay's members apply it (healthy), the root
# halts it; the relay marks it halted too (config status there says so, naming the root),
# and its agents that applied the canary's values go back to the last good ones; an agent
# starting behind the relay after the halt never applies them. (Release rollouts and their
# halts through relays: it_relay_waves.sh.)
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_relay_root
fc_config set mode=slow >/dev/null

ports=($(fc_ports 2))
RELAY="tcp://127.0.0.1:${ports[0]}"
"$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "$RELAY" --announce "tcp://127.0.0.1:${ports[1]}" \
  --upstream "$ROOT" --insecure >"$FC_TMP/relay.log" 2>&1 &
FC_PIDS+=("$!")
fc_wait_port "${ports[0]}" || fc_fail "relay did not start: $(cat "$FC_TMP/relay.log")"

root_agents=() relay_agents=()
for i in $(seq 0 7); do
  root_agents+=("bad$i")
  fc_config_agent "bad$i" --group g --config-changed "cat >/dev/null; sleep 4; exit 1"
done
for i in $(seq 0 7); do
  relay_agents+=("r$i")
  FC_AGENT_BROKER="$RELAY" fc_config_agent "r$i" --group g --config-changed "cat >/dev/null"
done
fc_wait_for "the root's agents to say HELLO" 30 fc_agents_seen "${root_agents[@]}"
for a in "${relay_agents[@]}"; do fc_wait_for "$a behind the relay to hold revision 1" 30 fc_config_at "$a" 1; done

out=$(fc_config set mode=fast --scope group:g --canary 50 --halt-percent 20 --json)
rev=$(fc_json_num rev <<<"$out")
[ -n "$rev" ] || fc_fail "canary set: $out"
fast_behind() { local a; for a in "${relay_agents[@]}"; do fc_config_has "$a" mode '"fast"' && return 0; done; return 1; }
fc_wait_for "a canary member behind the relay to apply revision $rev" 20 fast_behind
members=$(for a in "${relay_agents[@]}"; do fc_config_has "$a" mode '"fast"' && echo "$a"; done | tr '\n' ' ')
fc_pass "canary revision $rev applied behind the relay by its members first: $members"

halted_at() { grep -qF '"halted":true' <<<"$("$FC_CLI_BIN" --insecure --broker "$1" --quiet config status "$rev" --json | tr -d ' \n')"; }
fc_wait_for "the root to halt revision $rev" 30 halted_at "$ROOT"
fc_wait_for "the relay to halt revision $rev" 15 halted_at "$RELAY"
st=$("$FC_CLI_BIN" --insecure --broker "$RELAY" --quiet config status "$rev")
grep -q "halted at the upstream broker $ROOT" <<<"$st" || fc_fail "the relay's status does not name the root: $st"
fc_pass "the root's halt is the relay's: $(grep -m1 HALTED <<<"$st")"

none_fast() { ! fast_behind; }
fc_wait_for "the members behind the relay to drop the halted values" 15 none_fast
for a in $members; do fc_config_has "$a" mode '"slow"' || fc_fail "$a: $(fc_config_text "$a")"; done
fc_pass "agents behind the relay that applied the halted canary are back on the last good values"

FC_AGENT_BROKER="$RELAY" fc_config_agent late --group g --config-changed "cat >/dev/null"
fc_wait_for "a late agent behind the relay to hold revision $rev" 20 fc_config_at late "$rev"
sleep 1
fc_config_has late mode '"slow"' || fc_fail "late agent: $(fc_config_text late)"
fc_pass "an agent starting behind the relay after the halt never applies the halted values"
