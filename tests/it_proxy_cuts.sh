#!/usr/bin/env bash
# it_proxy_cuts.sh: a proxy cuts the agent's connection every few MiB: a 64 MiB release still
# installs, and the bytes fetched stay within the release size plus one window per cut.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/big.bin" $((48*1024))
fc_random_file "$src/other.bin" $((16*1024))
size=$((64*1048576))
fc_push "$src" 1 >/dev/null

window=$((2*1048576))
fc_start_proxy --cut-every $((5*1048576))
FC_AGENT_BROKER=$FC_PROXY fc_agent_run a1 --window $window --timeout 120 \
  || fc_fail "agent failed through the cutting proxy: $(tail -5 "$FC_TMP/a1.log")"
read -r cuts _ < <(fc_stop_proxy)
[ "${cuts:-0}" -ge 5 ] || fc_fail "expected at least 5 cuts, proxy says ${cuts:-none}"
cmp "$src/big.bin" "$FC_TMP/a1/install/current/big.bin" || fc_fail "big.bin differs"
cmp "$src/other.bin" "$FC_TMP/a1/install/current/other.bin" || fc_fail "other.bin differs"
fetched=$(fc_json_field "$FC_TMP/a1.json" bytes_fetched)
limit=$(( size + cuts * window ))
[ "$fetched" -le "$limit" ] || fc_fail "fetched $fetched > size + cuts x window = $limit"
grep -q "connection lost" "$FC_TMP/a1.log" || fc_fail "agent did not log the disconnects"
grep -q "resum" "$FC_TMP/a1.log" || fc_fail "agent did not log the resumes"
fc_pass "64 MiB installed through $cuts cuts, fetched $fetched bytes (limit $limit)"
