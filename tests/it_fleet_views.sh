#!/usr/bin/env bash
# it_fleet_views.sh: 10,000 protocol-level agents (fleetcast-swarm) against a real broker:
# `status --json` lists exactly 10,000, `config status` of a revision all of them acked
# counts 10,000 (listed, and with --summary counted by the broker), reads while more agents
# arrive in the middle of the id order never list one twice nor miss one that was there
# before the read began, `status --summary` (counted by the broker) counts them all with
# the most common failure reasons, and `status --state failed` lists only the failed ones
# (filtered by the broker). Plain mode (--insecure), to keep the suite short on two cores:
# CURVE at this scale is measured by tools/bench_fleet.sh (docs/BENCHMARKS.md).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
FC_SWARM_BIN="$FC_BIN/tools/fleetcast-swarm"

# --offline-after 600: the agents report once, and the suite takes longer than 30 s.
http_port=$(fc_ports 1)
FC_INSECURE=1 fc_start_broker "$FC_TMP/broker" --offline-after 600 --http "tcp://127.0.0.1:$http_port"
fc_keygen
fc_config set views.test=1 >/dev/null || fc_fail "config set failed"

# Two processes of 5,000: one process's fd limit would not hold 10,000 sockets here.
pids=()
for first in 0 5000; do
  "$FC_SWARM_BIN" "$FC_SERVICE" 5000 --first $first --ack 1 --insecure --timeout 120 \
    >"$FC_TMP/swarm$first.out" 2>&1 &
  pids+=($!)
  FC_PIDS+=($!)
done
for p in "${pids[@]}"; do
  wait "$p" || fc_fail "swarm failed: $(cat "$FC_TMP"/swarm*.out)"
done
cat "$FC_TMP"/swarm*.out

ids() { tr ',' '\n' | sed -n 's/.*"id":"\([^"]*\)".*/\1/p'; }
fc_cli status --json >"$FC_TMP/status.json" || fc_fail "status --json failed"
n=$(ids <"$FC_TMP/status.json" | sort -u | wc -l)
all=$(ids <"$FC_TMP/status.json" | wc -l)
[ "$n" = 10000 ] && [ "$all" = 10000 ] ||
  fc_fail "status --json lists $all agents ($n distinct), not 10000"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$FC_TMP/status.json" ||
  fc_fail "status --json is not one JSON document"
fc_pass "status --json lists exactly 10,000 agents, in one JSON document"
ids <"$FC_TMP/status.json" | sort >"$FC_TMP/before"

applied=$(fc_cli config status 1 --json | tr ',' '\n' | grep -c '"state":"applied"' || true)
[ "$applied" = 10000 ] || fc_fail "config status 1 counts $applied applied, not 10000"
sum=$(fc_cli config status 1 --summary) || fc_fail "config status --summary failed"
case "$sum" in "config revision 1: 10000 agents: 10000 applied, 0 "*) ;; *) fc_fail "config status --summary: $sum" ;; esac
json=$(fc_cli config status 1 --summary --json) || fc_fail "config status --summary --json failed"
[ "$(fc_json_num applied <<<"$json")" = 10000 ] && [ "$(fc_json_num total <<<"$json")" = 10000 ] &&
  ! grep -q '"agents"' <<<"$json" || fc_fail "config status --summary --json: $json"
fc_pass "config status of a revision acked by 10,000 agents counts all 10,000 (listed, and counted by the broker with --summary)"

# Agents arriving while the list is read, their ids in the middle of the order (between
# sim-0000199 and sim-0000200, and between sim-0007999 and sim-0008000).
pids=()
for p in sim-00002 sim-00008; do
  "$FC_SWARM_BIN" "$FC_SERVICE" 1500 --prefix $p --rate 500 --insecure --timeout 120 \
    >"$FC_TMP/arrive$p.out" 2>&1 &
  pids+=($!)
  FC_PIDS+=($!)
done
reads=0
while kill -0 "${pids[0]}" 2>/dev/null || kill -0 "${pids[1]}" 2>/dev/null || [ $reads -lt 3 ]; do
  fc_cli status --json >"$FC_TMP/read.json" || fc_fail "status --json failed while agents arrive"
  ids <"$FC_TMP/read.json" | sort >"$FC_TMP/read"
  dup=$(uniq -d <"$FC_TMP/read" | head -3)
  [ -z "$dup" ] || fc_fail "a read while agents arrive lists agents twice: $dup"
  missing=$(comm -23 "$FC_TMP/before" "$FC_TMP/read" | head -3)
  [ -z "$missing" ] || fc_fail "a read while agents arrive misses agents that were there: $missing"
  reads=$((reads + 1))
