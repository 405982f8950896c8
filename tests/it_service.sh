#!/usr/bin/env bash
# it_service.sh: what running as a service needs of the programs: --version on each, one
# agent per state directory (a second exits naming the PID holding it), and SIGHUP that
# reloads instead of killing (agent and broker).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

version=$(sed -n 's/^project(fleetcast VERSION \([0-9.]*\).*/\1/p' "$(dirname "$0")/../CMakeLists.txt")
[ -n "$version" ] || fc_fail "no project version in CMakeLists.txt"
for prog in "$FC_BROKER_BIN:fleetcast-broker" "$FC_AGENT_BIN:fleetcast-agent" "$FC_CLI_BIN:fleetcast"; do
  out=$("${prog%%:*}" --version) || fc_fail "${prog##*:} --version failed"
  grep -Eq "^${prog##*:} $version( \(git [^)]+\))?$" <<<"$out" || fc_fail "${prog##*:} --version printed: $out"
done
fc_pass "--version on every program: fleetcast-X $version (git describe)"

data="$FC_TMP/broker"
fc_start_broker "$data"
mkdir -p "$FC_TMP/src"
echo v1 >"$FC_TMP/src/app"
fc_push "$FC_TMP/src" 1 >/dev/null

fc_config_agent a1
a1=$FC_LAST_PID
fc_wait_for "a1 to install v1" 20 test -f "$FC_TMP/a1/install/current/app"
rc=0
fc_agent_run a1 --timeout 5 || rc=$?
[ "$rc" = 1 ] || fc_fail "a second agent on a1's state dir exited $rc (want 1)"
grep -qF "is in use by the agent with PID $a1" "$FC_TMP/a1.log" ||
  fc_fail "the second agent does not name PID $a1: $(tail -3 "$FC_TMP/a1.log")"
kill -0 "$a1" || fc_fail "the first agent died"
fc_pass "a second agent on the same state directory exits naming the PID holding it"
