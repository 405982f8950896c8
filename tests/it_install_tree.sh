#!/usr/bin/env bash
# it_install_tree.sh: what `cmake --install` puts in a prefix is the public surface and
# nothing else: only include/fleetcast/ headers, no internal library or header, no test code
# in the library, only the public API exported; and examples/reload_demo.c builds against the
# installed tree with pkg-config alone and runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

src="$(cd "$(dirname "$0")/.." && pwd)"
cache="$FC_BUILD/CMakeCache.txt"
grep -q '^FC_FUZZ:BOOL=ON' "$cache" && fc_skip "fuzz build: libFuzzer-instrumented library"
command -v pkg-config >/dev/null || fc_skip "no pkg-config"
prefix="$FC_TMP/prefix"
cmake --install "$FC_BUILD" --prefix "$prefix" >"$FC_TMP/install.log" 2>&1 ||
  fc_fail "cmake --install failed: $(tail -5 "$FC_TMP/install.log")"

# Headers: all under include/fleetcast/, none of them one of the tree's private headers.
headers=$(cd "$prefix/include" && find . -type f | sed 's|^\./||' | sort)
[ -n "$headers" ] || fc_fail "no header installed"
grep -qx 'fleetcast/fleetcast.h' <<<"$headers" || fc_fail "fleetcast/fleetcast.h not installed: $headers"
for h in $headers; do
  case "$h" in fleetcast/*.h) ;; *) fc_fail "installed outside include/fleetcast/: $h" ;; esac
  for dir in proto subscriber broker publisher tools tests; do
    [ ! -e "$src/$dir/$(basename "$h")" ] || fc_fail "private header installed: $h (from $dir/)"
  done
done
fc_pass "only include/fleetcast/ is installed, no private header ($(wc -w <<<"$headers") headers)"

# Libraries: libfleetcast only, never an internal library such as libfleetproto.
libs=$(cd "$prefix/lib" && find . -maxdepth 1 \( -type f -o -type l \) | sed 's|^\./||' | sort)
for l in $libs; do
  case "$l" in libfleetcast.so* | libfleetcast.a) ;; *) fc_fail "internal library installed: $l" ;; esac
done
so=$(find "$prefix/lib" -maxdepth 1 -name 'libfleetcast.so.*.*' -print -quit)
[ -n "$so" ] || fc_fail "no shared libfleetcast installed: $libs"
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libfleetcast.so.0 ] || fc_fail "SONAME is '$soname', not libfleetcast.so.0"
[ -e "$prefix/lib/libfleetcast.a" ] || fc_fail "no static libfleetcast.a installed: $libs"
fc_pass "libfleetcast.so (SONAME $soname) and libfleetcast.a, no internal library"

# No test code in any installed library: self-tests, the fake broker, test fixtures.
for l in "$so" "$prefix/lib/libfleetcast.a"; do
  testsyms=$(nm -A "$l" 2>/dev/null | grep -E ' [A-Za-z] (fc_fake_|[a-z_0-9]*_test(_[a-z_0-9]*)?$|s_fake_)' ||
    true)
  [ -z "$testsyms" ] || fc_fail "test code in $(basename "$l"): $(head -5 <<<"$testsyms")"
done
fc_pass "no self-test or fake-broker symbol in the installed libraries"

# Exported: exactly the functions the public headers mark FC_EXPORT. Symbols named __*
# belong to the compiler's runtime (sanitizers), not to fleetcast.
public=$(cat "$prefix"/include/fleetcast/*.h | grep -E '^FC_EXPORT' |
  sed -E 's/^[^(]*[^A-Za-z_0-9]([A-Za-z_][A-Za-z_0-9]*)\(.*/\1/' | sort -u)
[ "$(wc -l <<<"$public")" -ge 20 ] || fc_fail "too few FC_EXPORT declarations found: $public"
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[A-Z]$/ && $2 != "U" { print $3 }' |
  grep -v '^__' | grep -v '^_init$\|^_fini$\|^_edata$\|^_end$\|^__bss_start$' | sort -u)
extra=$(comm -13 <(echo "$public") <(echo "$exported"))
missing=$(comm -23 <(echo "$public") <(echo "$exported"))
[ -z "$extra" ] || fc_fail "exported but not public ($(wc -l <<<"$extra")): $(head -10 <<<"$extra" | tr '\n' ' ')"
[ -z "$missing" ] || fc_fail "public but not exported: $(tr '\n' ' ' <<<"$missing")"
fc_pass "libfleetcast.so exports exactly the $(wc -l <<<"$public") FC_EXPORT functions"

