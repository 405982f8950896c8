#!/usr/bin/env bash
# it_rollback.sh: a compromised broker replaying old signed data cannot roll an agent back or
# mix and match: a different manifest under the installed serial, a blob whose bytes do not
# match the signed manifest, a manifest signed for another channel, and an old config revision
# served again under a new number are all refused, and what runs stays as it was.
# (it_reject.sh covers older serials, tampered manifests, untrusted keys and bad paths.)
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only
command -v sqlite3 >/dev/null || fc_skip "sqlite3 CLI missing"

data="$FC_TMP/broker"
db="$data/fleetcast.db"
fc_start_broker "$data"
fc_keygen
K="$FC_TMP/keys/signing.key"
mkdir -p "$FC_TMP/src"
for v in 1 2 3; do
  echo "v$v" >"$FC_TMP/src/app"
  fc_cli release push "$FC_TMP/src" --channel stable --version "$v" --key "$K" >/dev/null
done
fc_config set level=1 >/dev/null
fc_config set level=2 >/dev/null
fc_agent_run a1 || fc_fail "first run: $(cat "$FC_TMP/a1.log")"
app() { cat "$FC_TMP/a1/install/current/app"; }
[ "$(app)" = v3 ] && fc_config_has a1 level 2 || fc_fail "setup: $(app) $(fc_config_text a1)"
: >"$FC_TMP/a1.log"
with_broker_stopped() { fc_stop "$FC_BROKER_PID"; "$@"; fc_restart_broker "$data"; }

# 1. Another manifest, validly signed, under the installed serial 3: nothing is installed.
"$FC_FORGE_BIN" sign --key "$K" --out "$FC_TMP/same.m" --serial 3 --version evil --path app
swap_serial3() {
  sqlite3 "$db" "UPDATE releases SET manifest = readfile('$FC_TMP/same.m'), version = 'evil'
                 WHERE serial = 3;"
}
with_broker_stopped swap_serial3
fc_agent_run a1 || fc_fail "same serial: exit $?: $(cat "$FC_TMP/a1.log")"
[ "$(app)" = v3 ] || fc_fail "a different manifest under the installed serial was installed"
fc_pass "a different manifest under the installed serial: not installed ($(fc_json_field "$FC_TMP/a1.json" state))"

# 2. A manifest signed for another channel, served on ours with a higher serial: refused.
"$FC_FORGE_BIN" sign --key "$K" --out "$FC_TMP/beta.m" --channel beta --serial 9 --version b9 --path app
add_beta() {
  sqlite3 "$db" "INSERT INTO releases (channel, serial, version, product, manifest, size, files,
    created, mandatory, seq, committed) VALUES ('stable', 9, 'b9', 'default',
    readfile('$FC_TMP/beta.m'), 6, 1, 1700000000, 0, 0, 0);"
}
with_broker_stopped add_beta
rc=0
fc_agent_run a1 || rc=$?
[ "$rc" = 1 ] && grep -q "channel" "$FC_TMP/a1.log" || fc_fail "other channel's manifest: exit $rc: $(cat "$FC_TMP/a1.log")"
[ "$(app)" = v3 ] || fc_fail "other channel's release installed"
fc_pass "a manifest signed for another channel: $(grep -m1 -o 'rejected.*' "$FC_TMP/a1.log")"
with_broker_stopped sqlite3 "$db" "DELETE FROM releases WHERE serial = 9;"
: >"$FC_TMP/a1.log"

# 3. Mix and match: release 4 is genuine, but the broker serves other bytes for its file.
echo "v4" >"$FC_TMP/src/app"
fc_cli release push "$FC_TMP/src" --channel stable --version 4 --key "$K" --serial 4 >/dev/null
blob=$(grep -rlx "v4" "$data/blobs")
[ -n "$blob" ] || fc_fail "blob of release 4 not found"
with_broker_stopped sh -c "chmod u+w '$blob'; printf 'ev1\n' >'$blob'"
rc=0
fc_agent_run a1 --timeout 3 || rc=$?
[ "$rc" = 1 ] || fc_fail "swapped blob: exit $rc: $(cat "$FC_TMP/a1.json")"
[ "$(fc_json_field "$FC_TMP/a1.json" hash_errors)" -gt 0 ] || fc_fail "no hash errors: $(cat "$FC_TMP/a1.json")"
[ "$(app)" = v3 ] || fc_fail "swapped blob installed"
# And the agent does not hammer a broker that serves bad bytes: a bad chunk is asked for
# again after a pause, not at once (one chunk, three seconds: a handful of tries).
[ "$(fc_json_field "$FC_TMP/a1.json" hash_errors)" -le 10 ] ||
  fc_fail "bad chunk re-requested in a tight loop: $(fc_json_field "$FC_TMP/a1.json" hash_errors) tries in 3 s"
fc_pass "bytes that do not match the signed manifest: never installed ($(fc_json_field "$FC_TMP/a1.json" hash_errors) bad chunks)"

# 4. Config: revision 1's signed bytes served again as revision 3: ignored, level stays 2.
#    (The blob is put right first, so the release part of the run finishes.)
replay_rev1() {
  printf 'v4\n' >"$blob"
  sqlite3 "$db" "INSERT INTO config_revisions SELECT 3, kind, scope, signed, created, committed,
    signer, canary, halt_percent, target, promoted_by, halted, halt_reason, seq + 10
    FROM config_revisions WHERE rev = 1; UPDATE meta SET value = value + 10 WHERE key = 'seq';"
}
with_broker_stopped replay_rev1
: >"$FC_TMP/a1.log"
fc_agent_run a1 --timeout 3 --verbose || true
fc_config_has a1 level 2 || fc_fail "old config revision applied: $(fc_config_text a1)"
grep -q "revision 1 ignored: not above 2" "$FC_TMP/a1.log" ||
  fc_fail "replayed revision not noticed: $(cat "$FC_TMP/a1.log")"
fc_pass "an old config revision served again: $(grep -m1 -o 'config revision 1 ignored.*' "$FC_TMP/a1.log")"
