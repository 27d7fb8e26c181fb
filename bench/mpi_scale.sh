#!/usr/bin/env bash
# Data-parallel scaling figures of issue 11, printed as markdown tables:
#   1. this machine: images/s of doodle28, seed and lenet as 1 process x 1 thread, 1 x 2 threads and 2 ranks x 1
#      thread (doodle train on real drawings), with train's own all-reduce figures and the all-reduce alone;
#   2. two "machines" on this one: a network namespace per rank, joined by veth pairs and a bridge, the links
#      shaped to 10 Gbit/s and 1 Gbit/s; Open MPI over TCP started in them by bench/mpi_rsh_netns.sh instead of
#      ssh; the all-reduce of each network's gradient block (float32 and bf16), and a 2-rank training step in each
#      all-reduce mode: after backward or overlapped with it, float32 or bf16 gradients (--allreduce-overlap,
#      --allreduce-dtype), with the all-reduce time that is not hidden behind backward;
#   3. a projection of the scaling efficiency on 2..64 machines from those figures (the model is printed with it).
# Other jobs share the 2 cores: every timing is the best of $REPS runs and the load (uptime) is printed with it.
# Needs root for the namespaces (skipped with a message otherwise) and Open MPI.
# Usage: bench/mpi_scale.sh [build-dir] [out-dir]
#   env: REPS (default 3); SKIP_NETNS=1: section 1 only; REUSE_LOCAL=1: section 1 from out-dir's last run
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build}
out=${2:-out/mpi_scale}
reps=${REPS:-3}
data=${DOODLE_SHARED_DATA:-../shared/data/quickdraw}
command -v mpirun >/dev/null || { echo "mpi_scale: no mpirun (scripts/deps.sh installs Open MPI)" >&2; exit 1; }
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target doodle bench_allreduce >/dev/null
doodle=$root/$build/doodle
allreduce=$root/$build/bench/bench_allreduce
[ -x "$allreduce" ] || { echo "mpi_scale: $allreduce was not built (is MPI found?)" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 # Open MPI refuses root without both
load() { uptime | sed 's/.*load average: //; s/,//g' | awk '{ print $1 }'; }

# ---- data: the study's 5 classes of strokes, rendered at 66x100 by the loader (seed, lenet), and 13 bitmap classes
"$doodle" prep -q --input "$data/strokes_raw/borismus_exupery" --classes airplane,apple,cat,dog,tree \
  --test-frac 0.05 --seed 1 -o "$out/strokes5.dset" >/dev/null
"$doodle" prep -q --input "$data/bitmaps_28x28/HR-Shekhar_Doodle_Predictor" \
  --input "$data/bitmaps_28x28/sukumr_Doodle-Classifier" --per-class 2500 --test-frac 0.02 --seed 1 \
  -o "$out/bitmaps13.dset" >/dev/null
models=(doodle28 seed lenet)
# the all-reduce modes of section 2: doodle train's options for each
modes=(after overlap bf16-after bf16-overlap)
declare -A mode_opts=([after]="--allreduce-overlap off" [overlap]="--allreduce-overlap on"
  [bf16-after]="--allreduce-overlap off --allreduce-dtype bf16" [bf16-overlap]="--allreduce-overlap on --allreduce-dtype bf16")
declare -A set=([doodle28]=bitmaps13 [seed]=strokes5 [lenet]=strokes5)
# steps a run: about 5 to 15 s each on a quiet machine; global batch 64 throughout
declare -A steps=([doodle28]=40 [seed]=8 [lenet]=24)

# a command, and once more if it fails: under heavy load an Open MPI daemon in a namespace once never reported
# back (timeout ends such a run)
twice() { "$@" || { echo "mpi_scale: failed, once more: ${*: -8}" >&2; "$@"; }; }
# one training run; prints "seconds_per_step allreduce_ms allreduce_MB" (the last two 0 for one process; the
# all-reduce time is what was not hidden behind backward). The arguments after the first three start it: none, or
# mpirun and its options; $train_opts (words) are given to doodle train.
train_opts=""
train_once() {
  local model=$1 threads=$2 dir=$3
  shift 3
  local attempt
  for attempt in 1 2; do
    rm -rf "$dir"
    # shellcheck disable=SC2086 # train_opts: words
    "$@" "$doodle" train --data "$out/${set[$model]}.dset" --model "$model" --threads "$threads" \
      --max-steps "${steps[$model]}" --steps-per-epoch "${steps[$model]}" --val-frac 0 --no-report $train_opts \
      -o "$dir" >"$dir.log" 2>&1 && break
    echo "mpi_scale: training failed (attempt $attempt): $(tail -3 "$dir.log")" >&2
    [ "$attempt" = 2 ] && return 1
  done
  # history.csv's seconds: the epoch's training steps (no validation split; the test split comes after)
  local s
  s=$(awk -F, -v n="${steps[$model]}" 'NR == 2 { printf "%.5f", $8 / n }' "$dir/history.csv")
  local dp
  dp=$(sed -n 's/.*all-reduce .*(\([0-9.]*\) ms and \([0-9.]*\) MB a step[,)].*/\1 \2/p' "$dir.log")
  echo "$s ${dp:-0 0}"
}
# the best of $reps runs (the least seconds a step), with the load before the first
best_of() {
  local l best="" r
  l=$(load)
  for _ in $(seq 1 "$reps"); do
    r=$(train_once "$@")
    if [ -z "$best" ] || awk -v a="${r%% *}" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then best=$r; fi
  done
  echo "$best $l"
}
# the gradient block train all-reduces: every parameter (BatchNorm statistics included) and the loss, as floats
grad_bytes() { echo $((($("$doodle" summary "$1" | sed -n 's/^Total params: //p' | tr -d ,) + 1) * 4)); }

# shellcheck disable=SC2054 # commas inside Open MPI arguments
local_mpi=(mpirun --oversubscribe -np 2 --bind-to none --mca btl self,vader,tcp
  --mca btl_vader_single_copy_mechanism none)
declare -A bytes compute2 step21 ar_train
# REUSE_LOCAL=1 takes section 1 from an earlier run's $out/local.md and local.sh (to redo only the namespaces)
if [ "${REUSE_LOCAL:-0}" = 1 ] && [ -s "$out/local.sh" ] && [ -s "$out/local.md" ]; then
  cat "$out/local.md"
  # shellcheck source=/dev/null
  source "$out/local.sh"
else
{
echo "## 1. This machine: $(nproc) cores, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)"
echo
echo "Global batch 64 (2 ranks: 32 each), ${steps[doodle28]}/${steps[seed]}/${steps[lenet]} steps (doodle28/seed/lenet),"
echo "best of $reps runs; the load is the 1-minute load average before the runs (other jobs share the cores)."
echo
echo "| network | gradient block | 1 x 1 thread | 1 x 2 threads | 2 ranks x 1 thread | 2 ranks / 1 x 2 | all-reduce in train, not hidden (ms a step, % of step) | all-reduce alone (ms) | 2 ranks, yield when idle (all-reduce in train) | load |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for m in "${models[@]}"; do
  r11=$(best_of "$m" 1 "$out/run-$m-1x1")
  r12=$(best_of "$m" 2 "$out/run-$m-1x2")
  r21=$(best_of "$m" 1 "$out/run-$m-2x1" "${local_mpi[@]}")
  # a waiting rank that spins in MPI takes a core the other rank (and the other jobs) need on a busy box
  r21y=$(best_of "$m" 1 "$out/run-$m-2x1y" "${local_mpi[@]}" --mca mpi_yield_when_idle 1)
  bytes[$m]=$(grad_bytes "$out/run-$m-1x2/model.safetensors")
  read -r s11 _ _ l11 <<<"$r11"
  read -r s12 _ _ l12 <<<"$r12"
  read -r s21 arms _ l21 <<<"$r21"
  read -r s21y armsy _ l21y <<<"$r21y"
  compute2[$m]=$s12
  step21[$m]=$s21
  ar_train[$m]=$arms
  # the block alone, over shared memory, after a barrier (no waiting for the slower rank)
  a=$(for _ in $(seq 1 "$reps"); do
        "${local_mpi[@]}" "$allreduce" --seconds 1 "${bytes[$m]}" | awk '!/^#/ { print $4 }'
      done | sort -g | head -1)
  printf '| %s | %.2f MB | %.0f img/s | %.0f img/s | %.0f img/s | %.2f | %.2f ms, %.0f%% | %.2f | %.0f img/s (%.2f ms) | %s / %s / %s / %s |\n' \
    "$m" "$(awk -v b="${bytes[$m]}" 'BEGIN { print b / 1e6 }')" \
    "$(awk -v s="$s11" 'BEGIN { print 64 / s }')" "$(awk -v s="$s12" 'BEGIN { print 64 / s }')" \
    "$(awk -v s="$s21" 'BEGIN { print 64 / s }')" "$(awk -v a="$s21" -v b="$s12" 'BEGIN { print b / a }')" \
    "$arms" "$(awk -v a="$arms" -v s="$s21" 'BEGIN { print 100 * a / 1e3 / s }')" "$a" \
    "$(awk -v s="$s21y" 'BEGIN { print 64 / s }')" "$armsy" "$l11" "$l12" "$l21" "$l21y"
done
echo
echo "All-reduce in train: the time inside the all-reduce that backward did not hide (overlapped, float32: the"
echo "defaults), waiting for the slower rank included; alone: bench_allreduce on the same block after a barrier"
echo "(median of its repetitions, best of $reps runs)."
echo "Yield when idle: the same 2 ranks with --mca mpi_yield_when_idle 1 (a waiting rank gives its core away)."
echo
} >"$out/local.md.tmp"
mv "$out/local.md.tmp" "$out/local.md"
cat "$out/local.md"
declare -p bytes compute2 step21 ar_train | sed 's/^declare -A/declare -gA/' >"$out/local.sh"
fi
# ---- 2. two machines in network namespaces
ns_sw=mpib-sw
ns_ranks=(mpib-r1 mpib-r2)
netns_up=0
cleanup() {
  local n
  for n in "${ns_ranks[@]}" "$ns_sw"; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT
make_netns() {
  cleanup
  ip netns add "$ns_sw" && ip -n "$ns_sw" link set lo up &&
    ip -n "$ns_sw" link add mpibbr type bridge && ip -n "$ns_sw" addr add 10.77.0.1/24 dev mpibbr &&
    ip -n "$ns_sw" link set mpibbr up || return 1
  : >"$out/netns.map"
  : >"$out/hosts"
  local i ns
  for i in 1 2; do
    ns=${ns_ranks[$((i - 1))]}
    ip netns add "$ns" && ip -n "$ns" link set lo up &&
      ip link add "mpibh$i" netns "$ns" type veth peer name "mpibs$i" netns "$ns_sw" &&
      ip -n "$ns" addr add "10.77.0.1$i/24" dev "mpibh$i" && ip -n "$ns" link set "mpibh$i" up &&
      ip -n "$ns_sw" link set "mpibs$i" master mpibbr && ip -n "$ns_sw" link set "mpibs$i" up || return 1
    echo "10.77.0.1$i $ns" >>"$out/netns.map"
    echo "10.77.0.1$i slots=1" >>"$out/hosts"
  done
}
# shape every link: each rank's egress and the bridge's egress towards it. netem (rate and delay) where the
# kernel has it, else tbf (rate only; the delay is then added in the model). Prints "netem" or "tbf".
have_netem=
shape() {
  local rate=$1 delay=$2 burst=$3 i kind=tbf
  if [ -z "$have_netem" ]; then
    have_netem=no
    ip netns exec "$ns_sw" tc qdisc replace dev mpibs1 root netem rate "$rate" delay "$delay" 2>/dev/null &&
      have_netem=yes
  fi
  for i in 1 2; do
    if [ "$have_netem" = yes ]; then
      kind=netem
      ip netns exec "${ns_ranks[$((i - 1))]}" tc qdisc replace dev "mpibh$i" root netem rate "$rate" delay "$delay"
      ip netns exec "$ns_sw" tc qdisc replace dev "mpibs$i" root netem rate "$rate" delay "$delay"
    else
      ip netns exec "${ns_ranks[$((i - 1))]}" tc qdisc replace dev "mpibh$i" root tbf rate "$rate" burst "$burst" latency 50ms
      ip netns exec "$ns_sw" tc qdisc replace dev "mpibs$i" root tbf rate "$rate" burst "$burst" latency 50ms
    fi
  done
  echo "$kind"
}
unshape() {
  local i
  for i in 1 2; do
    ip netns exec "${ns_ranks[$((i - 1))]}" tc qdisc del dev "mpibh$i" root 2>/dev/null || true
    ip netns exec "$ns_sw" tc qdisc del dev "mpibs$i" root 2>/dev/null || true
  done
}
export MPIB_NETNS_MAP=$out/netns.map
# mpirun runs in the bridge's namespace; the orted of each "machine" is started by the agent in its own
# shellcheck disable=SC2054
ns_mpi=(ip netns exec "$ns_sw" timeout 240 mpirun -np 2 --hostfile "$out/hosts" --bind-to none
  --mca plm_rsh_agent "$root/bench/mpi_rsh_netns.sh" --mca plm_rsh_no_tree_spawn 1
  --mca btl self,tcp --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24)
if [ "${SKIP_NETNS:-0}" = 1 ]; then
  echo "## 2. Two machines in network namespaces: skipped (SKIP_NETNS=1)"
  echo
elif [ "$(id -u)" -ne 0 ] || ! command -v tc >/dev/null || ! make_netns 2>"$out/netns.err"; then
  echo "## 2. Two machines in network namespaces: skipped"
  echo
  echo "Could not make network namespaces here (needs root, ip and tc): $(head -1 "$out/netns.err" 2>/dev/null)"
  echo
else
  netns_up=1
fi

# all-reduce sizes: the latency (8 bytes), the three networks' blocks and more to fit the bandwidth on
sizes=(8 262144 "${bytes[doodle28]}" "${bytes[seed]}" 4194304 16777216 "${bytes[lenet]}")
declare -A ar_best      # "link size" -> the best over runs of the median ms
declare -A ar_bf16      # "link size" -> the same with --dtype bf16, for the networks' blocks
declare -A ns_step      # "model link mode" -> best_of's "s_per_step exposed_ms MB load"
# the median of each size's repetitions, best of $reps runs
measure_allreduce() {
  local link=$1 r
  local f=$out/allreduce-$link.txt
  : >"$f"
  for r in $(seq 1 "$reps"); do
    twice "${ns_mpi[@]}" "$allreduce" --seconds 1.5 --min-reps 4 "${sizes[@]}" >"$f.run"
    awk -v r="$r" '!/^#/ { print r, $0 }' "$f.run" >>"$f"
  done
  while read -r b ms; do ar_best["$link $b"]=$ms; done < <(awk '{ if (!($2 in m) || $5 < m[$2]) m[$2] = $5 }
    END { for (b in m) print b, m[b] }' "$f")
  local blocks=() m
  for m in "${models[@]}"; do blocks+=("${bytes[$m]}"); done
  : >"$f.bf16"
  for r in $(seq 1 "$reps"); do
    twice "${ns_mpi[@]}" "$allreduce" --seconds 1.5 --min-reps 4 --dtype bf16 "${blocks[@]}" >"$f.run"
    awk -v r="$r" '!/^#/ { print r, $0 }' "$f.run" >>"$f.bf16"
  done
  while read -r b ms; do ar_bf16["$link $b"]=$ms; done < <(awk '{ if (!($2 in m) || $5 < m[$2]) m[$2] = $5 }
    END { for (b in m) print b, m[b] }' "$f.bf16")
}
# least squares of ms against bytes over the sizes from 1 MB up: "MB/s alpha_ms" (N=2: T = B/BW + 2 alpha)
fit() {
  local link=$1 b
  for b in "${sizes[@]}"; do echo "$b ${ar_best[$link $b]}"; done | awk '
    $1 == 8 { t8 = $2 } $1 >= 900000 { n++; x += $1; y += $2; xx += $1 * $1; xy += $1 * $2 }
    END { k = (n * xy - x * y) / (n * xx - x * x); printf "%.1f %.4f\n", 1e-3 / k, t8 / 2 }'
}
links=(veth 10g 1g)
declare -A link_rate=([10g]=10gbit [1g]=1gbit)
declare -A link_burst=([10g]=1mb [1g]=128kb)
declare -A link_delay=([10g]=0.1ms [1g]=0.5ms)
declare -A link_load link_kind
if [ "$netns_up" = 1 ]; then
  for link in "${links[@]}"; do
    if [ "$link" = veth ]; then unshape; link_kind[$link]=none; else
      link_kind[$link]=$(shape "${link_rate[$link]}" "${link_delay[$link]}" "${link_burst[$link]}"); fi
    link_load[$link]=$(load)
    measure_allreduce "$link"
    [ "$link" = veth ] && continue
    for m in "${models[@]}"; do
      for mode in "${modes[@]}"; do
        train_opts=${mode_opts[$mode]}
        ns_step["$m $link $mode"]=$(best_of "$m" 1 "$out/ns-$m-$link-$mode" "${ns_mpi[@]}")
      done
    done
    train_opts=""
  done
  unshape
  echo "## 2. Two machines in network namespaces"
  echo
  echo "A namespace per rank, each joined to a bridge by a veth pair; Open MPI over TCP (btl self,tcp), mpirun"
  echo "in the bridge's namespace, the ranks started by bench/mpi_rsh_netns.sh (ip netns exec) instead of ssh."
  if [ "$have_netem" = yes ]; then
    echo "Links shaped with tc netem (rate and delay) on both ends."
  else
    echo "This kernel has no netem (tc: \"Specified qdisc kind is unknown\"): the links are shaped with tbf (rate"
    echo "only, both ends); the delay of each link is added in the projection below, not measured."
  fi
  echo "Each figure: the median of at least 4 repetitions (1.5 s) of MPI_Allreduce after a barrier, best of"
  echo "$reps runs; both ranks share this machine's 2 cores (and the kernel's TCP work) with the other jobs."
  echo
  echo "| link | 8 B | 256 KB | doodle28 ($(awk -v b="${bytes[doodle28]}" 'BEGIN { printf "%.2f MB", b / 1e6 }')) | seed ($(awk -v b="${bytes[seed]}" 'BEGIN { printf "%.2f MB", b / 1e6 }')) | 4 MiB | 16 MiB | lenet ($(awk -v b="${bytes[lenet]}" 'BEGIN { printf "%.1f MB", b / 1e6 }')) | fitted bandwidth, latency | load |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  declare -A bw alpha
  for link in "${links[@]}"; do
    read -r "bw[$link]" "alpha[$link]" <<<"$(fit "$link")"
    row="| ${link} (${link_kind[$link]})"
    for b in "${sizes[@]}"; do row+=" | ${ar_best[$link $b]} ms"; done
    echo "$row | $(awk -v w="${bw[$link]}" 'BEGIN { printf "%.0f MB/s (%.2f Gbit/s)", w, w * 8e-3 }'), α = ${alpha[$link]} ms | ${link_load[$link]} |"
  done
  echo
  echo "Bandwidth: least squares of time against bytes over the blocks of 0.9 MB and more (two ranks: one"
  echo "all-reduce moves the block once each way, T = B / BW + 2α); α: half the 8-byte all-reduce."
  echo
  echo "The bf16 all-reduce (bench_allreduce --dtype bf16: rounded to bf16, summed by a user operation in float,"
  echo "widened back; the conversions timed with it), ms:"
  echo
  echo "| link | doodle28 | seed | lenet |"
  echo "|---|---|---|---|"
  for link in "${links[@]}"; do
    echo "| $link | ${ar_bf16[$link ${bytes[doodle28]}]} | ${ar_bf16[$link ${bytes[seed]}]} | ${ar_bf16[$link ${bytes[lenet]}]} |"
  done
  echo
  echo "Training step on two namespaces (2 ranks x 1 thread, global batch 64) in each all-reduce mode: after"
  echo "backward (--allreduce-overlap off) or overlapped with it in buckets of $(sed -n 's/^#define DD_ALLREDUCE_BUCKET_KB //p' include/doodle/train.h) KB (the default), float32 or bf16"
  echo "gradients. Not hidden: the time a step spent in the all-reduce outside backward's layers (MPI's progress"
  echo "between layers, the rest after backward), waiting for the slower rank included. Efficiency as measured:"
  echo "(step − not hidden) / step."
  echo
  echo "| network | link | all-reduce | step (ms) | images/s | not hidden (ms a step) | MB a step | efficiency as measured | load |"
  echo "|---|---|---|---|---|---|---|---|---|"
  declare -A exposed hidden
  for m in "${models[@]}"; do
    for link in 10g 1g; do
      for mode in "${modes[@]}"; do
        read -r s arms mb l <<<"${ns_step[$m $link $mode]}"
        exposed["$m $link $mode"]=$arms
        printf '| %s | %s | %s | %.1f | %.0f | %.2f | %.2f | %.0f%% | %s |\n' "$m" "$link" "$mode" \
          "$(awk -v s="$s" 'BEGIN { print 1e3 * s }')" "$(awk -v s="$s" 'BEGIN { print 64 / s }')" "$arms" "$mb" \
          "$(awk -v s="$s" -v a="$arms" 'BEGIN { e = 100 * (1e3 * s - a) / (1e3 * s); print (e < 0 ? 0 : e) }')" "$l"
      done
      # what the overlap hid at 2 ranks on this link, per type (none when it measured worse)
      for t in "" bf16-; do
        hidden["$m $link $t"]=$(awk -v a="${exposed[$m $link ${t}after]}" -v o="${exposed[$m $link ${t}overlap]}" \
          'BEGIN { h = a - o; print (h > 0 ? h : 0) }')
      done
    done
  done
  echo

  # ---- 3. projection
  echo "## 3. Projected scaling efficiency (weak scaling: each machine a 2-core box like this one, 64 drawings a step)"
  echo
  echo "Model: a step on N machines = compute + the all-reduce time not hidden. compute = this machine's step with"
  echo "1 process x 2 threads and batch 64 (table 1); ring all-reduce of B bytes = 2(N−1)/N × B / BW + 2(N−1) × α,"
  echo "B halved for bf16 plus its conversions (the bf16 all-reduce of the block on the unshaped veth minus half the"
  echo "float32 one); not hidden = max(0, all-reduce − hidden), hidden = what the overlap took off the time not"
  echo "hidden at 2 ranks on the measured link of that rate (table 2, same type; 0 when the overlap measured worse),"
  echo "the same at every N (the backward it hides behind does not grow with N). BW: fitted on the shaped link"
  echo "(table 2), or its nominal rate (nominal-: 1250 and 125 MB/s); α = the veth's fitted α + the link's one-way"
  if [ "$have_netem" = yes ]; then echo "delay (measured with netem)."; else echo "delay (added here: no netem)."; fi
  echo "Efficiency = compute / (compute + not hidden)."
  echo
  echo "| network | link | all-reduce | compute (ms) | not hidden at 2 (ms) | 2 | 4 | 8 | 16 | 32 | 64 |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  # the measured links are slower than their rate (both ends' TCP on 2 shared cores); the nominal rates for
  # comparison, as a real link between two machines would give nearly
  proj_links=("10g 0.1" "1g 0.5" "nominal-10g 0.1" "nominal-1g 0.5")
  bw[nominal-10g]=1250
  bw[nominal-1g]=125
  for m in "${models[@]}"; do
    conv=$(awk -v h="${ar_bf16[veth ${bytes[$m]}]}" -v f="${ar_best[veth ${bytes[$m]}]}" \
      'BEGIN { c = h - f / 2; print (c > 0 ? c : 0) }')
    for pl in "${proj_links[@]}"; do
      read -r link delay <<<"$pl"
      if [ "$have_netem" = yes ]; then a=${alpha[${link#nominal-}]}; else a=$(awk -v x="${alpha[veth]}" -v d="$delay" 'BEGIN { print x + d }'); fi
      for mode in "${modes[@]}"; do
        t=; [ "${mode#bf16-}" != "$mode" ] && t=bf16-
        h=0; [ "${mode#"$t"}" = overlap ] && h=${hidden[$m ${link#nominal-} $t]}
        awk -v m="$m" -v name="$link $delay ms" -v mode="$mode" -v c="${compute2[$m]}" -v b="${bytes[$m]}" \
          -v bw="${bw[$link]}" -v a="$a" -v half="${t:+1}" -v conv="$conv" -v h="$h" '
          function ar(n) { return 2 * (n - 1) / n * (half ? b / 2 : b) / (bw * 1e6) + 2 * (n - 1) * a / 1e3 + (half ? conv / 1e3 : 0) }
          function shown(n) { x = ar(n) - h / 1e3; return x > 0 ? x : 0 }
          BEGIN { printf "| %s | %s | %s | %.0f | %.1f", m, name, mode, 1e3 * c, 1e3 * shown(2)
                  for (n = 2; n <= 64; n *= 2) printf " | %.0f%%", 100 * c / (c + shown(n))
                  print " |" }'
      done
    done
  done
  echo
fi
