#!/usr/bin/env bash
# it_config_offline.sh: with the broker down when the agent starts, the agent and the
# application start with the last good config (config.json intact and readable), and the
# agent catches up with what it missed as soon as the broker is back.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
hook="cat >/dev/null; echo \$FLEETCAST_CONFIG_REV >>$FC_TMP/o1.revs"
fc_config set x=1 greeting=hello >/dev/null
fc_config set x=2 >/dev/null
fc_config_agent o1 --config-changed "$hook"
fc_wait_for "o1 to apply revision 2" 20 fc_config_at o1 2
fc_config_has o1 x 2 && fc_config_has o1 greeting '"hello"' || fc_fail "o1: $(fc_config_text o1)"
fc_stop "$FC_LAST_PID"

# A revision the agent misses while it is down, then the broker goes down too.
fc_config set x=3 >/dev/null
fc_stop "$FC_BROKER_PID"
saved=$(cat "$(fc_config_file o1)")

fc_config_agent o1 --config-changed "$hook"
sleep 3
kill -0 "$FC_LAST_PID" 2>/dev/null || fc_fail "agent exited with the broker down: $(tail -3 "$FC_TMP/o1.log")"
[ "$(cat "$(fc_config_file o1)")" = "$saved" ] || fc_fail "config.json changed with the broker down"
# What an application does at start: read its config from the file.
app_x() { tr -d ' \n' <"$(fc_config_file o1)" | sed -n 's/.*"x":\([0-9]*\).*/\1/p'; }
[ "$(app_x)" = 2 ] || fc_fail "the application reads x=$(app_x), not the last good 2"
if command -v python3 >/dev/null; then
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert c["x"]==2 and c["greeting"]=="hello"' \
    "$(fc_config_file o1)" || fc_fail "config.json is not valid JSON with the last good values"
fi
fc_pass "broker down at start: the agent runs and config.json keeps the last good config"

fc_restart_broker "$FC_TMP/broker"
fc_wait_for "o1 to catch up with revision 3 once the broker is back" 30 fc_config_has o1 x 3
fc_config_at o1 3 || fc_fail "o1: $(fc_config_text o1)"
fc_config set x=4 >/dev/null
fc_wait_for "o1 to follow a new revision" 20 fc_config_has o1 x 4
fc_wait_for "status of revision 4 to show o1 applied" 20 fc_config_count_ge 4 applied 1
fc_pass "the agent caught up with the revision it missed, then followed live again"
