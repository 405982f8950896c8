#!/usr/bin/env bash
# bench_blobs.sh: a blob as a file on the broker's disk against as rows of pieces in
# PostgreSQL (issue 17's choice): fleetcast-blobbench against a throwaway server (tests/pg.sh).
#
# usage: tools/bench_blobs.sh [BUILD_DIR] (default build, relative to the repo root)
#   FC_BLOBBENCH_MIB (default 256): the blob's size.
#   FC_BLOBBENCH_ROUNDS (default 3): rounds, file and PostgreSQL alternating in each.
#   FC_BLOBBENCH_READS (default 2048): random 64 KiB reads a round, each way.
# The file goes in a temp dir under /tmp (the same file system as the server's data dir,
# which tests/pg.sh also puts under /tmp), so both pay the same disk.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "${1:-}" = --help ]; then sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0; fi
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
# shellcheck source=tests/lib.sh
source "$REPO/tests/lib.sh" "$BUILD"
# shellcheck source=tests/pg.sh
source "$REPO/tests/pg.sh"
DIR=$(mktemp -d /tmp/fleetcast-blobbench.XXXXXX)
trap 'rm -rf "$DIR"; fc_pg_stop; fc_cleanup' EXIT
echo "synchronous_commit: $(psql -qAt -d "$FC_TEST_PG" -c 'SHOW synchronous_commit' 2>/dev/null ||
  echo '(server default)')"
"$FC_BIN/tools/fleetcast-blobbench" "$DIR" "$FC_TEST_PG"
