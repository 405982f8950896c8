#!/usr/bin/env bash
# it_tree.sh: a real software tree, as an operator pushes it: a relative symlink chain, a
# link to a directory, empty directories, old mtimes and odd modes are pushed and installed
# identical (contents, modes, link targets, mtimes, empty dirs); a script runs through a
# symlinked name; a link leaving the tree and a FIFO are refused naming their paths; a link
# target change, a directory replaced by a link and back, and a rollback install right;
# hostile manifests signed by the trusted key (a link out of the tree, a file below a link,
# a newer format) are refused by the agent.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"
fc_sqlite_only
command -v sqlite3 >/dev/null || fc_skip "sqlite3 CLI missing"

data="$FC_TMP/broker"
db="$data/fleetcast.db"
fc_start_broker "$data"
fc_keygen
K="$FC_TMP/keys/signing.key"
src="$FC_TMP/src"
cur="$FC_TMP/a1/install/current"
push() { fc_cli release push "$1" --channel stable --version "$2" --key "$K" "${@:3}"; }
# Every entry below a tree: path, type, mode, mtime (ns), link target; links not followed.
meta() { (cd "$1" && find . -mindepth 1 -printf '%p %y %m %T@ %l\n' | LC_ALL=C sort); }
same_tree() { # SRC INSTALLED WHAT (INSTALLED may be the current link: its tree is compared)
  set -- "$1" "$(readlink -f "$2")" "$3"
  diff <(meta "$1") <(meta "$2") >"$FC_TMP/meta.diff" || fc_fail "$3: metadata differs: $(head -5 "$FC_TMP/meta.diff")"
  diff -r --no-dereference "$1" "$2" >"$FC_TMP/content.diff" || fc_fail "$3: content differs: $(head -5 "$FC_TMP/content.diff")"
}
install() { fc_agent_run a1 || fc_fail "$1 not installed: $(tail -3 "$FC_TMP/a1.log")"; }
old() { touch -h -d "$1" "${@:2}"; }

# The tree: shared-library chain, command alias, link to a directory, empty dirs, odd modes.
mkdir -p "$src"/{bin,lib,doc,share,plugins,logs,ro,conf}
printf '#!/bin/sh\necho "tool $(basename "$0")"\n' >"$src/bin/tool.sh"
chmod 0755 "$src/bin/tool.sh"
ln -s tool.sh "$src/bin/alias"
fc_random_file "$src/lib/libfoo.so.1.2.3" 700
ln -s libfoo.so.1.2.3 "$src/lib/libfoo.so.1"
ln -s libfoo.so.1 "$src/lib/libfoo.so"
echo "read me" >"$src/doc/README"
chmod 0444 "$src/doc/README"
ln -s ../doc "$src/share/docs"
echo "inside a read-only dir" >"$src/ro/file"
echo "secret" >"$src/conf/app.conf"
chmod 0600 "$src/conf/app.conf"
chmod 0751 "$src/conf"
printf forged >"$src/forged" # the content fc_forge's files carry: its blob exists
chmod 0750 "$src/plugins"
chmod 0700 "$src/logs"
old "2020-09-13 12:26:40.123456789" "$src/bin/tool.sh" "$src/lib/libfoo.so.1.2.3" "$src/doc/README"
old "2001-01-01" "$src/bin/alias" "$src/lib/libfoo.so" "$src/lib/libfoo.so.1" "$src/share/docs"
chmod 0555 "$src/ro"
old "1999-12-31 23:59:59" "$src"/{bin,lib,doc,share,plugins,logs,ro,conf}

push "$src" 1 >/dev/null || fc_fail "push of the tree refused"
install "release 1"
same_tree "$src" "$cur" "release 1"
[ "$(readlink "$cur/lib/libfoo.so")" = libfoo.so.1 ] && [ -d "$cur/plugins" ] || fc_fail "links or empty dirs missing"
fc_pass "tree installed identical: contents, modes, link targets, mtimes (to the ns), empty dirs"
[ "$("$cur/bin/alias")" = "tool alias" ] || fc_fail "script through its symlinked name: $("$cur/bin/alias" 2>&1)"
[ "$(cat "$cur/share/docs/README")" = "read me" ] || fc_fail "link to a directory does not resolve"
fc_pass "a script runs through its symlinked name; a link to a directory resolves"
fc_check "$data" a1 || fc_fail "fleetcast-check: $(cat "$FC_TMP/check.out")"
ln -sfn libfoo.so.1.2.3 "$cur/lib/libfoo.so"
if fc_check "$data" a1; then fc_fail "fleetcast-check missed a changed link target"; fi
grep -q "current-link" "$FC_TMP/check.out" || fc_fail "no current-link problem: $(cat "$FC_TMP/check.out")"
ln -sfn libfoo.so.1 "$cur/lib/libfoo.so"
touch -h -d "2001-01-01" "$cur/lib/libfoo.so"
fc_pass "fleetcast-check verifies links and catches a changed target"

