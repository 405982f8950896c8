#!/usr/bin/env bash
# it_packaging.sh: the Debian packages CPack builds (fleetcast-broker, fleetcast-agent,
# fleetcast-cli, libfleetcast0 and libfleetcast-dev), lintian without errors, unpacked into a temporary root: what each holds (the
# three programs in /usr/bin, no test helper, units, conffiles, the system user made in
# postinst), the units verified by systemd-analyze against that root, and the installed
# programs run from their config files alone (systemd need not be PID 1: they are started
# directly): a release pushed with the CLI configured from its file gets installed by the
# agent; SIGHUP, the state-dir lock and --version on the installed binaries.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
[ "${FC_INSECURE:-0}" = 1 ] && fc_skip "the packaged config files are for the secure mode"
command -v cpack >/dev/null && command -v dpkg-deb >/dev/null || fc_skip "cpack or dpkg-deb missing"
[ -n "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ] && fc_skip "packages are built from the plain build"

t0=$(date +%s%N)
cpack --config "$FC_BUILD/CPackConfig.cmake" -B "$FC_TMP/pkg" >"$FC_TMP/cpack.log" 2>&1 ||
  fc_fail "cpack failed: $(tail -20 "$FC_TMP/cpack.log")"
echo "  cpack: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
if command -v lintian >/dev/null; then
  lintian --fail-on error "$FC_TMP"/pkg/*.deb >"$FC_TMP/lintian.log" 2>&1 ||
    fc_fail "lintian reports errors: $(grep '^E:' "$FC_TMP/lintian.log")"
  fc_pass "lintian: no errors ($(grep -c '^W:' "$FC_TMP/lintian.log" || true) warnings)"
else
  echo "  (no lintian: packages not checked)"
fi
root="$FC_TMP/root"
mkdir -p "$root"
for p in fleetcast-broker fleetcast-agent fleetcast-cli libfleetcast0 libfleetcast-dev; do
  deb=$(ls "$FC_TMP"/pkg/${p}_*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || fc_fail "no $p package: $(ls "$FC_TMP/pkg")"
  dpkg-deb -x "$deb" "$root"
  dpkg-deb -e "$deb" "$FC_TMP/ctl-$p"
done
[ "$(ls "$root/usr/bin" | sort | tr '\n' ' ')" = "fleetcast fleetcast-agent fleetcast-broker " ] ||
  fc_fail "/usr/bin holds: $(ls "$root/usr/bin")"
for helper in fleetcast-faultproxy fleetcast-freeport fleetcast-hostile fleetcast-fleetsim; do
  [ -z "$(find "$root" -name "$helper")" ] || fc_fail "test helper $helper is packaged"
done
grep -qx /etc/fleetcast/broker.conf "$FC_TMP/ctl-fleetcast-broker/conffiles" || fc_fail "broker.conf is no conffile"
grep -qx /etc/fleetcast/agent.conf "$FC_TMP/ctl-fleetcast-agent/conffiles" || fc_fail "agent.conf is no conffile"
grep -q "adduser --system" "$FC_TMP/ctl-fleetcast-broker/postinst" || fc_fail "no system user in postinst"
for f in usr/include/fleetcast/fleetcast.h usr/lib/libfleetcast.so.0 usr/lib/pkgconfig/libfleetcast.pc; do
  [ -e "$root/$f" ] || fc_fail "libfleetcast-dev lacks $f"
done
for f in usr/share/man/man1/fleetcast.1.gz usr/share/man/man5/fleetcast.conf.5.gz \
  usr/share/man/man8/fleetcast-broker.8.gz usr/share/man/man8/fleetcast-agent.8.gz \
  usr/share/bash-completion/completions/fleetcast usr/share/bash-completion/completions/fleetcast-agent; do
  [ -s "$root/$f" ] || fc_fail "the packages lack $f"
done
zcat "$root/usr/share/man/man5/fleetcast.conf.5.gz" | grep -q '^\.TH "fleetcast.conf" "5"' ||
  fc_fail "fleetcast.conf(5) is no man page"
fc_pass "five packages: the programs in /usr/bin, units, conffiles, user, man pages, completion, no test helper"

# The units, verified against the unpacked root (the host's targets and kill copied in,
# which the root lacks); an unknown key is only a warning, so any output fails too.
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$root/bin"
  cp /bin/kill "$root/bin/"
  for f in /lib/systemd/system/*.target /lib/systemd/system/*.slice; do
    [ -e "$root/lib/systemd/system/${f##*/}" ] || cp -P "$f" "$root/lib/systemd/system/"
  done
  out=$(cd "$root" && systemd-analyze verify --man=no --root="$root" lib/systemd/system/fleetcast-broker.service \
    lib/systemd/system/fleetcast-agent.service lib/systemd/system/fleetcast-agent@web.service 2>&1) ||
    fc_fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fc_fail "systemd-analyze verify said: $out"
  fc_pass "systemd-analyze verify accepts the installed units"
