#!/usr/bin/env bash
# The whole test suite: install what is missing, then build and run every test twice, in a warnings-as-errors
# release build and in a debug build with AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
for variant in release asan; do
  dir=build-test-$variant
  case $variant in
    release) flags=(-DCMAKE_BUILD_TYPE=Release -DDOODLE_WERROR=ON) ;;
    asan) flags=(-DCMAKE_BUILD_TYPE=Debug -DDOODLE_SANITIZE=ON -DDOODLE_WERROR=ON) ;;
  esac
  echo "== $variant build =="
  cmake -S . -B "$dir" "${flags[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$dir" -j"$jobs" --output-on-failure --timeout 900
done
echo "all tests passed (release and sanitizer builds)"
