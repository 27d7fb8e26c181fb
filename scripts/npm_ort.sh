#!/usr/bin/env bash
# Installs ONNX Runtime for node (npm onnxruntime-node, the version pinned here) into $DOODLE_NPM_DIR (default
# /opt/doodle-npm) when it is missing or another version, and prints its node_modules folder (for NODE_PATH).
# scripts/deps.sh runs it; tests/cli/export_onnx.sh runs it too, so that a test machine with npm gets it on first use.
# --ignore-scripts: the package's install script only fetches GPU libraries; the CPU library is in the package.
#
# Exit status: 0 ready, 77 npm (or node) is not installed, 1 npm failed. Safe to run from several processes at once
# (one installs, the others wait).
set -uo pipefail
version=1.30.0
dir=${DOODLE_NPM_DIR:-/opt/doodle-npm}
installed() {
  node -e 'console.log(require(process.argv[1]).version)' "$dir/node_modules/onnxruntime-node/package.json" 2>/dev/null
}
if [ "$(installed)" != "$version" ]; then
  for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "npm_ort.sh: $tool is not installed" >&2; exit 77; }
  done
  mkdir -p "$dir" || exit 1
  exec 9>"$dir/.install.lock"
  flock 9
  if [ "$(installed)" != "$version" ]; then
    echo "npm_ort.sh: installing onnxruntime-node $version into $dir" >&2
    npm install --ignore-scripts --save-exact --no-audit --no-fund --loglevel=error --prefix "$dir" \
      "onnxruntime-node@$version" >&2 || { echo "npm_ort.sh: npm install failed" >&2; exit 1; }
  fi
fi
echo "$dir/node_modules"
