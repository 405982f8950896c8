#!/usr/bin/env bash
# it_demo.sh: the quick start's demo (tools/demo.sh) keeps working: every agent installs the
# release, applies the live change, restarts for the restart-only one, the schema refuses a
# bad value, and the demo leaves neither its temp dir nor a process behind.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

demo="$(cd "$(dirname "$0")/.." && pwd)/tools/demo.sh"
out=$(TMPDIR="$FC_TMP" timeout 300 bash "$demo" "$FC_BUILD" 2>"$FC_TMP/demo.err") ||
  fc_fail "demo failed: $(tail -5 "$FC_TMP/demo.err") $(tail -5 <<<"$out")"
for a in agent-1 agent-2 agent-3; do
  grep -q "^$a: installed version 1.0 -> releases/1.0" <<<"$out" || fc_fail "$a did not install: $out"
done
grep -q "^hello from demo-app 1.0$" <<<"$out" || fc_fail "the installed app did not run: $out"
fc_pass "three agents install the release"

grep -q "^config revision 2: 3 agents: 3 applied" <<<"$out" || fc_fail "live change not applied: $out"
grep -qF '"key":"log.level","old":null,"new":"debug"' <<<"$out" || fc_fail "no diff shown: $out"
grep -q "^config revision 3: 3 agents: 0 applied, 3 restarted" <<<"$out" ||
  fc_fail "restart-only change did not restart all: $out"
grep -q "refused: .*log.level: 'loud' is not one of debug, info, warn" <<<"$out" ||
  fc_fail "schema refusal not shown: $out"
grep -q "^== demo finished" <<<"$out" || fc_fail "demo did not finish: $out"
fc_pass "the agents apply a live change, restart for a restart-only one, the schema refuses"

# Nothing left behind: the demo's temp dir is gone, and no process still names it.
left=$(ls -d "$FC_TMP"/fleetcast-test.* 2>/dev/null || true)
[ -z "$left" ] || fc_fail "demo left $left"
dir=$(sed -n 's/^== fleetcast demo (temporary dir \(.*\))$/\1/p' <<<"$out")
[ -n "$dir" ] || fc_fail "demo did not name its temp dir: $out"
if pgrep -f -- "$dir/" >/dev/null; then fc_fail "demo left processes: $(pgrep -af -- "$dir/")"; fi
fc_pass "the demo cleans up its temp dir and its processes"
