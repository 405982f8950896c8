#!/usr/bin/env bash
# it_options.sh: every program refuses a bad option value before it does anything: its
# bad-usage exit status and one message naming the option and the value. A refused push
# pushes nothing, a refused broker or agent creates no directory.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

data="$FC_TMP/broker"
fc_start_broker "$data"
mkdir -p "$FC_TMP/src"
echo one >"$FC_TMP/src/app"
key="$FC_TMP/keys/signing.key"

# refused STATUS OPTION VALUE COMMAND...: COMMAND exits STATUS and one line of its stderr
# names OPTION and 'VALUE'. (It runs under `timeout`: a value misread as a number must not
# hang the suite.)
refused() {
  local want=$1 opt=$2 val=$3 rc=0 err
  shift 3
  err=$(timeout 30 "$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = "$want" ] || fc_fail "$opt '$val': exit $rc, want $want: $err"
  grep -F -- "$opt" <<<"$err" | grep -qF -- "'$val'" ||
    fc_fail "$opt '$val': no message naming the option and the value: $err"
}

# 1. fleetcast (bad usage: 2). A push with a bad value goes nowhere.
cli=("$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_SERVICE" --quiet)
push=("${cli[@]}" release push "$FC_TMP/src" --channel stable --version 1 --key "$key")
for v in abc 12x -1 +3 "" " 7" 0x10 1e3 99999999999999999999 18446744073709551616; do
  refused 2 --serial "$v" "${push[@]}" --serial "$v"
done
for v in 5x -3 0 abc 1e2; do refused 2 --timeout "$v" "${push[@]}" --timeout "$v"; done
for v in 64x 12 -65536 1.5.3 8Q; do refused 2 --window "$v" "${push[@]}" --window "$v"; done
for ep in "tcp://127.0.0.1:notaport" "tcp://127.0.0.1" "tcp://127.0.0.1:70000" "http://x:1" \
  "tcp://:7400" "tcp://*:7400" ""; do
  refused 2 --broker "$ep" "$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$ep" release push \
    "$FC_TMP/src" --channel stable --version 1 --key "$key"
done
list=$(fc_cli release list --json)
[ "$list" = "[]" ] || fc_fail "a refused push pushed something: $list"
fc_pass "fleetcast release push refuses bad --serial, --timeout, --window, --broker (exit 2, named), pushes nothing"

for v in 150 0 -5 10.5 0x10 abc; do
  refused 2 --canary "$v" "${cli[@]}" config set a=1 --key "$key" --canary "$v"
  refused 2 --halt-percent "$v" "${cli[@]}" config set a=1 --key "$key" --canary 10 --halt-percent "$v"
done
for v in abc 3x 0 +1 99999999999999999999; do
  refused 2 "revision" "$v" "${cli[@]}" config status "$v"
  refused 2 "revision" "$v" "${cli[@]}" config rollback "$v" --key "$key"
done
refused 2 --serial x1 "${cli[@]}" keys rotate --key "$key" --trust "$FC_TMP/keys/signing.pub" --serial x1
hist=$(fc_cli config history --json)
[ "$(fc_json_num rev <<<"$hist")" = "" ] || fc_fail "a refused config command published: $hist"
fc_pass "fleetcast config refuses bad --canary, --halt-percent and revision numbers, publishes nothing"

for v in 0 -1 abc 5x 2h; do
  refused 2 --debounce "$v" "${cli[@]}" release watch "$FC_TMP/src" --channel stable --key "$key" --debounce "$v"
done
for v in 0 -2 abc 1.5; do refused 2 --keep "$v" "${cli[@]}" release prune --channel stable --keep "$v"; done
list=$(fc_cli release list --json)
[ "$list" = "[]" ] || fc_fail "a refused release watch published something: $list"
fc_pass "fleetcast release watch and prune refuse bad --debounce and --keep (exit 2, named), publish nothing"

# 2. fleetcast-broker (bad usage: 2): nothing created, nothing bound.
b2="$FC_TMP/b2"
broker=("$FC_BROKER_BIN" --insecure --data "$b2")
for v in 150 0 -5 abc 25x " 50" 0x10 50.5; do
  refused 2 --restart-share "$v" "${broker[@]}" --restart-share "$v"
done
for ep in "tcp://127.0.0.1:99999" "tcp://*:abc" "udp://127.0.0.1:7400" "tcp://" "inproc://x" ""; do
  refused 2 --service "$ep" "${broker[@]}" --service "$ep"
  refused 2 --announce "$ep" "${broker[@]}" --announce "$ep"
done
[ ! -e "$b2" ] || fc_fail "a broker refused for its options created its data dir"
fc_pass "fleetcast-broker refuses bad --restart-share, --service, --announce (exit 2, named), creates nothing"

# 3. fleetcast-agent (bad usage: 1, its status for any error; 2 means "postponed").
agent=("$FC_AGENT_BIN" --insecure --broker "$FC_SERVICE" --channel stable --install
  "$FC_TMP/a1/install" --state "$FC_TMP/a1/state" --trust "$FC_TMP/keys/signing.pub" --once)
for v in -5 10x 0x10 1e3 abc "" 5q; do refused 1 --hook-timeout "$v" "${agent[@]}" --hook-timeout "$v"; done
for v in 0 -1 abc 0x1e 3s5; do refused 1 --timeout "$v" "${agent[@]}" --timeout "$v"; done
for v in 0 4Q -4M 1.5.2 0x100; do refused 1 --window "$v" "${agent[@]}" --window "$v"; done
for v in 0 2x; do refused 1 --freeze-after "$v" "${agent[@]}" --freeze-after "$v"; done
for ep in "tcp://127.0.0.1" "tcp://127.0.0.1:0" "tcp://127.0.0.1:65536" "tcp://*:7400" \
  "udp://h:1" "tcp://h:7400x"; do
  refused 1 --broker "$ep" "${agent[@]}" --broker "$ep"
done
[ ! -e "$FC_TMP/a1" ] || fc_fail "an agent refused for its options created its dirs"
fc_pass "fleetcast-agent refuses bad --hook-timeout, --timeout, --window, --freeze-after, --broker (exit 1, named), creates nothing"

# 4. Good values in every form the grammar allows get past the option parsing (to the next
#    check, which fails on purpose: no command, no --data, no --broker).
accepted() { # WHAT PATTERN COMMAND...: COMMAND's stderr shows PATTERN, not a refused value
  local what=$1 pattern=$2 err
  shift 2
  err=$(timeout 30 "$@" 2>&1 >/dev/null) || true
  grep -q -- "$pattern" <<<"$err" && ! grep -q " needs .*, not '" <<<"$err" ||
    fc_fail "$what refused: $err"
}
for v in 30 30s 500ms 5m 1h 0.5 0; do
  accepted "agent --hook-timeout $v" "--broker is required" "$FC_AGENT_BIN" --hook-timeout "$v"
done
for v in 4096 64K 64KiB 8m 1G 1.5M; do
  accepted "agent --window $v" "--broker is required" "$FC_AGENT_BIN" --window "$v"
done
accepted "fleetcast values" "unknown command 'nothing'" "$FC_CLI_BIN" --serial 7 --window 8M \
  --timeout 90s --canary 10% --halt-percent 50 --broker "tcp://[::1]:7400" nothing
accepted "broker values" "--data DIR is required" "$FC_BROKER_BIN" --restart-share 25% \
  --service "tcp://*:7400" --announce "ipc://$FC_TMP/announce"
fc_pass "good values in every documented form are taken (30, 30s, 500ms, 5m, 64KiB, 1.5M, 10%, [::1])"

# 5. The tools the suites drive (bad usage: 2).
sim="$FC_BIN/tools/fleetcast-fleetsim"
if [ -x "$sim" ]; then
  for v in 5x 0 " 5" 0x10; do
    refused 2 --agents "$v" "$sim" --insecure --broker tcp://127.0.0.1:1 --agents "$v"
  done
  for v in 5x 0 -1 1e3; do
    refused 2 --round-timeout "$v" "$sim" --insecure --broker tcp://127.0.0.1:1 --agents 1 \
      --round-timeout "$v"
  done
  refused 2 --broker "tcp://h" "$sim" --insecure --broker "tcp://h"
fi
for v in 5x -1 " 5"; do
  refused 2 --cut-every "$v" "$FC_PROXY_BIN" --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --cut-every "$v"
done
refused 2 --listen "127.0.0.1:99999" "$FC_PROXY_BIN" --listen 127.0.0.1:99999 --upstream 127.0.0.1:1
refused 2 --cut-random "5:x" "$FC_PROXY_BIN" --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --cut-random 5:x
if [ -x "$FC_HOSTILE_BIN" ]; then
  refused 2 COUNT abc "$FC_HOSTILE_BIN" --insecure flood tcp://127.0.0.1:1 abc
  refused 2 SECONDS 5x "$FC_HOSTILE_BIN" --insecure hog tcp://127.0.0.1:1 stable 5x
  refused 2 MIB -1 "$FC_HOSTILE_BIN" --insecure nilflood tcp://127.0.0.1:1 1 -1
  refused 2 SECONDS 1e3 "$FC_HOSTILE_BIN" broker tcp://127.0.0.1:1 tcp://127.0.0.1:2 1e3
  refused 2 REV x7 "$FC_HOSTILE_BIN" --insecure as-agent tcp://127.0.0.1:1 a1 ack x7
fi
refused 2 N 5x "$FC_FREEPORT_BIN" 5x
fc_pass "fleetcast-fleetsim, -faultproxy, -hostile and -freeport refuse bad values (exit 2, named)"
