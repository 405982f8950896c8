#!/usr/bin/env bash
# run.sh: the quick start: installs what is missing (Debian), builds, then runs the demo or the tests.
#   ./run.sh demo    broker + sample release + three agents, on embedded defaults
#   ./run.sh test    the whole test suite (ctest)
#   ./run.sh build   just install and build
set -euo pipefail
cd "$(dirname "$0")"

what=${1:-demo}
case "$what" in
  demo|test|build) ;;
  -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: ./run.sh demo|test|build" >&2; exit 2 ;;
esac

# Build and test dependencies, as Debian package names.
packages=(build-essential cmake pkg-config libzmq3-dev libczmq-dev libmsgpack-dev
          libsodium-dev libsqlite3-dev sqlite3 procps)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

build=build
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null || cmake --build "$build" -j1

case "$what" in
  demo) exec bash tools/demo.sh "$build" ;;
  test) exec ctest --test-dir "$build" --output-on-failure -j2 ;;
  build) echo "run.sh: built into $build/" ;;
esac
