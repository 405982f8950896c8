#!/usr/bin/env bash
# it_reject.sh: releases an agent must refuse: signed by an untrusted key, tampered on the
# broker, with path traversal, or older than what is installed. Each is rejected with a clear
# message, nothing is written outside the state dir, and the running version is untouched.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only
command -v sqlite3 >/dev/null || fc_fail "sqlite3 CLI missing (run.sh installs it)"

data="$FC_TMP/broker"
fc_start_broker "$data"
fc_keygen
"$FC_CLI_BIN" keygen --out "$FC_TMP/rogue" >/dev/null
mkdir -p "$FC_TMP/src"
echo one >"$FC_TMP/src/app"

install="$FC_TMP/a1/install"
# Everything under the install dir, except directories (staging may leave empty ones).
files_in_install() { find "$install" -mindepth 1 ! -type d 2>/dev/null | sort || true; }
expect_reject() { # what pattern
  local what=$1 pattern=$2 before; before=$(files_in_install)
  if fc_agent_run a1; then fc_fail "$what: agent accepted it"; fi
  grep -qiE "$pattern" "$FC_TMP/a1.log" || fc_fail "$what: no clear message: $(tail -3 "$FC_TMP/a1.log")"
  [ "$(files_in_install)" = "$before" ] || fc_fail "$what: the install dir changed"
  [ ! -e "$FC_TMP/evil" ] && [ ! -e "$FC_TMP/a1/evil" ] || fc_fail "$what: wrote outside"
  local said; said=$(grep -m1 -iE "$pattern" "$FC_TMP/a1.log")
  : >"$FC_TMP/a1.log"
  fc_pass "$what: rejected: $said"
}

# 1. Signed by a key the agent does not trust.
fc_cli release push "$FC_TMP/src" --channel stable --version 1 --key "$FC_TMP/rogue/signing.key" >/dev/null
expect_reject "untrusted key" "trust"
[ ! -e "$install/current" ] || fc_fail "untrusted release installed"

# A good install to protect: serials 2 and 3 signed by the trusted key.
echo two >"$FC_TMP/src/app"
fc_push "$FC_TMP/src" 2 >/dev/null
echo three >"$FC_TMP/src/app"
fc_push "$FC_TMP/src" 3 >/dev/null
fc_agent_run a1 || fc_fail "valid release 3 not installed: $(cat "$FC_TMP/a1.log")"
[ "$(cat "$install/current/app")" = three ] || fc_fail "release 3 content"
: >"$FC_TMP/a1.log"

# From here the broker is compromised: we edit its database while it is stopped.
db="$data/fleetcast.db"
insert_release() { # serial file
  sqlite3 "$db" "INSERT INTO releases (channel, serial, version, product, manifest, size, files,
    created, mandatory, seq, committed) VALUES ('stable', $1, 'evil$1', 'default',
    readfile('$2'), 6, 1, 1700000000, 0, 0, 0);"
}
with_broker_stopped() { fc_stop "$FC_BROKER_PID"; "$@"; fc_restart_broker "$data"; }

# 2. A tampered manifest (one byte of the signed body flipped).
sqlite3 "$db" "SELECT writefile('$FC_TMP/m3', manifest) FROM releases WHERE serial = 3;" >/dev/null
"$FC_FORGE_BIN" tamper --in "$FC_TMP/m3" --out "$FC_TMP/m3.bad" --offset 40
with_broker_stopped insert_release 10 "$FC_TMP/m3.bad"
expect_reject "tampered manifest" "signature"

# 3. Path traversal, absolute path, validly signed by the trusted key.
for p in "../../evil" "/$FC_TMP/evil" "bin/../../../evil"; do
  "$FC_FORGE_BIN" sign --key "$FC_TMP/keys/signing.key" --out "$FC_TMP/evil.m" --serial 20 \
    --version evil --path "$p"
  with_broker_stopped sqlite3 "$db" "DELETE FROM releases WHERE serial >= 10;"
  with_broker_stopped insert_release 20 "$FC_TMP/evil.m"
  expect_reject "path '$p'" "path"
done

# 4. A replayed older release (the broker rolled back to serial 2 while 3 is installed).
with_broker_stopped sqlite3 "$db" "DELETE FROM releases WHERE serial >= 3;"
expect_reject "older serial" "serial|older"
[ "$(cat "$install/current/app")" = three ] || fc_fail "running version changed"
fc_pass "running version untouched through every rejection"
