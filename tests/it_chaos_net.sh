#!/usr/bin/env bash
# it_chaos_net.sh: releases and config revisions pushed through a proxy that cuts, stalls
# and slows connections at seeded random points still arrive complete and in order: every
# agent's install is byte-identical to the latest release, its config hook saw revisions
# in increasing order ending at the latest, and fleetcast-check finds nothing wrong.
# FC_CHAOS_SEED=N replays a run; FC_CHAOS_POINTS (default 30) scales the rounds.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_chaos_seed
points=${FC_CHAOS_POINTS:-30}
rounds=$(( points >= 30 ? points / 10 : 3 ))

data="$FC_TMP/broker"
fc_start_broker "$data"
fc_keygen
fc_rand 256 1024; cut_mean=$((FC_R * 1024))
fc_rand 128 512; stall_mean=$((FC_R * 1024))
fc_rand 50 400; stall_ms=$FC_R
fc_rand 4 16; rate=$((FC_R * 1048576))
fc_rand 1 1000000; proxy_seed=$FC_R
fc_rand 0 1; reset=$([ "$FC_R" = 1 ] && echo --reset || true)
echo "proxy: --cut-mean $cut_mean --stall-mean $stall_mean --stall-ms $stall_ms --rate $rate --seed $proxy_seed $reset"
fc_start_proxy --cut-mean "$cut_mean" --stall-mean "$stall_mean" --stall-ms "$stall_ms" \
  --rate "$rate" --seed "$proxy_seed" $reset

agents=(n1 n2 n3)
for a in "${agents[@]}"; do
  FC_AGENT_BROKER=$FC_PROXY fc_config_agent "$a" \
    --config-changed "cat >/dev/null; echo \$FLEETCAST_CONFIG_REV >>$FC_TMP/$a.revs"
done

# push_through DIR VERSION: a push through the faulty proxy, re-run (it resumes) until done.
push_through() {
  local try
  for try in $(seq 20); do
    "$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_PROXY" --quiet --timeout 5 release push "$1" \
      --channel stable --version "$2" --key "$FC_TMP/keys/signing.key" >/dev/null 2>>"$FC_TMP/push.log" \
      && return 0
  done
  fc_fail "push of $2 failed 20 times through the proxy: $(tail -3 "$FC_TMP/push.log")"
}
config_through() {
  local try
  for try in $(seq 20); do
    "$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_PROXY" --quiet --timeout 5 config set "$@" \
      --key "$FC_TMP/keys/signing.key" >/dev/null 2>>"$FC_TMP/push.log" && return 0
  done
  fc_fail "config set $* failed 20 times through the proxy: $(tail -3 "$FC_TMP/push.log")"
}

src="$FC_TMP/src"
mkdir -p "$src/lib"
fc_random_file "$src/big.bin" 3072
for r in $(seq "$rounds"); do
  fc_rand 64 1024; fc_random_file "$src/lib/part$((r % 3)).bin" "$FC_R"
  echo "version $r" >"$src/app"
  push_through "$src" "$r"
  config_through "round=$r" "seed=$FC_SEED"
  fc_rand 0 1500; sleep "$(( FC_R / 1000 )).$(printf %03d $(( FC_R % 1000 )))"
done
latest_rev=$(fc_cli config history --json | fc_json_nums rev | sort -n | tail -1)

FC_CHECK_ARGS=--expect-latest fc_wait_for "every agent at release $rounds and revision $latest_rev" 180 \
  fc_check "$data" "${agents[@]}" || true
read -r cuts bytes < <(fc_stop_proxy)
for a in "${agents[@]}"; do
  diff -r "$src" "$FC_TMP/$a/install/current" >/dev/null || fc_fail "$a: install differs from release $rounds"
  fc_config_has "$a" round "$rounds" || fc_fail "$a: config $(fc_config_text "$a")"
  sort -n -c "$FC_TMP/$a.revs" 2>/dev/null || fc_fail "$a: revisions out of order: $(tr '\n' ' ' <"$FC_TMP/$a.revs")"
  [ "$(uniq -d "$FC_TMP/$a.revs")" = "" ] || fc_fail "$a: a revision applied twice"
  [ "$(tail -1 "$FC_TMP/$a.revs")" = "$latest_rev" ] || fc_fail "$a: last applied $(tail -1 "$FC_TMP/$a.revs")"
done
FC_CHECK_ARGS=--expect-latest fc_check "$data" "${agents[@]}" || fc_fail "checker: $(cat "$FC_TMP/check.out")"
# The broker's side: every agent acknowledged the latest revision as applied.
fc_wait_for "3 acks of revision $latest_rev" 30 fc_config_count_ge "$latest_rev" applied 3
[ "${cuts:-0}" -ge 1 ] || fc_fail "the proxy cut nothing (bytes ${bytes:-0})"
fc_pass "$rounds releases and revisions through $cuts cuts ($bytes bytes): 3 agents complete, in order, checker OK"
