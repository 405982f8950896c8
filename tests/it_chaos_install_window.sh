#!/usr/bin/env bash
# it_chaos_install_window.sh: SIGKILL of an agent at the exact risky points of an install and
# of a config apply — in the changing hook (before the swap), in the changed hook (after the
# swap, before the state commit) and in the config-changed hook: `current` is a complete
# verified tree every time, and a restarted agent converges to the latest release and config.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

data="$FC_TMP/broker"
fc_start_broker "$data"
fc_keygen
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/big.bin" 2048
echo 1 >"$src/app"
fc_push "$src" 1 >/dev/null
fc_agent_run a1 || fc_fail "install 1"

# kill_in HOOK-OPTION WHAT: an agent --once whose HOOK signals, then sleeps; killed there.
kill_in() {
  local opt=$1 what=$2 mark="$FC_TMP/in-hook"
  rm -f "$mark"
  fc_agent_once a1 "$opt" "cat >/dev/null; touch $mark; sleep 30" &
  local pid=$!
  FC_PIDS+=("$pid")
  fc_wait_for "the $what hook" 30 test -e "$mark"
  fc_kill9 "$pid"
  fc_check "$data" a1 || fc_fail "killed in the $what hook: $(cat "$FC_TMP/check.out")"
  fc_agent_run a1 --timeout 30 || fc_fail "after a kill in the $what hook: $(tail -3 "$FC_TMP/a1.log")"
  FC_CHECK_ARGS=--expect-latest fc_check "$data" a1 || fc_fail "not converged after a kill in the $what hook: $(cat "$FC_TMP/check.out")"
  diff -r "$src" "$FC_TMP/a1/install/current" >/dev/null || fc_fail "after the $what kill: install differs"
  fc_pass "killed in the $what hook: current intact, then converged ($(readlink "$FC_TMP/a1/install/current"))"
}
echo 2 >"$src/app"
fc_push "$src" 2 >/dev/null
kill_in --exec-changing "install changing (before the swap)"
echo 3 >"$src/app"
fc_push "$src" 3 >/dev/null
kill_in --exec-changed "install changed (after the swap, before the commit)"
echo 4 >"$src/app"
fc_push "$src" 4 >/dev/null
kill_in --exec-health "install health check"
fc_config set x=1 >/dev/null
kill_in --config-changed "config changed"
fc_config_has a1 x 1 || fc_fail "config not applied after restart: $(fc_config_text a1)"
