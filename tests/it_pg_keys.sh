#!/usr/bin/env bash
# it_pg_keys.sh: enrolled keys in the shared PostgreSQL store (issue 17): two brokers (own data
# dirs, one shared broker certificate) on one database; an agent key enrolled once with
# `fleetcast keys add-agent --store` is written into both brokers' keys/agents/ and installs
# a release through each; `keys list --store --json` shows it; `keys revoke --store` removes
# it at both and new connections with it are refused at both, while the keys enrolled there
# as files by hand keep working. Prints how long enrolment and revocation took to reach each.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

[ "${FC_INSECURE:-0}" = 1 ] && fc_skip "this suite is about keys, in the secure mode"
# Under FC_STORE=postgresql lib.sh has started the server already.
[ -n "${FC_TEST_PG:-}" ] || source "$(dirname "$0")/pg.sh"

# One CURVE identity for the fleet: the same broker certificate in both data dirs.
mkdir -p "$FC_TMP/a" "$FC_TMP/b"
"$FC_CLI_BIN" keygen --role broker --out "$FC_TMP/a" >/dev/null
cp "$FC_TMP/a/broker.cert" "$FC_TMP/a/broker.cert_secret" "$FC_TMP/b/"
fc_start_broker "$FC_TMP/a" --store "$FC_TEST_PG"
A=$FC_SERVICE
fc_start_broker "$FC_TMP/b" --store "$FC_TEST_PG"
B=$FC_SERVICE
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/app.bin" 200
FC_SERVICE=$A fc_push "$src" 1 >/dev/null || fc_fail "push through A"
# Blobs are each data dir's own (README: not shared between brokers on other machines yet):
# B serves the release from a copy, as an operator would give it one.
mkdir -p "$FC_TMP/b/blobs"
cp -r "$FC_TMP/a/blobs/." "$FC_TMP/b/blobs/"

"$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/k" >/dev/null
# A few tries, not fc_wait_for's many: each try that fails takes the agent's whole --timeout.
tries() { # WHAT COMMAND...
  local what=$1; shift
  for _ in 1 2 3; do "$@" && return 0; sleep 1; done
  fc_fail "$what (three tries)"
}
once() { # NAME ENDPOINT KEY_SECRET [more agent options]
  local n=$1 ep=$2 key=$3; shift 3
  FC_AGENT_SEC_ARGS=(--broker-key "$FC_TMP/a/broker.cert" --key "$key")
  FC_AGENT_BROKER="$ep" fc_agent_run "$n" "$@"
}
rc=0; once pre "$A" "$FC_TMP/k/agent.cert_secret" --timeout 3 || rc=$?
[ "$rc" = 1 ] || fc_fail "the key not enrolled yet got exit status $rc at broker A"
fc_pass "a key enrolled nowhere is refused"

out=$("$FC_CLI_BIN" keys add-agent "$FC_TMP/k/agent.cert" --store "$FC_TEST_PG") ||
  fc_fail "keys add-agent --store: $out"
key=$(echo "$out" | awk '{ print $4 }')
[ ${#key} = 40 ] || fc_fail "keys add-agent --store printed no key: $out"
t0=$(date +%s%N)
holds() { grep -rqsF -e "$key" "$FC_TMP/$1/keys/agents/"; }
fc_wait_for "broker A to hold the new key" 15 holds a
ta=$(date +%s%N)
fc_wait_for "broker B to hold the new key" 15 holds b
tb=$(date +%s%N)
echo "figure: enrolment in the database reached broker A's keys/ in $(( (ta - t0) / 1000000 )) ms, B's in $(( (tb - t0) / 1000000 )) ms"
tries "the new key's agent to install through broker A" \
  once ka "$A" "$FC_TMP/k/agent.cert_secret" --timeout 5
tries "the new key's agent to install through broker B" \
  once kb "$B" "$FC_TMP/k/agent.cert_secret" --timeout 5
diff -r "$src" "$FC_TMP/ka/install/current/" || fc_fail "the tree through broker A differs"
diff -r "$src" "$FC_TMP/kb/install/current/" || fc_fail "the tree through broker B differs"
fc_pass "an agent key enrolled once in the database installs through broker A and broker B"

json=$("$FC_CLI_BIN" keys list --store "$FC_TEST_PG" --json | tr -d ' \n')
echo "$json" | grep -qF "\"role\":\"agent\",\"key\":\"$key\"" ||
  fc_fail "keys list --store --json does not show the agent key: $json"
fc_pass "keys list --store --json shows it"

out=$("$FC_CLI_BIN" keys revoke "$FC_TMP/k/agent.cert" --store "$FC_TEST_PG") ||
  fc_fail "keys revoke --store: $out"
t0=$(date +%s%N)
gone() { ! holds "$1"; }
fc_wait_for "broker A to drop the revoked key" 15 gone a
ta=$(date +%s%N)
fc_wait_for "broker B to drop the revoked key" 15 gone b
tb=$(date +%s%N)
echo "figure: revocation in the database reached broker A's keys/ in $(( (ta - t0) / 1000000 )) ms, B's in $(( (tb - t0) / 1000000 )) ms"
sleep 2 # each broker's keyring looks at keys/ once a second
rc=0; once ra "$A" "$FC_TMP/k/agent.cert_secret" --timeout 3 || rc=$?
[ "$rc" = 1 ] || fc_fail "a new connection with the revoked key at broker A got exit status $rc"
rc=0; once rb "$B" "$FC_TMP/k/agent.cert_secret" --timeout 3 || rc=$?
[ "$rc" = 1 ] || fc_fail "a new connection with the revoked key at broker B got exit status $rc"
fc_pass "revoked in the database, the key is refused at both brokers"
rc=0; "$FC_CLI_BIN" keys revoke "$FC_TMP/k/agent.cert" --store "$FC_TEST_PG" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fc_fail "revoking a key no longer enrolled gave exit status $rc"

# The suite's agent key, enrolled in each data dir as a file by hand, was left alone.
once ha "$A" "$FC_TMP/keys/agent.cert_secret" --timeout 10 || fc_fail "hand-enrolled key at A"
once hb "$B" "$FC_TMP/keys/agent.cert_secret" --timeout 10 || fc_fail "hand-enrolled key at B"
fc_pass "keys enrolled as files by hand keep working at both brokers"
