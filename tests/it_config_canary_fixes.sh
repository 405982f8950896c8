#!/usr/bin/env bash
# it_config_canary_fixes.sh: two canary bugs an operator found. (1) `config set --canary 34` on
# 3 agents whose ids all hash to buckets of 34 or more chose none and stayed pending for ever:
# any percentage above 0 must choose at least one agent, and the CLI says how many. (2) A
# halted canary's members kept its values, and the next, unrelated revision carried them
# again (and failed on every agent): a halt reverts the members to the last good values,
# later revisions never carry the halted revision's values, and `config get` and `config get
# --agent ID` agree.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

# An agent id's canary bucket: the first 8 bytes of BLAKE2b-256(id), big-endian, mod 100.
bucket() {
  local h hi lo; h=$(printf '%s' "$1" | b2sum -l 256 | cut -c1-16)
  hi=$((16#${h:0:8})); lo=$((16#${h:8:8}))
  echo $(( ((hi % 100) * 96 + lo % 100) % 100 ))  # 2^32 mod 100 = 96
}

fc_start_broker "$FC_TMP/broker"
fc_keygen

# (1) three agents in group g3, none of them below bucket 34.
few=()
for i in $(seq 0 200); do
  [ "$(bucket "g$i")" -ge 34 ] && few+=("g$i")
  [ ${#few[@]} = 3 ] && break
done
for a in "${few[@]}"; do fc_config_agent "$a" --group g3 --config-changed "cat >/dev/null"; done
fc_wait_for "the g3 agents to say HELLO" 30 fc_agents_seen "${few[@]}"
out=$(fc_config set tier=1 --scope group:g3 --canary 34 --json) || fc_fail "canary set: $out"
rev=$(fc_json_num rev <<<"$out")
chosen=$(fc_json_num canary_chosen <<<"$out")
[ "${chosen:-0}" -ge 1 ] || fc_fail "--canary 34 on ${few[*]} (buckets $(for a in "${few[@]}"; do bucket "$a"; done | tr '\n' ' ')) chose ${chosen:-none}: $out"
fc_wait_for "a canary member of revision $rev to apply it" 30 fc_config_count_ge "$rev" applied 1
fc_pass "--canary 34 on 3 agents chose $chosen of them, and they applied it"

# (2) group mix: the changed hook fails on f* agents for mode=fast, applies on o* agents.
fail_hook='in=$(cat); case "$in" in *fast*) echo refusing >&2; exit 1;; esac; exit 0'
mix=()
for i in $(seq 0 200); do
  b=$(bucket "o$i"); [ "$b" -lt 50 ] && [ ${#mix[@]} -lt 1 ] && { mix+=("o$i"); fc_config_agent "o$i" --group mix --config-changed "cat >/dev/null"; o_pid=$FC_LAST_PID; }
  b=$(bucket "f$i"); [ "$b" -lt 50 ] && [ $(( ${#mix[@]} )) -ge 1 ] && [ ${#mix[@]} -lt 3 ] && { mix+=("f$i"); fc_config_agent "f$i" --group mix --config-changed "$fail_hook"; }
  [ ${#mix[@]} = 3 ] && break
done
outside=()
for i in $(seq 0 200); do
  [ "$(bucket "n$i")" -ge 50 ] && { outside+=("n$i"); fc_config_agent "n$i" --group mix --config-changed "$fail_hook"; }
  [ ${#outside[@]} = 2 ] && break
done
all=("${mix[@]}" "${outside[@]}")
fc_wait_for "the mix agents to say HELLO" 30 fc_agents_seen "${all[@]}"
base=$(fc_config set level=1 --scope group:mix --json | fc_json_num rev)
at_base() { local a; for a in "${all[@]}"; do fc_config_at "$a" "$base" || return 1; done; }
fc_wait_for "every mix agent at revision $base" 30 at_base

bad=$(fc_config set mode=fast --scope group:mix --canary 50 --halt-percent 20 --json | fc_json_num rev)
halted() { grep -qF '"halted":true' <<<"$(fc_cli config status "$1" --json | tr -d ' \n')"; }
fc_wait_for "revision $bad to halt" 30 halted "$bad"
# The member with a healthy hook did apply it (that is what has to be taken back).
fc_wait_for "${mix[0]} to have applied revision $bad" 30 fc_config_count_ge "$bad" applied 1
reverted() { local a; for a in "${all[@]}"; do fc_config_lacks "$a" mode || return 1; done; }
fc_wait_for "every canary member to go back to the last good values" 30 reverted
fc_pass "the halted canary's member that applied it (${mix[0]}) went back to the last good values"

next=$(fc_config set level=2 --scope group:mix --json | fc_json_num rev)
fc_wait_for "every mix agent to answer revision $next" 30 fc_config_count_ge "$next" applied ${#all[@]}
failed=$(fc_config_count "$next" failed)
[ "${failed:-0}" = 0 ] || fc_fail "the next revision failed on $failed agents: $(fc_cli config status "$next")"
for a in "${all[@]}"; do
  fc_config_has "$a" level 2 || fc_fail "$a lacks level=2"
  fc_config_lacks "$a" mode || fc_fail "$a carries the halted revision's mode"
done
fc_pass "the next, unrelated revision applied on every agent without the halted values"

scope_view=$(fc_cli config get --scope group:mix --json | tr -d ' \n')
grep -q '"mode"' <<<"$scope_view" && fc_fail "config get --scope group:mix shows the halted value: $scope_view"
for a in "${mix[@]}"; do
  agent_view=$(fc_cli config get --agent "$a" --json | tr -d ' \n')
  grep -q '"mode"' <<<"$agent_view" && fc_fail "config get --agent $a shows the halted value: $agent_view"
  grep -q '"level":2' <<<"$agent_view" || fc_fail "config get --agent $a: $agent_view"
done
fc_pass "config get and config get --agent agree: no halted value"

# A member restarted while the broker is down starts without the halted values: config.json,
# written afresh at start from the revisions it keeps, leaves them out.
fc_stop "$o_pid"
fc_stop "$FC_BROKER_PID"
rm -f "$(fc_config_file "${mix[0]}")"
fc_config_agent "${mix[0]}" --group mix --config-changed "cat >/dev/null"
fc_wait_for "${mix[0]} to write its config.json" 30 test -s "$(fc_config_file "${mix[0]}")"
fc_config_lacks "${mix[0]}" mode || fc_fail "${mix[0]} restarted with the halted value: $(fc_config_text "${mix[0]}")"
fc_config_has "${mix[0]}" level 2 || fc_fail "${mix[0]} restarted without level=2: $(fc_config_text "${mix[0]}")"
fc_pass "a member restarted with the broker down keeps the halt"
