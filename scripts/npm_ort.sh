#!/usr/bin/env bash
# Installs ONNX Runtime from npm, the version pinned here, into $DOODLE_NPM_DIR (default /opt/doodle-npm) when it is
# missing or another version, and prints where it is:
#   npm_ort.sh [node]  onnxruntime-node; prints its node_modules folder (for NODE_PATH): tests/cli/export_onnx.sh
#   npm_ort.sh web     onnxruntime-web; prints its dist folder, what `doodle export --web` copies into a site (its
#                      default --ort folder; scripts/npm_ort_web.sh is this)
# scripts/deps.sh runs both; the tests run them too, so that a test machine with npm gets them on first use.
# --ignore-scripts: onnxruntime-node's install script only fetches GPU libraries (the CPU library is in the package);
# onnxruntime-web has no install step that its WebAssembly build needs.
#
# Exit status: 0 ready, 77 npm (or node) is not installed, 1 npm failed, 2 usage. Safe to run from several processes
# at once (one installs, the others wait).
set -uo pipefail
version=1.30.0
dir=${DOODLE_NPM_DIR:-/opt/doodle-npm}
case ${1:-node} in
  node) package=onnxruntime-node where=$dir/node_modules ;;
  web) package=onnxruntime-web where=$dir/node_modules/onnxruntime-web/dist ;;
  *) echo "usage: npm_ort.sh [node|web]" >&2; exit 2 ;;
esac
installed() {
  node -e 'console.log(require(process.argv[1]).version)' "$dir/node_modules/$package/package.json" 2>/dev/null
}
if [ "$(installed)" != "$version" ]; then
  for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "npm_ort.sh: $tool is not installed" >&2; exit 77; }
  done
  mkdir -p "$dir" || exit 1
  exec 9>"$dir/.install.lock"
  flock 9
  if [ "$(installed)" != "$version" ]; then
    echo "npm_ort.sh: installing $package $version into $dir" >&2
    npm install --ignore-scripts --save-exact --no-audit --no-fund --loglevel=error --prefix "$dir" \
      "$package@$version" >&2 || { echo "npm_ort.sh: npm install failed" >&2; exit 1; }
  fi
fi
echo "$where"
