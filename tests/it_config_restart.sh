#!/usr/bin/env bash
# it_config_restart.sh: the restart path. A changing hook that vetoes, or a key the schema marks
# restart-only, leads to --exec-restart and a `restarted` ack; without --exec-restart the agent
# reports restart-required and keeps the old values; a change that breaks the schema is
# refused by the CLI with the key and the rule, and nothing is published; restarts for one
# revision are staggered across a group.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
cat >"$FC_TMP/schema.json" <<'EOF'
{"keys": {"port":      {"type": "integer", "min": 1, "max": 65535, "reload": "restart"},
          "log.level": {"type": "string", "enum": ["debug", "info", "warn"], "reload": "hot"}},
 "strict": false}
EOF
fc_config schema set "$FC_TMP/schema.json" >/dev/null || fc_fail "schema set"

restart_hook() { echo "cat >/dev/null; echo \$FLEETCAST_CONFIG_REV >>$FC_TMP/$1.restart"; }
changed_hook() { echo "cat >>$FC_TMP/$1.changed; echo >>$FC_TMP/$1.changed"; }
fc_config_agent v1 --config-changing "cat >/dev/null; exit 1" --exec-restart "$(restart_hook v1)" \
  --config-changed "$(changed_hook v1)"
fc_config_agent s1 --config-changing "cat >/dev/null" --exec-restart "$(restart_hook s1)" \
  --config-changed "$(changed_hook s1)"
fc_config_agent n1 --config-changed "$(changed_hook n1)"
fc_wait_for "the agents to say HELLO" 20 fc_agents_seen v1 s1 n1
state_of() { # REV AGENT: the agent's state in config status REV
  fc_cli config status "$1" --json | tr -d ' \n' | grep -o "\"id\":\"$2\",[^}]*" |
    sed -n 's/.*"state":"\([^"]*\)".*/\1/p'
}
state_is() { [ "$(state_of "$1" "$2")" = "$3" ]; }

# 1. A veto takes the restart path: config written, restart hook run, acked restarted.
rev=$(fc_config set feature=on --scope agent:v1 --json | fc_json_num rev)
fc_wait_for "v1's restart hook to run for revision $rev" 20 grep -qsx "$rev" "$FC_TMP/v1.restart"
fc_config_has v1 feature '"on"' || fc_fail "v1 config.json after restart: $(fc_config_text v1)"
fc_wait_for "status to say v1 restarted" 20 state_is "$rev" v1 restarted
[ "$(fc_config_count "$rev" restarted)" = 1 ] || fc_fail "status count: $(fc_cli config status "$rev")"
! grep -q "\"rev\": *$rev\b" "$FC_TMP/v1.changed" 2>/dev/null || fc_fail "v1's changed hook ran after a veto"
fc_pass "a vetoed change takes the restart path (exec-restart ran, status restarted)"

# 2. Hot key: applied live. Restart-only key (schema): restart path even without a veto.
rev=$(fc_config set log.level=warn --scope agent:s1 --json | fc_json_num rev)
fc_wait_for "s1 to apply the hot key" 20 fc_config_has s1 log.level '"warn"'
fc_wait_for "status to say s1 applied" 20 state_is "$rev" s1 applied
[ ! -e "$FC_TMP/s1.restart" ] || fc_fail "a hot key restarted s1"
rev=$(fc_config set port=8443 --scope agent:s1 --json | fc_json_num rev)
fc_wait_for "s1's restart hook to run for the restart-only key" 20 grep -qsx "$rev" "$FC_TMP/s1.restart"
fc_config_has s1 port 8443 || fc_fail "s1 config.json: $(fc_config_text s1)"
fc_wait_for "status to say s1 restarted" 20 state_is "$rev" s1 restarted
fc_pass "a hot key is applied live; a restart-only key takes the restart path"

