#!/usr/bin/env bash
# it_audit_paging.sh: AUDIT paged end to end past FC_MAX_LIST: `fleetcast audit --all` over
# 5,001+ entries fetches every page and prints each entry once, newest first, as one JSON
# document; without --all the newest 100 as before (issue 19). The 5,000 extra entries are
# written straight into the broker's database (sqlite3) while it runs: producing them through
# the protocol (a durable write each, refusals capped at 10 a second per key) would take
# minutes; the broker's paging and the CLI's are what is tested, and both are the real ones.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3"; exit 77; }

FC_INSECURE=1 fc_start_broker "$FC_TMP/broker"
fc_keygen
fc_config set paging.test=1 >/dev/null || fc_fail "config set failed"
sqlite3 "$FC_TMP/broker/fleetcast.db" <<'SQL' || fc_fail "cannot write the audit rows"
.timeout 10000
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
INSERT INTO audit (time, who, action, detail, result)
  SELECT strftime('%s', 'now'), 'bulk', 'bulk.test', printf('bulk-%05d', i), 'ok' FROM n;
SQL
total=$(sqlite3 "$FC_TMP/broker/fleetcast.db" 'SELECT count(*) FROM audit')
[ "$total" -gt 5000 ] || fc_fail "only $total audit rows"
# A further entry through the protocol, newer than the bulk ones.
fc_config set paging.test=2 >/dev/null || fc_fail "config set failed"
total=$((total + $(sqlite3 "$FC_TMP/broker/fleetcast.db" "SELECT count(*) FROM audit WHERE id > (SELECT max(id) FROM audit WHERE action = 'bulk.test')")))

fc_cli --json audit --all >"$FC_TMP/audit.json" || fc_fail "audit --all failed"
python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
entries = a["audit"] if isinstance(a, dict) else a
total = int(sys.argv[2])
assert len(entries) == total, (len(entries), total)
bulk = [e["detail"] for e in entries if e["action"] == "bulk.test"]
assert len(bulk) == 5000 and len(set(bulk)) == 5000, len(set(bulk))
assert bulk == ["bulk-%05d" % i for i in range(5000, 0, -1)], "not newest first"
assert entries[0]["action"] == "config.set", entries[0]
assert entries[-1]["action"] == "config.set", entries[-1]' "$FC_TMP/audit.json" "$total" ||
  fc_fail "audit --all over $total entries: $(head -c 300 "$FC_TMP/audit.json")"
fc_pass "audit --all lists all $total entries (5,000 of them bulk) once each, newest first, in one JSON document"

n=$(fc_cli audit | grep -c 'bulk.test' || true)
[ "$n" = 99 ] || fc_fail "audit without --all lists $n bulk entries, not the newest 99 of 100"
fc_pass "audit without --all: the newest 100, as before"
