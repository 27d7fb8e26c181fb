#!/usr/bin/env bash
# The whole test suite: install what is missing, then build and run every test twice, in a warnings-as-errors
# release build (whose sources scripts/lint.sh checks too: clang-format, cppcheck, clang-tidy) and in a debug build
# with AddressSanitizer and UndefinedBehaviorSanitizer; then the tests that run threads once more in a
# ThreadSanitizer build (clang), where any race report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
# What runs threads: the pool and fast kernels on 1-3 threads, the loader's prefetch thread, training on 2 threads,
# prep reading files in parallel, the server under concurrent requests, explain's parallel passes.
tsan_tests=(test_fast_layers test_loader test_train test_prep_parallel test_serve test_explain test_cluster_core
  cli_serve_api cli_serve_abuse)
for variant in release asan tsan; do
  dir=build-test-$variant
  targets=()
  case $variant in
    release) flags=(-DCMAKE_BUILD_TYPE=Release -DDOODLE_WERROR=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON) ;;
    # -O1: the sanitizers' usual level (assertions stay on); at -O0 this stage took most of CI's time
    asan) flags=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_C_FLAGS_DEBUG=-g -O1" -DDOODLE_SANITIZE=ON -DDOODLE_WERROR=ON) ;;
    tsan)
      flags=(-DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOODLE_TSAN=ON -DDOODLE_WERROR=ON)
      targets=(--target doodle) # and the C tests among tsan_tests: building all of it with TSan takes minutes more
      for t in "${tsan_tests[@]}"; do [[ $t == cli_* ]] || targets+=("$t"); done
      ;;
  esac
  echo "== $variant build =="
  cmake -S . -B "$dir" "${flags[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs" "${targets[@]}"
  # the tree's habits (clang-format, cppcheck, clang-tidy), with the release build's compile commands
  if [ "$variant" = release ]; then scripts/lint.sh "$dir"; fi
  if [ "$variant" = tsan ]; then
    # OpenBLAS' own threads off (doodle sets 1 too; this covers the library's start-up); every report is written to
    # tsan-logs/ as well, so that a race in a server process whose exit status a test does not see still fails here
    logs=$PWD/$dir/tsan-logs
    rm -rf "$logs" && mkdir -p "$logs"
    regex="^($(IFS='|'; echo "${tsan_tests[*]}"))\$"
    status=0
    OPENBLAS_NUM_THREADS=1 \
      TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$PWD/tests/tsan.supp log_path=$logs/report" \
      ctest --test-dir "$dir" -j"$jobs" -R "$regex" --output-on-failure --timeout 1200 || status=$?
    if [ -n "$(ls -A "$logs")" ]; then
      cat "$logs"/*
      echo "ThreadSanitizer reported a race (above; the reports are in $logs)" >&2
      exit 1
    fi
    [ "$status" -eq 0 ] || exit "$status"
  else
    # the browser tests (label "browser") run in the release build only: Chromium's time is the same in every
    # build, and the server's C side is under the sanitizers in serve_api, serve_abuse and their siblings; so do
    # those that spend their time in PyTorch (label "peer": to_torch), whose C side (train, predict) others cover
    exclude=()
    [ "$variant" = asan ] && exclude=(-LE "browser|peer")
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir "$dir" -j"$jobs" --output-on-failure --timeout 900 "${exclude[@]}"
  fi
done
echo "all tests passed (release, AddressSanitizer and ThreadSanitizer builds)"
