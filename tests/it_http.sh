#!/usr/bin/env bash
# it_http.sh: the broker's HTTP endpoint (--http): /metrics passes `promtool check metrics`
# on scrapes taken while a release rolls out and its agent counts match `fleetcast status
# --json` and its rollout figures (a release in waves) match `fleetcast release status --json`;
# a non-loopback bind without a token refuses to start; with a token, a request
# without it or with a wrong one gets 401; nothing over HTTP writes (405, store unchanged).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

command -v curl >/dev/null || fc_skip "curl is not installed (./run.sh test installs it)"
command -v promtool >/dev/null || fc_skip "promtool is not installed (Debian package prometheus; ./run.sh test installs it)"

http_port=$(fc_ports 1)
HTTP="http://127.0.0.1:$http_port"
fc_start_broker "$FC_TMP/broker" --http "tcp://127.0.0.1:$http_port"
fc_wait_port "$http_port" || fc_fail "no HTTP endpoint: $(tail -5 "$FC_TMP/broker.log")"

scrape() { curl -sf --max-time 5 "$HTTP/metrics"; }
# Agents by (channel, version, state) as "channel version state count" lines, sorted: from a
# scrape on stdin, or from `fleetcast status --json` (status_counts).
metric_counts() {
  python3 -c '
import re, sys
for m in re.finditer(r"^fleetcast_agents\{channel=\"([^\"]*)\",version=\"([^\"]*)\",state=\"([^\"]*)\"\} (\d+)$", sys.stdin.read(), re.M):
    print(*m.groups())' | sort
}
status_counts() {
  fc_cli status --json | python3 -c '
import collections, json, sys
c = collections.Counter((a["channel"], a["version"], a["state"]) for a in json.load(sys.stdin))
for (ch, v, s), n in c.items(): print(ch, v, s, n)' | sort
}
counts_match() { [ "$(scrape | metric_counts)" = "$(status_counts)" ]; }
# Agents on version $2 in scrape file $1 (any state).
on_version() { metric_counts <"$1" | awk -v v="$2" '$2 == v { n += $4 } END { print n + 0 }'; }
all_on() { scrape >"$FC_TMP/now.prom" && [ "$(on_version "$FC_TMP/now.prom" "$1")" = 3 ]; }

# A broker with nothing yet: the scrape is well formed already.
scrape >"$FC_TMP/empty.prom" || fc_fail "no scrape from an empty broker"
promtool check metrics <"$FC_TMP/empty.prom" || fc_fail "promtool refuses the empty broker's scrape"
fc_pass "an empty broker's /metrics passes promtool check metrics"

# Release 1, three agents on it; then release 2 of 4 MiB, fetched through a proxy at 1 MiB/s
# per connection so the rollout lasts a few seconds, scraped all along.
mkdir -p "$FC_TMP/src"
fc_random_file "$FC_TMP/src/app" 64
fc_push "$FC_TMP/src" 1 >/dev/null
fc_start_proxy --rate 1048576
for a in a1 a2 a3; do FC_AGENT_BROKER=$FC_PROXY fc_config_agent $a; done
fc_wait_for "three agents on release 1 in /metrics" 30 all_on 1
counts_match || fc_wait_for "the scrape's counts to match status --json" 5 counts_match
fc_pass "three agents on release 1: /metrics counts match status --json"

fc_random_file "$FC_TMP/src/app" 4096
fc_push "$FC_TMP/src" 2 >/dev/null
n=0 during=0
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ]; do
  n=$((n + 1))
  scrape >"$FC_TMP/scrape.$n.prom" || fc_fail "scrape $n failed"
  promtool check metrics <"$FC_TMP/scrape.$n.prom" ||
    fc_fail "promtool refuses scrape $n: $(head -50 "$FC_TMP/scrape.$n.prom")"
  grep -q 'state="downloading"} [1-9]' "$FC_TMP/scrape.$n.prom" && during=$((during + 1))
  [ "$(on_version "$FC_TMP/scrape.$n.prom" 2)" = 3 ] && break
  sleep 0.3
done
[ "$(on_version "$FC_TMP/scrape.$n.prom" 2)" = 3 ] ||
  fc_fail "the rollout did not finish: $(grep '^fleetcast_agents' "$FC_TMP/scrape.$n.prom")"
