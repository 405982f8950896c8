#!/usr/bin/env bash
# it_mistakes.sh: an operator's mistakes get an error that names what is wrong: push errors
# name the file and the real cause; a channel the broker never had a release on is an error
# (one-shot agent: exit 1, the known channels and the closest listed); unknown commands and
# options get the closest one; the broker answers one wrong flag with a short line, not its
# usage.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

data="$FC_TMP/broker"
fc_start_broker "$data"
mkdir -p "$FC_TMP/src/lib"
echo v1 >"$FC_TMP/src/app"

# fails WHAT WANT CMD...: CMD exits non-zero and says WANT (fixed string) on stdout or stderr.
fails() {
  local what=$1 want=$2; shift 2
  local rc=0
  "$@" >"$FC_TMP/out" 2>&1 || rc=$?
  [ "$rc" != 0 ] || fc_fail "$what: exit status 0: $(cat "$FC_TMP/out")"
  grep -qF -e "$want" "$FC_TMP/out" || fc_fail "$what: does not say '$want': $(cat "$FC_TMP/out")"
}

# Push errors.
ln -s ../../outside "$FC_TMP/src/lib/link"
fails "a symlink leaving the release" "lib/link: symlink target leaves the release" \
  fc_push "$FC_TMP/src" 1
rm "$FC_TMP/src/lib/link"
ln -s /etc/passwd "$FC_TMP/src/lib/link"
fails "an absolute symlink" "lib/link: symlink target is absolute (--allow-external-symlinks" \
  fc_push "$FC_TMP/src" 1
rm "$FC_TMP/src/lib/link"
fails "a missing release directory" "release directory $FC_TMP/nowhere: cannot open: No such file or directory" \
  fc_push "$FC_TMP/nowhere" 1
if [ "$(id -u)" != 0 ]; then # root reads anything
  echo secret >"$FC_TMP/src/lib/locked"
  chmod 000 "$FC_TMP/src/lib/locked"
  fails "an unreadable file" "lib/locked: Permission denied" fc_push "$FC_TMP/src" 1
  rm -f "$FC_TMP/src/lib/locked"
fi
fails "a push without --key" "release push needs --key FILE" \
  fc_cli release push "$FC_TMP/src" --channel stable --version 1
fc_pass "push errors name the file and the cause; a push without --key asks for --key"

# A channel typo: a one-shot agent fails, listing the known channels and the closest.
fc_push "$FC_TMP/src" 1 >/dev/null
echo b >"$FC_TMP/src/app"
fc_cli release push "$FC_TMP/src" --channel beta --version 1 --key "$FC_TMP/keys/signing.key" >/dev/null
rc=0
FC_CHANNEL=stabel fc_agent_run typo --timeout 10 || rc=$?
[ "$rc" = 1 ] || fc_fail "an agent on channel stabel exited $rc (want 1): $(cat "$FC_TMP/typo.log")"
for want in "channel 'stabel' has never had a release" "known channels: " "stable" "beta" \
  "did you mean 'stable'?"; do
  grep -qF -e "$want" "$FC_TMP/typo.json" "$FC_TMP/typo.log" ||
    fc_fail "the typo's error lacks '$want': $(cat "$FC_TMP/typo.json" "$FC_TMP/typo.log")"
done
FC_CHANNEL=stable fc_agent_run good || fc_fail "the agent on stable failed: $(cat "$FC_TMP/good.log")"
fc_pass "a channel the broker never saw is an error listing the known channels and the closest"

# Did you mean.
fails "CLI command typo" "unknown command 'stauts' (did you mean 'status'?)" fc_cli stauts
fails "CLI option typo" "unknown option '--timout' (did you mean --timeout?)" fc_cli --timout 3 status
fails "agent option typo" "unknown option '--chanel' (did you mean --channel?)" \
  "$FC_AGENT_BIN" --chanel stable
rc=0
"$FC_BROKER_BIN" --dta "$FC_TMP/x" >"$FC_TMP/out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fc_fail "the broker's bad flag: exit status $rc"
grep -qF "unknown option '--dta' (did you mean --data?)" "$FC_TMP/out" ||
  fc_fail "the broker's bad flag: $(cat "$FC_TMP/out")"
grep -qF "see fleetcast-broker --help" "$FC_TMP/out" || fc_fail "no pointer to --help: $(cat "$FC_TMP/out")"
[ "$(wc -l <"$FC_TMP/out")" -le 3 ] || fc_fail "the broker printed $(wc -l <"$FC_TMP/out") lines for one bad flag"
fc_pass "unknown commands and options suggest the closest; the broker's bad flag is one short line"

# A daemon agent on an unknown channel says so once and keeps waiting for a first release.
FC_CHANNEL=stabel fc_config_agent typod
fc_wait_for "the daemon to say its channel is unknown" 10 grep -qF "channel 'stabel' has never had a release" "$FC_TMP/typod.log"
sleep 1
kill -0 "$FC_LAST_PID" || fc_fail "the daemon agent on an unknown channel exited"
[ "$(grep -cF "has never had a release" "$FC_TMP/typod.log")" = 1 ] || fc_fail "said more than once: $(cat "$FC_TMP/typod.log")"
fc_pass "a daemon agent on an unknown channel says so once and waits"
