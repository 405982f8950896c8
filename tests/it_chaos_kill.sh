#!/usr/bin/env bash
# it_chaos_kill.sh: SIGKILL of the broker, of an agent or of a publisher at seeded random
# points of push, download, install and config apply (FC_CHAOS_POINTS, default 30). After
# every kill: the broker's database passes integrity_check with every release and revision
# present and intact, and a killed agent's `current` is a complete verified tree (never a
# partial one). At the end everything converges to the latest release and revision, in order.
# FC_CHAOS_SEED=N replays a run.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_chaos_seed
points=${FC_CHAOS_POINTS:-30}

data="$FC_TMP/broker"
fc_start_broker "$data"
fc_keygen
# The agents fetch through a throttle so a download lasts long enough to be killed in.
fc_start_proxy --rate $((6 * 1048576))
agents=(k1 k2 k3)
declare -A apid
start_agent() {
  FC_AGENT_BROKER=$FC_PROXY fc_config_agent "$1" --exec-changing "sleep 0.1" --exec-changed "sleep 0.2" \
    --config-changed "cat >/dev/null; sleep 0.1; echo \$FLEETCAST_CONFIG_REV >>$FC_TMP/$1.revs"
  apid[$1]=$FC_LAST_PID
}
for a in "${agents[@]}"; do start_agent "$a"; done
# ... and the publisher pushes through a throttle of its own, so a push can be killed too.
pport=$(fc_ports 1)
"$FC_PROXY_BIN" --listen "127.0.0.1:$pport" --upstream "127.0.0.1:${FC_SERVICE##*:}" \
  --rate $((8 * 1048576)) >/dev/null 2>"$FC_TMP/pproxy.log" &
FC_PIDS+=($!)
fc_wait_port "$pport" || fc_fail "publisher proxy did not start"
PUB="tcp://127.0.0.1:$pport"

src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/base.bin" 2048
committed=()
revs_committed=()
push_bg() { # VERSION: a push in the background, PUSH_PID
  "$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$PUB" --quiet --timeout 5 release push "$src" \
    --channel stable --version "$1" --key "$FC_TMP/keys/signing.key" >/dev/null 2>>"$FC_TMP/push.log" &
  PUSH_PID=$!
  FC_PIDS+=("$PUSH_PID")
}
config_bg() { # REV-LABEL: a config set in the background, CONF_PID
  "$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_SERVICE" --quiet --timeout 5 config set "point=$1" \
    --key "$FC_TMP/keys/signing.key" >/dev/null 2>>"$FC_TMP/push.log" &
  CONF_PID=$!
  FC_PIDS+=("$CONF_PID")
}
# Re-runs a push until it succeeds (a push resumes; an identical re-commit is accepted).
push_done() {
  local try
  for try in $(seq 10); do
    fc_cli --timeout 5 release push "$src" --channel stable --version "$1" \
      --key "$FC_TMP/keys/signing.key" >/dev/null 2>>"$FC_TMP/push.log" && return 0
    sleep 0.3
  done
  fc_fail "push of $1 never succeeded: $(tail -3 "$FC_TMP/push.log")"
}
check_now() { # WHAT AGENT...: the invariants that hold at any moment
  local what=$1; shift
  fc_check "$data" "$@" || fc_fail "after $what: $(cat "$FC_TMP/check.out")"
}

declare -A kills=([broker]=0 [agent]=0 [publisher]=0)
declare -A phases=()
version=0
for p in $(seq "$points"); do
  version=$((p))
  fc_rand 1024 6144; fc_random_file "$src/part.bin" "$FC_R"
  echo "version $version" >"$src/app"
  fc_rand 0 2; victim=$(echo broker agent publisher | cut -d' ' -f$((FC_R + 1)))
  fc_rand 0 1; with_config=$FC_R
  # a push lasts a few hundred ms through its throttle: a publisher is killed within it
  if [ "$victim" = publisher ]; then fc_rand 20 500; else fc_rand 20 1200; fi; delay=$FC_R
  push_bg "$version"
  [ "$with_config" = 1 ] && config_bg "$p" || CONF_PID=
  sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))"
  # What was going on when the kill landed (for the summary).
  phase=
  if kill -0 "$PUSH_PID" 2>/dev/null; then phase=push; fi
  if ls -d "$FC_TMP"/k*/install/releases/.staging-* >/dev/null 2>&1; then phase="${phase:+$phase+}download"; fi
  phase=${phase:-idle}
  case $victim in
    broker)
      fc_kill9 "$FC_BROKER_PID"
      check_now "broker SIGKILL at point $p (+${delay}ms)"
      fc_restart_broker "$data" ;;
    publisher)
      fc_kill9 "$PUSH_PID"
      [ -n "$CONF_PID" ] && fc_kill9 "$CONF_PID" ;;
    agent)
      fc_rand 0 $(( ${#agents[@]} - 1 )); a=${agents[$FC_R]}
      phase=idle
      ls -d "$FC_TMP/$a"/install/releases/.staging-* >/dev/null 2>&1 && phase=download
      # a hook running: the install's changing hook or the config's changed hook
      if pgrep -P "${apid[$a]}" >/dev/null 2>&1; then
        if [ "$phase" = idle ]; then phase=hook; else phase="$phase+hook"; fi
      fi
      fc_kill9 "${apid[$a]}"
      check_now "agent $a SIGKILL at point $p (+${delay}ms)" "$a"
      start_agent "$a" ;;
  esac
  kills[$victim]=$(( ${kills[$victim]} + 1 ))
  phases["$victim/$phase"]=$(( ${phases["$victim/$phase"]:-0} + 1 ))
  echo "point $p: $victim killed ${delay}ms into release $version$([ "$with_config" = 1 ] && echo ' + config') ($phase)"
  wait "$PUSH_PID" 2>/dev/null || push_done "$version"
  committed+=("$version")
  if [ -n "$CONF_PID" ] && wait "$CONF_PID" 2>/dev/null; then revs_committed+=("$p"); fi
done

# Every release whose push succeeded is there; every revision is there, in order.
list=$(fc_cli release list --json | tr -d ' \n')
for v in "${committed[@]}"; do
  grep -qF "\"version\":\"$v\"" <<<"$list" || fc_fail "committed release $v is missing"
done
history=$(fc_cli config history)
for p in "${revs_committed[@]}"; do
  grep -qE " point=$p\$" <<<"$history" || fc_fail "committed revision point=$p is missing: $history"
done
config_bg final; wait "$CONF_PID" || fc_fail "final config set"
latest_rev=$(fc_cli config history --json | fc_json_nums rev | sort -n | tail -1)
FC_CHECK_ARGS=--expect-latest fc_wait_for "every agent at release $version and revision $latest_rev" 120 \
  fc_check "$data" "${agents[@]}" || true
for a in "${agents[@]}"; do
  diff -r "$src" "$FC_TMP/$a/install/current" >/dev/null || fc_fail "$a: install differs from release $version"
  sort -n -c "$FC_TMP/$a.revs" 2>/dev/null \
    || fc_fail "$a: revisions out of order: $(tr '\n' ' ' <"$FC_TMP/$a.revs")"
  [ "$(tail -1 "$FC_TMP/$a.revs")" = "$latest_rev" ] || fc_fail "$a: last applied revision $(tail -1 "$FC_TMP/$a.revs")"
done
echo "kills by victim/what was running: $(for k in "${!phases[@]}"; do echo -n "$k=${phases[$k]} "; done)"
fc_pass "$points kill points (broker ${kills[broker]}, agent ${kills[agent]}, publisher ${kills[publisher]}): invariants held after each, all converged to release $version and revision $latest_rev"