done
for p in "${pids[@]}"; do wait "$p" || fc_fail "arriving swarm failed: $(cat "$FC_TMP"/arrive*.out)"; done
n=$(fc_cli status --json | ids | sort -u | wc -l)
[ "$n" = 13000 ] || fc_fail "after the arrivals status lists $n agents, not 13000"
fc_pass "$reads reads while 3,000 agents arrived: none listed twice, none that was there missed; 13,000 after"

# 50 agents failing with one reason, 20 with another: counted by the broker.
"$FC_SWARM_BIN" "$FC_SERVICE" 50 --prefix zz-disk --state failed --message "disk full" \
  --insecure >"$FC_TMP/fail1.out" 2>&1 || fc_fail "failing swarm: $(cat "$FC_TMP/fail1.out")"
"$FC_SWARM_BIN" "$FC_SERVICE" 20 --prefix zz-hook --state failed --message "hook exit 3" \
  --insecure >"$FC_TMP/fail2.out" 2>&1 || fc_fail "failing swarm: $(cat "$FC_TMP/fail2.out")"
out=$(fc_cli status --summary) || fc_fail "status --summary failed"
first=$(head -1 <<<"$out")
[ "$first" = "stable: 13070 agents, 0 on (no release), 0 downloading, 70 failed, 0 offline" ] ||
  fc_fail "status --summary: $out"
[ "$(sed -n 2p <<<"$out")" = "  50 failed: disk full" ] && [ "$(sed -n 3p <<<"$out")" = "  20 failed: hook exit 3" ] ||
  fc_fail "status --summary reasons: $out"
json=$(fc_cli status --summary --json) || fc_fail "status --summary --json failed"
python3 -c '
import json, sys
s = json.loads(sys.argv[1])
assert len(s) == 1 and s[0]["agents"] == 13070 and s[0]["online"] == 13070, s
assert s[0]["versions"] == {"1.0": 13070} and s[0]["states"] == {"failed": 70, "up-to-date": 13000}, s
assert s[0]["reasons"][0] == {"state": "failed", "reason": "disk full", "agents": 50}, s' "$json" ||
  fc_fail "status --summary --json: $json"
fc_pass "status --summary (counted by the broker): $first, reasons most common first (and --json)"
n=$(fc_cli status --state failed --json | ids | wc -l)
[ "$n" = 70 ] || fc_fail "status --state failed lists $n agents, not 70"
fc_pass "status --state failed lists the 70 failed agents of 13,070"

# A canary over more agents than one reply holds: `config set --canary` reads every agent
# the scope matches (CONFIG_AGENTS, paged), so it counts all 13,070 and chooses exactly the
# members among them (BLAKE2b-256 of the id, first 8 bytes big-endian, mod 100 < percent).
fc_cli status --json | ids | sort >"$FC_TMP/all"
out=$(fc_config set views.canary=1 --canary 5 --json) || fc_fail "canary config set failed: $out"
want=$(python3 -c '
import hashlib, sys
ids = open(sys.argv[1]).read().split()
n = sum(int.from_bytes(hashlib.blake2b(i.encode(), digest_size=32).digest()[:8], "big") % 100 < 5 for i in ids)
print(len(ids), n)' "$FC_TMP/all")
got="$(fc_json_num canary_matching <<<"$out") $(fc_json_num canary_chosen <<<"$out")"
[ "$got" = "$want" ] && [ "${want%% *}" = 13070 ] ||
  fc_fail "canary 5% over 13,070 agents: matching/chosen $got, expected $want: $out"
fc_pass "config set --canary 5 over 13,070 agents: counts all of them and chooses $(fc_json_num canary_chosen <<<"$out")"

# The HTTP fleet view past FC_MAX_LIST: fleet.json's counts are exact (a revision's acks are
# counted by the broker, not from a list of the first 4096), and its agents list, cut at
# 10,000, says so and how many there are in all.
curl -sf "http://127.0.0.1:$http_port/fleet.json" >"$FC_TMP/fleet.json" || fc_fail "no fleet.json"
python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
assert f["agents_total"] == 13070 and f["agents_online"] == 13070, (f["agents_total"], f["agents_online"])
assert len(f["agents"]) == 10000 and f["agents_listed"] == 10000 and f["agents_cut"] is True, f["agents_listed"]
r1 = [r for r in f["revisions"] if r["rev"] == 1][0]
assert r1["acks"]["applied"] == 10000, r1
assert sum(r1["acks"].values()) == 13070, r1' "$FC_TMP/fleet.json" || fc_fail "fleet.json counts are not exact"
fc_pass "fleet.json over 13,070 agents: exact counts (revision 1: 10,000 applied), its list of 10,000 marked cut"
