#!/usr/bin/env bash
# it_status_watch.sh: `fleetcast status --summary` (a line per channel, --json too) and
# `status --watch`: on a terminal (a pty from script(1)) it redraws in place, showing the
# agents downloading while a release rolls out; on a pipe it prints one snapshot and exits.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
command -v script >/dev/null || fc_skip "no script(1) (util-linux) to give the CLI a terminal"

fc_start_broker "$FC_TMP/broker"
mkdir -p "$FC_TMP/src"
fc_random_file "$FC_TMP/src/app" 64
fc_push "$FC_TMP/src" 1 >/dev/null
fc_start_proxy --rate 1048576
for a in a1 a2; do FC_AGENT_BROKER=$FC_PROXY fc_config_agent $a; done
summary() { fc_cli status --summary "$@"; }
both_on_1() { summary | grep -q '2 on 1 (current)'; }
fc_wait_for "both agents on release 1" 30 both_on_1
line=$(summary)
[ "$line" = "stable: 2 agents, 2 on 1 (current), 0 downloading, 0 failed, 0 offline" ] ||
  fc_fail "summary: $line"
json=$(summary --json)
python3 -c '
import json, sys
s = json.loads(sys.argv[1])
assert len(s) == 1 and s[0]["channel"] == "stable" and s[0]["current"] == "1", s
assert s[0]["agents"] == 2 and s[0]["on_current"] == 2 and s[0]["offline"] == 0, s' "$json" ||
  fc_fail "summary --json: $json"
fc_pass "status --summary: $line (and --json)"

# Not a terminal: one snapshot, at once.
out=$(timeout 10 "$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_SERVICE" status --watch) ||
  fc_fail "status --watch on a pipe did not end by itself"
grep -q '^stable: 2 agents' <<<"$out" || fc_fail "snapshot: $out"
grep -q 'every agent is in a final state' <<<"$out" || fc_fail "snapshot agents: $out"
! grep -q $'\033' <<<"$out" || fc_fail "escape codes on a pipe"
fc_pass "status --watch on a pipe prints one snapshot and exits"

# A terminal: redrawn in place while release 2 (6 MiB at 1 MiB/s) rolls out.
cmd="$FC_CLI_BIN ${FC_CLI_SEC_ARGS[*]} --broker $FC_SERVICE status --watch"
script -qfc "$cmd" /dev/null >"$FC_TMP/watch.out" 2>&1 </dev/null &
watch_pid=$!
FC_PIDS+=($watch_pid)
fc_random_file "$FC_TMP/src/app" 6144
fc_push "$FC_TMP/src" 2 >/dev/null
fc_wait_for "the watch to show an agent downloading" 30 grep -q 'downloading [0-9]*% (' "$FC_TMP/watch.out"
fc_wait_for "the watch to show both agents on release 2" 60 grep -q '2 on 2 (current), 0 downloading' "$FC_TMP/watch.out"
frames=$(grep -o $'\033\\[H' "$FC_TMP/watch.out" | wc -l)
[ "$frames" -ge 3 ] || fc_fail "only $frames redraws"
grep -aq '^a[12] .*downloading' <(tr -d '\r' <"$FC_TMP/watch.out" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g') ||
  fc_fail "no downloading agent listed: $(tail -c 2000 "$FC_TMP/watch.out")"
kill -INT $watch_pid 2>/dev/null || true
fc_pass "status --watch on a terminal: $frames redraws in place (cursor home, no clear), the download's agents listed, then both on 2"
