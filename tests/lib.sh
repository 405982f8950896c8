# lib.sh: shared helpers for the integration suites and the demo: temp dirs, free ports,
# starting programs and cleaning them up by PID.
# Usage: source tests/lib.sh BUILD_DIR

FC_BUILD=$(cd "${1:-build}" && pwd)
FC_BIN="$FC_BUILD"
FC_BROKER_BIN="$FC_BIN/broker/fleetcast-broker"
FC_CLI_BIN="$FC_BIN/publisher/fleetcast"
FC_AGENT_BIN="$FC_BIN/subscriber/fleetcast-agent"
FC_PROXY_BIN="$FC_BIN/tools/fleetcast-faultproxy"
FC_FREEPORT_BIN="$FC_BIN/tools/fleetcast-freeport"
FC_CHECK_BIN="$FC_BIN/tools/fleetcast-check"
FC_FORGE_BIN="$FC_BIN/tests/fc_forge"
FC_HOSTILE_BIN="$FC_BIN/tools/fleetcast-hostile"
for b in "$FC_BROKER_BIN" "$FC_CLI_BIN" "$FC_AGENT_BIN" "$FC_PROXY_BIN" "$FC_FREEPORT_BIN" \
  "$FC_CHECK_BIN"; do
  [ -x "$b" ] || { echo "missing $b: build first (./run.sh build)" >&2; exit 1; }
done

# Security arguments every direct invocation of the agent and the CLI passes (the helpers
# below pass them already), right after the binary: the CURVE keys of the test broker
# (--broker-key, and --key / --cert), filled in by fc_start_broker. A suite that sets
# FC_INSECURE=1 before fc_start_broker runs everything with --insecure instead.
# FC_FAKE_BROKER_SEC_ARGS go to `fc_hostile broker` so agents (with FC_AGENT_SEC_ARGS) can
# reach it: it serves with the test broker's own cert.
FC_AGENT_SEC_ARGS=()
FC_CLI_SEC_ARGS=()
FC_BROKER_SEC_ARGS=()
FC_FAKE_BROKER_SEC_ARGS=()

FC_TMP=$(mktemp -d "${TMPDIR:-/tmp}/fleetcast-test.XXXXXX")
FC_PIDS=()
FC_MOUNTS=()

# Under the sanitizer builds (./run.sh test sets ASAN_OPTIONS, then TSAN_OPTIONS), every
# program's reports go to files here, so an error, leak or data race in a daemon the suite
# only kills fails the suite too.
if [ -n "${ASAN_OPTIONS:-}" ]; then
  export ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$FC_TMP/sanitizer"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$FC_TMP/sanitizer"
fi
if [ -n "${TSAN_OPTIONS:-}" ]; then
  export TSAN_OPTIONS="$TSAN_OPTIONS:log_path=$FC_TMP/sanitizer"
fi

fc_cleanup() {
  local pid
  for pid in "${FC_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${FC_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  FC_PIDS=()
  # The suite's PostgreSQL (FC_STORE=postgresql, tests/pg.sh), stopped here too so a suite
  # whose own EXIT trap calls fc_cleanup does not leave it running.
  if declare -F fc_pg_stop >/dev/null; then fc_pg_stop; fi
  local m
  for m in "${FC_MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  # LeakSanitizer prints "Unable to get registers from thread N" alone when a thread of the
  # exiting process is itself exiting as the leak check stops the world (seen once in CI under
  # it_chaos_kill); it is a notice, not a report: a file holding nothing else is not a failure.
  local f reports=""
  for f in "$FC_TMP"/sanitizer.*; do
    [ -e "$f" ] || continue
    if grep -qvE '^(==[0-9]+==Unable to get registers from thread [0-9]+\.)?$' "$f"; then
      reports="$reports $f"
    else
      echo "note: LeakSanitizer notice only, not a report: $(tr '\n' ' ' <"$f")" >&2
    fi
  done
  if [ -n "$reports" ]; then
    echo "FAIL: sanitizer reports:" >&2
    cat $reports >&2
  fi
  if [ -n "${FC_KEEP_TMP:-}" ]; then echo "kept $FC_TMP" >&2; else rm -rf "$FC_TMP"; fi
  [ -z "$reports" ] || exit 1
}
trap fc_cleanup EXIT

