#!/usr/bin/env bash
# it_push_small.sh: a tree of many small files goes up many to a request (BLOBS_QUERY, then
# PUT_BLOBS carrying whole files, PROTOCOL.md section 3.13), not three requests a file; only
# the files over 256 KiB go by chunks. The release installs intact, and a second release that
# changes a few small files uploads exactly those.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

data="$FC_TMP/broker"
fc_start_broker "$data" --verbose # its log names every request and how many blobs it carried
fc_keygen
src="$FC_TMP/src"
for d in $(seq 1 25); do
  mkdir -p "$src/lib$d"
  for f in $(seq 1 60); do # 0 to 8 KiB: one content-defined chunk each
    head -c $((RANDOM % 8193)) /dev/urandom >"$src/lib$d/f$f.txt"
  done
done
: >"$src/empty1"
: >"$src/lib1/empty2" # the same content twice: uploaded once
for f in $(seq 1 12); do # 20 to 240 KiB: several content-defined chunks, still whole
  fc_random_file "$src/mid$f.bin" $((20 + f * 18))
done
fc_random_file "$src/big1.bin" 700 # over FC_MAX_SMALL_BLOB: by chunks
fc_random_file "$src/big2.bin" 300

total=$(find "$src" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
small=$(find "$src" -type f -size -257k -print0 | xargs -0 b2sum | awk '{ print $1 }' | sort -u | wc -l)
nfiles=$(find "$src" -type f | wc -l)

# The PUT_BLOBS requests in the broker's log after line $1, each once: a request re-sent
# (same req, on a loaded machine) is logged again but carries the same blobs.
distinct_puts() {
  tail -n +$(($1 + 1)) "$FC_TMP/broker.log" | grep -o "PUT_BLOBS req=[0-9]* .*blobs=[0-9]*" |
    sed 's/^PUT_BLOBS \(req=[0-9]*\) .*blobs=\([0-9]*\)$/\1 \2/' | sort -u || true
}
out=$(fc_cli --json release push "$src" --channel stable --version 1 --key "$FC_TMP/keys/signing.key") ||
  fc_fail "push failed: $out"
up=$(fc_json_num bytes_uploaded <<<"$out")
[ "$up" -eq "$total" ] || fc_fail "uploaded $up bytes of $total: $out"
puts=$(distinct_puts 0 | wc -l)
carried=$(distinct_puts 0 | awk '{ s += $2 } END { print s + 0 }')
queries=$(grep -cE "(UPLOAD_QUERY|UPLOAD_CHUNKS|UPLOAD_PREFIXES) req=" "$FC_TMP/broker.log" || true)
[ "$carried" -eq "$small" ] || fc_fail "PUT_BLOBS carried $carried blobs, the tree has $small small contents"
[ "$queries" -eq 2 ] || fc_fail "$queries UPLOAD_QUERY, UPLOAD_CHUNKS or UPLOAD_PREFIXES requests: only the two files over 256 KiB go by chunks"
[ "$puts" -ge 1 ] && [ $((puts * 10)) -le "$small" ] ||
  fc_fail "$puts PUT_BLOBS requests for $small small contents: not many to a request"
fc_pass "$nfiles files ($total bytes) pushed: $small small contents in $puts PUT_BLOBS, 2 files by chunks"

fc_agent_run a1 || fc_fail "install: $(tail -3 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" >/dev/null || fc_fail "installed tree differs"
fc_check "$data" a1 || fc_fail "fleetcast-check: $(cat "$FC_TMP/check.out")"
fc_pass "the release installs intact and the broker's store checks clean"

# Release 2: five small files changed, one added. Only those six go up, in PUT_BLOBS.
changed=0
for f in lib3/f7.txt lib9/f1.txt lib9/f2.txt lib20/f60.txt mid4.bin new.txt; do
  head -c 3000 /dev/urandom >"$src/$f"
  changed=$((changed + 3000))
done
logged=$(wc -l <"$FC_TMP/broker.log")
out=$(fc_cli --json release push "$src" --channel stable --version 2 --key "$FC_TMP/keys/signing.key") ||
  fc_fail "push 2 failed: $out"
up=$(fc_json_num bytes_uploaded <<<"$out")
[ "$up" -eq "$changed" ] || fc_fail "release 2 uploaded $up bytes, changed $changed: $out"
carried=$(distinct_puts "$logged" | awk '{ s += $2 } END { print s + 0 }')
[ "$carried" -eq 6 ] || fc_fail "release 2's PUT_BLOBS carried $carried blobs, not 6"
fc_agent_run a1 || fc_fail "install of release 2: $(tail -3 "$FC_TMP/a1.log")"
diff -r "$src" "$FC_TMP/a1/install/current/" >/dev/null || fc_fail "installed release 2 differs"
fc_pass "release 2 uploaded only its 6 changed files ($up bytes) and installs intact"
