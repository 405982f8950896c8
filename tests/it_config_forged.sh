#!/usr/bin/env bash
# it_config_forged.sh: acks and restart slots count only for the agents they belong to. With
# an enrolled agent key of its own (a stolen one), a peer cannot halt a canary by acking as a
# made-up id or as an id outside the revision's scope (FC_EPERM), an id first heard after the
# revision is listed but not counted, and a made-up id cannot take a restart slot from the
# agent a revision is scoped to; one key holds at most one slot of a revision (and
# FC_CONFIG_SLOTS_PER_KEY at once across revisions: unit.fc_config_service).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
[ "${FC_INSECURE:-0}" = 1 ] && fc_skip "this suite is about the secure mode"

data="$FC_TMP/broker"
fc_start_broker "$data" --restart-share 100
"$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/thief" >/dev/null
"$FC_CLI_BIN" keys add-agent "$FC_TMP/thief/agent.cert" --data "$data" >/dev/null
as_thief() { # ID TYPE [ARG]: fleetcast-hostile as-agent with the thief's key
  "$FC_HOSTILE_BIN" --broker-key "$data/broker.cert" --cert "$FC_TMP/thief/agent.cert_secret" \
    as-agent "$FC_SERVICE" "$@" 2>&1
}
welcomed() { [ "$(as_thief "$1" hello)" = WELCOME ]; }
refused() { grep -q "^error 13 (" <<<"$1"; }
halted() { grep -qF '"halted":true' <<<"$(fc_cli config status "$1" --json | tr -d ' \n')"; }

good=()
for i in 0 1 2 3; do
  good+=("g$i")
  fc_config_agent "g$i" --group grp --config-changed "cat >/dev/null"
done
fc_wait_for "the agents to say HELLO" 20 fc_agents_seen "${good[@]}"
# t1 is the thief's, known before any revision, in no group.
fc_wait_for "the thief's key to be admitted" 15 welcomed t1

# 4a. A canary of group grp: a failed ack from a made-up id, or from a known id outside the
# scope, is refused and halts nothing; promote still works.
rev=$(fc_config set mode=a --scope group:grp --canary 50 --halt-percent 20 --json | fc_json_num rev)
[ -n "$rev" ] || fc_fail "no revision"
out=$(as_thief x1 ack "$rev")
refused "$out" || fc_fail "a failed ack from a made-up id was taken: $out"
out=$(as_thief t1 ack "$rev")
refused "$out" || fc_fail "a failed ack from an id outside group:grp was taken: $out"
fc_wait_for "the canary members to apply revision $rev" 20 fc_config_count_ge "$rev" applied 1
sleep 1
halted "$rev" && fc_fail "forged acks halted the canary: $(fc_cli config status "$rev")"
st=$(fc_cli config status "$rev" --json | tr -d ' \n')
grep -qE '"id":"(x1|t1)"' <<<"$st" && fc_fail "a refused ack is listed: $st"
fc_config promote "$rev" >/dev/null || fc_fail "promote refused after forged acks"
fc_pass "acks from made-up ids or ids outside the scope are refused (FC_EPERM) and halt nothing"

# 4b. A global canary: an id first heard after the revision is in scope, and its ack is
# recorded and listed, but it does not count towards the halt (counted, its one failure of
# five canary acks would pass the 10 % threshold).
rev=$(fc_config set speed=b --canary 99 --halt-percent 10 --json | fc_json_num rev)
fc_wait_for "the thief's key to say HELLO as x2" 15 welcomed x2
out=$(as_thief x2 ack "$rev")
[ "$out" = ok ] || fc_fail "the ack of an agent first heard after the revision: $out"
fc_wait_for "the agents to apply revision $rev" 20 fc_config_count_ge "$rev" applied 4
sleep 1
halted "$rev" && fc_fail "an id first heard after the revision halted it: $(fc_cli config status "$rev")"
st=$(fc_cli config status "$rev")
grep -q "x2.*not counted" <<<"$st" || fc_fail "status does not show x2's ack as not counted: $st"
fc_pass "an ack from an agent first heard after the revision is listed as not counted"

# 5. Restart slots: a revision for agent:victim, with its one slot; a made-up id cannot take
# it, and the victim restarts as soon as it asks.
fc_config_agent victim --config-changing "cat >/dev/null; exit 1" \
  --exec-restart "cat >/dev/null; echo \$FLEETCAST_CONFIG_REV >>$FC_TMP/victim.restart"
vpid=$FC_LAST_PID
fc_wait_for "the victim to say HELLO" 20 fc_agents_seen victim
fc_wait_for "the victim to apply revision $rev" 20 fc_config_at victim "$rev"
fc_stop "$vpid"
rev=$(fc_config set feature=on --scope agent:victim --json | fc_json_num rev)
out=$(as_thief x3 slot "$rev")
refused "$out" || fc_fail "a made-up id took the victim's restart slot: $out"
out=$(as_thief t1 slot "$rev")
refused "$out" || fc_fail "an id outside agent:victim took its restart slot: $out"
fc_config_agent victim --config-changing "cat >/dev/null; exit 1" \
  --exec-restart "cat >/dev/null; echo \$FLEETCAST_CONFIG_REV >>$FC_TMP/victim.restart"
fc_wait_for "the victim to restart for revision $rev" 20 grep -qsx "$rev" "$FC_TMP/victim.restart"
fc_pass "a restart slot goes only to an agent the revision's scope names"

# One key holds at most one slot of a revision: ids the thief made known (each in scope) get
# one slot between them, not more (share 100%: the broker's own limit is not it), so a stolen
# key cannot fill a small scope's slots with made-up ids and keep its real agents waiting.
for i in $(seq 1 10); do fc_wait_for "the thief to say HELLO as s$i" 15 welcomed "s$i"; done
rev=$(fc_config set other=1 --json | fc_json_num rev)
granted=0
for i in $(seq 1 10); do
  out=$(as_thief "s$i" slot "$rev")
  [ "$out" = "ok granted" ] && granted=$((granted + 1))
done
[ "$granted" = 1 ] || fc_fail "one key got $granted restart slots of one revision (want 1)"
fc_pass "one agent key holds at most one restart slot of a revision"
