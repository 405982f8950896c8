#!/usr/bin/env bash
# it_relay_waves.sh: release rollout waves are one set of agents across relays (--insecure;
# docs/PROTOCOL.md 3.16, "Rollouts"): the root draws a wave by rank over every agent it knows,
# direct or reported through relays, and a relay and a relay of it offer the release to
# exactly their agents within the root's cut. A canary held at the root reaches those agents
# only (here both agents behind the relay of the relay and only two of the relay's six, where
# a per-relay share would give one and three, and an agent direct at the root is left out);
# promote widens it everywhere; a member's failure halts the root and both relays follow; a
# wave of members behind relays completes at the root on their forwarded reports.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
command -v b2sum >/dev/null || fc_skip "b2sum missing (coreutils)"

rank() { printf %s "$1" | b2sum -l 256 | cut -c1-16; }
# first_name PREFIX MAX CMP REF: the first PREFIX<i> (i < MAX) whose rank is CMP (lt or gt)
# every rank listed in REF (a space-separated list of names).
first_name() {
  local i n r ok o
  for ((i = 0; i < $2; i++)); do
    n="$1$i"; r=$(rank "$n"); ok=1
    for o in $4; do
      if [ "$3" = lt ]; then [[ "$r" < "$(rank "$o")" ]] || { ok=0; break; }
      else [[ "$r" > "$(rank "$o")" ]] || { ok=0; break; }; fi
    done
    [ $ok = 1 ] && { echo "$n"; return 0; }
  done
  return 1
}
wagents=(w0 w1 w2 w3 w4 w5)
# Both agents behind relay2 rank before every agent behind the relay; the root's own agents
# rank first (sick: it fails release 3 and must be in its first wave) and last (late).
x0=$(first_name x 2000 lt "${wagents[*]}") || fc_fail "no x name ranks first"
x1=$(first_name "x${x0#x}-" 2000 lt "${wagents[*]}") || fc_fail "no second x name ranks first"
xagents=("$x0" "$x1")
sick=$(first_name sick 5000 lt "${wagents[*]} ${xagents[*]}") || fc_fail "no sick name ranks first"
late=$(first_name late 5000 gt "${wagents[*]} ${xagents[*]}") || fc_fail "no late name ranks last"
everyone=("$sick" "$late" "${wagents[@]}" "${xagents[@]}")
mapfile -t order < <(for a in "${everyone[@]}"; do echo "$(rank "$a") $a"; done | sort | cut -d' ' -f2)
# 50% of the 10 agents the root knows: the first 5 in rank order, i.e. sick, both x and the
# first two w (a per-relay share would give 3 of 6 w and 1 of 2 x).
wave1=("${order[@]:0:5}")
[ "${order[0]}" = "$sick" ] && [ "${order[9]}" = "$late" ] || fc_fail "rank order: ${order[*]}"

fc_relay_root
ports=($(fc_ports 2))
RELAY="tcp://127.0.0.1:${ports[0]}"
"$FC_BROKER_BIN" --data "$FC_TMP/relay" --service "$RELAY" --announce "tcp://127.0.0.1:${ports[1]}" \
  --upstream "$ROOT" --insecure >"$FC_TMP/relay.log" 2>&1 &
FC_PIDS+=("$!")
fc_wait_port "${ports[0]}" || fc_fail "relay did not start: $(cat "$FC_TMP/relay.log")"
ports2=($(fc_ports 2))
RELAY2="tcp://127.0.0.1:${ports2[0]}"
"$FC_BROKER_BIN" --data "$FC_TMP/relay2" --service "$RELAY2" --announce "tcp://127.0.0.1:${ports2[1]}" \
  --upstream "$RELAY" --insecure >"$FC_TMP/relay2.log" 2>&1 &
FC_PIDS+=("$!")
fc_wait_port "${ports2[0]}" || fc_fail "relay2 did not start: $(cat "$FC_TMP/relay2.log")"
K="$FC_TMP/keys/signing.key"
push_edge() { echo "$2" >"$src/app"; local v=$1; shift 2; fc_cli release push "$src" --channel edge --version "$v" --key "$K" "$@"; }
app() { cat "$FC_TMP/$1/install/current/app" 2>/dev/null || true; }
on() { local a n=0; for a in "${everyone[@]}"; do [ "$(app "$a")" = "$1" ] && n=$((n + 1)); done; echo $n; }
all_on() { [ "$(on "$1")" = "${#everyone[@]}" ]; }
# Who runs $1, in rank order.
runs() { local a; for a in "${order[@]}"; do [ "$(app "$a")" = "$1" ] && printf '%s ' "$a"; done; true; }
wave1_on() { [ "$(runs "$1")" = "$(printf '%s ' "${wave1[@]}")" ]; }

