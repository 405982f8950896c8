#!/usr/bin/env bash
# it_config_fleet.sh: 50 agent daemons converge on each config revision, and `config status`
# counts 50 applied with nobody pending; a second revision converges the same way.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

N=${FC_FLEET_AGENTS:-50}
fc_start_broker "$FC_TMP/broker"
fc_keygen
names=()
for i in $(seq -w 1 "$N"); do
  names+=("f$i")
  fc_config_agent "f$i" --group fleet --config-changed "cat >/dev/null"
done
fc_wait_for "all $N agents to say HELLO" 30 fc_agents_seen "${names[@]}"

all_at() { # REV KEY VALUE: every agent's config.json is at REV with KEY=VALUE
  local a
  for a in "${names[@]}"; do fc_config_at "$a" "$1" && fc_config_has "$a" "$2" "$3" || return 1; done
}

for round in 1 2; do
  start=$(date +%s.%N)
  out=$(fc_config set "wave=$round" --scope group:fleet --json)
  rev=$(fc_json_num rev <<<"$out")
  [ "$rev" = "$round" ] || fc_fail "round $round published revision '$rev': $out"
  fc_wait_for "$N agents to apply revision $rev" 30 all_at "$rev" wave "$round"
  fc_wait_for "config status $rev to count $N applied" 20 fc_config_count_ge "$rev" applied "$N"
  st=$(fc_cli config status "$rev" --json)
  for s in pending failed vetoed restart-required; do
    [ "$(fc_json_num "$s" <<<"$st")" = 0 ] || fc_fail "revision $rev: $s is not 0: $st"
  done
  [ "$(fc_json_num total <<<"$st")" = "$N" ] || fc_fail "revision $rev: total is not $N: $st"
  text=$(fc_cli config status "$rev")
  grep -q "^config revision $rev: $N agents: $N applied" <<<"$text" || fc_fail "text status: $text"
  secs=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $start }")
  fc_pass "revision $rev: $N agents applied, config status says $N applied ($secs s)"
done
