#!/usr/bin/env bash
# Clusters of mistakes in the pixels (the study's space) and in the model's own space (the input of its last dense
# layer), measured side by side: for the validation mistakes (where a choice may be made) and the test mistakes,
# the mean silhouette at the k chosen by silhouette, purity in (true, predicted) pairs against random clusters of
# the same sizes (also at a fixed k = 10, since purity grows with k), and the time taken; then doodle's t-SNE map
# of each space's test mistakes next to scikit-learn's exact TSNE on the same points (bench/tsne_check.py).
# Not a test: it prints figures. Usage: bench/cluster_space.sh MODEL.safetensors DATA.dset [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1 data=$2 build=${3:-build}
doodle=$build/doodle
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); model $model on $data"
field() { node -e 'const o = JSON.parse(require("fs").readFileSync(process.argv[1])); console.log(eval(process.argv[2]))' "$1" "$2"; }
printf "%-18s %-9s %5s %3s %10s %8s %8s %9s %9s %8s %8s\n" set space n k silhouette purity random "purity@10" "random@10" seconds tsne_s
for set in val-misclassified misclassified; do
  for space in pixels embedding; do
    out=$tmp/$set-$space
    start=$(date +%s.%N)
    "$doodle" explain clusters -m "$model" -d "$data" -o "$out" --set "$set" --space "$space" -q --save-points >/dev/null
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    "$doodle" explain clusters -m "$model" -d "$data" -o "$out-k10" --set "$set" --space "$space" -q -k 10 --tsne 0 --units 0 >/dev/null
    s=$out/summary.json
    printf "%-18s %-9s %5s %3s %10.3f %8.3f %8.3f %9.3f %9.3f %8.1f %8.1f\n" "$set" "$space" "$(field "$s" o.n)" \
      "$(field "$s" o.kmeans.k)" "$(field "$s" o.kmeans.silhouette)" "$(field "$s" o.kmeans.purity)" \
      "$(field "$s" o.kmeans.purity_random)" "$(field "$out-k10/summary.json" o.kmeans.purity)" \
      "$(field "$out-k10/summary.json" o.kmeans.purity_random)" "$secs" "$(field "$s" o.seconds.tsne)"
  done
done
cmake --build "$build" --target bench_tsne >/dev/null
for space in pixels embedding; do
  echo "== t-SNE of the test mistakes in $space space (PCA scores, as the verb maps them) =="
  /usr/bin/python3 bench/tsne_check.py "$tmp/misclassified-$space/points.csv" "$build/bench/bench_tsne" || true
done