else
  echo "  (no systemd-analyze: units not verified)"
fi

bin="$root/usr/bin"
for p in fleetcast-broker fleetcast-agent fleetcast; do
  "$bin/$p" --version | grep -Eq "^$p [0-9]+\.[0-9]+\.[0-9]+" || fc_fail "$p --version: $("$bin/$p" --version)"
done

# Configure as an operator would: edit the packaged files, make the keys, enrol them.
data="$FC_TMP/var/broker"
ports=($(fc_ports 2))
service="tcp://127.0.0.1:${ports[0]}"
sed -i -e "s|^data = .*|data = $data|" -e "s|^service = .*|service = $service|" \
  -e "s|^announce = .*|announce = tcp://127.0.0.1:${ports[1]}|" "$root/etc/fleetcast/broker.conf"
mkdir -p "$data" "$FC_TMP/keys"
"$bin/fleetcast" keygen --role broker --out "$data" >/dev/null
"$bin/fleetcast" keygen --out "$FC_TMP/keys" >/dev/null
"$bin/fleetcast" keygen --role agent --out "$FC_TMP/agentkey" >/dev/null
"$bin/fleetcast" keys add-publisher "$FC_TMP/keys/publisher.cert" --data "$data" >/dev/null
"$bin/fleetcast" keys add-agent "$FC_TMP/agentkey/agent.cert" --data "$data" >/dev/null
"$bin/fleetcast-broker" --config "$root/etc/fleetcast/broker.conf" 2>>"$FC_TMP/broker.log" &
broker=$!
FC_PIDS+=("$broker")
fc_wait_port "${ports[0]}" || fc_fail "the installed broker did not start: $(cat "$FC_TMP/broker.log")"

cat >"$FC_TMP/cli.conf" <<CONF
broker = $service
broker-key = $data/broker.cert
cert = $FC_TMP/keys/publisher.cert_secret
key = $FC_TMP/keys/signing.key
quiet = true
CONF
mkdir -p "$FC_TMP/src"
echo "packaged v1" >"$FC_TMP/src/app"
FLEETCAST_CONFIG="$FC_TMP/cli.conf" "$bin/fleetcast" release push "$FC_TMP/src" --channel stable --version 1 >/dev/null ||
  fc_fail "push with the installed CLI from its config file failed"

sed -i -e "s|^broker = .*|broker = $service|" -e "s|^broker-key = .*|broker-key = $data/broker.cert|" \
  -e "s|^trust = .*|trust = $FC_TMP/keys/signing.pub|" -e "s|^state = .*|state = $FC_TMP/var/agent/state|" \
  -e "s|^install = .*|install = $FC_TMP/var/agent/install|" "$root/etc/fleetcast/agent.conf"
echo "key = $FC_TMP/agentkey/agent.cert_secret" >>"$root/etc/fleetcast/agent.conf"
"$bin/fleetcast-agent" --config "$root/etc/fleetcast/agent.conf" 2>>"$FC_TMP/agent.log" &
agent=$!
FC_PIDS+=("$agent")
fc_wait_for "the installed agent to install v1" 30 grep -qsx "packaged v1" "$FC_TMP/var/agent/install/current/app"
fc_pass "installed broker, agent and CLI run from their config files: a pushed release is installed"

rc=0
"$bin/fleetcast-agent" --config "$root/etc/fleetcast/agent.conf" --once 2>"$FC_TMP/second.log" >/dev/null || rc=$?
[ "$rc" = 1 ] && grep -qF "is in use by the agent with PID $agent" "$FC_TMP/second.log" ||
  fc_fail "a second installed agent on the same state: $rc $(cat "$FC_TMP/second.log")"
kill -HUP "$agent"
fc_wait_for "the agent to reload" 10 grep -qF "SIGHUP: reloading" "$FC_TMP/agent.log"
echo "packaged v2" >"$FC_TMP/src/app"
FLEETCAST_CONFIG="$FC_TMP/cli.conf" "$bin/fleetcast" release push "$FC_TMP/src" --channel stable --version 2 >/dev/null
fc_wait_for "the agent to install v2 after SIGHUP" 30 grep -qsx "packaged v2" "$FC_TMP/var/agent/install/current/app"
kill -0 "$agent" || fc_fail "SIGHUP killed the installed agent"
fc_pass "the state-dir lock, SIGHUP and --version on the installed programs"