[ "$during" -gt 0 ] || fc_fail "no scrape saw an agent downloading: the rollout was not observed"
bytes=$(sed -n 's/^fleetcast_chunk_served_bytes_total \([0-9]*\)$/\1/p' "$FC_TMP/scrape.$n.prom")
[ "${bytes:-0}" -ge $((3 * 4096 * 1024)) ] ||
  fc_fail "fleetcast_chunk_served_bytes_total $bytes is below 3 x 4 MiB"
fc_pass "$n scrapes during the rollout ($during with agents downloading) pass promtool check metrics; chunk bytes served $bytes"
counts_match || fc_wait_for "the scrape's counts to match status --json" 5 counts_match
s=$(scrape)
grep -q '^fleetcast_agents_online 3$' <<<"$s" || fc_fail "online: $(grep online <<<"$s")"
grep -q '^fleetcast_peers [1-9]' <<<"$s" || fc_fail "no connected peers: $(grep peers <<<"$s")"
grep -q '^fleetcast_channel_release_serial{channel="stable",version="2"} 2$' <<<"$s" ||
  fc_fail "channel release: $(grep release_serial <<<"$s")"
fc_pass "after the rollout: counts match status --json, 3 online, peers connected, channel on 2"

# A release in waves of 30% and 100%: wave 1 is one of the three agents, fetching 4 MiB
# through the 1 MiB/s proxy, so it lasts seconds. Every scrape passes promtool, and the
# rollout families (fleetcast_rollout_*) say what `release status --json` says, during wave 1
# and once done.
# Rollout figures of channel stable as sorted "key value" lines: from a scrape on stdin, or
# from `release status --json` (status_rollout).
rollout_metrics() {
  python3 -c '
import re, sys
text, out = sys.stdin.read(), {"state": "NONE"}
names = {"fleetcast_rollout_wave": "wave", "fleetcast_rollout_waves": "waves",
         "fleetcast_rollout_agents_healthy": "healthy"}
for name, labels, value in re.findall(r"^(fleetcast_rollout_[a-z_]+)\{([^}]*)\} (\S+)$", text, re.M):
    l = dict(re.findall(r"(\w+)=\"([^\"]*)\"", labels))
    if l.get("channel") != "stable":
        continue
    if name == "fleetcast_rollout_state":
        if value == "1":
            out["state"] = l["state"]
    elif name == "fleetcast_rollout_agents":
        out[l["status"]] = value
    elif name in names:
        out[names[name]] = value
for k in sorted(out):
    print(k, out[k])'
}
status_rollout() {
  fc_cli release status --channel stable --json | python3 -c '
import json, sys
r = json.load(sys.stdin)[0]
keys = ["state", "wave", "waves", "installed", "healthy", "failed", "rolled_back", "downloading",
        "pending", "not_offered", "offline"]
for k in sorted(keys):
    print(k, r[k])'
}
rollout_match() {
  local m; m=$(scrape | rollout_metrics)
  [ "$m" = "$(status_rollout)" ] && [ "$(grep -c . <<<"$m")" = 11 ]
}
fc_random_file "$FC_TMP/src/app" 4096
fc_push "$FC_TMP/src" 3 --waves 30,100 >/dev/null
rolling() { scrape | grep -q '^fleetcast_rollout_state{channel="stable",state="ROLLING"} 1$'; }
fc_wait_for "a rolling rollout in /metrics" 3 rolling
fc_wait_for "the rollout figures to match release status --json in wave 1" 5 rollout_match
m=$(scrape | rollout_metrics)
grep -qx 'wave 1' <<<"$m" && grep -qx 'waves 2' <<<"$m" && grep -qx 'not_offered 2' <<<"$m" ||
  fc_fail "wave 1 of 2 with 2 agents not offered expected: $m"
fc_pass "during wave 1 of 2 the rollout figures in /metrics match release status --json: $(tr '\n' ' ' <<<"$m")"
n=0 wave1=0
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ]; do
  n=$((n + 1))
  scrape >"$FC_TMP/wave.$n.prom" || fc_fail "scrape $n of the waved rollout failed"
  promtool check metrics <"$FC_TMP/wave.$n.prom" ||
    fc_fail "promtool refuses scrape $n of the waved rollout: $(grep rollout "$FC_TMP/wave.$n.prom")"
  grep -q '^fleetcast_rollout_wave{channel="stable"} 1$' "$FC_TMP/wave.$n.prom" && wave1=$((wave1 + 1))
  grep -q '^fleetcast_rollout_state{channel="stable",state="DONE"} 1$' "$FC_TMP/wave.$n.prom" &&
    [ "$(on_version "$FC_TMP/wave.$n.prom" 3)" = 3 ] && break
  sleep 0.3
