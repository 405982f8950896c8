#!/usr/bin/env bash
# it_pg_standby.sh: the broker's database on a PostgreSQL primary with a synchronous
# streaming standby (issue 17): after a push and a config set were acknowledged, the primary
# is SIGKILLed and the standby promoted; the broker, pointed at it, has lost nothing of
# either, and pushes and sets work again.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
[ -n "${FC_TEST_PG:-}" ] || source "$(dirname "$0")/pg.sh"
export FC_INSECURE=1
fc_keygen
# shellcheck source=tests/pg_standby.sh
source "$(dirname "$0")/pg_standby.sh"
fc_standby_make
fc_pass "a primary with a synchronous streaming standby"

data="$FC_TMP/broker"
fc_start_broker "$data" --store "$FC_TEST_PG"
src="$FC_TMP/src"
mkdir -p "$src"
fc_random_file "$src/a.bin" 256
fc_push "$src" 1 >/dev/null
fc_config set color=blue >/dev/null

# The primary goes, as a machine would: SIGKILL, no shutdown.
fc_primary_kill
fc_kill9 "$FC_BROKER_PID"
fc_standby_promote

# The broker, pointed at the new primary: what was acknowledged is there.
fc_restart_broker "$data" --store "${FC_TEST_PG/port=$PRIMARY_PORT/port=$STANDBY_PORT}"
FC_AGENT_BROKER=$FC_SERVICE fc_agent_run a1 --timeout 30 || fc_fail "agent a1 failed: $(tail -5 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "a1 does not run release 1"
fc_config_has a1 color '"blue"' || fc_fail "the config set is gone: $(fc_config_text a1)"
fc_pass "after the primary's loss and the standby's promotion: the release and the config set are there"

fc_random_file "$src/b.bin" 64
fc_push "$src" 2 >/dev/null || fc_fail "a push after the failover failed"
fc_config set color=green >/dev/null || fc_fail "a config set after the failover failed"
FC_AGENT_BROKER=$FC_SERVICE fc_agent_run a1 --timeout 30 || fc_fail "agent a1 failed: $(tail -5 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" || fc_fail "a1 does not run release 2"
fc_config_has a1 color '"green"' || fc_fail "the new config set did not arrive: $(fc_config_text a1)"
fc_pass "pushes and sets work again on the promoted standby, and the agent converges"
