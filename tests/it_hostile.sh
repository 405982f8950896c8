#!/usr/bin/env bash
# it_hostile.sh: malformed, truncated, oversized and unknown frames at the broker, and a peer
# that keeps sending garbage: each gets an ERROR or is dropped, the garbage key is ignored
# (on a new connection too; another key is served),
# and all the while a well-behaved agent installs a release; nothing is stored from the
# garbage. An agent facing a garbage-spewing broker exits with a clear error.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only
command -v sqlite3 >/dev/null || fc_fail "sqlite3 CLI missing (run.sh installs it)"

data="$FC_TMP/broker"
fc_start_broker "$data"
fc_keygen
mkdir -p "$FC_TMP/src"
fc_random_file "$FC_TMP/src/app" 700
echo one >"$FC_TMP/src/version"
fc_push "$FC_TMP/src" 1 >/dev/null
fc_agent_run a1 || fc_fail "release 1 not installed: $(cat "$FC_TMP/a1.log")"

# The broker counts malformed messages per key (secure mode): the barrage spreads over five
# publisher keys of its own, the flood has one and checks that another is still served.
client_args=("${FC_CLI_SEC_ARGS[@]}")
flood_args=("${FC_CLI_SEC_ARGS[@]}")
if [ "${FC_INSECURE:-0}" != 1 ]; then
  for k in h1 h2 h3 h4 h5 flood bystander; do
    "$FC_CLI_BIN" keygen --out "$FC_TMP/$k" >/dev/null
    "$FC_CLI_BIN" keys add-publisher "$FC_TMP/$k/publisher.cert" --data "$data" >/dev/null
  done
  client_args=(--broker-key "$data/broker.cert")
  for k in h1 h2 h3 h4 h5; do client_args+=(--cert "$FC_TMP/$k/publisher.cert_secret"); done
  flood_args=(--broker-key "$data/broker.cert" --cert "$FC_TMP/flood/publisher.cert_secret"
              --cert "$FC_TMP/bystander/publisher.cert_secret")
  sleep 1.5 # the broker looks at the key dirs once a second
fi

# The barrage, in the background, while release 2 is pushed and the agent installs it.
"$FC_HOSTILE_BIN" "${client_args[@]}" client "$FC_SERVICE" >"$FC_TMP/client.out" 2>&1 &
client_pid=$!
"$FC_HOSTILE_BIN" "${flood_args[@]}" flood "$FC_SERVICE" 150 >"$FC_TMP/flood.out" 2>&1 &
flood_pid=$!
fc_random_file "$FC_TMP/src/app" 900
echo two >"$FC_TMP/src/version"
fc_push "$FC_TMP/src" 2 >/dev/null \
  || fc_fail "push during the barrage"
fc_agent_run a1 || fc_fail "agent could not install during the barrage: $(tail -3 "$FC_TMP/a1.log")"
rc=0; wait "$client_pid" || rc=$?
[ "$rc" = 0 ] || fc_fail "a malformed request was not answered or dropped:
$(grep -E 'FAIL|NOT' "$FC_TMP/client.out" || tail -5 "$FC_TMP/client.out")"
rc=0; wait "$flood_pid" || rc=$?
[ "$rc" = 0 ] || fc_fail "garbage peer: $(cat "$FC_TMP/flood.out")"
kill -0 "$FC_BROKER_PID" || fc_fail "broker died"

[ "$(cat "$FC_TMP/a1/install/current/version")" = two ] || fc_fail "agent did not end on release 2"
cmp -s "$FC_TMP/src/app" "$FC_TMP/a1/install/current/app" || fc_fail "installed app differs"
cases=$(grep -c "still serving" "$FC_TMP/client.out")
for kind in "not msgpack|reserved byte" "wrong version" "int for role" "count 2\^31" \
            "one trailing byte" "MiB of nils" \
            "cut to" "type 999" "as a request" "three frames" "over 1 MiB" "20 MiB frame" \
            "UPLOAD_QUERY size" "of no data" "running past the declared size" "content that is not the blob" \
            "PUT_BLOBS of content that is not the blob" "over FC_MAX_SMALL_BLOB" "nothing stored" \
            "UPLOAD_CHUNKS whose lengths miss its size" "UPLOAD_CHUNKS well formed" \
            "UPLOAD_PREFIXES whose lengths miss its size" "UPLOAD_PREFIXES with a partial entry" \
            "DERIVE_OBJECT of a blob not held"; do
  grep -qE "$kind" "$FC_TMP/client.out" || fc_fail "no case for '$kind' ran"