# Exit status 77 tells ctest the suite was skipped (SKIP_RETURN_CODE), with the reason.
fc_skip() { echo "SKIP: $*" >&2; exit 77; }
fc_fail() { echo "FAIL: $*" >&2; exit 1; }
fc_pass() { echo "ok - $*"; }

# Prints N free loopback ports.
fc_ports() { "$FC_FREEPORT_BIN" "${1:-1}"; }

# FC_STORE=postgresql: the suite's brokers keep their state in PostgreSQL (a server of the
# suite's own, tests/pg.sh; one database per data directory, tests/fc_store_wrap.sh), and
# fleetcast-check reads it there. Suites that read fleetcast.db themselves skip
# (fc_sqlite_only).
fc_sqlite_only() {
  [ "${FC_STORE:-}" != postgresql ] || fc_skip "reads the SQLite file fleetcast.db itself (FC_STORE=postgresql)"
}
if [ "${FC_STORE:-}" = postgresql ]; then
  FC_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  mkdir -p "$FC_TMP/bin"
  for b in FC_BROKER_BIN FC_CHECK_BIN; do
    w="$FC_TMP/bin/$(basename "${!b}")"
    printf '#!/bin/sh\nexec bash %q %q "$@"\n' "$FC_LIB_DIR/fc_store_wrap.sh" "${!b}" >"$w"
    chmod +x "$w"
    printf -v "$b" '%s' "$w"
  done
  # shellcheck source=tests/pg.sh
  source "$FC_LIB_DIR/pg.sh"
fi

# Secure by default: one publisher key (signing + CURVE) and one agent key per suite in
# $FC_TMP/keys, a broker key in data dir $1 (kept across restarts), both client keys enrolled
# there; sets the *_SEC_ARGS arrays. With FC_INSECURE=1: --insecure everywhere.
fc_secure_setup() {
  local data=$1
  if [ "${FC_INSECURE:-0}" = 1 ]; then
    FC_BROKER_SEC_ARGS=(--insecure)
    FC_AGENT_SEC_ARGS=(--insecure)
    FC_CLI_SEC_ARGS=(--insecure)
    FC_FAKE_BROKER_SEC_ARGS=()
    return 0
  fi
  fc_keygen
  [ -f "$FC_TMP/keys/agent.cert_secret" ] ||
    "$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/keys" >/dev/null
  mkdir -p "$data"
  [ -f "$data/broker.cert_secret" ] ||
    "$FC_CLI_BIN" keygen --role broker --out "$data" >/dev/null
  "$FC_CLI_BIN" keys add-publisher "$FC_TMP/keys/publisher.cert" --data "$data" >/dev/null
  "$FC_CLI_BIN" keys add-agent "$FC_TMP/keys/agent.cert" --data "$data" >/dev/null
  FC_BROKER_SEC_ARGS=()
  FC_AGENT_SEC_ARGS=(--broker-key "$data/broker.cert" --key "$FC_TMP/keys/agent.cert_secret")
  FC_CLI_SEC_ARGS=(--broker-key "$data/broker.cert" --cert "$FC_TMP/keys/publisher.cert_secret")
  FC_FAKE_BROKER_SEC_ARGS=(--server-cert "$data/broker.cert_secret")
}

# Starts a broker on free ports with data dir $1 (keys: fc_secure_setup); sets FC_SERVICE,
# FC_ANNOUNCE, FC_BROKER_PID.
fc_start_broker() {
  local data=$1; shift
  fc_secure_setup "$data"
  local ports; ports=($(fc_ports 2))
  FC_SERVICE="tcp://127.0.0.1:${ports[0]}"
  FC_ANNOUNCE="tcp://127.0.0.1:${ports[1]}"
  fc_restart_broker "$data" "$@"
}

# (Re)starts a broker on the same FC_SERVICE/FC_ANNOUNCE as before.
fc_restart_broker() {
  local data=$1; shift
  "$FC_BROKER_BIN" --data "$data" --service "$FC_SERVICE" --announce "$FC_ANNOUNCE" \
    "${FC_BROKER_SEC_ARGS[@]}" "$@" \
    >>"$FC_TMP/broker.log" 2>&1 &
  FC_BROKER_PID=$!
  FC_PIDS+=("$FC_BROKER_PID")
  fc_wait_port "${FC_SERVICE##*:}" || fc_fail "broker did not start (see log below)
$(tail -20 "$FC_TMP/broker.log")"
}