# Refusals at push, naming the path: a link leaving the tree, an absolute one, a FIFO.
bad="$FC_TMP/bad"
mkdir -p "$bad/sub"
echo x >"$bad/sub/file"
ln -s ../../outside "$bad/sub/out"
if push "$bad" 9 2>"$FC_TMP/err"; then fc_fail "an escaping link was pushed"; fi
grep -q "sub/out: symlink target leaves the release" "$FC_TMP/err" || fc_fail "escaping link: $(cat "$FC_TMP/err")"
fc_pass "escaping link refused: $(cat "$FC_TMP/err")"
rm "$bad/sub/out"
ln -s /etc/passwd "$bad/sub/abs"
if push "$bad" 9 2>"$FC_TMP/err"; then fc_fail "an absolute link was pushed"; fi
grep -q "sub/abs: symlink target is absolute" "$FC_TMP/err" || fc_fail "absolute link: $(cat "$FC_TMP/err")"
rm "$bad/sub/abs"
mkfifo "$bad/sub/pipe"
if push "$bad" 9 2>"$FC_TMP/err"; then fc_fail "a FIFO was pushed"; fi
grep -q "sub/pipe: a FIFO cannot be released" "$FC_TMP/err" || fc_fail "FIFO: $(cat "$FC_TMP/err")"
fc_pass "FIFO refused: $(cat "$FC_TMP/err")"
[ "$(sqlite3 "$db" 'SELECT count(*) FROM releases')" = 1 ] || fc_fail "a refused push committed"

# Delta: a link's target changes (a new library), a directory becomes a link.
v1="$FC_TMP/v1"
cp -a "$src" "$v1"
chmod u+w "$src/ro"
fc_random_file "$src/lib/libfoo.so.1.2.4" 20
ln -sfn libfoo.so.1.2.4 "$src/lib/libfoo.so.1"
rmdir "$src/plugins"
ln -s lib "$src/plugins"
push "$src" 2 >/dev/null || fc_fail "push of release 2 refused"
install "release 2"
same_tree "$src" "$cur" "release 2"
[ "$(readlink "$cur/lib/libfoo.so.1")" = libfoo.so.1.2.4 ] && [ -L "$cur/plugins" ] || fc_fail "release 2 links"
fc_pass "link target change and a directory replaced by a link installed (delta)"

# And back: the link becomes a directory again, holding a file.
rm "$src/plugins"
mkdir "$src/plugins"
echo plugin >"$src/plugins/p1"
push "$src" 3 >/dev/null || fc_fail "push of release 3 refused"
install "release 3"
same_tree "$src" "$cur" "release 3"
fc_pass "a link replaced by a directory installed"

# Rollback: release 1's content as a new serial (release rollback, no tree needed; pushing
# release 1's tree again would publish nothing, its version already names it), installed
# identical to it.
fc_cli release rollback --channel stable --to 1 --key "$K" >/dev/null || fc_fail "rollback refused"
install "rollback to 1"
same_tree "$v1" "$cur" "rollback"
fc_check "$data" a1 || fc_fail "fleetcast-check after rollback: $(cat "$FC_TMP/check.out")"
fc_pass "release rollback to release 1 (a new serial) installed identical, links and all"

# An external link, kept as written when the operator says so.
ext="$FC_TMP/ext"
mkdir -p "$ext"
ln -s /var/lib/app-data "$ext/data"
push "$ext" ext --allow-external-symlinks >/dev/null || fc_fail "--allow-external-symlinks push refused"
install "external link"
[ "$(readlink "$cur/data")" = /var/lib/app-data ] || fc_fail "external link: $(readlink "$cur/data")"
fc_pass "--allow-external-symlinks: an absolute link kept as written"
installed=$(readlink "$cur")

# Hostile manifests, signed by the trusted key and put in the broker's store as the
# channel's latest (a compromised broker with a leaked key): the agent refuses each whole.
hostile() { # NAME PATTERN FORGE-ARGS...
  local name=$1 pattern=$2 serial
  shift 2
  push "$ext" "h$name" --allow-external-symlinks --no-times >/dev/null || fc_fail "$name: setup push"
  serial=$(sqlite3 "$db" 'SELECT max(serial) FROM releases')
  "$FC_FORGE_BIN" sign --key "$K" --out "$FC_TMP/$name.m" --serial "$serial" --version "h$name" "$@"
  fc_stop "$FC_BROKER_PID"
  sqlite3 "$db" "UPDATE releases SET manifest = readfile('$FC_TMP/$name.m') WHERE serial = $serial;"
  fc_restart_broker "$data"
  fc_agent_run a1 || true
  [ "$(fc_json_field "$FC_TMP/a1.json" state)" = rejected ] || fc_fail "$name: not rejected: $(cat "$FC_TMP/a1.json")"
  grep -q "$pattern" "$FC_TMP/a1.json" || fc_fail "$name: $(cat "$FC_TMP/a1.json")"
  [ "$(readlink "$cur")" = "$installed" ] || fc_fail "$name: current moved to $(readlink "$cur")"
  [ ! -e "$FC_TMP/outside" ] || fc_fail "$name: something was written outside"
  fc_pass "$name refused by the agent: $(grep -o '"message":"[^"]*"' "$FC_TMP/a1.json")"
  # The row goes again, or the next push (which reads the latest) would stop at it too.
  fc_stop "$FC_BROKER_PID"
  sqlite3 "$db" "DELETE FROM releases WHERE serial = $serial;"
  fc_restart_broker "$data"
}
hostile link-out "FC_EPATH" --path forged --link "evil=../../../../outside"
hostile file-under-link "FC_EPATH" --path forged --link "lib=." --path "lib/evil"
# Format 3 is read since issue 13 put it on the wire: the newest format plus one is refused.
hostile format-4 "manifest format 4" --format 4 --path forged
