#!/usr/bin/env bash
# it_kill_resume.sh: the agent is SIGKILLed mid-download and restarted: it resumes from its
# journal; bytes fetched over both runs stay within the release size plus one window.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/big.bin" $((64*1024))
size=$((64*1048576))
window=$((2*1048576))
fc_push "$src" 1 >/dev/null

# Slow the first run down so it is surely mid-download when killed.
fc_start_proxy --rate $((16*1048576))
FC_AGENT_BROKER=$FC_PROXY fc_agent_once a1 --window $window &
agent=$!
FC_PIDS+=("$agent")
sleep 2
kill -0 "$agent" 2>/dev/null || fc_fail "agent finished before it could be killed"
fc_kill9 "$agent"
read -r _ first < <(fc_stop_proxy)
[ "$first" -gt $((4*1048576)) ] && [ "$first" -lt "$size" ] || fc_fail "first run moved $first bytes"
[ ! -e "$FC_TMP/a1/install/current" ] || fc_fail "a partial download was installed"

fc_agent_run a1 --window $window || fc_fail "resumed run failed: $(tail -5 "$FC_TMP/a1.log")"
second=$(fc_json_field "$FC_TMP/a1.json" bytes_fetched)
cmp "$src/big.bin" "$FC_TMP/a1/install/current/big.bin" || fc_fail "big.bin differs after resume"
[ "$second" -lt "$size" ] || fc_fail "restart fetched $second bytes: it started over"
# The proxy count includes a little protocol overhead (requests, headers): allow 1%.
limit=$(( size + window + size / 100 ))
[ $((first + second)) -le "$limit" ] || fc_fail "fetched $first + $second > $limit"
fc_pass "killed after $first bytes, resumed with $second more (limit $limit)"