fc_stop() { # PID: TERM and wait
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

fc_kill9() { kill -KILL "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# Waits until something listens on a loopback port (bash's /dev/tcp).
fc_wait_port() {
  local port=$1
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# fleetcast CLI against the test broker.
fc_cli() { "$FC_CLI_BIN" "${FC_CLI_SEC_ARGS[@]}" --broker "$FC_SERVICE" --quiet "$@"; }

# Makes the publisher keys in $FC_TMP/keys (signing.key/.pub, publisher.cert/_secret), once.
fc_keygen() {
  [ -f "$FC_TMP/keys/signing.key" ] || "$FC_CLI_BIN" keygen --out "$FC_TMP/keys" >/dev/null
}

# Starts fleetcast-hostile's fake broker that answers everything with garbage, for SECONDS
# (fc_start_garbage_broker SECONDS), on free ports and with the test broker's cert; sets
# FC_GARBAGE_SERVICE to its service endpoint.
fc_start_garbage_broker() {
  local ports; ports=($(fc_ports 2))
  "$FC_HOSTILE_BIN" "${FC_FAKE_BROKER_SEC_ARGS[@]}" broker "tcp://127.0.0.1:${ports[0]}" \
    "tcp://127.0.0.1:${ports[1]}" "$1" &
  FC_PIDS+=($!)
  FC_GARBAGE_SERVICE="tcp://127.0.0.1:${ports[0]}"
  fc_wait_port "${ports[0]}"
}

# Pushes DIR as release VERSION on channel stable, signed with the suite's key
# (fc_push DIR VERSION [more release push options]); the CLI's output and status as they are.
fc_push() {
  local dir=$1 version=$2; shift 2
  fc_cli release push "$dir" --channel stable --version "$version" --key "$FC_TMP/keys/signing.key" "$@"
}

# Makes an agent key of its own in $FC_TMP/NAME and enrols it in broker data dir DATA
# (fc_enroll_agent NAME DATA), then waits for the broker to see it.
fc_enroll_agent() {
  "$FC_CLI_BIN" keygen --role agent --out "$FC_TMP/$1" >/dev/null
  "$FC_CLI_BIN" keys add-agent "$FC_TMP/$1/agent.cert" --data "$2" >/dev/null
  sleep 1.5 # the broker looks at the key dirs once a second
}

# The setup of a suite about a stolen agent key (fc_thief_setup DATA KIB; secure mode only,
# skipped with FC_INSECURE=1): a broker with data dir DATA, release 1 on channel stable of
# one random file of KIB KiB ($FC_TMP/src/app), and the thief's own agent key enrolled there
# ($FC_TMP/thief); FC_THIEF_ARGS are fleetcast-hostile's security arguments with that key.
fc_thief_setup() {
  [ "${FC_INSECURE:-0}" = 1 ] && fc_skip "this suite is about a stolen key in the secure mode"
  local data=$1
  fc_start_broker "$data"
  mkdir -p "$FC_TMP/src"
  fc_random_file "$FC_TMP/src/app" "$2"
  fc_push "$FC_TMP/src" 1 >/dev/null
  fc_enroll_agent thief "$data"
  FC_THIEF_ARGS=(--broker-key "$data/broker.cert" --cert "$FC_TMP/thief/agent.cert_secret")
}

# Agent --once for agent NAME with extra args; JSON result in $FC_TMP/NAME.json.
# Run in the background with `fc_agent_once NAME &`: the exec makes $! the agent's own PID.
fc_agent_once() {
  local name=$1; shift
  exec "$FC_AGENT_BIN" "${FC_AGENT_SEC_ARGS[@]}" --broker "${FC_AGENT_BROKER:-$FC_SERVICE}" \
    --channel "${FC_CHANNEL:-stable}" --install "$FC_TMP/$name/install" --state "$FC_TMP/$name/state" \
    --trust "${FC_TRUST:-$FC_TMP/keys/signing.pub}" --id "$name" --once --json "$@" \
    >"$FC_TMP/$name.json" 2>>"$FC_TMP/$name.log"
}
# In the foreground, run it in a subshell so the exec does not replace the test.
fc_agent_run() { ( fc_agent_once "$@" ); }

# fc_kill_mid_download AGENT_PID BROKER_PID NAME SRC: 2.5 s into the download of agent NAME
# (fc_agent_once in the background, its PID AGENT_PID), SIGKILLs the broker it fetches from;
# the agent must then install the tree SRC within 10 s of the kill (issue 17's bound). Sets
# FC_TOOK: seconds from the kill to the agent's end, one decimal.
fc_kill_mid_download() {
  local agent=$1 broker=$2 name=$3 src=$4 killed done_at rc=0
  sleep 2.5
  kill -0 "$agent" 2>/dev/null || fc_fail "$name ended before the kill: $(tail -5 "$FC_TMP/$name.log")"
  killed=$(date +%s.%N)
  fc_kill9 "$broker"
  wait "$agent" || rc=$?
  done_at=$(date +%s.%N)
  [ "$rc" = 0 ] ||
    fc_fail "$name did not finish after its broker was killed (rc $rc): $(tail -8 "$FC_TMP/$name.log")"
  diff -r "$src" "$FC_TMP/$name/install/current/" || fc_fail "$name's installed tree differs from the release"
  FC_TOOK=$(awk -v a="$killed" -v b="$done_at" 'BEGIN { printf "%.1f", b - a }')
  awk -v t="$FC_TOOK" 'BEGIN { exit !(t <= 10) }' ||
    fc_fail "$name finished $FC_TOOK s after the kill (limit 10 s)"
}

# fc_fetched_twice NAME SIZE WINDOW: agent NAME's --once result (NAME.json) covers a release
# of SIZE bytes and fetched at most WINDOW bytes beyond what it needed (chunks fetched twice,
# around a move between brokers or a reconnect); prints that figure, fails the suite if not.
fc_fetched_twice() {
  local f="$FC_TMP/$1.json" fetched total reused twice
  fetched=$(fc_json_field "$f" bytes_fetched)
  total=$(fc_json_field "$f" bytes_total)
  reused=$(fc_json_field "$f" bytes_reused)
  twice=$((fetched - (total - reused)))
  [ "$total" -ge "$2" ] || fc_fail "$1: bytes_total $total below the release's $2"
  [ "$twice" -ge 0 ] && [ "$twice" -le "$3" ] ||
    fc_fail "$1 fetched $fetched bytes for $total: $twice twice, above one window ($3)"
  echo "$twice"
}

# Reads a numeric or string field from a one-object JSON file (flat keys only).
fc_json_field() {
  sed -n "s/.*\"$2\": *\"\{0,1\}\([^,\"}]*\)\"\{0,1\}.*/\1/p" "$1" | head -1
}

# Makes a file of N KiB of random bytes.
fc_random_file() { head -c "$(( $2 * 1024 ))" /dev/urandom >"$1"; }

# fc_many_installed N BYTES: a broker, a signing key, and release 1 of N files of BYTES
# random bytes in src=$FC_TMP/src (fc_many_files) pushed and installed by agent a1.
fc_many_installed() {
  fc_broker_and_src
  fc_many_files "$src" "$1" "$2"
  fc_push "$src" 1 >/dev/null || fc_fail "push of 1 failed"
  fc_agent_run a1 || fc_fail "install of 1 failed"
}

# fc_broker_and_src: a broker, the keys, and an empty source tree in $src.
fc_broker_and_src() {
  fc_start_broker "$FC_TMP/broker"
  fc_keygen
  src="$FC_TMP/src"
  mkdir -p "$src"
}

# fc_relay_root: the relay suites' start: an --insecure root broker (ROOT, its service
# endpoint; FC_SERVICE too until a relay starts), a publisher key, and src, an empty source
# directory.
fc_relay_root() {
  FC_INSECURE=1
  fc_start_broker "$FC_TMP/root"
  ROOT="$FC_SERVICE"
  fc_keygen
  src="$FC_TMP/src"
  mkdir -p "$src"
}

# fc_many_files DIR N BYTES: N files of BYTES random bytes, DIR/d/f-1.bin to DIR/d/f-N.bin (a
# tree whose format-3 manifest has many pages and chunk lists).
fc_many_files() {
  mkdir -p "$1/d"
  local i
  for i in $(seq 1 "$2"); do head -c "$3" /dev/urandom >"$1/d/f-$i.bin"; done
}

# fc_flip_byte FILE OFFSET: inverts the byte at OFFSET, so the file surely changes (writing a
# fixed byte over random data leaves it as it was once in 256 runs).
fc_flip_byte() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  [ -n "$b" ] || fc_fail "fc_flip_byte: $1 has no byte at $2"
  # shellcheck disable=SC2059
  printf "\\$(printf '%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Starts the fault proxy in front of the broker's service socket with extra options; sets
# FC_PROXY (endpoint) and FC_PROXY_PID. Its summary ("cuts N bytes M") lands in proxy.log.
fc_start_proxy() {
  local port; port=$(fc_ports 1)
  "$FC_PROXY_BIN" --listen "127.0.0.1:$port" --upstream "127.0.0.1:${FC_SERVICE##*:}" "$@" \
    >"$FC_TMP/proxy.out" 2>"$FC_TMP/proxy.log" &
  FC_PROXY_PID=$!
  FC_PIDS+=("$FC_PROXY_PID")
  FC_PROXY="tcp://127.0.0.1:$port"
  fc_wait_port "$port" || fc_fail "proxy did not start: $(cat "$FC_TMP/proxy.log")"
}

# Stops the proxy and prints "CUTS BYTES" from its summary line. Tests call it in a
# subshell (`read ... < <(fc_stop_proxy)`), where `wait` cannot wait for the proxy (not its
# child): wait for the summary line itself, or reading the log races the proxy's exit.
fc_stop_proxy() {
  fc_stop "$FC_PROXY_PID"
  local i
  for i in $(seq 200); do
    grep -q '^cuts [0-9]* bytes [0-9]*$' "$FC_TMP/proxy.log" 2>/dev/null && break
    sleep 0.05
  done
  sed -n 's/.*cuts \([0-9]*\) bytes \([0-9]*\).*/\1 \2/p' "$FC_TMP/proxy.log" | tail -1
}

# fc_notify_listen SECS: the listener systemd would be, on the datagram socket
# $FC_TMP/notify.sock (give it as NOTIFY_SOCKET) for SECS seconds: each datagram one line of
# $FC_TMP/notify.log, the time it came then its assignments separated by spaces.
fc_notify_listen() {
  : >>"$FC_TMP/notify.log"
  python3 - "$FC_TMP/notify.sock" "$FC_TMP/notify.log" "$1" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.5)
end = time.time() + float(sys.argv[3])
with open(sys.argv[2], "a") as out:
    while time.time() < end:
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        out.write("%.3f %s\n" % (time.time(), " ".join(data.decode().split())))
        out.flush()
PY
  FC_PIDS+=($!)
  fc_wait_for "the notify listener" 5 test -S "$FC_TMP/notify.sock"
}

# fc_notified NAME=VALUE: how many datagrams the listener has read that carry it.
fc_notified() { grep -c -E "^[0-9.]+ (.* )?$1( |\$)" "$FC_TMP/notify.log" 2>/dev/null || true; }

# Waits up to $2 seconds (default 20) for a command ($3...) to succeed.
fc_wait_for() {
  local what=$1 secs=${2:-20}; shift 2
  local i
  for i in $(seq $((secs * 10))); do "$@" && return 0; sleep 0.1; done
  fc_fail "timed out after ${secs}s waiting for $what"
}

# --- runtime configuration helpers (it_config_*.sh) -------------------------------------

# Starts agent NAME as a daemon following the config, with extra args (--group, --config-changed,
# ...); logs to $FC_TMP/NAME.log. Sets FC_LAST_PID (also cleaned up with the others).
fc_config_agent() {
  local name=$1; shift
  mkdir -p "$FC_TMP/$name"
  "$FC_AGENT_BIN" "${FC_AGENT_SEC_ARGS[@]}" --broker "${FC_AGENT_BROKER:-$FC_SERVICE}" \
    --channel "${FC_CHANNEL:-stable}" --install "$FC_TMP/$name/install" --state "$FC_TMP/$name/state" \
    --trust "${FC_TRUST:-$FC_TMP/keys/signing.pub}" --id "$name" "$@" \
    >>"$FC_TMP/$name.out" 2>>"$FC_TMP/$name.log" &
  FC_LAST_PID=$!
  FC_PIDS+=("$FC_LAST_PID")
}

# fleetcast config ... signed with the test key.
fc_config() { fc_cli config "$@" --key "$FC_TMP/keys/signing.key"; }

# The agent's effective config file, as the application reads it.
fc_config_file() { echo "$FC_TMP/$1/state/config.json"; }

# The agent's config.json without whitespace ("" if none).
fc_config_text() { local f; f=$(fc_config_file "$1"); [ -f "$f" ] && tr -d ' \n' <"$f" || true; }

# True if agent NAME's config.json holds "KEY": VALUE (VALUE as compact JSON: 8080, "info";
# whitespace is ignored, so keep string values in tests free of spaces).
fc_config_has() {
  local t; t=$(fc_config_text "$1")
  grep -qF -e "\"$2\":$3," -e "\"$2\":$3}" <<<"$t"
}

# True if agent NAME has a config.json without key KEY.
fc_config_lacks() {
  local t; t=$(fc_config_text "$1")
  [ -n "$t" ] && ! grep -qF "\"$2\":" <<<"$t"
}

# The _rev of agent NAME's config.json (empty if none).
fc_config_rev() { fc_config_text "$1" | sed -n 's/.*"_rev":\([0-9]*\).*/\1/p'; }

# True once agent NAME's config.json is at revision REV or later.
fc_config_at() { local r; r=$(fc_config_rev "$1"); [ -n "$r" ] && [ "$r" -ge "$2" ]; }

# The number N of the first `"KEY": N` in a JSON document on stdin.
fc_json_num() { { tr -d ' \n' | grep -o "\"$1\":[0-9]*" | awk -F: 'NR == 1 { print $2 }'; } || true; }

# True once `fleetcast status` lists every agent named in $@ (they said HELLO to the broker).
fc_agents_seen() {
  local st a; st=$(fc_cli status --json 2>/dev/null | tr -d ' \n') || return 1
  for a in "$@"; do grep -qF "\"id\":\"$a\"" <<<"$st" || return 1; done
}

# Count of agents in STATE in `config status REV` (e.g. fc_config_count 3 applied).
fc_config_count() { fc_cli config status "$1" --json 2>/dev/null | fc_json_num "$2"; }
# True once config status REV shows at least N agents in STATE.
fc_config_count_ge() { local c; c=$(fc_config_count "$1" "$2"); [ -n "$c" ] && [ "$c" -ge "$3" ]; }
# Every number N of `"KEY": N` in JSON documents on stdin, one a line.
fc_json_nums() { { tr -d ' ' | grep -o "\"$1\":[0-9]*" | cut -d: -f2; } || true; }

# --- invariant checker and chaos helpers (it_check.sh, it_chaos_*.sh) ---------------------

# fleetcast-check on broker data dir $1 and agents NAME... ($FC_TMP/NAME/{install,state}),
# with the test key; extra checker options in FC_CHECK_ARGS (e.g. --expect-latest). Output
# in $FC_TMP/check.out; the checker's exit status.
fc_check() {
  local data=$1; shift
  local args=(--data "$data" --trust "${FC_TRUST:-$FC_TMP/keys/signing.pub}") a
  for a in "$@"; do args+=(--agent "$FC_TMP/$a"); done
  "$FC_CHECK_BIN" "${args[@]}" ${FC_CHECK_ARGS:-} >"$FC_TMP/check.out" 2>&1
}

# The chaos suites' seed: FC_CHAOS_SEED if set, else a fresh one; printed so a failure
# replays with FC_CHAOS_SEED=N.
fc_chaos_seed() {
  FC_SEED=${FC_CHAOS_SEED:-$(( $(date +%s%N) % 1000000007 ))}
  RANDOM=$FC_SEED
  echo "seed $FC_SEED (replay: FC_CHAOS_SEED=$FC_SEED)"
}

# Sets FC_R to a seeded number in [$1, $2] from bash's RANDOM (seeded by fc_chaos_seed). Not
# a $(...) function: a subshell would not advance the sequence.
fc_rand() { FC_R=$(( $1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1) )); }
