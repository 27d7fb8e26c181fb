#!/usr/bin/env bash
# Installs onnxruntime-web (npm, the version pinned here) into $DOODLE_NPM_DIR (default /opt/doodle-npm) when it is
# missing or another version, and prints its dist folder: what `doodle export --web` copies into a site (its
# default --ort folder). scripts/deps.sh runs it; tests/cli/export_web.sh runs it too.
# --ignore-scripts: the package has no install step that the WebAssembly build needs.
#
# Exit status: 0 ready, 77 npm (or node) is not installed, 1 npm failed. Safe to run from several processes at once
# (one installs, the others wait).
set -uo pipefail
version=1.30.0
dir=${DOODLE_NPM_DIR:-/opt/doodle-npm}
installed() {
  node -e 'console.log(require(process.argv[1]).version)' "$dir/node_modules/onnxruntime-web/package.json" 2>/dev/null
}
if [ "$(installed)" != "$version" ]; then
  for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "npm_ort_web.sh: $tool is not installed" >&2; exit 77; }
  done
  mkdir -p "$dir" || exit 1
  exec 9>"$dir/.install.lock"
  flock 9
  if [ "$(installed)" != "$version" ]; then
    echo "npm_ort_web.sh: installing onnxruntime-web $version into $dir" >&2
    npm install --ignore-scripts --save-exact --no-audit --no-fund --loglevel=error --prefix "$dir" \
      "onnxruntime-web@$version" >&2 || { echo "npm_ort_web.sh: npm install failed" >&2; exit 1; }
  fi
fi
echo "$dir/node_modules/onnxruntime-web/dist"
