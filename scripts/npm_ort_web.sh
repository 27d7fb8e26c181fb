#!/usr/bin/env bash
# onnxruntime-web for `doodle export --web`: see npm_ort.sh.
exec bash "$(dirname "$0")/npm_ort.sh" web
