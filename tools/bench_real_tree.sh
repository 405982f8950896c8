#!/usr/bin/env bash
# bench_real_tree.sh: builds and installs this project at one commit, cached, for bench_delta.sh's real pair.
#
# usage: tools/bench_real_tree.sh COMMIT CACHE_DIR
# Prints the directory holding the installed tree of COMMIT (`git archive COMMIT | tar -x`,
# cmake RelWithDebInfo, build -j2, `cmake --install` with DESTDIR so absolute destinations
# such as /etc/fleetcast land inside it too). The tree is kept in CACHE_DIR/<full hash>/ and
# a rerun that finds it complete only prints its path: building takes minutes on 2 cores.
set -euo pipefail

PROG=bench_real_tree.sh
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() {
    echo "$PROG: $*" >&2
    exit 1
}
[ $# -eq 2 ] || die "usage: $PROG COMMIT CACHE_DIR"
HASH=$(git -C "$REPO" rev-parse --verify "$1^{commit}") || die "no commit $1"
DIR="$2/$HASH"
# The marker is written last, so a build cut short is redone, never half used.
if [ ! -e "$DIR/done" ]; then
    rm -rf "$DIR"
    mkdir -p "$DIR/src" "$DIR/tree"
    git -C "$REPO" archive "$HASH" | tar -x -C "$DIR/src"
    cmake -S "$DIR/src" -B "$DIR/bld" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$DIR/build.log" 2>&1 ||
        die "cmake of $1 failed: see $DIR/build.log"
    cmake --build "$DIR/bld" -j2 >>"$DIR/build.log" 2>&1 || die "build of $1 failed: see $DIR/build.log"
    DESTDIR="$DIR/tree" cmake --install "$DIR/bld" --prefix /usr >>"$DIR/build.log" 2>&1 ||
        die "install of $1 failed: see $DIR/build.log"
    touch "$DIR/done"
fi
echo "$DIR/tree"
