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

# One log format: RFC 3339 UTC time with milliseconds, level, program, message.
rfc3339='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z (error|warning|notice|info|debug) '
fc_wait_for "the broker's first line" 5 grep -q "serving" "$FC_TMP/broker.log"
grep -Eq "${rfc3339}fleetcast-broker: version $version.* serving " "$FC_TMP/broker.log" ||
  fc_fail "broker log line: $(head -1 "$FC_TMP/broker.log")"
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

grep -Eq "${rfc3339}fleetcast-agent: agent a1: " "$FC_TMP/a1.log" ||
  fc_fail "agent log line: $(head -1 "$FC_TMP/a1.log")"
# --log-format json: one object a line.
fc_config_agent j1 --log-format json
fc_wait_for "j1 to install" 20 test -f "$FC_TMP/j1/install/current/app"
grep -Eq '^\{"time":"[0-9T:.-]+Z","level":"info","program":"fleetcast-agent","message":"agent j1: ' "$FC_TMP/j1.log" ||
  fc_fail "json log line: $(head -1 "$FC_TMP/j1.log")"
# stderr is the journal ($JOURNAL_STREAM names its device and inode): priority prefixes.
touch "$FC_TMP/journal.log"
js="$(stat -c %d "$FC_TMP/journal.log"):$(stat -c %i "$FC_TMP/journal.log")"
JOURNAL_STREAM=$js fc_agent_run jr 2>>"$FC_TMP/journal.log" || true
JOURNAL_STREAM=$js "$FC_AGENT_BIN" "${FC_AGENT_SEC_ARGS[@]}" --broker "$FC_SERVICE" --channel stable \
  --install "$FC_TMP/jd/install" --state "$FC_TMP/jd/state" --trust "$FC_TMP/keys/signing.pub" \
  --id jd 2>>"$FC_TMP/journal.log" &
jd=$!
FC_PIDS+=("$jd")
fc_wait_for "jd to log to the journal" 10 grep -q '^<6>fleetcast-agent: agent jd: ' "$FC_TMP/journal.log"
grep -Eq '^[0-9]{4}-' "$FC_TMP/journal.log" && fc_fail "a timestamp went to the journal: $(cat "$FC_TMP/journal.log")"
fc_stop "$jd"
rc=0
"$FC_AGENT_BIN" --log-level loud >/dev/null 2>"$FC_TMP/ll.err" || rc=$?
[ "$rc" = 1 ] && grep -qF -- "--log-level needs one of error, warning, notice, info, debug, not 'loud'" "$FC_TMP/ll.err" ||
  fc_fail "--log-level loud: status $rc: $(cat "$FC_TMP/ll.err")"
fc_pass "one log format (RFC 3339 ms, level, program), --log-format json, journal priorities, --log-level checked"

# SIGHUP reloads the agent: a key added to its --trust file counts, and a transfer under
# way goes on. a2 trusts only the suite's key at first.
"$FC_CLI_BIN" keygen --out "$FC_TMP/keys2" >/dev/null
cp "$FC_TMP/keys/signing.pub" "$FC_TMP/a2.trust"
FC_TRUST="$FC_TMP/a2.trust" fc_config_agent a2
a2=$FC_LAST_PID
fc_wait_for "a2 to install v1" 20 test -f "$FC_TMP/a2/install/current/app"
fc_random_file "$FC_TMP/src/app" 20480 # 20 MiB
fc_cli release push "$FC_TMP/src" --channel stable --version 2 --key "$FC_TMP/keys2/signing.key" \
  --cert "$FC_TMP/keys/publisher.cert_secret" >/dev/null
fc_wait_for "a2 to reject v2 (untrusted key)" 20 grep -q "rejected" "$FC_TMP/a2.log"
cat "$FC_TMP/keys2/signing.pub" >>"$FC_TMP/a2.trust"
kill -HUP "$a2"
fc_wait_for "a2 to reload" 10 grep -qF "SIGHUP: reloading" "$FC_TMP/a2.log"
grep -qF "trusted keys read again from $FC_TMP/a2.trust" "$FC_TMP/a2.log" || fc_fail "no reload line: $(cat "$FC_TMP/a2.log")"
# More hangups while it downloads: none may stop or restart the transfer.
for _ in 1 2 3; do kill -HUP "$a2" 2>/dev/null || break; sleep 0.2; done
fc_wait_for "a2 to install v2 under the reloaded keys" 60 cmp -s "$FC_TMP/src/app" "$FC_TMP/a2/install/current/app"
kill -0 "$a2" || fc_fail "SIGHUP killed the agent"
grep -q "connection lost\|starting over" "$FC_TMP/a2.log" && fc_fail "a hangup disturbed the transfer: $(cat "$FC_TMP/a2.log")"
fc_pass "SIGHUP: the agent reads its --trust file again and keeps its transfers; it does not die"

kill -HUP "$FC_BROKER_PID"
fc_wait_for "the broker to log the hangup" 10 grep -qF "SIGHUP" "$FC_TMP/broker.log"
kill -0 "$FC_BROKER_PID" || fc_fail "SIGHUP killed the broker"
fc_cli status >/dev/null || fc_fail "the broker does not answer after SIGHUP"
fc_pass "SIGHUP does not kill the broker"

# Type=notify: READY once serving, RELOADING/READY around SIGHUP, STOPPING on the way out,
# sent to $NOTIFY_SOCKET as systemd would read them (a datagram socket here).
fc_notify_listen 30
ports=($(fc_ports 2))
NOTIFY_SOCKET="$FC_TMP/notify.sock" "$FC_BROKER_BIN" --data "$data" --service "tcp://127.0.0.1:${ports[0]}" \
  --announce "tcp://127.0.0.1:${ports[1]}" 2>>"$FC_TMP/b2.log" &
b2=$!
FC_PIDS+=("$b2")
notified() { [ "$(fc_notified "$1")" -ge "$2" ]; }
fc_wait_for "READY=1 from the broker" 10 notified READY=1 1
kill -HUP "$b2"
fc_wait_for "RELOADING=1 from the broker" 10 notified RELOADING=1 1
fc_wait_for "READY=1 again" 10 notified READY=1 2
fc_stop "$b2"
notified STOPPING=1 1 || fc_fail "no STOPPING=1: $(cat "$FC_TMP/notify.log")"
fc_pass "the broker tells systemd READY, RELOADING and STOPPING (sd_notify)"