# The static archive: hidden visibility alone would not stop a static link (the linker
# resolves hidden symbols of a .a like any other), so libfleetcast.a is one prelinked object
# whose only global symbols are the public API; the engine's own functions are local.
syms=$(readelf -sW "$prefix/lib/libfleetcast.a")
visible=$(awk '$5 == "GLOBAL" && $7 != "UND" { print $8 }' <<<"$syms" | grep -v '^__' | sort -u)
extra=$(comm -13 <(echo "$public") <(echo "$visible"))
missing=$(comm -23 <(echo "$public") <(echo "$visible"))
[ -z "$extra" ] || fc_fail "libfleetcast.a: global but not public: $(head -10 <<<"$extra" | tr '\n' ' ')"
[ -z "$missing" ] || fc_fail "libfleetcast.a: public but not defined: $(tr '\n' ' ' <<<"$missing")"
local=$(awk '$4 == "FUNC" && $5 == "LOCAL" && $8 ~ /^fc_/' <<<"$syms" | wc -l)
[ "$local" -gt 100 ] || fc_fail "libfleetcast.a: only $local local fc_ functions (not prelinked?)"
fc_pass "libfleetcast.a: the public API global, $local internal fc_ functions local"

# pkg-config: the .pc names jansson (the JSON reader's library) among the requirements.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
grep -qE '^Requires:.*jansson' "$prefix/lib/pkgconfig/libfleetcast.pc" ||
  fc_fail "libfleetcast.pc does not require jansson: $(grep Requires "$prefix/lib/pkgconfig/libfleetcast.pc")"

# The example builds against the installed tree alone, as its comment says, with the
# sanitizer the library was built with (an instrumented library needs its runtime).
san=()
grep -q '^FC_SANITIZE:BOOL=ON' "$cache" && san=(-fsanitize=address,undefined)
grep -q '^FC_TSAN:BOOL=ON' "$cache" && san=(-fsanitize=thread)
demo="$FC_TMP/reload_demo"
# shellcheck disable=SC2046
cc "${san[@]}" -Wall -Werror "$src/examples/reload_demo.c" \
  $(pkg-config --cflags --libs libfleetcast) -o "$demo" 2>"$FC_TMP/cc.err" ||
  fc_fail "reload_demo does not build against the installed tree: $(head -20 "$FC_TMP/cc.err")"
out=$(LD_LIBRARY_PATH="$prefix/lib" "$demo" --help 2>&1) || fc_fail "reload_demo --help: $out"
grep -q '^usage: reload_demo' <<<"$out" || fc_fail "reload_demo --help printed: $out"
# (ldd's output in a variable: grep -q stopping early would fail the pipe under pipefail.)
loaded=$(LD_LIBRARY_PATH="$prefix/lib" ldd "$demo")
grep -q "libfleetcast.so.0 => $prefix/lib/" <<<"$loaded" ||
  fc_fail "reload_demo did not load the installed libfleetcast: $loaded"
fc_pass "reload_demo builds with pkg-config against the installed tree and runs"

# And statically: libfleetcast.a in the place of -lfleetcast, the system libraries shared
# (Debian's libzmq.pc cannot link statically: its Libs.private names a libprotokit.a it lacks).
libs_static=$(pkg-config --libs libfleetcast | sed "s|-lfleetcast|$prefix/lib/libfleetcast.a|")
# shellcheck disable=SC2046,SC2086
cc "${san[@]}" -Wall -Werror "$src/examples/reload_demo.c" $(pkg-config --cflags libfleetcast) \
  $libs_static -o "$demo.static" 2>"$FC_TMP/cc.err" ||
  fc_fail "reload_demo does not link the static archive: $(head -20 "$FC_TMP/cc.err")"
out=$("$demo.static" --help 2>&1) || fc_fail "static reload_demo --help: $out"
grep -q '^usage: reload_demo' <<<"$out" || fc_fail "static reload_demo --help printed: $out"
loaded=$(LD_LIBRARY_PATH="$prefix/lib" ldd "$demo.static")
if grep -q libfleetcast <<<"$loaded"; then
  fc_fail "the static reload_demo loads libfleetcast.so"
fi
fc_pass "reload_demo links libfleetcast.a alone and runs"

# The boundary holds: a program calling an internal function (the wire codec's) does not
# link, against the shared library nor against the archive.
cat >"$FC_TMP/internal.c" <<'EOF2'
#include <fleetcast/fleetcast.h>
void *fc_msg_new(int type); /* proto/fc_msg.h: not public */
int main(void) { return fc_msg_new(1) != 0; }
EOF2
for how in shared static; do
  if [ "$how" = shared ]; then libs=$(pkg-config --libs libfleetcast); else libs=$libs_static; fi
  # shellcheck disable=SC2046,SC2086
  if cc "${san[@]}" "$FC_TMP/internal.c" $(pkg-config --cflags libfleetcast) $libs \
    -o "$FC_TMP/internal" 2>"$FC_TMP/cc.err"; then
    fc_fail "a program calling fc_msg_new links against the $how libfleetcast"
  fi
  grep -q "undefined reference to .fc_msg_new" "$FC_TMP/cc.err" ||
    fc_fail "$how: not refused for fc_msg_new: $(head -5 "$FC_TMP/cc.err")"
done
fc_pass "an internal function (fc_msg_new) does not link, shared or static"
