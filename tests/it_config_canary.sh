#!/usr/bin/env bash
# it_config_canary.sh: staged rollout. A 50% canary on agents whose changed hook fails halts by
# itself: status says HALTED with the reason, promote is refused, and no agent keeps the bad
# values. A canary on healthy agents reaches only its members until promoted, then everyone.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
bad=() good=()
for i in $(seq 0 9); do
  bad+=("bad$i")
  fc_config_agent "bad$i" --group bad --config-changed "cat >/dev/null; echo refusing >&2; exit 1"
done
for i in $(seq 0 5); do
  good+=("good$i")
  fc_config_agent "good$i" --group good --config-changed "cat >/dev/null"
done
fc_wait_for "the agents to say HELLO" 30 fc_agents_seen "${bad[@]}" "${good[@]}"

# A failing canary halts.
out=$(fc_config set mode=fast --scope group:bad --canary 50 --halt-percent 20 --json)
rev=$(fc_json_num rev <<<"$out")
[ -n "$rev" ] || fc_fail "canary set: $out"
halted() { grep -qF '"halted":true' <<<"$(fc_cli config status "$1" --json | tr -d ' \n')"; }
fc_wait_for "revision $rev to halt" 30 halted "$rev"
st=$(fc_cli config status "$rev")
grep -q "^HALTED: ." <<<"$st" || fc_fail "text status does not say HALTED with a reason: $st"
failed=$(fc_config_count "$rev" failed)
[ "${failed:-0}" -ge 1 ] || fc_fail "halted with no failure counted: $st"
fc_pass "canary with failing hooks halts ($failed failed): $(grep HALTED <<<"$st")"

rc=0; fc_config promote "$rev" >"$FC_TMP/promote.out" 2>"$FC_TMP/promote.err" || rc=$?
[ "$rc" = 1 ] || fc_fail "promote of a halted revision exited $rc"
grep -qi "halted" "$FC_TMP/promote.err" || fc_fail "promote refusal does not say why: $(cat "$FC_TMP/promote.err")"
grep -q "promote" <<<"$(fc_cli config history)" && fc_fail "a refused promote was published"
sleep 1
for a in "${bad[@]}"; do
  fc_config_has "$a" mode '"fast"' && fc_fail "$a keeps the values of a failed canary"
done
fc_pass "promote of a halted canary is refused; no agent runs the failed values"

# A healthy canary: members first, everyone after promote.
member_count() { local a n=0; for a in "${good[@]}"; do fc_config_has "$a" level 2 && n=$((n + 1)); done; echo $n; }
rev=$(fc_config set level=2 --scope group:good --canary 50 --json | fc_json_num rev)
fc_wait_for "the canary members to apply revision $rev" 20 fc_config_count_ge "$rev" applied 1
sleep 1
members=$(member_count)
[ "$members" -ge 1 ] && [ "$members" -lt ${#good[@]} ] ||
  fc_fail "canary 50% of ${#good[@]} agents reached $members of them"
fc_config promote "$rev" >/dev/null || fc_fail "promote of a healthy canary"
all_good() { [ "$(member_count)" = ${#good[@]} ]; }
fc_wait_for "every good agent to apply the promoted revision" 20 all_good
fc_wait_for "status of $rev to count ${#good[@]} applied" 20 fc_config_count_ge "$rev" applied ${#good[@]}
fc_pass "a healthy canary reached $members of ${#good[@]} agents first, then all after promote"
