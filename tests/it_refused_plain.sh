#!/usr/bin/env bash
# it_refused_plain.sh: the broker logs a plain client (no CURVE) knocking on its CURVE
# service socket, naming the client's address, at most once a minute per address: the CLI
# with --insecure from 127.0.0.1, and a bare ZMTP 3.0 NULL greeting sent from 127.0.0.2,
# which gets a line of its own.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
[ "${FC_INSECURE:-0}" = 1 ] && fc_skip "this suite is about a CURVE broker refusing plain clients"

fc_start_broker "$FC_TMP/broker"
log="$FC_TMP/broker.log"
line="refused a connection from %s: a plain client (no CURVE) on the CURVE service socket"
logged() { grep -cF "$(printf "$line" "$1")" "$log" || true; }

# The CLI without CURVE: refused at the handshake, it says the broker requires CURVE. The
# broker sees the mismatch, or only the CLI's reset when the CLI saw it first (then the
# broker's line says the connection closed during its handshake); within a few runs it sees
# one.
rc=0
"$FC_CLI_BIN" --broker "$FC_SERVICE" --insecure --timeout 30 status >/dev/null 2>"$FC_TMP/cli.err" || rc=$?
[ "$rc" = 1 ] && grep -q "requires CURVE" "$FC_TMP/cli.err" ||
  fc_fail "the plain CLI: exit $rc: $(cat "$FC_TMP/cli.err")"
has() { [ "$(logged "$1")" -ge 1 ]; }
runs=1
until has 127.0.0.1; do
  [ $runs -lt 20 ] || fc_fail "20 plain CLI runs and no refusal logged: $(grep fleetcast-broker "$log")"
  sleep 0.2
  "$FC_CLI_BIN" --broker "$FC_SERVICE" --insecure --timeout 30 status >/dev/null 2>&1 || true
  runs=$((runs + 1))
done
grep -F "$(printf "$line" 127.0.0.1)" "$log" | grep -q " warning fleetcast-broker: " ||
  fc_fail "the refusal is not a warning in the log format: $(grep refused "$log")"
fc_pass "a plain CLI is refused and logged ($runs runs): $(grep -F "$(printf "$line" 127.0.0.1)" "$log" | head -1)"

# A bare ZMTP greeting with the NULL mechanism, from another address: the broker names it.
greet() { # SOURCE_ADDRESS: connects from it, sends a NULL greeting, reads until closed
  python3 - "$1" "${FC_SERVICE##*:}" <<'PY'
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
s.settimeout(5)
s.connect(("127.0.0.1", int(sys.argv[2])))
# ZMTP 3.0 greeting: signature, version 3.0, mechanism NULL, as-server 0, filler.
s.sendall(b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0") + b"\0" * 32)
try:
    while s.recv(4096):
        pass
except (socket.timeout, ConnectionResetError):
    pass
PY
}
greet 127.0.0.2
fc_wait_for "the broker to log the plain client from 127.0.0.2" 5 has 127.0.0.2
fc_pass "a bare NULL greeting from 127.0.0.2 is logged with that address"

# Once a minute per address: more knocks from both add no line (the rate window is a minute).
"$FC_CLI_BIN" --broker "$FC_SERVICE" --insecure --timeout 30 status >/dev/null 2>&1 || true
for _ in 1 2 3; do greet 127.0.0.2; done
sleep 1
[ "$(logged 127.0.0.1)" = 1 ] && [ "$(logged 127.0.0.2)" = 1 ] ||
  fc_fail "more than one line per address within a minute: $(grep refused "$log")"
fc_pass "one line per address within the minute, however often it knocks"

# A client that speaks CURVE with an enrolled key is not called a plain client.
fc_cli status >/dev/null || fc_fail "the enrolled CLI is refused"
[ "$(grep -c "refused a connection" "$log")" = 2 ] ||
  fc_fail "an enrolled client was logged as refused: $(grep refused "$log")"
fc_pass "an enrolled CURVE client is not logged"
