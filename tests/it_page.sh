#!/usr/bin/env bash
# it_page.sh: the live fleet page in a real browser: headless Chromium (driven over its
# DevTools protocol by tests/fc_cdp.py) loads the page of a running broker with two agents;
# a release push and a config change show up on the page (the channel's new release, the
# agents' new version, the revision and its convergence) within 2 s of the change, without
# a reload, and so does the rollout of a release in waves (a canary, then promoted) on the
# channel's rollout bar. Keeps a screenshot: BUILD/tests/it_page.png.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

chrome=/usr/lib/chromium/chromium
[ -x "$chrome" ] || chrome=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chrome" ] || fc_skip "no chromium (Debian package chromium; ./run.sh test installs it)"

http_port=$(fc_ports 1)
fc_start_broker "$FC_TMP/broker" --http "tcp://127.0.0.1:$http_port"
fc_wait_port "$http_port" || fc_fail "no HTTP endpoint: $(tail -5 "$FC_TMP/broker.log")"
mkdir -p "$FC_TMP/src"
fc_random_file "$FC_TMP/src/app" 64
fc_push "$FC_TMP/src" 1 >/dev/null
fc_config_agent a1 --group web
fc_config_agent a2 --group db
status_on() { # VERSION: both agents report it installed
  [ "$(fc_cli status --json | python3 -c '
import json, sys
print(sum(a["version"] == sys.argv[1] for a in json.load(sys.stdin)))' "$1")" = 2 ]
}
fc_wait_for "both agents on release 1" 30 status_on 1

# The browser: a profile of its own, no sandbox when root (the sandbox refuses root).
dt_port=$(fc_ports 1)
sandbox=()
[ "$(id -u)" = 0 ] && sandbox=(--no-sandbox)
"$chrome" --headless=new "${sandbox[@]}" --disable-gpu --no-first-run --no-default-browser-check \
  --disable-extensions --disable-background-networking --user-data-dir="$FC_TMP/chrome" \
  --window-size=1280,1000 --remote-debugging-address=127.0.0.1 --remote-debugging-port="$dt_port" \
  about:blank >"$FC_TMP/chrome.log" 2>&1 &
FC_PIDS+=($!)
fc_wait_port "$dt_port" || fc_fail "chromium did not start: $(tail -20 "$FC_TMP/chrome.log")"

coproc CDP { python3 "$(dirname "$0")/fc_cdp.py" "$dt_port" "http://127.0.0.1:$http_port/" 2>"$FC_TMP/cdp.log"; }
FC_PIDS+=($CDP_PID)
cdp() { # COMMAND...: one command to the driver, its answer on stdout
  echo "$*" >&"${CDP[1]}"
  local answer
  read -r -t 30 answer <&"${CDP[0]}" || fc_fail "the browser driver did not answer '$1': $(cat "$FC_TMP/cdp.log")"
  echo "$answer"
}
now() { date +%s.%N; }
# Waits up to 5 s for JS to hold on the page; fails unless it held within 2 s of time T0.
within_2s() { # WHAT T0 JS
  local what=$1 t0=$2; shift 2
  local answer; answer=$(cdp wait 5 "$*")
  local elapsed; elapsed=$(python3 -c "import sys; print('%.2f' % ($(now) - $t0))")
  [ "${answer%% *}" = ok ] || fc_fail "the page never showed $what: $answer"
  python3 -c "import sys; sys.exit(0 if $elapsed <= 2.0 else 1)" ||
    fc_fail "the page showed $what only $elapsed s after the change"
  echo "$elapsed"
}

rows='[...document.querySelectorAll("#agents tbody tr")]'
on_version() { echo "$rows.filter(r => r.cells[3].textContent === \"$1\").length === 2"; }
channel_on() { echo '[...document.querySelectorAll("#channels tbody tr")].some(r => r.cells[0].textContent === "stable" && r.cells[1].textContent === "'"$1"'")'; }

answer=$(cdp wait 10 "$(on_version 1) && $(channel_on 1)")
[ "${answer%% *}" = ok ] || fc_fail "the page did not show two agents on release 1: $answer"
# A mark on the window: a reload would wipe it.
[ "$(cdp eval 'window.fcMark = 42')" = "value 42" ] || fc_fail "cannot mark the page"
grep -q live <<<"$(cdp eval 'document.getElementById("live").textContent')" ||
  fc_fail "the page is not live: $(cdp eval 'document.getElementById("live").textContent')"
fc_pass "the page shows the channel on release 1 and both agents (id, group, version, state)"

# A release: the channel's row within 2 s of the push; the agents' version within 2 s of
# the broker hearing it (status --json).
fc_random_file "$FC_TMP/src/app" 256
fc_push "$FC_TMP/src" 2 >/dev/null
t=$(within_2s "channel stable on release 2" "$(now)" "$(channel_on 2)")
fc_pass "release 2 on the page's channel row $t s after the push"
fc_wait_for "both agents on release 2 in status" 30 status_on 2
t=$(within_2s "both agents on version 2" "$(now)" "$(on_version 2)")
fc_pass "both agents on version 2 on the page $t s after status --json shows it"

# A config change: the revision within 2 s of `config set`, its convergence within 2 s of
# config status showing both applied.
fc_keygen
fc_config set port=9000 >/dev/null
t=$(within_2s "revision 1" "$(now)" 'document.querySelector("#revisions tr[data-rev=\"1\"]") !== null')
fc_pass "config revision 1 on the page $t s after config set"
fc_wait_for "revision 1 applied by both in config status" 20 fc_config_count_ge 1 applied 2
t=$(within_2s "revision 1 applied by both" "$(now)" \
  '(r => r !== null && r.cells[4].textContent.includes("applied 2"))(document.querySelector("#revisions tr[data-rev=\"1\"]"))')
fc_pass "revision 1's convergence (applied 2) on the page $t s after config status shows it"

# A release in waves: a 50% canary is one of the two agents, held for promote. The channel
# row's rollout cell (its data-* attributes and text) follows `release status --json`
# within 2 s, without a reload: wave 1 of 2 waiting for promote with 1 installed and 1 not
# offered, then, once promoted, done with both installed.
rollout_json() { fc_cli release status --channel stable --json | tr -d ' \n'; }
rollout_is() { # STATE INSTALLED NOT_OFFERED: release status says so
  local j; j=$(rollout_json)
  grep -q "\"state\":\"$1\"" <<<"$j" && [ "$(fc_json_num installed <<<"$j")" = "$2" ] &&
    [ "$(fc_json_num not_offered <<<"$j")" = "$3" ]
}
cell='document.querySelector("#channels tbody tr td.rollout")'
cell_is() { # STATE WAVE WAVES INSTALLED NOT_OFFERED TEXT: the rollout cell shows it ("-": any)
  local js="c !== null && c.querySelector(\".bar\") !== null && c.textContent.includes(\"$6\")"
  local keys=(state wave waves installed notOffered) i args=("$@")
  for i in 0 1 2 3 4; do
    [ "${args[$i]}" = - ] || js+=" && c.dataset.${keys[$i]} === \"${args[$i]}\""
  done
  echo "(c => $js)($cell)"
}
fc_random_file "$FC_TMP/src/app" 256
fc_push "$FC_TMP/src" 3 --canary 50 >/dev/null
t=$(within_2s "the canary rollout of release 3" "$(now)" "$(channel_on 3) && $(cell_is WAITING-PROMOTE 1 2 - 1 "wave 1/2")")
fc_pass "the canary of release 3 (wave 1/2, waiting for promote) on the channel row $t s after the push"
fc_wait_for "the canary installed (release status)" 30 rollout_is WAITING-PROMOTE 1 1
t=$(within_2s "the canary installed" "$(now)" "$(cell_is WAITING-PROMOTE 1 2 1 1 "1 installed")")
fc_pass "the canary's install on the rollout bar $t s after release status --json shows it"
fc_cli release promote --channel stable >/dev/null || fc_fail "promote refused"
fc_wait_for "the rollout of 3 done (release status)" 30 rollout_is DONE 2 0
t=$(within_2s "the rollout done" "$(now)" "$(cell_is DONE 2 2 2 0 "2 installed")")
fc_pass "the promoted rollout, done with both installed, on the rollout bar $t s after release status --json shows it"

[ "$(cdp eval 'window.fcMark')" = "value 42" ] || fc_fail "the page was reloaded (its mark is gone)"
fc_pass "no reload: every change arrived over the event stream"

# Sorting and filtering work in the browser too.
cdp eval 'document.querySelector("#agents th[data-key=id]").click()' >/dev/null # descending
[ "$(cdp eval "$rows.map(r => r.cells[0].textContent).join()")" = 'value "a2,a1"' ] ||
  fc_fail "sorting by id descending: $(cdp eval "$rows.map(r => r.cells[0].textContent).join()")"
filter() { cdp eval '(f => { f.value = "'"$1"'"; f.dispatchEvent(new Event("input")); return 1; })(document.getElementById("filter"))'; }
[ "$(filter web)" = "value 1" ] || fc_fail "cannot type into the filter"
[ "$(cdp eval "$rows.map(r => r.cells[0].textContent).join()")" = 'value "a1"' ] ||
  fc_fail "filtering on 'web': $(cdp eval "$rows.map(r => r.cells[0].textContent).join()")"
[ "$(filter "")" = "value 1" ] && [ "$(cdp eval "$rows.length")" = "value 2" ] ||
  fc_fail "clearing the filter does not list both agents again"
fc_pass "the agents table sorts by a column and filters on any column"

shot="$FC_BUILD/tests/it_page.png"
[ "$(cdp shot "$shot")" = ok ] && [ -s "$shot" ] || fc_fail "no screenshot"
fc_pass "screenshot kept: $shot"

# The broker stops promptly with the page's event stream open (the stream is woken, its
# thread joined): not left for the cleanup's KILL.
kill -TERM "$FC_BROKER_PID"
for _ in $(seq 30); do kill -0 "$FC_BROKER_PID" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$FC_BROKER_PID" 2>/dev/null || fc_fail "the broker did not stop within 3 s with the page open"
grep -q 'fleetcast-broker: stopped' "$FC_TMP/broker.log" || fc_fail "the broker did not stop cleanly: $(tail -5 "$FC_TMP/broker.log")"
fc_pass "the broker stops within 3 s with the page's event stream open"
