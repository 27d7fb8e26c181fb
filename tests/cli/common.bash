# Shared by the command-line tests (tests/cli/*.sh): source it after setting `name`.
#   doodle        the binary under test (first argument of the test script)
#   tmp           a fresh scratch directory for this test
#   fail MSG      records a failure and goes on
#   expect_status STATUS WHAT CMD…   runs CMD with stdout in $tmp/out and stderr in $tmp/err, checks its exit status
#   require_shared_data   exits 77 (CTest "skipped") when ../shared/data/quickdraw is missing; sets $data
#   finish        prints the verdict and exits 0 or 1
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
finish() {
  [ "$fails" -eq 0 ] || { echo "$name: $fails failure(s)"; exit 1; }
  echo "$name: all checks passed"
  exit 0
}
