#!/usr/bin/env bash
# it_status_file.sh: fleetcast-agent --status-file: the JSON file node-level tools read says
# the agent's state, version and download progress as they change, is always whole when read
# (rewritten atomically), keeps the last error after the agent moves on, and an unwritable
# path stops the agent at start.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
mkdir -p "$FC_TMP/src"
fc_random_file "$FC_TMP/src/app" 64
fc_push "$FC_TMP/src" 1 >/dev/null

sf="$FC_TMP/a1.status.json"
field() { # KEY [SUBKEY]: a field of the status file (python3: it must parse whole)
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    d = d[k] if d is not None else None
print("null" if d is None else d)' "$sf" "$@"
}
# The health hook fails while $FC_TMP/unhealthy exists: a release then rolls back, failed.
fc_start_proxy --rate 1048576
FC_AGENT_BROKER=$FC_PROXY fc_config_agent a1 --status-file "$sf" \
  --exec-health "test ! -e $FC_TMP/unhealthy"
fc_wait_for "the status file to say version 1" 30 bash -c "[ \"\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"version\"])' $sf 2>/dev/null)\" = 1 ]"
[ "$(field id)" = a1 ] && [ "$(field channel)" = stable ] || fc_fail "id/channel: $(cat "$sf")"
[ "$(field last_error)" = null ] || fc_fail "a last error before any: $(cat "$sf")"
fc_pass "the status file names the agent, its channel and version 1, no error"

# Release 2, 6 MiB at 1 MiB/s: the file shows the download moving (rewritten at most once a
# second while only progress moves), and parses every time it is read.
fc_random_file "$FC_TMP/src/app" 6144
fc_push "$FC_TMP/src" 2 >/dev/null
snap() { # "state version done total" from one whole read, or fails
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["state"], d["version"], d["progress"]["done"], d["progress"]["total"])' "$sf"
}
reads=0
: >"$FC_TMP/progress"
deadline=$((SECONDS + 90))
while [ $SECONDS -lt $deadline ]; do
  reads=$((reads + 1))
  read -r state version done_ total < <(snap) ||
    fc_fail "read $reads: the status file does not parse: $(cat "$sf")"
  [ "$state" = downloading ] && [ "$total" -gt 0 ] && [ "$done_" -gt 0 ] &&
    [ "$done_" -lt "$total" ] && echo "$done_" >>"$FC_TMP/progress"
  [ "$version" = 2 ] && break
  sleep 0.05
done
[ "$(field version)" = 2 ] || fc_fail "never reached version 2: $(cat "$sf")"
moves=$(sort -un "$FC_TMP/progress" | wc -l)
[ "$moves" -ge 2 ] || fc_fail "the download's progress was seen at $moves value(s): $(tr '\n' ' ' <"$FC_TMP/progress")"
fc_pass "$reads reads during release 2, each whole; progress seen at $moves values; then version 2"

# Release 3 fails its health check and rolls back: the failure is the last error, and it
# stays after the agent installs release 4.
touch "$FC_TMP/unhealthy"
fc_random_file "$FC_TMP/src/app" 16
fc_push "$FC_TMP/src" 3 >/dev/null
fc_wait_for "a last error in the status file" 30 bash -c "grep -q '\"last_error\":{' $sf"
# A failed health check whose swap back worked reports rolled-back (release rollouts count it).
[ "$(field last_error state)" = rolled-back ] || fc_fail "last error: $(cat "$sf")"
msg=$(field last_error message)
[ -n "$msg" ] || fc_fail "the last error says nothing: $(cat "$sf")"
[ "$(field version)" = 2 ] || fc_fail "not rolled back to 2: $(cat "$sf")"
rm "$FC_TMP/unhealthy"
fc_random_file "$FC_TMP/src/app" 16
fc_push "$FC_TMP/src" 4 >/dev/null
fc_wait_for "version 4 in the status file" 30 bash -c "grep -q '\"version\":\"4\"' $sf"
[ "$(field last_error message)" = "$msg" ] || fc_fail "the last error was lost: $(cat "$sf")"
fc_pass "a failed health check is the last error ($msg), kept after version 4 installs"

# A path that cannot be written: the agent says so and exits 1 at once.
set +e
"$FC_AGENT_BIN" "${FC_AGENT_SEC_ARGS[@]}" --broker "$FC_SERVICE" --channel stable \
  --install "$FC_TMP/b1/install" --state "$FC_TMP/b1/state" --trust "$FC_TMP/keys/signing.pub" \
  --id b1 --status-file "$FC_TMP/no/such/dir/status.json" >/dev/null 2>"$FC_TMP/b1.err"
rc=$?
set -e
[ $rc = 1 ] || fc_fail "unwritable --status-file: exit $rc, not 1"
grep -q 'status-file' "$FC_TMP/b1.err" || fc_fail "no reason given: $(cat "$FC_TMP/b1.err")"
fc_pass "an unwritable --status-file stops the agent at start (exit 1, says why)"
