# Shared by the command-line tests (tests/cli/*.sh): source it after setting `name`.
#   doodle        the binary under test (first argument of the test script)
#   tmp           a fresh scratch directory for this test
#   fail MSG      records a failure and goes on
#   expect_status STATUS WHAT CMD…   runs CMD with stdout in $tmp/out and stderr in $tmp/err, checks its exit status
#   require_shared_data   exits 77 (CTest "skipped") when ../shared/data/quickdraw is missing; sets $data
#   finish        prints the verdict and exits 0 or 1
#   need_browser  sets $browser_dir and $chromium for the page tests (tests/browser/), or skips the test (77)
set -uo pipefail
doodle=$1
tmp=${DOODLE_TEST_TMP:-/tmp/doodle-cli}/$name
rm -rf "$tmp" && mkdir -p "$tmp"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_status() {
  local want=$1 what=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  [ "$got" -eq "$want" ] || fail "$what: exit $got, expected $want ($(head -c 300 "$tmp/err"))"
}
require_shared_data() {
  data=${DOODLE_SHARED_DATA:-}
  if [ -z "$data" ] || [ ! -d "$data" ]; then
    echo "skipped: Quick, Draw! test data not found (DOODLE_SHARED_DATA=${data:-unset})"
    exit 77
  fi
}
# For the crash tests (the DOODLE_TEST_SLOW_WRITE hook of src/util/atomic_file.c makes doodle stop itself):
#   state PID         the process state letter (R, S, T stopped, Z), or nothing once it is gone
#   wait_stopped PID  waits up to 120 s for PID to stop itself; fails when it ends first
#   killed PID        SIGKILL, and reaped
state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null; }
wait_stopped() {
  local s
  for _ in $(seq 1 2400); do
    s=$(state "$1")
    [ "$s" = T ] && return 0
    [ -z "$s" ] || [ "$s" = Z ] && return 1
    sleep 0.05
  done
  return 1
}
killed() {
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
finish() {
  [ "$fails" -eq 0 ] || { echo "$name: $fails failure(s)"; exit 1; }
  echo "$name: all checks passed"
  exit 0
}

# need_command NAME [WHY]: skips the test (77) when NAME is not installed.
need_command() {
  command -v "$1" >/dev/null || { echo "skipped: $1 is not installed${2:+ ($2)}"; exit 77; }
}

# Skips the test (77) when /usr/bin/python3 has no torch and numpy (Debian's python3-torch). Tests that call it spend
# most of their time in PyTorch: label "peer", run in the release build only (tests/CMakeLists.txt).
need_torch() {
  python3_torch=/usr/bin/python3
  "$python3_torch" -c 'import torch, numpy' 2>/dev/null ||
    { echo "skipped: python3-torch (and numpy) not installed for $python3_torch: apt-get install python3-torch"; exit 77; }
}

# Sets browser_dir (tests/browser) and chromium (its path) after tests/browser/setup.sh has installed what the page
# tests need; skips the test (77) when node or chromium cannot be had.
need_browser() {
  browser_dir=$(cd "$(dirname "$0")/../browser" && pwd)
  chromium=$(bash "$browser_dir/setup.sh" 2>"$tmp/setup.err")
  case $? in
    0) ;;
    77) echo "skipped: $(cat "$tmp/setup.err")"; exit 77 ;;
    *) fail "tests/browser/setup.sh: $(cat "$tmp/setup.err")"; finish ;;
  esac
}
