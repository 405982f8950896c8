#!/usr/bin/env bash
# it_config_basic.sh: runtime configuration end to end: a late joiner gets the current config,
# `config set` reaches running agents (config.json and the changed hook with the diff), unset,
# group and agent scopes win over global, `config get` (scope layer and --agent), history,
# diff, rollback, and the audit log lists every operation.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen

# Revision 1 exists before any agent: typed values of every kind.
out=$(fc_config set port=8080 log.level=info ratio=0.5 debug=false 'limits={"a":1}' name=web-1 \
  --message initial --json) || fc_fail "config set failed: $out"
[ "$(fc_json_num rev <<<"$out")" = 1 ] || fc_fail "first revision is not 1: $out"

hook() { # NAME: a changed hook that appends the diff it gets on stdin to NAME.changed
  echo "cat >>$FC_TMP/$1.changed; echo >>$FC_TMP/$1.changed"
}
fc_config_agent a1 --group web --config-changed "$(hook a1)"
fc_config_agent b1 --group db --config-changed "$(hook b1)"
for a in a1 b1; do fc_wait_for "$a to write config.json at revision 1" 20 fc_config_at $a 1; done
for a in a1 b1; do
  fc_config_has $a port 8080 || fc_fail "$a: port: $(fc_config_text $a)"
  fc_config_has $a log.level '"info"' || fc_fail "$a: log.level: $(fc_config_text $a)"
  fc_config_has $a ratio 0.5 || fc_fail "$a: ratio: $(fc_config_text $a)"
  fc_config_has $a debug false || fc_fail "$a: debug: $(fc_config_text $a)"
  fc_config_has $a limits '{"a":1}' || fc_fail "$a: limits: $(fc_config_text $a)"
  fc_config_has $a name '"web-1"' || fc_fail "$a: name: $(fc_config_text $a)"
done
fc_pass "late joiners receive the current config in config.json, typed (int, string, float, bool, map)"

# A change reaches the running agents: config.json, and the changed hook gets the diff.
fc_config set log.level=debug >/dev/null
for a in a1 b1; do
  fc_wait_for "$a to apply revision 2" 20 fc_config_has $a log.level '"debug"'
  fc_config_at $a 2 || fc_fail "$a: _rev not 2: $(fc_config_text $a)"
done
fc_wait_for "a1's changed hook to see revision 2" 10 grep -qs '"rev": *2' "$FC_TMP/a1.changed"
diff2=$(tr -d ' \n' <"$FC_TMP/a1.changed")
grep -qF '"key":"log.level"' <<<"$diff2" || fc_fail "diff lacks the key: $diff2"
grep -qF '"old":"info"' <<<"$diff2" || fc_fail "diff lacks the old value: $diff2"
grep -qF '"new":"debug"' <<<"$diff2" || fc_fail "diff lacks the new value: $diff2"
fc_wait_for "status of revision 2 to show both applied" 20 fc_config_count_ge 2 applied 2
fc_pass "config set reaches running agents; the changed hook gets the diff on stdin"

# Unset removes the key.
fc_config unset ratio >/dev/null
for a in a1 b1; do fc_wait_for "$a to drop ratio" 20 fc_config_lacks $a ratio; done
fc_pass "config unset removes the key from config.json"

# Scopes: group beats global, agent beats group; other agents are untouched.
fc_wait_for "b1's changed hook to see revision 3" 10 grep -qs '"rev": *3' "$FC_TMP/b1.changed"
b1_hooks=$(grep -c '"rev"' "$FC_TMP/b1.changed")
fc_config set port=9090 --scope group:web >/dev/null # rev 4
fc_wait_for "a1 to take the group value" 20 fc_config_has a1 port 9090
fc_config set port=7000 --scope agent:a1 >/dev/null # rev 5
fc_wait_for "a1 to take the agent value" 20 fc_config_has a1 port 7000
sleep 1
fc_config_has b1 port 8080 || fc_fail "b1 took another scope's value: $(fc_config_text b1)"
[ "$(grep -c '"rev"' "$FC_TMP/b1.changed")" = "$b1_hooks" ] ||
  fc_fail "b1's hook ran for revisions that do not change its config"
fc_config set port=8081 >/dev/null # rev 6
fc_wait_for "b1 to take the new global port" 20 fc_config_has b1 port 8081
sleep 1
fc_config_has a1 port 7000 || fc_fail "a global change overrode a1's agent value: $(fc_config_text a1)"
fc_pass "group and agent scopes win over global; agents outside a scope see no event"

# config get: a scope's own layer, and what one agent sees (with its reported group).
[ "$(fc_cli config get port)" = 8081 ] || fc_fail "get port: $(fc_cli config get port)"
[ "$(fc_cli config get port --scope group:web)" = 9090 ] || fc_fail "get port in group:web"
[ "$(fc_cli config get port --agent a1)" = 7000 ] || fc_fail "get port --agent a1: $(fc_cli config get port --agent a1)"
[ "$(fc_cli config get port --agent b1)" = 8081 ] || fc_fail "get port --agent b1"
[ "$(fc_cli config get log.level)" = debug ] || fc_fail "get log.level (strings print bare)"
all=$(fc_cli config get --agent a1 --json | tr -d ' \n')
grep -qF '"port":7000' <<<"$all" && grep -qF '"log.level":"debug"' <<<"$all" ||
  fc_fail "get --agent a1 --json: $all"