# 3. Without --exec-restart: restart-required, and the old values stay in config.json.
rev=$(fc_config set log.level=info --scope agent:n1 --json | fc_json_num rev)
fc_wait_for "n1 to apply the hot key" 20 fc_config_has n1 log.level '"info"'
before=$(fc_config_text n1)
rev=$(fc_config set port=9000 log.level=debug --scope agent:n1 --json | fc_json_num rev)
fc_wait_for "status to say n1 restart-required" 20 state_is "$rev" n1 restart-required
[ "$(fc_config_text n1)" = "$before" ] || fc_fail "n1 changed config.json without a restart: $(fc_config_text n1)"
fc_config_lacks n1 port || fc_fail "n1 has the new port"
fc_pass "without --exec-restart: restart-required, config.json keeps the old values"

# 5. Staggered restarts: 4 agents of one group need a restart for the same revision; with the
# broker's default share (25%) only one restarts at a time, and all of them do in the end.
for i in 1 2 3 4; do
  fc_config_agent "w$i" --group wave --config-changing "cat >/dev/null" \
    --exec-restart "cat >/dev/null; mkdir $FC_TMP/restarting 2>/dev/null || echo overlap >>$FC_TMP/wave.overlap; echo w$i >>$FC_TMP/wave.done; sleep 0.5; rmdir $FC_TMP/restarting 2>/dev/null; true"
done
fc_wait_for "the wave agents to say HELLO" 20 fc_agents_seen w1 w2 w3 w4
rev=$(fc_config set port=7443 --scope group:wave --json | fc_json_num rev)
fc_wait_for "all 4 wave agents to restart for revision $rev" 30 fc_config_count_ge "$rev" restarted 4
[ "$(sort -u "$FC_TMP/wave.done" | wc -l)" = 4 ] || fc_fail "restarted: $(cat "$FC_TMP/wave.done")"
[ ! -e "$FC_TMP/wave.overlap" ] || fc_fail "two agents of the group restarted at the same time"
for i in 1 2 3 4; do fc_config_has "w$i" port 7443 || fc_fail "w$i: $(fc_config_text "w$i")"; done
fc_pass "4 restarts for one revision ran one at a time (share 25%), all restarted"

# 4. Schema violations are refused before publishing, naming the key and the rule.
hist_before=$(fc_cli config history --json | tr -d ' \n')
refused() { # EXPECTED-TEXT... -- KEY=VALUE...
  local want=() rc=0
  while [ "$1" != -- ]; do want+=("$1"); shift; done; shift
  fc_config set "$@" >"$FC_TMP/refused.out" 2>"$FC_TMP/refused.err" || rc=$?
  [ "$rc" = 1 ] || fc_fail "config set $* exited $rc, not 1: $(cat "$FC_TMP/refused.err")"
  local w; for w in "${want[@]}"; do
    grep -qF -- "$w" "$FC_TMP/refused.err" || fc_fail "refusal of $* does not say '$w': $(cat "$FC_TMP/refused.err")"
  done
  [ ! -s "$FC_TMP/refused.out" ] || fc_fail "refused set printed a result: $(cat "$FC_TMP/refused.out")"
}
refused port 65535 -- port=70000
refused port 1 -- port=0 --scope group:x
refused log.level loud debug -- log.level=loud
refused port integer -- port=eighty
refused port 65535 -- ok.key=1 port=99999
[ "$(fc_cli config history --json | tr -d ' \n')" = "$hist_before" ] || fc_fail "a refused change was published"
echo '{"keys": {"x": {"type": "nonsense"}}}' >"$FC_TMP/bad.json"
rc=0; fc_config schema set "$FC_TMP/bad.json" 2>"$FC_TMP/bad.err" || rc=$?
[ "$rc" = 1 ] && grep -q "not valid" "$FC_TMP/bad.err" || fc_fail "bad schema: rc $rc $(cat "$FC_TMP/bad.err")"
[ "$(fc_cli config history --json | tr -d ' \n')" = "$hist_before" ] || fc_fail "a bad schema was published"
fc_pass "schema violations refused with the key and the rule; history unchanged"
