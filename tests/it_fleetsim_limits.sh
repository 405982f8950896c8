#!/usr/bin/env bash
# it_fleetsim_limits.sh: fleetcast-fleetsim asked for more engines than the process's fd limit
# allows says so before it starts anything, naming the limit and what to do instead, and exits
# with status 1: never an abort inside CZMQ, never a core (issue 19).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

SIM="$FC_BIN/tools/fleetcast-fleetsim"
[ -x "$SIM" ] || fc_fail "missing $SIM"

# A lowered limit, soft and hard (fleetsim raises the soft one to the hard one itself).
rc=0
(
  ulimit -c 0
  ulimit -n 256
  exec env TMPDIR="$FC_TMP" timeout 60 "$SIM" --start-broker --insecure -n 400 --bench-config 1 \
    --round-timeout 10 --sync-timeout 20
) >"$FC_TMP/sim.out" 2>"$FC_TMP/sim.err" || rc=$?
err=$(cat "$FC_TMP/sim.err")
[ "$rc" = 1 ] || fc_fail "expected exit status 1 (not an abort or a timeout), got $rc: $err"
grep -q "RLIMIT_NOFILE is 256" <<<"$err" || fc_fail "the fd limit is not named: $err"
grep -q "400 engines" <<<"$err" || fc_fail "the engines asked for are not named: $err"
grep -q "fleetcast-swarm" <<<"$err" || fc_fail "fleetcast-swarm not offered: $err"
grep -q "several processes" <<<"$err" || fc_fail "several processes not offered: $err"
# Checked up front: no broker started, no engine made, no temp dir left.
! grep -q "broker pid" <<<"$err" || fc_fail "started a broker before checking: $err"
! grep -q "engines started" <<<"$err" || fc_fail "started engines before checking: $err"
[ -z "$(ls -d "$FC_TMP"/fleetsim.* 2>/dev/null)" ] || fc_fail "temp dir left behind"
fc_pass "fleetsim: 400 engines under ulimit -n 256 refused up front: $(grep -m1 RLIMIT <<<"$err")"

# The socket limit too: --max-sockets lowers libzmq's, and the check names it.
rc=0
(
  ulimit -c 0
  exec env TMPDIR="$FC_TMP" timeout 60 "$SIM" --start-broker --insecure -n 50 --max-sockets 100 \
    --bench-config 1 --round-timeout 10 --sync-timeout 20
) >"$FC_TMP/sim2.out" 2>"$FC_TMP/sim2.err" || rc=$?
err=$(cat "$FC_TMP/sim2.err")
[ "$rc" = 1 ] || fc_fail "socket limit: expected exit status 1, got $rc: $err"
grep -q "ZeroMQ socket limit is 100" <<<"$err" || fc_fail "the socket limit is not named: $err"
grep -q "fleetcast-swarm" <<<"$err" || fc_fail "fleetcast-swarm not offered: $err"
fc_pass "fleetsim: 50 engines under 100 ZeroMQ sockets refused up front"

# At the check's own bound it still runs, all the way (the per-engine counts are not too low:
# 12 engines need 97 to 104 sockets, and 112 is what the check asks for).
rc=0
(
  ulimit -c 0
  ulimit -n 512
  exec env TMPDIR="$FC_TMP" timeout 60 "$SIM" --start-broker --insecure -n 12 --max-sockets 112 \
    --bench-config 1 --round-timeout 10 --sync-timeout 20 --json
) >"$FC_TMP/sim3.out" 2>"$FC_TMP/sim3.err" || rc=$?
[ "$rc" = 0 ] || fc_fail "12 engines in 112 sockets failed ($rc): $(tail -5 "$FC_TMP/sim3.err")"
grep -q '"agents":12,"started":12,"synced":12,' "$FC_TMP/sim3.out" ||
  fc_fail "not all 12 synced: $(cat "$FC_TMP/sim3.out")"
fc_pass "fleetsim: 12 engines in 112 ZeroMQ sockets under ulimit -n 512 still run"
