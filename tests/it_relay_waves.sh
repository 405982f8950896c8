#!/usr/bin/env bash
# it_relay_waves.sh: release rollouts at the root hold behind a relay and a relay of it
# (--insecure): a canary held for promote at the root reaches the first half (rank order) of
# each relay's own agents only, until promoted at the root; a rollout halted at the root is
# halted at both relays (naming the root), and their agents outside the first wave keep the
# release they run.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
command -v b2sum >/dev/null || fc_skip "b2sum missing (coreutils)"

fc_relay_root
ports=($(fc_ports 2))
RELAY="tcp://127.0.0.1:${ports[0]}"
"$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "$RELAY" --announce "tcp://127.0.0.1:${ports[1]}" \
  --upstream "$ROOT" --insecure >"$FC_TMP/relay.log" 2>&1 &
FC_PIDS+=("$!")
fc_wait_port "${ports[0]}" || fc_fail "relay did not start: $(cat "$FC_TMP/relay.log")"
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
# A relay of the relay (root -> relay -> relay2), with two agents of its own.
ports2=($(fc_ports 2))
RELAY2="tcp://127.0.0.1:${ports2[0]}"
"$FC_BROKER_BIN" --data "$FC_TMP/relay2" --service "$RELAY2" --announce "tcp://127.0.0.1:${ports2[1]}" \
  --upstream "$RELAY" --insecure >"$FC_TMP/relay2.log" 2>&1 &
FC_PIDS+=("$!")
fc_wait_port "${ports2[0]}" || fc_fail "relay2 did not start: $(cat "$FC_TMP/relay2.log")"
xagents=(x0 x1)
for a in "${xagents[@]}"; do FC_CHANNEL=edge FC_AGENT_BROKER="$RELAY2" fc_config_agent "$a" --retry 1; done
xon() { local a n=0; for a in "${xagents[@]}"; do [ "$(app "$a")" = "$1" ] && n=$((n + 1)); done; echo $n; }
x_all_on() { [ "$(xon "$1")" = 2 ]; }
fc_wait_for "both agents behind relay2 on release 1" 30 x_all_on one
mapfile -t order < <(for a in "${wagents[@]}"; do echo "$(rank "$a") $a"; done | sort | cut -d' ' -f2)

push_edge 2 two --canary 50 >"$FC_TMP/push2.out" || fc_fail "canary push: $(cat "$FC_TMP/push2.out")"
fc_wait_for "the relay's first half to install 2" 30 sh -c "[ \"\$(cat '$FC_TMP/${order[0]}/install/current/app')\" = two ] && [ \"\$(cat '$FC_TMP/${order[2]}/install/current/app')\" = two ]"
sleep 3
[ "$(on two)" = 3 ] || fc_fail "$(on two) of 6 agents behind the relay on 2 while the root holds it for promote"
for a in "${order[@]:0:3}"; do [ "$(app "$a")" = two ] || fc_fail "first-wave $a runs $(app "$a")"; done
for a in "${order[@]:3}"; do [ "$(app "$a")" = one ] || fc_fail "$a, not in the first wave, runs $(app "$a")"; done
rs=$("$FC_CLI_BIN" --insecure --broker "$RELAY" --quiet release status --channel edge --json | tr -d ' \n')
grep -q '"state":"WAITING-PROMOTE"' <<<"$rs" || fc_fail "the relay's rollout is not the root's: $rs"
[ "$(xon two)" = 1 ] || fc_fail "$(xon two) of 2 agents behind relay2 on 2 while the root holds it for promote"
fc_pass "a 50% canary held at the root: the first 3 of 6 agents behind the relay (rank order) got 2, the rest stay on 1; 1 of 2 behind a relay of the relay"

fc_cli release promote --channel edge >/dev/null || fc_fail "promote refused at the root"
fc_wait_for "every agent behind the relay on 2 after the root's promote" 30 all_on two
fc_wait_for "both agents behind relay2 on 2 after the root's promote" 30 x_all_on two
fc_pass "promoted at the root: all 6 agents behind the relay and both behind relay2 on 2"

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
fc_wait_for "relay2 to halt it too" 15 rstate_at "$RELAY2" HALTED
sleep 3
for a in "${order[@]:3}"; do [ "$(app "$a")" = two ] || fc_fail "$a, outside the relay's first wave, runs $(app "$a") after the root's halt"; done
rs=$("$FC_CLI_BIN" --insecure --broker "$RELAY" --quiet release status --channel edge || true) # exit 1: halted
grep -q "at the upstream broker $ROOT" <<<"$rs" || fc_fail "the relay's halt does not name the root: $rs"
grep -q "follow 2 (serial 2)" <<<"$rs" || fc_fail "agents not offered 3 at the relay do not follow 2: $rs"
fc_pass "a rollout halted at the root is halted behind the relay: $(on three) of 6 there got 3 (its first wave), the rest stay on 2"
