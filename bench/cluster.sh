#!/usr/bin/env bash
# `doodle explain clusters`' numeric pipeline next to scikit-learn on the same 20,000 x 6,600 matrix, in the same run:
# ../shared/peers/sk_cluster.py's synthetic doodles (its own render(), same seed) are written once as .npy for
# bench_cluster (bench/make_cluster_matrix.py); sk_cluster.py then times drop-columns + PCA(50) + K-Means k=5..8
# x10 restarts + knee + DBSCAN at 2 threads (and 1 thread, and 525 rows). Not a test: nothing is asserted.
# Usage: bench/cluster.sh [build-dir]   (default: build, configured as Release). Needs python3-sklearn.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
peers=../shared/peers
/usr/bin/python3 -c 'import sklearn' 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-sklearn >/dev/null; }
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_cluster >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
/usr/bin/python3 bench/make_cluster_matrix.py 20000 "$tmp/m.npy"
echo "== doodle (OpenBLAS, $(nproc) threads) =="
OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2} "$build/bench/bench_cluster" "$tmp/m.npy" | tee "$tmp/doodle.txt"
echo
echo "== scikit-learn: $peers/sk_cluster.py =="
/usr/bin/python3 "$peers/sk_cluster.py" | tee "$tmp/sk.txt"
# sklearn's sum at 2 threads on 20,000 rows: drop + PCA + K-Means total + knee + DBSCAN
sk=$(awk '/=== n=20000 .*threads=2/ { on = 1; next } /^===/ { on = 0 }
          on && /^(drop all-zero cols|PCA\(50\)|KMeans k=5..8 total|k-dist knee|DBSCAN)/ {
            sub(/^[^:]*:[ ]*/, ""); s += $1 } END { printf "%.0f", s }' "$tmp/sk.txt")
dd=$(awk '/^doodle total/ { sub(/^[^:]*:[ ]*/, ""); printf "%.0f", $1 }' "$tmp/doodle.txt")
echo
echo "20,000 x 6,600, 2 threads: doodle ${dd} ms (silhouettes of every k included), scikit-learn ${sk} ms" \
     "(silhouettes not included): $(awk -v a="$sk" -v b="$dd" 'BEGIN { printf "%.2f", a / b }')x"
