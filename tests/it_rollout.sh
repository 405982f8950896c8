#!/usr/bin/env bash
# it_rollout.sh: releases in waves, with 10 agent daemons. A health hook failing on the new
# version on the 2 agents of the first wave halts the rollout after wave 1: the 8 others never
# fetch it, keep the previous release, and are neither looping nor in error although the
# announcement named a newer serial. Healthy waves move on by themselves; a canary waits for
# promote, across a broker restart, and a new agent gets what its rank offers it; pause holds
# the next wave until resume.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
command -v b2sum >/dev/null || fc_skip "b2sum missing (coreutils)"

data="$FC_TMP/broker"
fc_start_broker "$data" --verbose
fc_keygen
K="$FC_TMP/keys/signing.key"
src="$FC_TMP/src"
mkdir -p "$src"
push() { # VERSION CONTENT [options...]: prints the push's output
  local v=$1; echo "$2" >"$src/app"; shift 2
  fc_cli release push "$src" --channel stable --version "$v" --key "$K" "$@"
}
app() { cat "$FC_TMP/$1/install/current/app" 2>/dev/null || true; }
on() { local a n=0; for a in "${agents[@]}"; do [ "$(app "$a")" = "$1" ] && n=$((n + 1)); done; echo $n; }
all_on() { [ "$(on "$1")" = "${#agents[@]}" ]; }
status_json() { fc_cli release status --channel stable --json 2>/dev/null | tr -d ' \n' || true; }
rstate() { status_json | sed -n 's/.*"state":"\([^"]*\)".*/\1/p'; }
rnum() { status_json | fc_json_num "$1"; }
state_is() { [ "$(rstate)" = "$1" ]; }
num_is() { [ "$(rnum "$1")" = "$2" ]; }

# Offer order: BLAKE2b-256 of the id, first 8 bytes (docs/PROTOCOL.md, "Release rollouts").
rank() { printf %s "$1" | b2sum -l 256 | cut -c1-16; }
agents=()
for i in $(seq 0 9); do agents+=("a$i"); done
mapfile -t order < <(for a in "${agents[@]}"; do echo "$(rank "$a") $a"; done | sort | cut -d' ' -f2)
sick=("${order[0]}" "${order[1]}")

push 1 one >/dev/null
for a in "${agents[@]}"; do
  health="true"
  [ "$a" = "${sick[0]}" ] || [ "$a" = "${sick[1]}" ] && health='test "$(cat current/app)" != two'
  fc_config_agent "$a" --exec-health "$health" --exec-changing "test ! -f '$FC_TMP/hold'" --retry 1
done
fc_wait_for "every agent on release 1" 30 all_on one
fc_wait_for "every agent heard by the broker" 20 fc_agents_seen "${agents[@]}"

# 1. Waves 20,100: wave 1 is the 2 first in rank order, both sick: halted after wave 1.
out=$(push 2 two --waves 20,100)
grep -q "wave 1 of 2 offers it to 2 of the channel's 10 agents" <<<"$out" ||
  fc_fail "push did not say how many were chosen: $out"
fc_wait_for "the rollout to halt" 30 state_is HALTED
rc=0; fc_cli release status --channel stable >"$FC_TMP/rs.txt" || rc=$?
[ "$rc" = 3 ] || fc_fail "release status of a halted rollout exited $rc: $(cat "$FC_TMP/rs.txt")"
# One of the two failing is past 20% already: the halt may come before the second reports.
grep -Eq "HALTED: wave 1 of 2: [12] of 2 agents failed or rolled back \(more than 20%\)" "$FC_TMP/rs.txt" ||
  fc_fail "halt reason not shown: $(cat "$FC_TMP/rs.txt")"
fc_wait_for "both wave-1 agents to report rolled back" 20 num_is rolled_back 2
num_is not_offered 8 || fc_fail "counts: $(status_json)"
for a in "${sick[@]}"; do [ "$(app "$a")" = one ] || fc_fail "$a not rolled back: $(app "$a")"; done
fetched=0
for a in "${order[@]:2}"; do
  [ "$(app "$a")" = one ] || fc_fail "$a, not in wave 1, runs $(app "$a")"
  [ -z "$(ls "$FC_TMP/$a/install/releases" | grep -v '^1@1$')" ] || fetched=1
done
[ "$fetched" = 0 ] || fc_fail "an agent outside wave 1 fetched release 2: $(ls "$FC_TMP"/a*/install/releases)"
fc_pass "wave 1's 2 agents rolled back, the rollout halted ($(grep -o 'HALTED.*' "$FC_TMP/rs.txt")); the 8 others never fetched it"

# They heard ANNOUNCE of serial 2 and were offered 1: no error, and no SYNC loop.
st=$(fc_cli status --json | tr -d ' \n')
for a in "${order[@]:2}"; do
  grep -qF "\"id\":\"$a\",\"channel\":\"stable\",\"version\":\"1\",\"state\":\"up-to-date\"" <<<"$st" ||
    fc_fail "$a is not up-to-date on 1: $st"