one=$(fc_cli config get limits --json | tr -d ' \n')
grep -qF '"value":{"a":1}' <<<"$one" || fc_fail "get limits --json: $one"
rc=0; fc_cli config get ratio >/dev/null 2>"$FC_TMP/get.err" || rc=$?
[ "$rc" = 1 ] && grep -q "ratio is not set" "$FC_TMP/get.err" || fc_fail "get of an unset key: rc $rc"
fc_pass "config get shows scope layers and an agent's effective values"

# History: every revision with scope, message and changes.
hist=$(fc_cli config history --json | tr -d ' \n')
[ "$(grep -o '"kind":"set"' <<<"$hist" | wc -l)" = 6 ] || fc_fail "history: $hist"
grep -qF '"message":"initial"' <<<"$hist" || fc_fail "history lacks the message"
grep -qF '"scope":"agent:a1"' <<<"$hist" || fc_fail "history lacks the agent scope"
grep -q 'group:web.*port=9090' <<<"$(fc_cli config history)" || fc_fail "text history: $(fc_cli config history)"
fc_pass "config history lists the 6 revisions"

# Diff: the global view between two revisions, and per agent.
d=$(fc_cli config diff 1 6)
grep -qF '~ port: 8080 -> 8081' <<<"$d" || fc_fail "diff 1 6: $d"
grep -qF '~ log.level: "info" -> "debug"' <<<"$d" || fc_fail "diff 1 6: $d"
grep -qF -- '- ratio (was 0.5)' <<<"$d" || fc_fail "diff 1 6: $d"
! grep -q limits <<<"$d" || fc_fail "diff shows an unchanged key: $d"
d=$(fc_cli config diff 1 5 --agent a1)
grep -qF '~ port: 8080 -> 7000' <<<"$d" || fc_fail "diff 1 5 --agent a1: $d"
d=$(fc_cli config diff 3 4 --json | tr -d ' \n')
grep -qF '"changes":[]' <<<"$d" || fc_fail "a group revision changed the global view: $d"
fc_pass "config diff shows the global view and an agent's view between revisions"

# Rollback to 1: a new revision putting the global values of 1 back.
out=$(fc_config rollback 1 --json 2>"$FC_TMP/rollback.err") || fc_fail "rollback: $(cat "$FC_TMP/rollback.err")"
[ "$(fc_json_num rev <<<"$out")" = 7 ] || fc_fail "rollback did not make revision 7: $out"
grep -q "scope group:web" "$FC_TMP/rollback.err" || fc_fail "rollback did not mention the other scopes"
fc_wait_for "b1 to get the values of revision 1 back" 20 fc_config_has b1 port 8080
fc_config_has b1 log.level '"info"' && fc_config_has b1 ratio 0.5 || fc_fail "b1 after rollback: $(fc_config_text b1)"
fc_wait_for "a1 to get log.level back" 20 fc_config_has a1 log.level '"info"'
fc_config_has a1 port 7000 || fc_fail "rollback of global touched a1's agent value"
[ "$(fc_cli config diff 1 7)" = "no differences between revisions 1 and 7" ] ||
  fc_fail "global view at 7 differs from 1: $(fc_cli config diff 1 7)"
grep -q "rollback to revision 1" <<<"$(fc_cli config history)" || fc_fail "history lacks the rollback"
fc_config rollback 7 >"$FC_TMP/rb2.out"
grep -q "nothing to roll back" "$FC_TMP/rb2.out" || fc_fail "an empty rollback published something"
fc_pass "config rollback publishes revision 7 restoring revision 1's global values"

# Audit: every config operation, who and the result.
audit=$(fc_cli audit --json | tr -d ' \n')
n=$(grep -o '"action":"config[^"]*"' <<<"$audit" | wc -l)
[ "$n" -ge 7 ] || fc_fail "audit lists $n config operations, expected at least 7: $audit"
grep -qF '"result":"ok"' <<<"$audit" || fc_fail "audit lacks results: $audit"
grep -q "config.set" <<<"$(fc_cli audit)" || fc_fail "text audit"
fc_pass "audit lists $n config operations with who, what and result"

# Publishers racing for the next number: each retries with a fresh one, none is lost.
pids=()
for i in 1 2 3 4; do
  fc_config set "race$i=$i" --json >"$FC_TMP/race$i.out" 2>"$FC_TMP/race$i.err" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fc_fail "a racing config set failed: $(cat "$FC_TMP"/race*.err)"; done
revs=$(cat "$FC_TMP"/race*.out | fc_json_nums rev)
[ "$(sort -n <<<"$revs" | tr '\n' ' ')" = "8 9 10 11 " ] || fc_fail "racing publishers got revisions: $revs"
for i in 1 2 3 4; do fc_wait_for "b1 to see race$i" 20 fc_config_has b1 "race$i" "$i"; done
fc_pass "4 racing publishers got revisions 8..11, each reached the agents"
