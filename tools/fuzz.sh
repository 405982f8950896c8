#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer targets with clang and runs each for SECONDS, merging new
# interesting inputs into the checked-in corpus (tests/fuzz/corpus/<target>/).
#   tools/fuzz.sh [SECONDS] [TARGET...]    default 600 seconds, every target
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(msg manifest manifest_env manifest_parts revision revision_env schema trustlist)
build=${FC_FUZZ_BUILD:-build-fuzz}
jobs=${FC_FUZZ_JOBS:-2}

command -v clang >/dev/null || { echo "fuzz.sh: clang is required (apt-get install clang)" >&2; exit 2; }
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DFC_FUZZ=ON -DFC_WERROR=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
for t in "${targets[@]}"; do
  corpus=tests/fuzz/corpus/$t
  work=$build/fuzz-work/$t
  findings=$build/fuzz-findings/$t
  mkdir -p "$corpus" "$work" "$findings"
  echo "fuzz.sh: $t for ${seconds}s (new inputs in $work, crashes in $findings/)" >&2
  # Fresh inputs go to a scratch dir ($work) first; the checked-in corpus is rebuilt below.
  if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
         -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" \
         "$work" "$corpus" 2>"$build/fuzz-$t.log"; then
    echo "fuzz.sh: $t FOUND A CRASH: see $build/fuzz-$t.log and $findings/" >&2
    status=1
  fi
  grep -E "^(stat::|#[0-9]+ *DONE)" "$build/fuzz-$t.log" >&2 || tail -5 "$build/fuzz-$t.log" >&2
  # Rebuild the corpus as the smallest set of inputs (greedy set cover) that keeps every
  # edge covered by the old corpus and the new finds (edges only, not hit counts: dozens of
  # files instead of hundreds; the full set stays in $work for the next run). Regression
  # inputs (regress-*, one per fixed finding) are always kept.
  fresh=$build/fuzz-merge/$t
  rm -rf "$fresh"; mkdir -p "$fresh"
  "$build/tests/fuzz/fuzz_$t" -set_cover_merge=1 -use_counters=0 "$fresh" "$corpus" "$work" \
    2>>"$build/fuzz-$t.log" >/dev/null
  if [ -n "$(ls -A "$fresh")" ]; then
    find "$corpus" -type f ! -name 'regress-*' -delete
    cp "$fresh"/* "$corpus"/
  fi
  echo "fuzz.sh: $t corpus now $(ls "$corpus" | wc -l) files, $(cat "$corpus"/* | wc -c) bytes" >&2
done
exit $status
