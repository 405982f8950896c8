#!/usr/bin/env bash
# it_install_dir.sh: the agent's install dir is its own: a symlink planted at the install dir
# or at releases/, a group- or other-writable one, or one owned by another user makes the
# agent refuse to start with a message saying what to do, and nothing outside is written or
# deleted (also for a symlink given as "LINK/"); the state dir gets the same checks; release
# directory names cannot collide ("2.0+2" then "2.0" survives a restart, a
# version named like a staging dir installs), and fleetcast-check agrees.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
K="$FC_TMP/keys/signing.key"
mkdir -p "$FC_TMP/src"
push() { # VERSION CONTENT [CHANNEL]
  echo "$2" >"$FC_TMP/src/app"
  fc_cli release push "$FC_TMP/src" --channel "${3:-stable}" --version "$1" --key "$K" >/dev/null
}
push 1.0 one

# refused NAME PATTERN [AGENT ARGS]: the agent exits non-zero, its log says PATTERN and what
# to do.
refused() {
  local rc=0
  fc_agent_run "$1" "${@:3}" || rc=$?
  [ "$rc" != 0 ] || fc_fail "$1: agent started: $(cat "$FC_TMP/$1.log")"
  grep -qE "$2" "$FC_TMP/$1.log" || fc_fail "$1: no clear message: $(cat "$FC_TMP/$1.log")"
  grep -qE "chmod|chown|remove|--install" "$FC_TMP/$1.log" ||
    fc_fail "$1: the message does not say what to do: $(cat "$FC_TMP/$1.log")"
  [ ! -e "$FC_TMP/$1/install/current" ] || fc_fail "$1: something was installed"
}

# 1. releases/ is a symlink to a directory holding someone's file: the agent must neither
#    install into it nor clean it up.
mkdir -p "$FC_TMP/elsewhere" "$FC_TMP/s1/install"
echo precious >"$FC_TMP/elsewhere/keep"
ln -s "$FC_TMP/elsewhere" "$FC_TMP/s1/install/releases"
refused s1 "releases.* is a symlink"
[ "$(ls -A "$FC_TMP/elsewhere")" = keep ] || fc_fail "written or deleted through the symlink: $(ls -A "$FC_TMP/elsewhere")"
[ "$(cat "$FC_TMP/elsewhere/keep")" = precious ] || fc_fail "the file behind the symlink changed"
fc_pass "releases/ as a symlink refused: $(grep -m1 symlink "$FC_TMP/s1.log")"

# 2. The install dir itself is a symlink.
mkdir -p "$FC_TMP/elsewhere2" "$FC_TMP/s2"
ln -s "$FC_TMP/elsewhere2" "$FC_TMP/s2/install"
refused s2 "install.* is a symlink"
[ -z "$(ls -A "$FC_TMP/elsewhere2")" ] || fc_fail "written through the install dir symlink"
fc_pass "install dir as a symlink refused"
# ... also when given with a trailing slash ("LINK/" resolves the link, for open and lstat).
mkdir -p "$FC_TMP/elsewhere2b" "$FC_TMP/s2b"
ln -s "$FC_TMP/elsewhere2b" "$FC_TMP/s2b/install"
refused s2b "install.* is a symlink" --install "$FC_TMP/s2b/install/"
[ -z "$(ls -A "$FC_TMP/elsewhere2b")" ] || fc_fail "written through the install dir symlink given as LINK/"
fc_pass "install dir as a symlink given with a trailing slash refused"

# 3. Writable by group or others: the install dir, then releases/.
mkdir -p "$FC_TMP/s3/install"
chmod 775 "$FC_TMP/s3/install"
refused s3 "writable by group or others"
[ ! -e "$FC_TMP/s3/install/releases" ] || fc_fail "s3: releases/ made in a refused install dir"
fc_pass "group-writable install dir refused: $(grep -m1 writable "$FC_TMP/s3.log")"
mkdir -p "$FC_TMP/s4/install/releases"
chmod 757 "$FC_TMP/s4/install/releases"
refused s4 "writable by group or others"
fc_pass "other-writable releases/ refused"

# 4. Owned by another user (only root can make one).
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$FC_TMP/s5/install"
  chown 12345 "$FC_TMP/s5/install"
  refused s5 "owned by uid 12345"
  fc_pass "install dir owned by another user refused"