push_edge 1 one >/dev/null
FC_CHANNEL=edge fc_config_agent "$sick" --exec-health 'test "$(cat current/app)" != three' --retry 1
FC_CHANNEL=edge fc_config_agent "$late" --retry 1
for a in "${wagents[@]}"; do FC_CHANNEL=edge FC_AGENT_BROKER="$RELAY" fc_config_agent "$a" --retry 1; done
for a in "${xagents[@]}"; do FC_CHANNEL=edge FC_AGENT_BROKER="$RELAY2" fc_config_agent "$a" --retry 1; done
fc_wait_for "every agent on release 1" 40 all_on one
root_knows() {
  local st; st=$(fc_cli release status --channel edge --json | tr -d ' \n')
  grep -q '"agents":10,' <<<"$st" && grep -q '"offline":0' <<<"$st"
}
fc_wait_for "the root to know all 10 agents (2 direct, 8 reported through the relays)" 40 root_knows

push_edge 2 two --canary 50 >"$FC_TMP/push2.out" || fc_fail "canary push: $(cat "$FC_TMP/push2.out")"
fc_wait_for "the root's first wave (${wave1[*]}) to install 2" 40 wave1_on two
sleep 3
wave1_on two || fc_fail "on 2 while the root holds it for promote: $(runs two); the root's first wave: ${wave1[*]}"
[ "$(app "$late")" = one ] || fc_fail "$late, direct at the root and outside its first wave, runs $(app "$late")"
for b in "$RELAY" "$RELAY2"; do
  rs=$("$FC_CLI_BIN" --insecure --broker "$b" --quiet release status --channel edge --json | tr -d ' \n')
  grep -q '"state":"WAITING-PROMOTE"' <<<"$rs" || fc_fail "the rollout at $b is not the root's: $rs"
done
fc_pass "a 50% canary held at the root: the same 5 of 10 agents (${wave1[*]}) got 2 at the root and behind both relays; $late at the root and the rest stay on 1"

fc_cli release promote --channel edge >/dev/null || fc_fail "promote refused at the root"
fc_wait_for "every agent on 2 after the root's promote" 40 all_on two
fc_pass "promoted at the root: all 10 agents on 2, at the root and behind both relays"

# A member's failure halts the root and the relays follow: sick ranks first, so it is in
# every first wave; it fails the health check of 3, one of 5 members: past a 10% threshold.
push_edge 3 three --waves 50,100 --halt-percent 10 >/dev/null || fc_fail "push of 3"
rstate_at() {
  local st; st=$("$FC_CLI_BIN" --insecure --broker "$1" --quiet release status --channel edge --json | tr -d ' \n')
  grep -qF "\"state\":\"$2\"" <<<"$st"
}
fc_wait_for "the root to halt the rollout of 3" 40 rstate_at "$ROOT" HALTED
fc_wait_for "the relay to halt it too" 15 rstate_at "$RELAY" HALTED
fc_wait_for "relay2 to halt it too" 15 rstate_at "$RELAY2" HALTED
rest_on_three() { [ "$(runs three)" = "$(printf '%s ' "${wave1[@]:1}")" ]; }
fc_wait_for "the first wave but sick (${wave1[*]:1}) on 3" 30 rest_on_three
sleep 3
rest_on_three || fc_fail "on 3 after the root's halt: $(runs three); the first wave but $sick: ${wave1[*]:1}"
for a in "${order[@]:5}"; do [ "$(app "$a")" = two ] || fc_fail "$a, outside the first wave, runs $(app "$a") after the root's halt"; done
rs=$("$FC_CLI_BIN" --insecure --broker "$RELAY" --quiet release status --channel edge || true) # exit 1: halted
grep -q "at the upstream broker $ROOT" <<<"$rs" || fc_fail "the relay's halt does not name the root: $rs"
grep -q "follow 2 (serial 2)" <<<"$rs" || fc_fail "agents not offered 3 at the relay do not follow 2: $rs"
fc_pass "a member's failure halted the root, the relay and relay2: the first wave but $sick on 3 ($(on three) of 10), the other 5 stay on 2"

# A wave whose members are mostly behind relays completes at the root on their forwarded
# reports (they never sync at the root): wave 1 of 4 (sick, healthy with 4, and four agents
# behind the relays) done, wave 2 takes everyone, without --wave-wait.
push_edge 4 four --waves 50,100 >/dev/null || fc_fail "push of 4"
fc_wait_for "every agent on 4 (the root's wave 1, mostly behind relays, done on forwarded reports)" 40 all_on four
fc_wait_for "the root's rollout of 4 DONE" 20 rstate_at "$ROOT" DONE
fc_pass "a wave of members behind relays completed at the root on their forwarded reports: all 10 on 4"
