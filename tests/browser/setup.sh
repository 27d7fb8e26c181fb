#!/usr/bin/env bash
# Makes tests/browser ready for headless Chromium tests: installs playwright-core (pinned in package-lock.json)
# into tests/browser/node_modules with `npm ci` when it is missing or another version, and checks that node and a
# Chromium binary are there (Debian's `chromium`, installed by scripts/deps.sh; $DOODLE_CHROMIUM overrides the
# path). Playwright never downloads a browser here.
#
# Exit status: 0 ready (prints the Chromium path), 77 node, npm or Chromium cannot be had (CTest: skipped),
# 1 npm failed. Safe to run from several tests at once (one installs, the others wait).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

chromium=${DOODLE_CHROMIUM:-}
if [ -z "$chromium" ]; then
  for c in /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -x "$c" ] && { chromium=$c; break; }
  done
fi
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  echo "setup.sh: no Chromium (install Debian's chromium: scripts/deps.sh)" >&2
  exit 77
fi
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "setup.sh: $tool is not installed" >&2; exit 77; }
done

want=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/playwright-core"].version)' \
  "$here/package-lock.json") || exit 1
installed() {
  node -e 'console.log(require(process.argv[1]).version)' "$here/node_modules/playwright-core/package.json" \
    2>/dev/null
}
if [ "$(installed)" != "$want" ]; then
  exec 9>"$here/.setup.lock"
  flock 9
  if [ "$(installed)" != "$want" ]; then
    echo "setup.sh: installing playwright-core $want into $here/node_modules" >&2
    # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core never downloads one, but say so for any future version
    if ! (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2); then
      echo "setup.sh: npm ci failed" >&2
      exit 1
    fi
  fi
fi
echo "$chromium"
