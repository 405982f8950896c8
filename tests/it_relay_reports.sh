#!/usr/bin/env bash
# it_relay_reports.sh: reports up through relays (--insecure links): a root, relay site1
# (reached through a fault proxy) and relay site2, two agents behind each. At the root,
# `status` lists every agent with the relay it is behind, `config status` shows the acks of
# agents behind relays, a restart-only change to a group spread over both relays restarts one
# agent at a time (the root grants the slots), a report made behind site1 while its
# upstream link is cut reaches the root once the link is back, and an agent behind a relay
# of a relay (site3 under site2) is listed at the root with site3.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_relay_root
ROOT_PORT=${ROOT##*:}
printf 'v1\n' >"$src/app.txt"
fc_push "$src" 1 >/dev/null
cat >"$FC_TMP/schema.json" <<'EOF'
{"keys": {"port": {"type": "integer", "min": 1, "max": 65535, "reload": "restart"}},
 "strict": false}
EOF
fc_config schema set "$FC_TMP/schema.json" >/dev/null || fc_fail "schema set"

# site1's upstream link goes through a proxy on a fixed port, so it can be cut and restored.
LINK_PORT=$(fc_ports 1)
fc_link() {
  "$FC_PROXY_BIN" --listen "127.0.0.1:$LINK_PORT" --upstream "127.0.0.1:$ROOT_PORT" \
    >/dev/null 2>>"$FC_TMP/link.log" &
  LINK_PID=$!
  FC_PIDS+=("$LINK_PID")
  fc_wait_port "$LINK_PORT" || fc_fail "proxy did not start: $(cat "$FC_TMP/link.log")"
}
fc_link
relay() { # NAME UPSTREAM: starts relay NAME; its service endpoint in $RELAY_EP
  local ports; ports=($(fc_ports 2))
  RELAY_EP="tcp://127.0.0.1:${ports[0]}"
  "$FC_BROKER_BIN" --data "$FC_TMP/$1" --service "$RELAY_EP" \
    --announce "tcp://127.0.0.1:${ports[1]}" --upstream "$2" --relay-name "$1" --insecure \
    >>"$FC_TMP/$1.log" 2>&1 &
  FC_PIDS+=("$!")
  fc_wait_port "${ports[0]}" || fc_fail "relay $1 did not start: $(tail -5 "$FC_TMP/$1.log")"
}
relay site1 "tcp://127.0.0.1:$LINK_PORT"
SITE1=$RELAY_EP
relay site2 "$ROOT"
SITE2=$RELAY_EP

# Agents of group wave: a restart-only change runs the restart hook, which notes an overlap
# if another agent's hook is running at the same time (one lock directory for all of them).
hook="cat >/dev/null; mkdir $FC_TMP/restarting 2>/dev/null || echo overlap >>$FC_TMP/overlap;"
hook+=" echo \$FLEETCAST_CONFIG_REV >>$FC_TMP/restarts; sleep 0.5;"
hook+=" rmdir $FC_TMP/restarting 2>/dev/null; true"
agent() { # NAME RELAY
  FC_AGENT_BROKER=$2 fc_config_agent "$1" --group wave --config-changing "cat >/dev/null" \
    --exec-restart "$hook"
}
agent a1 "$SITE1"
agent a2 "$SITE1"
agent b1 "$SITE2"
agent b2 "$SITE2"

# 1. status at the root: every agent, its installed release, and the relay it is behind.
status_has() { # ID VIA VERSION
  local st; st=$(fc_cli status --json 2>/dev/null | tr -d ' \n') || return 1
  grep -q "{\"id\":\"$1\",[^}]*\"version\":\"$3\",[^}]*\"via\":\"$2\"" <<<"$st"
}
all_installed() {
  status_has a1 site1 1 && status_has a2 site1 1 && status_has b1 site2 1 && status_has b2 site2 1
}
fc_wait_for "the root to list the 4 agents behind relays with release 1" 40 all_installed
text=$(fc_cli status)
grep -q 'VIA' <<<"$text" && grep -Eq '^a1 .* site1 ' <<<"$text" ||
  fc_fail "status text at the root lacks the VIA column: $text"
summary=$(fc_cli status --summary --json | tr -d ' \n')
grep -q '"agents":4' <<<"$summary" || fc_fail "status --summary at the root: $summary"
fc_pass "status at the root lists the 4 agents behind site1 and site2 with their relay"

# 2. A restart-only change to group wave (4 agents over two relays, restart share 25%: one
#    slot): every agent restarts, never two at once, and the root shows each ack and relay.
rev=$(fc_config set port=7443 --scope group:wave --json | fc_json_num rev)
[ -n "$rev" ] || fc_fail "config set gave no revision"
fc_wait_for "4 restarted acks at the root for revision $rev" 60 fc_config_count_ge "$rev" restarted 4
[ "$(grep -cx "$rev" "$FC_TMP/restarts")" = 4 ] || fc_fail "restart hooks: $(cat "$FC_TMP/restarts")"
[ ! -e "$FC_TMP/overlap" ] || fc_fail "two agents behind different relays restarted at once"
cs=$(fc_cli config status "$rev" --json | tr -d ' \n')
for a in a1:site1 a2:site1 b1:site2 b2:site2; do
  grep -q "{\"id\":\"${a%:*}\",[^}]*\"state\":\"restarted\",[^}]*\"via\":\"${a#*:}\"" <<<"$cs" ||
    fc_fail "config status at the root lacks ${a%:*} restarted via ${a#*:}: $cs"
done
grep -q "site1" <<<"$(fc_cli config status "$rev")" || fc_fail "config status text lacks VIA"
fc_pass "a restart-only change over two relays: 4 restarts one at a time, acks at the root"

# 3. site1's upstream cut: a new agent behind it installs and reports meanwhile (the relay
#    holds release 1); its report reaches the root once the link is back.
fc_stop "$LINK_PID"
agent a3 "$SITE1"
fc_wait_for "a3 to install release 1 behind the cut relay" 30 \
  test -e "$FC_TMP/a3/install/current/app.txt"
sleep 2 # a3's report is at site1, queued: the link is down
status_has a3 site1 1 && fc_fail "a3 reached the root while site1's link was cut"
fc_link
fc_wait_for "a3's report to reach the root after the link returns" 30 status_has a3 site1 1
fc_pass "a report made while the relay's upstream was cut reaches the root when it returns"

# 4. A relay of relays: site3's agent is listed at site2 and at the root, with site3.
relay site3 "$SITE2"
FC_AGENT_BROKER=$RELAY_EP fc_config_agent c1
fc_wait_for "c1 behind site3 to be listed at the root with site3" 40 status_has c1 site3 1
st2=$("$FC_CLI_BIN" --insecure --broker "$SITE2" --quiet status --json | tr -d ' \n')
grep -q '{"id":"c1",[^}]*"via":"site3"' <<<"$st2" || fc_fail "site2 does not list c1 via site3: $st2"
fc_pass "an agent behind a relay of a relay is listed at the root with its own relay (site3)"

# 5. Nothing the relays forwarded was skipped or refused (the relay-key-only rule is
#    unit.fc_keyring's; this suite runs --insecure).
! grep -q 'forwarded reports skipped\|refused .* forwarded reports' "$FC_TMP/broker.log" \
  "$FC_TMP/site1.log" "$FC_TMP/site2.log" "$FC_TMP/site3.log" 2>/dev/null ||
  fc_fail "forwarded reports were refused: $(grep -h 'forwarded' "$FC_TMP"/*.log)"
fc_pass "no forwarded report was refused"