done
before=$(grep -c ' SYNC req=' "$FC_TMP/broker.log" || true)
sleep 3
after=$(grep -c ' SYNC req=' "$FC_TMP/broker.log" || true)
[ $((after - before)) -le 3 ] || fc_fail "agents kept syncing: $((after - before)) SYNCs in 3 s"
fc_pass "agents not offered the announced serial stay up-to-date on 1 ($((after - before)) SYNCs in 3 s)"

# 2. Healthy waves move on by themselves (the sick hook fails only on 'two').
push 3 three --waves 20,50,100 >/dev/null
fc_wait_for "the rollout of 3 to be done" 60 state_is DONE
all_on three || fc_fail "not every agent on 3: $(on three)"
waves=$(fc_cli audit --json | tr -d ' \n' | grep -o '"action":"release.wave"' | wc -l)
[ "$waves" -ge 2 ] || fc_fail "waves 2 and 3 not audited ($waves)"
fc_pass "waves 20,50,100 moved on by themselves: every agent on 3, $waves waves audited"

# 3. A canary of 30% waits for promote, across a broker restart.
out=$(push 4 four --canary 30)
grep -q "offers it to 3 of the channel's 10 agents" <<<"$out" || fc_fail "canary push: $out"
fc_wait_for "the 3 canaries to be healthy" 30 num_is healthy 3
state_is WAITING-PROMOTE || fc_fail "canary not waiting for promote: $(status_json)"
fc_stop "$FC_BROKER_PID"
fc_restart_broker "$data" --verbose
sleep 2
state_is WAITING-PROMOTE && num_is wave 1 || fc_fail "rollout lost in a broker restart: $(status_json)"
[ "$(on four)" = 3 ] || fc_fail "$(on four) agents on 4 while held for promote"
for a in "${order[@]:0:3}"; do [ "$(app "$a")" = four ] || fc_fail "canary $a runs $(app "$a")"; done
fc_pass "a 30% canary reached the first 3 in rank order and waits for promote across a broker restart"

# A new agent joins while the canary waits: its rank among the 11 decides (share 30% of 11: 4).
mapfile -t order11 < <(for a in "${agents[@]}" a10; do echo "$(rank "$a") $a"; done | sort | cut -d' ' -f2)
want=three
for a in "${order11[@]:0:4}"; do [ "$a" = a10 ] && want=four; done
fc_config_agent a10 --retry 1
a10_on() { [ "$(app a10)" = "$1" ]; }
fc_wait_for "the new agent to install $want" 30 a10_on "$want"
fc_pass "a new agent joining during the canary got $want, as its rank offers"

fc_cli release promote --channel stable >/dev/null || fc_fail "promote refused"
agents+=(a10)
fc_wait_for "every agent on 4 after promote" 30 all_on four
fc_wait_for "the rollout of 4 to be done" 20 state_is DONE
fc_pass "promote offered the rest: all ${#agents[@]} agents on 4"

# 4. Pause holds the next wave. The one wave-1 agent is held back by its changing hook until
#    the rollout is paused; then it installs, and nobody else does until resume.
: >"$FC_TMP/hold"
out=$(push 5 five --waves 10,100)
grep -q "offers it to 2 of the channel's 11 agents" <<<"$out" || fc_fail "push of 5: $out"
fc_cli release pause --channel stable >/dev/null || fc_fail "pause refused"
state_is PAUSED || fc_fail "not paused: $(status_json)"
rm "$FC_TMP/hold"
fc_wait_for "wave 1 to install 5" 30 num_is healthy 2
sleep 3
state_is PAUSED && [ "$(on five)" = 2 ] || fc_fail "a paused rollout moved on: $(on five) on 5, $(status_json)"
fc_cli release resume --channel stable >/dev/null || fc_fail "resume refused"
fc_wait_for "every agent on 5 after resume" 30 all_on five
fc_wait_for "the rollout of 5 to be done" 20 state_is DONE
fc_pass "paused after wave 1: no further agent until resume, then all ${#agents[@]} on 5"

# An agent key may not steer a rollout: refused as any publisher request is (FC_EPERM).
if [ "${FC_INSECURE:-0}" != 1 ]; then
  rc=0
  "$FC_CLI_BIN" --broker-key "$data/broker.cert" --cert "$FC_TMP/keys/agent.cert_secret" \
    --broker "$FC_SERVICE" release pause --channel stable 2>"$FC_TMP/eperm.err" || rc=$?
  [ "$rc" = 1 ] && grep -q "needs a publisher key" "$FC_TMP/eperm.err" ||
    fc_fail "an agent key paused a rollout: exit $rc $(cat "$FC_TMP/eperm.err")"
  fc_pass "an agent key's release pause is refused: $(cat "$FC_TMP/eperm.err")"
fi

# Controls on a channel without a rollout in progress are refused with the reason.
rc=0; fc_cli release promote --channel stable 2>"$FC_TMP/promote.err" || rc=$?
[ "$rc" = 1 ] && grep -q "done" "$FC_TMP/promote.err" || fc_fail "promote of a done rollout: exit $rc $(cat "$FC_TMP/promote.err")"
audit=$(fc_cli audit --json | tr -d ' \n')
for action in release.promote release.pause release.resume release.halt release.plan; do
  grep -qF "\"action\":\"$action\"" <<<"$audit" || fc_fail "$action not audited"
done
fc_pass "promote of a finished rollout refused; plan, halt, promote, pause and resume audited"
