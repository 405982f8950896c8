#!/usr/bin/env bash
# it_config_lost.sh: revisions lost on the wire are detected and recovered in order. One agent
# is frozen (SIGSTOP) long enough for the broker's ZMTP heartbeat to drop its announce
# connection, so the revisions published meanwhile never reach it; another talks to the
# broker through a proxy that stalls its requests. Both end on the latest revision, with
# every revision acknowledged and the changed hook seeing revisions strictly in order.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
rev_hook() { echo "cat >/dev/null; echo \$FLEETCAST_CONFIG_REV >>$FC_TMP/$1.revs"; }
fc_config_agent live --config-changed "$(rev_hook live)"
fc_config_agent frozen --config-changed "$(rev_hook frozen)"
frozen_pid=$FC_LAST_PID
fc_start_proxy --stall-every 400 --stall-ms 500
FC_AGENT_BROKER=$FC_PROXY fc_config_agent stalled --config-changed "$(rev_hook stalled)"
fc_wait_for "the agents to say HELLO" 20 fc_agents_seen live frozen stalled

fc_config set n=1 >/dev/null
for a in live frozen stalled; do fc_wait_for "$a to apply revision 1" 20 fc_config_at $a 1; done

# Freeze one agent; publish while it cannot hear, some before and some after the broker
# gives up on its connection (heartbeat timeout 5 s).
kill -STOP "$frozen_pid"
fc_config set n=2 >/dev/null
fc_config set n=3 extra=a >/dev/null
sleep 7
for i in 4 5 6; do fc_config set n=$i >/dev/null; done
fc_config set extra=b --scope group:elsewhere >/dev/null # rev 7: not for these agents
fc_config set n=8 >/dev/null
kill -CONT "$frozen_pid"
latest=8

check_order() { # NAME: the hook saw increasing revisions, ending with the latest
  local f="$FC_TMP/$1.revs"
  sort -n -c -u "$f" 2>/dev/null || fc_fail "$1's hook saw revisions out of order or twice: $(tr '\n' ' ' <"$f")"
  [ "$(tail -1 "$f")" = $latest ] || fc_fail "$1's hook did not end on $latest: $(tr '\n' ' ' <"$f")"
  [ "$(head -1 "$f")" = 1 ] || fc_fail "$1's hook did not start with 1: $(tr '\n' ' ' <"$f")"
}
for a in live frozen stalled; do
  fc_wait_for "$a to reach revision $latest" 30 fc_config_has $a n $latest
  fc_config_has $a extra '"a"' || fc_fail "$a lost revision 3's extra=a: $(fc_config_text $a)"
done
for a in live frozen stalled; do
  fc_wait_for "$a's hook to see revision $latest" 10 grep -qsx $latest "$FC_TMP/$a.revs"
  check_order $a
done
# Every revision that concerns them is acknowledged by each agent.
acked() { local r; for r in 1 2 3 4 5 6 8; do fc_config_count_ge $r applied 3 || return 1; done; }
fc_wait_for "every revision to be acknowledged by all three agents" 20 acked
[ "$(tr '\n' ' ' <"$FC_TMP/live.revs")" = "1 2 3 4 5 6 8 " ] ||
  fc_fail "the live agent skipped or repeated a revision: $(tr '\n' ' ' <"$FC_TMP/live.revs")"
fc_pass "frozen agent recovered the lost revisions in order: hook saw $(tr '\n' ' ' <"$FC_TMP/frozen.revs")"
fc_pass "stalled agent converged: hook saw $(tr '\n' ' ' <"$FC_TMP/stalled.revs")"
