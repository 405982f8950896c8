#!/usr/bin/env bash
# it_status_offline.sh: an agent the broker has not heard for three of its report periods
# (the broker's --offline-after, default 30 s: three 10-second reports) is `offline`, with since
# when, in `fleetcast status`, `release status` and `config status`, and not before; status
# filters by channel, version and state.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
mkdir -p "$FC_TMP/src"
echo one >"$FC_TMP/src/app"
fc_cli release push "$FC_TMP/src" --channel stable --version 1 --key "$FC_TMP/keys/signing.key" >/dev/null
fc_config_agent b0
fc_config_agent b1
pid_b1=$FC_LAST_PID
FC_CHANNEL=beta fc_config_agent c0
both_installed() {
  [ "$(cat "$FC_TMP/b0/install/current/app" 2>/dev/null)" = one ] &&
    [ "$(cat "$FC_TMP/b1/install/current/app" 2>/dev/null)" = one ]
}
fc_wait_for "b0 and b1 to install" 30 both_installed
fc_wait_for "the agents to say HELLO" 20 fc_agents_seen b0 b1 c0
rev=$(fc_config set level=1 --json | fc_json_num rev)

ids() { fc_cli status --json "$@" | tr -d ' \n' | grep -o '"id":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' '; }
[ "$(ids --state offline)" = "" ] || fc_fail "offline before anything stopped: $(ids --state offline)"
[ "$(ids --channel stable)" = "b0 b1 " ] || fc_fail "--channel stable: $(ids --channel stable)"
[ "$(ids --version 1)" = "b0 b1 " ] || fc_fail "--version 1: $(ids --version 1)"
[ "$(ids --state idle)" = "c0 " ] || fc_fail "--state idle: $(ids --state idle)"
[ "$(ids --version 1 --state idle)" = "" ] || fc_fail "--version 1 --state idle: $(ids --version 1 --state idle)"
rc=0; fc_cli status --state bogus >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fc_fail "--state bogus exited $rc"
fc_pass "status filters by channel, version and state"

fc_stop "$pid_b1"
stopped=$(date +%s)
sleep 12
[ "$(ids --state offline)" = "" ] || fc_fail "b1 offline after 12 s, before three missed reports"
offline() { [ "$(ids --state offline)" = "b1 " ]; }
fc_wait_for "b1 to show offline" 40 offline
took=$(( $(date +%s) - stopped ))
st=$(fc_cli status --channel stable)
grep -E "^b1 .* offline .* offline since " <<<"$st" >/dev/null || fc_fail "text status: $st"
grep -E "^b0 .* (installed|up-to-date) " <<<"$st" >/dev/null || fc_fail "b0 is not shown running 1: $st"
fc_cli status --json | tr -d ' \n' | grep -qF '"id":"b1","channel":"stable","version":"1","state":"offline","offline":true,"offline_since":' ||
  fc_fail "JSON status: $(fc_cli status --json)"
fc_pass "a stopped agent shows offline after ${took}s, with since when; the live one does not"

rs=$(fc_cli release status --channel stable --json | tr -d ' \n')
[ "$(fc_json_num offline <<<"$rs")" = 1 ] && [ "$(fc_json_num installed <<<"$rs")" = 1 ] ||
  fc_fail "release status: $rs"
# Config status takes the later of the agent's report and its last config request, which
# may be a few seconds after its last report.
config_offline() { [ "$(fc_cli config status "$rev" --json | fc_json_num offline)" = 1 ]; }
fc_wait_for "config status to count b1 offline" 15 config_offline
cs=$(fc_cli config status "$rev" --json | tr -d ' \n')
grep -qF '"id":"b1","group":"","state":"applied","message":"level","last_seen":' <<<"$cs" &&
  grep -qF '"id":"b0","group":"","state":"applied","message":"level","last_seen":' <<<"$cs" ||
  fc_fail "config status: $cs"
grep -q '"id":"b1"[^}]*"offline":true' <<<"$cs" && grep -q '"id":"b0"[^}]*"offline":false' <<<"$cs" ||
  fc_fail "config status marks the wrong agent offline: $cs"
grep -q "(offline)" <<<"$(fc_cli config status "$rev")" || fc_fail "config status text: $(fc_cli config status "$rev")"
fc_pass "release status and config status count b1 offline"
