#!/usr/bin/env bash
# it_agent_watchdog.sh: the daemon agent answers systemd's watchdog: with $WATCHDOG_USEC set
# (WatchdogSec= in the unit) it sends WATCHDOG=1 to $NOTIFY_SOCKET (a datagram socket this
# test reads, as systemd would) from the engine's own loop, several times per interval; none
# without $WATCHDOG_USEC, none while the engine is stopped (SIGSTOP); and the agent units set
# WatchdogSec longer than the longest hook, since hooks run on the engine's thread.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
grep -q 'FC_SYSTEMD_FOUND:INTERNAL=1' "$FC_BUILD/CMakeCache.txt" 2>/dev/null ||
  fc_skip "built without libsystemd (libsystemd-dev): sd_notify does nothing"

fc_start_broker "$FC_TMP/broker"
mkdir -p "$FC_TMP/src"
fc_random_file "$FC_TMP/src/app" 16
fc_push "$FC_TMP/src" 1 >/dev/null

fc_notify_listen 60
pets() { fc_notified WATCHDOG=1; }

# Without WatchdogSec: READY, and no WATCHDOG=1.
NOTIFY_SOCKET="$FC_TMP/notify.sock" fc_config_agent plain
ready() { [ "$(fc_notified READY=1)" -ge 1 ]; }
fc_wait_for "READY=1 from the agent" 10 ready
sleep 1.5
[ "$(pets)" = 0 ] || fc_fail "WATCHDOG=1 without \$WATCHDOG_USEC: $(cat "$FC_TMP/notify.log")"
fc_stop "$FC_LAST_PID"
fc_pass "without \$WATCHDOG_USEC the agent sends READY=1 and no WATCHDOG=1"

# WatchdogSec=0.9s: at least every 0.45 s (systemd's advice: half the interval).
NOTIFY_SOCKET="$FC_TMP/notify.sock" WATCHDOG_USEC=900000 fc_config_agent watched
agent=$FC_LAST_PID
at_least() { [ "$(pets)" -ge "$1" ]; }
fc_wait_for "WATCHDOG=1 from the agent" 10 at_least 1
sleep 3
python3 - "$FC_TMP/notify.log" <<'PY' || fc_fail "the watchdog was not answered often enough: $(grep WATCHDOG "$FC_TMP/notify.log")"
import sys
t = [float(l.split()[0]) for l in open(sys.argv[1]) if "WATCHDOG=1" in l.split()[1:]]
gaps = [b - a for a, b in zip(t, t[1:])]
print("  %d WATCHDOG=1, largest gap %.2f s" % (len(t), max(gaps)))
sys.exit(0 if len(t) >= 6 and max(gaps) <= 0.45 else 1)
PY
fc_pass "with WATCHDOG_USEC=900000 the agent answers the watchdog every 0.45 s at most"

# A stopped engine answers nothing: the watchdog would fire.
kill -STOP "$agent"
sleep 0.3
n=$(pets)
sleep 1.5
[ "$(pets)" = "$n" ] || fc_fail "WATCHDOG=1 while the agent was stopped"
kill -CONT "$agent"
fc_wait_for "WATCHDOG=1 again once it runs" 5 at_least $((n + 1))
fc_pass "a stopped agent answers nothing, and answers again once it runs"

# The units: WatchdogSec longer than the default --hook-timeout (600 s) and its kill grace.
src=$(cd "$(dirname "$0")/.." && pwd)
for unit in fleetcast-agent.service fleetcast-agent@.service; do
  grep -qx 'WatchdogSec=15min' "$src/systemd/$unit" || fc_fail "$unit: no WatchdogSec=15min"
done
fc_pass "both agent units set WatchdogSec=15min"