done
fc_pass "broker answers or drops $cases malformed requests and keeps serving; agent installed release 2 meanwhile"
# A request of another protocol version is refused with the version the broker speaks (an
# agent shows the text: "broker refused HELLO: ..."), never misread.
grep -q "protocol version 3 (a newer agent): error 1 (.*): fleetcast protocol version 3 is not spoken here: this broker speaks version 2; upgrade the broker" "$FC_TMP/client.out" ||
  fc_fail "a version-3 HELLO: $(grep 'version 3' "$FC_TMP/client.out")"
grep -q "protocol version 0 (an older agent): error 1 (.*): fleetcast protocol version 0 is not spoken here: this broker speaks version 2; upgrade the requesting program" "$FC_TMP/client.out" ||
  fc_fail "a version-0 HELLO: $(grep 'version 0' "$FC_TMP/client.out")"
# An agent of protocol version 1 (before manifest format 3) reads its refusal: the ERROR is
# framed in version 1, and fleetcast-hostile decodes it as such.
grep -q "protocol version 1 (an agent of before manifest format 3): error 1 (.*): fleetcast protocol version 1 is not spoken here: this broker speaks version 2; upgrade the requesting program" "$FC_TMP/client.out" ||
  fc_fail "a version-1 HELLO: $(grep 'version 1' "$FC_TMP/client.out")"
fc_pass "a request of another protocol version is told the version the broker speaks"

if [ "${FC_INSECURE:-0}" = 1 ]; then
  grep -q "is ignored; reconnecting with the same (no) key it is served" "$FC_TMP/flood.out" ||
    fc_fail "$(cat "$FC_TMP/flood.out")"
  grep -q "ignoring peer" "$FC_TMP/broker.log" || fc_fail "broker did not log the ignored peer"
else
  grep -q "is ignored; reconnecting with the same key it is ignored" "$FC_TMP/flood.out" &&
    grep -q "another key is served" "$FC_TMP/flood.out" || fc_fail "$(cat "$FC_TMP/flood.out")"
  grep -q "ignoring key" "$FC_TMP/broker.log" || fc_fail "broker did not log the ignored key"
fi
fc_pass "a peer that keeps sending garbage is ignored: $(tr '\n' ' ' <"$FC_TMP/flood.out")"

# Nothing was stored from the garbage: still exactly the two releases, a sound database.
fc_stop "$FC_BROKER_PID"
[ "$(sqlite3 "$data/fleetcast.db" "SELECT count(*) FROM releases;")" = 2 ] || fc_fail "release rows changed"
[ "$(sqlite3 "$data/fleetcast.db" "PRAGMA integrity_check;")" = ok ] || fc_fail "store integrity check"
[ "$(sqlite3 "$data/fleetcast.db" "SELECT count(*) FROM audit WHERE action = 'peer.ignore';")" -ge 1 ] ||
  fc_fail "the ignored peer was not audited"
blob=$(sed -n 's/.*blob \([0-9a-f]\{64\}\): content does not match.*/\1/p' "$FC_TMP/client.out")
[ -n "$blob" ] || fc_fail "no forged blob commit in the output"
[ -z "$(find "$data" -name "*$blob*")" ] || fc_fail "the forged upload was kept: $(find "$data" -name "*$blob*")"
fc_pass "store holds exactly the two pushed releases, no trace of the forged upload; integrity_check ok"

fc_start_garbage_broker 20
rc=0
FC_AGENT_BROKER=$FC_GARBAGE_SERVICE fc_agent_run a2 --timeout 3 || rc=$?
[ "$rc" -ge 1 ] && [ "$rc" -lt 128 ] || fc_fail "agent exit status $rc against a garbage broker"
[ -s "$FC_TMP/a2.log" ] || fc_fail "agent said nothing"
[ ! -e "$FC_TMP/a2/install/current" ] || fc_fail "agent installed something"
fc_pass "agent facing a garbage broker exits $rc with: $(tail -1 "$FC_TMP/a2.log")"