fi

# 4b. The state dir gets the same checks: whoever can write it can name an older tree in
#     installed.release (a silent rollback at the next start). A symlink (also as LINK/), then
#     a group-writable one.
mkdir -p "$FC_TMP/elsewhere6" "$FC_TMP/s6"
ln -s "$FC_TMP/elsewhere6" "$FC_TMP/s6/state"
refused s6 "state dir.* is a symlink"
refused s6 "state dir.* is a symlink" --state "$FC_TMP/s6/state/"
[ -z "$(ls -A "$FC_TMP/elsewhere6")" ] || fc_fail "written through the state dir symlink: $(ls -A "$FC_TMP/elsewhere6")"
fc_pass "state dir as a symlink refused: $(grep -m1 symlink "$FC_TMP/s6.log")"
mkdir -p "$FC_TMP/s7/state"
chmod 770 "$FC_TMP/s7/state"
refused s7 "state dir.* writable by group or others"
[ -z "$(ls -A "$FC_TMP/s7/state")" ] || fc_fail "written in a refused state dir: $(ls -A "$FC_TMP/s7/state")"
fc_pass "group-writable state dir refused"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$FC_TMP/s8/state"
  chown 12345 "$FC_TMP/s8/state"
  refused s8 "state dir.* owned by uid 12345"
  fc_pass "state dir owned by another user refused"
fi

# 5. A good install dir still works, and its parent may be group-writable (not ours).
chmod 775 "$FC_TMP"
fc_agent_run ok || fc_fail "a normal install dir: $(cat "$FC_TMP/ok.log")"
[ "$(cat "$FC_TMP/ok/install/current/app")" = one ] || fc_fail "release 1.0 not installed"
fc_pass "a normal install dir installs"

# 6. "2.0+2" (serial 1) then "2.0" (serial 2), then an agent restart: current must stay on
#    the tree of serial 2 (the restart used to guess "<version>+<serial>" = "2.0+2").
export FC_CHANNEL=names
push 2.0+2 first names
fc_agent_run v || fc_fail "2.0+2: $(cat "$FC_TMP/v.log")"
push 2.0 second names
fc_agent_run v || fc_fail "2.0: $(cat "$FC_TMP/v.log")"
[ "$(cat "$FC_TMP/v/install/current/app")" = second ] || fc_fail "2.0 not installed"
fc_agent_run v || fc_fail "restart: $(cat "$FC_TMP/v.log")"
[ "$(fc_json_field "$FC_TMP/v.json" version)" = 2.0 ] || fc_fail "the agent reports $(fc_json_field "$FC_TMP/v.json" version)"
[ "$(cat "$FC_TMP/v/install/current/app")" = second ] ||
  fc_fail "after a restart current runs '$(cat "$FC_TMP/v/install/current/app")' (-> $(readlink "$FC_TMP/v/install/current")) while the agent reports 2.0"
fc_pass "2.0+2 then 2.0 and a restart: current stays on 2.0 ($(readlink "$FC_TMP/v/install/current"))"

# 7. A version named like the staging dir of its own serial (3), then the next release.
push .staging-3 third names
fc_agent_run v || fc_fail ".staging-3: $(cat "$FC_TMP/v.log")"
[ "$(cat "$FC_TMP/v/install/current/app")" = third ] || fc_fail "version .staging-3 not installed"
fc_agent_run v || fc_fail "restart after .staging-3: $(cat "$FC_TMP/v.log")"
[ "$(cat "$FC_TMP/v/install/current/app")" = third ] || fc_fail "restart after .staging-3"
fc_check "$FC_TMP/broker" v || fc_fail "fleetcast-check: $(cat "$FC_TMP/check.out")"
push 4.0 fourth names
fc_agent_run v || fc_fail "4.0: $(cat "$FC_TMP/v.log")"
[ "$(cat "$FC_TMP/v/install/current/app")" = fourth ] || fc_fail "4.0 not installed"
fc_check "$FC_TMP/broker" v || fc_fail "fleetcast-check: $(cat "$FC_TMP/check.out")"
fc_pass "version .staging-3 (serial 3) installs beside the staging dirs; fleetcast-check agrees"