done
grep -q '^fleetcast_rollout_state{channel="stable",state="DONE"} 1$' "$FC_TMP/wave.$n.prom" ||
  fc_fail "the waved rollout did not finish: $(grep rollout "$FC_TMP/wave.$n.prom")"
[ "$wave1" -gt 0 ] || fc_fail "no scrape saw wave 1: the waved rollout was not observed"
fc_wait_for "the rollout figures to match release status --json once done" 5 rollout_match
fc_pass "$n scrapes of a waved rollout ($wave1 in wave 1) pass promtool; done: $(scrape | rollout_metrics | tr '\n' ' ')"

# Config convergence per revision.
fc_config set port=8080 >/dev/null
fc_wait_for "revision 1 applied by all three in /metrics" 20 \
  bash -c "curl -sf $HTTP/metrics | grep -q '^fleetcast_config_revision_agents{revision=\"1\",scope=\"global\",result=\"applied\"} 3$'"
fc_pass "config revision convergence: 3 applied"

# Nothing over HTTP writes: every other method is refused, and the store is as it was.
# What a write would change: the agents (but when they were last seen), releases, audit log.
store_state() {
  fc_cli status --json | sed 's/"last_seen": *[0-9]*//g'
  fc_cli release list --channel stable 2>/dev/null || true
  fc_cli audit 2>/dev/null || true
}
before=$(store_state | md5sum)
for m in POST PUT DELETE PATCH; do
  for path in / /metrics /events /fleet.json; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X $m --data x --max-time 5 "$HTTP$path")
    [ "$code" = 405 ] || fc_fail "$m $path answered $code, not 405"
  done
done
fc_pass "POST, PUT, DELETE and PATCH are refused (405) on every path"

# Not loopback without a token: the broker refuses to start, and binds nothing.
p2=($(fc_ports 3))
set +e
"$FC_BROKER_BIN" --data "$FC_TMP/b2" --insecure --service "tcp://127.0.0.1:${p2[0]}" \
  --announce "tcp://127.0.0.1:${p2[1]}" --http "tcp://0.0.0.0:${p2[2]}" >"$FC_TMP/b2.log" 2>&1
rc=$?
set -e
[ $rc = 1 ] || fc_fail "a non-loopback --http without a token exited $rc, not 1"
grep -q -- '--http-token' "$FC_TMP/b2.log" || fc_fail "no reason given: $(cat "$FC_TMP/b2.log")"
! (exec 3<>"/dev/tcp/127.0.0.1/${p2[0]}") 2>/dev/null || fc_fail "the refused broker listens"
fc_pass "a non-loopback HTTP bind without a token refuses to start"

# With a token: none or a wrong one gets 401, the right one (Bearer or Basic password) 200.
printf 'correct-horse-battery-staple\n' >"$FC_TMP/token"
"$FC_BROKER_BIN" --data "$FC_TMP/b3" --insecure --service "tcp://127.0.0.1:${p2[0]}" \
  --announce "tcp://127.0.0.1:${p2[1]}" --http "tcp://0.0.0.0:${p2[2]}" \
  --http-token "$FC_TMP/token" >"$FC_TMP/b3.log" 2>&1 &
FC_PIDS+=($!)
fc_wait_port "${p2[2]}" || fc_fail "token broker: $(cat "$FC_TMP/b3.log")"
H3="http://127.0.0.1:${p2[2]}"
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
[ "$(code "$H3/metrics")" = 401 ] || fc_fail "no token: not 401"
[ "$(code -H 'Authorization: Bearer wrong' "$H3/metrics")" = 401 ] || fc_fail "wrong token: not 401"
[ "$(code -H 'Authorization: Bearer correct-horse-battery-stapl' "$H3/metrics")" = 401 ] ||
  fc_fail "a prefix of the token: not 401"
[ "$(code -u x:wrong "$H3/")" = 401 ] || fc_fail "wrong Basic password: not 401"
[ "$(code -H 'Authorization: Bearer correct-horse-battery-staple' "$H3/metrics")" = 200 ] ||
  fc_fail "right token: not 200"
[ "$(code -u x:correct-horse-battery-staple "$H3/")" = 200 ] || fc_fail "Basic password: not 200"
fc_pass "with --http-token: no token or a wrong one 401, the right one (Bearer or Basic) 200"

after=$(store_state | md5sum)
[ "$before" = "$after" ] || fc_fail "the fleet's status changed after the refused writes"
fc_pass "the store is unchanged by every HTTP request"
