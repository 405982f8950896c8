#!/usr/bin/env bash
# it_list_paging.sh: LIST paged end to end past FC_MAX_LIST: `fleetcast release list` over
# 4,201 releases of a channel fetches every page and prints each once, newest first, as one
# JSON document (issue 19). One release is pushed for real; 4,200 more rows (copies of its
# manifest, later serials) are written straight into the running broker's database with
# sqlite3, since pushing 4,200 releases would take minutes: LIST reads only the rows, and the
# broker's paging and the CLI's are the real ones. Each copy gets its own sequence number, as
# every commit does (LIST pages by it).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only
command -v sqlite3 >/dev/null || fc_skip "no sqlite3"

FC_INSECURE=1 fc_start_broker "$FC_TMP/broker"
fc_keygen
mkdir -p "$FC_TMP/rel"
echo one >"$FC_TMP/rel/a.txt"
fc_push "$FC_TMP/rel" 1.0 >/dev/null || fc_fail "push failed"
sqlite3 "$FC_TMP/broker/fleetcast.db" <<'SQL' || fc_fail "cannot write the release rows"
.timeout 10000
WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < 4201)
INSERT INTO releases (channel, serial, version, product, manifest, size, files, created,
                      mandatory, seq, committed)
  SELECT r.channel, n.i, printf('b-%05d', n.i), r.product, r.manifest, r.size, r.files,
         r.created, r.mandatory, r.seq + n.i - 1, r.committed
  FROM n, releases r WHERE r.channel = 'stable' AND r.serial = 1;
SQL

fc_cli --json release list --channel stable >"$FC_TMP/list.json" || fc_fail "release list failed"
python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
rels = a["releases"] if isinstance(a, dict) else a
serials = [r["serial"] for r in rels]
assert len(serials) == 4201, len(serials)
assert serials == list(range(4201, 0, -1)), "not each once, newest first"
assert rels[-1]["version"] == "1.0" and rels[0]["version"] == "b-04201", (rels[0], rels[-1])' \
  "$FC_TMP/list.json" || fc_fail "release list over 4,201 releases: $(head -c 300 "$FC_TMP/list.json")"
fc_pass "release list lists all 4,201 releases of a channel once each, newest first, in one JSON document"
