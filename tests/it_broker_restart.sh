#!/usr/bin/env bash
# it_broker_restart.sh: the broker is restarted mid-transfer: the agent carries on when it is
# back, and the broker lost nothing (release, blobs, agent status).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only

data="$FC_TMP/broker"
fc_start_broker "$data"
fc_keygen
mkdir -p "$FC_TMP/src"
fc_random_file "$FC_TMP/src/big.bin" $((32*1024))
fc_push "$FC_TMP/src" 1 >/dev/null

fc_start_proxy --rate $((8*1048576))
FC_AGENT_BROKER=$FC_PROXY fc_agent_once a1 --timeout 120 &
agent=$!
FC_PIDS+=("$agent")
sleep 1.5
fc_kill9 "$FC_BROKER_PID"
sleep 1
fc_restart_broker "$data"
wait "$agent" || fc_fail "agent failed across the broker restart: $(tail -5 "$FC_TMP/a1.log")"
cmp "$FC_TMP/src/big.bin" "$FC_TMP/a1/install/current/big.bin" || fc_fail "content differs"
fc_pass "the agent finished the download across a broker SIGKILL and restart"

sqlite3 "$data/fleetcast.db" "PRAGMA integrity_check;" | grep -qx ok || fc_fail "database integrity"
fc_cli release list | grep -q "stable" || fc_fail "release lost"
fc_cli status | grep -q "a1" || fc_fail "agent status lost"
fc_pass "broker database intact after SIGKILL"
