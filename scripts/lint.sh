#!/usr/bin/env bash
# The habits the tree keeps (scripts/test.sh runs this after the release build): every C file formatted by
# .clang-format, cppcheck without findings, clang-tidy's checks of .clang-tidy without warnings.
# usage: scripts/lint.sh BUILD_DIR   (a build configured with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/lint.sh BUILD_DIR}
[ -f "$build/compile_commands.json" ] || { echo "lint: $build/compile_commands.json is missing" >&2; exit 2; }
mapfile -t files < <(git ls-files '*.c' '*.h')
status=0

echo "== clang-format =="
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "lint: the files above are not formatted: clang-format -i FILE (the style is .clang-format)" >&2
  status=1
fi

echo "== cppcheck =="
# a false positive is silenced where it is, with a comment (cppcheck-suppress); left out everywhere: readdir and
# strtok "not reentrant" (each stream or string has one reader here; glibc deprecates readdir_r); and cppcheck's own
# parse failure on the 3x3 kernel's vector macros, which each instruction set defines before including the file
if ! cppcheck -q --error-exitcode=1 --enable=warning,portability,performance --std=c11 --inline-suppr \
    --library=posix -j"$(nproc)" -I include -I src \
    --suppress=unknownMacro --suppress=missingIncludeSystem --suppress=readdirCalled --suppress=strtokCalled \
    --suppress='internalAstError:src/nn/fast_conv3x3_band.h' \
    --template='{file}:{line}: {severity}: {message} [{id}]' src tests bench examples; then
  echo "lint: cppcheck found the above" >&2
  status=1
fi

echo "== clang-tidy =="
# the C files this build compiles (optional parts that are not configured are not checked)
mapfile -t sources < <(grep -o '"file": *"[^"]*\.c"' "$build/compile_commands.json" | sed 's/.*"\([^"]*\)"$/\1/' | sort -u)
out=$(printf '%s\n' "${sources[@]}" | xargs -P"$(nproc)" -n8 clang-tidy -p "$build" --quiet 2>/dev/null || true)
if grep -E "(warning|error):" <<<"$out"; then
  echo "lint: clang-tidy warned (the checks are in .clang-tidy)" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "lint: clean"
exit "$status"
