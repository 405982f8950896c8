#!/usr/bin/env bash
# it_conffile.sh: the config files (ZPL "name = value"): the broker, the agent and the CLI
# run from a file alone (--config, $FLEETCAST_CONFIG), the command line wins over the file,
# and an unknown key or a bad value is an error naming the file, the line and the key.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
[ "${FC_INSECURE:-0}" = 1 ] && fc_skip "the files here carry the secure mode's keys"

data="$FC_TMP/broker"
fc_secure_setup "$data"
ports=($(fc_ports 2))
service="tcp://127.0.0.1:${ports[0]}"
cat >"$FC_TMP/broker.conf" <<CONF
# fleetcast-broker
data = "$data"
service = "$service"
announce = "tcp://127.0.0.1:${ports[1]}"
log-level = info
CONF
"$FC_BROKER_BIN" --config "$FC_TMP/broker.conf" >>"$FC_TMP/broker.log" 2>&1 &
FC_PIDS+=($!)
fc_wait_port "${ports[0]}" || fc_fail "the broker did not start from its file: $(cat "$FC_TMP/broker.log")"
fc_pass "the broker runs from its config file alone"

cat >"$FC_TMP/cli.conf" <<CONF
broker = "$service"
broker-key = "$data/broker.cert"
cert = "$FC_TMP/keys/publisher.cert_secret"
key = "$FC_TMP/keys/signing.key"
quiet = true
CONF
mkdir -p "$FC_TMP/src"
echo v1 >"$FC_TMP/src/app"
FLEETCAST_CONFIG="$FC_TMP/cli.conf" "$FC_CLI_BIN" release push "$FC_TMP/src" --channel stable --version 1 >/dev/null ||
  fc_fail "a push configured from \$FLEETCAST_CONFIG failed"
FLEETCAST_CONFIG="$FC_TMP/cli.conf" "$FC_CLI_BIN" status >/dev/null || fc_fail "status from the file failed"
fc_pass "the CLI takes broker, broker key, cert and signing key from \$FLEETCAST_CONFIG"

cat >"$FC_TMP/agent.conf" <<CONF
broker = "$service"
broker-key = "$data/broker.cert"
key = "$FC_TMP/keys/agent.cert_secret"
channel = nosuch
install = "$FC_TMP/a1/install"
state = "$FC_TMP/a1/state"
trust = "$FC_TMP/keys/signing.pub"
id = a1
once = true
timeout = 20
CONF
# The command line wins: --channel stable over the file's nosuch.
"$FC_AGENT_BIN" --config "$FC_TMP/agent.conf" --channel stable >/dev/null 2>"$FC_TMP/a1.log" ||
  fc_fail "the agent from its file failed: $(cat "$FC_TMP/a1.log")"
[ "$(cat "$FC_TMP/a1/install/current/app")" = v1 ] || fc_fail "a1 did not install v1"
rc=0
"$FC_AGENT_BIN" --config "$FC_TMP/agent.conf" >/dev/null 2>"$FC_TMP/a1b.log" || rc=$?
[ "$rc" = 1 ] && grep -qF "channel 'nosuch'" "$FC_TMP/a1b.log" || fc_fail "the file's channel was not used: $rc $(cat "$FC_TMP/a1b.log")"
fc_pass "the agent runs from its config file; the command line wins over it"

# Mistakes name the file, the line and the key.
printf 'broker = "%s"\nchanel = stable\n' "$service" >"$FC_TMP/typo.conf"
rc=0
"$FC_AGENT_BIN" --config "$FC_TMP/typo.conf" 2>"$FC_TMP/err" || rc=$?
[ "$rc" = 1 ] && grep -qF "$FC_TMP/typo.conf line 2: unknown key 'chanel' (did you mean 'channel'?)" "$FC_TMP/err" ||
  fc_fail "agent, unknown key: $rc $(cat "$FC_TMP/err")"
printf 'data = /x\nrestart-share = 120\n' >"$FC_TMP/bad.conf"
rc=0
"$FC_BROKER_BIN" --config "$FC_TMP/bad.conf" 2>"$FC_TMP/err" || rc=$?
[ "$rc" = 2 ] && grep -qF "$FC_TMP/bad.conf line 2, key restart-share: --restart-share" "$FC_TMP/err" ||
  fc_fail "broker, bad value: $rc $(cat "$FC_TMP/err")"
printf '# cli\n\ntimeout = soon\n' >"$FC_TMP/badcli.conf"
rc=0
FLEETCAST_CONFIG="$FC_TMP/badcli.conf" "$FC_CLI_BIN" status 2>"$FC_TMP/err" || rc=$?
[ "$rc" = 2 ] && grep -qF "$FC_TMP/badcli.conf line 3, key timeout: --timeout" "$FC_TMP/err" &&
  grep -qF "'soon'" "$FC_TMP/err" || fc_fail "CLI, bad value: $rc $(cat "$FC_TMP/err")"
printf 'once = sometimes\n' >"$FC_TMP/badflag.conf"
rc=0
"$FC_AGENT_BIN" --config "$FC_TMP/badflag.conf" 2>"$FC_TMP/err" || rc=$?
[ "$rc" = 1 ] && grep -qF "$FC_TMP/badflag.conf line 1, key once: want true or false, not 'sometimes'" "$FC_TMP/err" ||
  fc_fail "agent, bad flag: $rc $(cat "$FC_TMP/err")"
fc_pass "an unknown key or a bad value names the file, the line and the key"

# SIGHUP reads the file again: the log settings apply at once, the rest is named as
# applying at the next restart; a broken file keeps the running settings.
sed -e 's/^once = true$//' -e 's/^channel = nosuch$/channel = stable/' -e "s|/a1/|/d1/|g" -e 's/^id = a1$/id = d1/' \
  "$FC_TMP/agent.conf" >"$FC_TMP/d1.conf"
"$FC_AGENT_BIN" --config "$FC_TMP/d1.conf" 2>"$FC_TMP/d1.log" &
d1=$!
FC_PIDS+=("$d1")
fc_wait_for "d1 to install" 20 test -f "$FC_TMP/d1/install/current/app"
sed -i 's/^timeout = 20$/timeout = 40/' "$FC_TMP/d1.conf"
echo 'log-format = json' >>"$FC_TMP/d1.conf"
kill -HUP "$d1"
fc_wait_for "d1 to read its file again" 10 grep -qF "SIGHUP: $FC_TMP/d1.conf read again; changed: timeout, log-format" "$FC_TMP/d1.log"
echo v2 >"$FC_TMP/src/app"
FLEETCAST_CONFIG="$FC_TMP/cli.conf" "$FC_CLI_BIN" release push "$FC_TMP/src" --channel stable --version 2 >/dev/null
fc_wait_for "d1 to log in JSON" 20 grep -q '^{"time":"[^"]*","level":"info","program":"fleetcast-agent","message":"agent d1: ' "$FC_TMP/d1.log"
echo "chanel = x" >>"$FC_TMP/d1.conf"
kill -HUP "$d1"
fc_wait_for "d1 to refuse the broken file" 10 grep -qF "unknown key 'chanel' (did you mean 'channel'?); the running settings stay" "$FC_TMP/d1.log"
kill -0 "$d1" || fc_fail "a broken file on SIGHUP stopped the agent"
fc_pass "SIGHUP reads the file again: log settings at once, the rest named; a broken file changes nothing"
