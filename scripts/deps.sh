#!/usr/bin/env bash
# Installs what doodle needs to build and test on Debian 12, when it is missing. Run as root (or with sudo).
set -euo pipefail
packages=(gcc clang make cmake pkg-config libcairo2-dev zlib1g-dev libopenblas-dev libcjson-dev libmicrohttpd-dev libjpeg62-turbo-dev libopenmpi-dev openmpi-bin chromium curl libdeflate-dev libprotobuf-c-dev protobuf-c-compiler python3-onnx clang-format clang-tidy cppcheck)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# ONNX Runtime for node (npm onnxruntime-node), with which tests/cli/export_onnx.sh runs the models doodle exports;
# when npm is there (node and npm come with the browser tests' needs, not from here)
if command -v npm >/dev/null; then
  bash "$(dirname "$0")/npm_ort.sh" >/dev/null ||
    echo "deps.sh: onnxruntime-node not installed (only tests/cli/export_onnx.sh needs it)" >&2
  bash "$(dirname "$0")/npm_ort_web.sh" >/dev/null || echo "deps.sh: onnxruntime-web not installed (doodle export --web needs it)" >&2
fi
