#!/usr/bin/env bash
# it_relay_halt.sh: a config canary halted at the root is halted behind a relay (--insecure):
# the root's canary members fail (slowly), the relay's members apply it (healthy), the root
# halts it; the relay marks it halted too (config status there says so, naming the root),
# and its agents that applied the canary's values go back to the last good ones; an agent
# starting behind the relay after the halt never applies them. Release rollouts at the root
# hold behind the relay: a canary held for promote reaches the first half (rank order) of
# the relay's own agents only, until promoted at the root; a rollout halted at the root is
# halted at the relay, whose agents outside its first wave keep the release they run.
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

# Release rollout waves at the root hold behind the relay: a 50% canary held for promote at
# the root offers the release to the first half (in rank order) of the relay's own agents;
# the others stay on the release they run until the root promotes it.
command -v b2sum >/dev/null || fc_skip "b2sum missing (coreutils)"
K="$FC_TMP/keys/signing.key"
push_edge() { echo "$2" >"$src/app"; local v=$1; shift 2; fc_cli release push "$src" --channel edge --version "$v" --key "$K" "$@"; }
app() { cat "$FC_TMP/$1/install/current/app" 2>/dev/null || true; }
rank() { printf %s "$1" | b2sum -l 256 | cut -c1-16; }
wagents=(w0 w1 w2 w3 w4 w5)
on() { local a n=0; for a in "${wagents[@]}"; do [ "$(app "$a")" = "$1" ] && n=$((n + 1)); done; echo $n; }
all_on() { [ "$(on "$1")" = "${#wagents[@]}" ]; }
push_edge 1 one >/dev/null
for a in "${wagents[@]}"; do FC_CHANNEL=edge FC_AGENT_BROKER="$RELAY" fc_config_agent "$a" --retry 1; done
fc_wait_for "every agent behind the relay on release 1" 30 all_on one
mapfile -t order < <(for a in "${wagents[@]}"; do echo "$(rank "$a") $a"; done | sort | cut -d' ' -f2)

push_edge 2 two --canary 50 >"$FC_TMP/push2.out" || fc_fail "canary push: $(cat "$FC_TMP/push2.out")"
fc_wait_for "the relay's first half to install 2" 30 sh -c "[ \"\$(cat '$FC_TMP/${order[0]}/install/current/app')\" = two ] && [ \"\$(cat '$FC_TMP/${order[2]}/install/current/app')\" = two ]"
sleep 3
[ "$(on two)" = 3 ] || fc_fail "$(on two) of 6 agents behind the relay on 2 while the root holds it for promote"
for a in "${order[@]:0:3}"; do [ "$(app "$a")" = two ] || fc_fail "first-wave $a runs $(app "$a")"; done
for a in "${order[@]:3}"; do [ "$(app "$a")" = one ] || fc_fail "$a, not in the first wave, runs $(app "$a")"; done
rs=$("$FC_CLI_BIN" --insecure --broker "$RELAY" --quiet release status --channel edge --json | tr -d ' \n')
grep -q '"state":"WAITING-PROMOTE"' <<<"$rs" || fc_fail "the relay's rollout is not the root's: $rs"
fc_pass "a 50% canary held at the root: the first 3 of 6 agents behind the relay (rank order) got 2, the rest stay on 1"

fc_cli release promote --channel edge >/dev/null || fc_fail "promote refused at the root"
fc_wait_for "every agent behind the relay on 2 after the root's promote" 30 all_on two
fc_pass "promoted at the root: all 6 agents behind the relay on 2"

# A release halt at the root holds behind the relay: the root's only agent on the channel
# fails the health check of 3, the root halts the rollout after wave 1, and the relay's
# agents outside its own first wave never get 3.
FC_CHANNEL=edge fc_config_agent sick --exec-health 'test "$(cat current/app)" != three' --retry 1
sick_on_two() { [ "$(app sick)" = two ]; }
fc_wait_for "the root's agent on 2" 30 sick_on_two
push_edge 3 three --waves 50,100 >/dev/null || fc_fail "push of 3"
rstate_at() {
  local st; st=$("$FC_CLI_BIN" --insecure --broker "$1" --quiet release status --channel edge --json | tr -d ' \n')
  grep -qF "\"state\":\"$2\"" <<<"$st"
}
fc_wait_for "the root to halt the rollout of 3" 40 rstate_at "$ROOT" HALTED
fc_wait_for "the relay to halt it too" 15 rstate_at "$RELAY" HALTED
sleep 3
for a in "${order[@]:3}"; do [ "$(app "$a")" = two ] || fc_fail "$a, outside the relay's first wave, runs $(app "$a") after the root's halt"; done
rs=$("$FC_CLI_BIN" --insecure --broker "$RELAY" --quiet release status --channel edge || true) # exit 1: halted
grep -q "at the upstream broker $ROOT" <<<"$rs" || fc_fail "the relay's halt does not name the root: $rs"
grep -q "follow 2 (serial 2)" <<<"$rs" || fc_fail "agents not offered 3 at the relay do not follow 2: $rs"
fc_pass "a rollout halted at the root is halted behind the relay: $(on three) of 6 there got 3 (its first wave), the rest stay on 2"
