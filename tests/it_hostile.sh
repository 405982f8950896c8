#!/usr/bin/env bash
# it_hostile.sh: malformed and oversized frames on every socket: the broker answers with an
# error or drops them and keeps serving; an agent facing a garbage-spewing broker exits with
# a clear error instead of crashing.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
"$FC_HOSTILE_BIN" "${FC_CLI_SEC_ARGS[@]}" client "$FC_SERVICE" >"$FC_TMP/hostile.out" || fc_fail "$(cat "$FC_TMP/hostile.out")"
kill -0 "$FC_BROKER_PID" || fc_fail "broker died"
mkdir -p "$FC_TMP/src"; echo x >"$FC_TMP/src/x"
fc_cli release push "$FC_TMP/src" --channel stable --version 1 --key "$FC_TMP/keys/signing.key" >/dev/null \
  || fc_fail "broker stopped serving after garbage"
fc_pass "broker survives $(wc -l <"$FC_TMP/hostile.out") kinds of malformed request and keeps serving"

ports=($(fc_ports 2))
"$FC_HOSTILE_BIN" "${FC_FAKE_BROKER_SEC_ARGS[@]}" broker "tcp://127.0.0.1:${ports[0]}" "tcp://127.0.0.1:${ports[1]}" 20 &
FC_PIDS+=($!)
fc_wait_port "${ports[0]}"
rc=0
FC_AGENT_BROKER="tcp://127.0.0.1:${ports[0]}" fc_agent_run a1 --timeout 3 || rc=$?
[ "$rc" -ge 1 ] && [ "$rc" -lt 128 ] || fc_fail "agent exit status $rc against a garbage broker"
[ -s "$FC_TMP/a1.log" ] || fc_fail "agent said nothing"
[ ! -e "$FC_TMP/a1/install/current" ] || fc_fail "agent installed something"
fc_pass "agent facing a garbage broker exits $rc with: $(tail -1 "$FC_TMP/a1.log")"
