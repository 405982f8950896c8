#!/usr/bin/env bash
# run.sh: the quick start: installs what is missing (Debian), builds, then runs the demo or the tests.
#   ./run.sh demo    broker + sample release + three agents, on embedded defaults
#   ./run.sh test    the whole test suite (ctest), then again under ASan+UBSan (build-asan/)
#   ./run.sh build   just install and build
set -euo pipefail
cd "$(dirname "$0")"

what=${1:-demo}
case "$what" in
  demo|test|build) ;;
  -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: ./run.sh demo|test|build" >&2; exit 2 ;;
esac

# Build and test dependencies, as Debian package names; nginx and curl are the baseline the
# fan-out benchmark (and its smoke test) measures against, python3 reads JSON and writes
# damaged journals in two suites.
packages=(build-essential cmake pkg-config libzmq3-dev libczmq-dev libmsgpack-dev
          libsodium-dev libsqlite3-dev libjansson-dev sqlite3 procps)
[ "$what" = test ] && packages+=("nginx-light|nginx" curl python3)
bash tools/apt_install.sh "${packages[@]}"

build=build
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null || cmake --build "$build" -j1

case "$what" in
  demo) exec bash tools/demo.sh "$build" ;;
  test)
    ctest --test-dir "$build" --output-on-failure -j2
    # The same suite again with the address and undefined-behaviour sanitizers: any memory
    # error, leak or undefined behaviour aborts the program and so fails its test.
    asan=build-asan
    cmake -S . -B "$asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFC_SANITIZE=ON >/dev/null
    cmake --build "$asan" -j"$(nproc)" >/dev/null || cmake --build "$asan" -j1
    export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:print_stacktrace=1:detect_stack_use_after_return=0
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    exec ctest --test-dir "$asan" --output-on-failure -j2
    ;;
  build) echo "run.sh: built into $build/" ;;
esac
