#!/usr/bin/env bash
# The build enforces the layers (docs/architecture.md#modules-and-their-dependencies): compiled with the include
# folders CMake gives a module (build/modules/<module>/include_dirs), an include of a header of a module above it,
# public (doodle/x.h, owned by the module per build/modules/<module>/public) or private (<module>/x.h), fails,
# while the module's own headers compile. The order below is the intended one, written here on its own.
name=layers
source "$(dirname "$0")/common.bash"
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$(dirname "$doodle")" && pwd)
cc=${DOODLE_CC:-cc}
order=(util data nn export viz numerics train explain serve)

# compiles "#include HEADER" as module M sees it (or, for M = -, with include/ alone): 0 when it compiles, 1 when
# HEADER itself is not found (what a back-arrow must get), 2 for any other error
probe() {
  local m=$1 header=$2 flags=()
  if [ "$m" = - ]; then flags=("-I$src/include")
  else while IFS= read -r dir; do [ -n "$dir" ] && flags+=("-I$dir"); done <"$build/modules/$m/include_dirs"; fi
  printf '#include "%s"\n' "$header" | "$cc" -std=c17 -fsyntax-only "${flags[@]}" -x c - 2>"$tmp/probe.err" && return 0
  grep -q "^<stdin>:1:10: fatal error: $header: No such file" "$tmp/probe.err" && return 1
  return 2
}
# a back-arrow: M including HEADER must not find it
refused() {
  probe "$1" "$2"
  case $? in
    0) fail "$1 includes $2, above it, and it compiles" ;;
    2) fail "$1 including $2: not refused for the header itself: $(head -c 300 "$tmp/probe.err")" ;;
  esac
}
# one public header of module M (its staged folder), or nothing
public_of() { find "$build/modules/$1/public/doodle" -name '*.h' -printf '%f\n' 2>/dev/null | sort | head -1; }
private_of() { find -L "$build/modules/$1/private/$1" -maxdepth 1 -name '*.h' -printf '%f\n' | sort | head -1; }

for m in "${order[@]}"; do
  [ -f "$build/modules/$m/include_dirs" ] || { fail "no module $m in the build"; continue; }
done
checked=0
for i in "${!order[@]}"; do
  m=${order[$i]}
  h=$(public_of "$m")
  if [ -n "$h" ]; then probe "$m" "doodle/$h" || fail "$m cannot include its own doodle/$h"; fi
  p=$(private_of "$m")
  probe "$m" "$m/$p" || fail "$m cannot include its own $m/$p"
  for ((j = i + 1; j < ${#order[@]}; j++)); do
    above=${order[$j]}
    h=$(public_of "$above")
    if [ -n "$h" ]; then
      refused "$m" "doodle/$h"
      checked=$((checked + 1))
    fi
    refused "$m" "$above/$(private_of "$above")"
    checked=$((checked + 1))
  done
done
# the CLI and programs on the library see include/ alone: no private header of any module (src/ is not on their path)
for above in "${order[@]}"; do refused - "$above/$(private_of "$above")"; done
# and the CLI's own files include nothing but public headers and src/cli's (no per-file exception in the build)
for f in "$src"/src/cli/*.c "$src"/src/cli/*.h; do
  bad=$(grep -n '^#include "' "$f" | grep -v '#include "\(doodle\|cli\)/') &&
    fail "$(basename "$f") includes a private header of a module: $bad"
done
grep -q 'doodle_sees(SOURCE src/cli' "$src/CMakeLists.txt" && fail "CMakeLists.txt gives a CLI file private headers"
# a name tells whether it is API: dd_ and DD_ are the public headers' alone (a private one declares none of its own)
public_names=$(grep -ohE '\b(dd|DD)_[A-Za-z0-9_]+' "$src"/include/doodle/*.h | sort -u)
private_names=$(grep -ohE '\b(dd|DD)_[A-Za-z0-9_]+' "$src"/src/*/*.h | sort -u)
leaked=$(comm -13 <(echo "$public_names") <(echo "$private_names") | head -5)
[ -z "$leaked" ] || fail "private headers use the public dd_ prefix: $leaked"
echo "$checked back-arrow probes"
[ "$checked" -ge 30 ] || fail "only $checked probes: the modules' headers were not found"
finish
