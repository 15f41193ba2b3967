#!/usr/bin/env bash
# Nsight Compute on one launch of every rung of the kernel ladder (docs/performance.md, "The
# ladder"): speed of light, pipe utilisation, warp stalls (every stall reason's cycles per issued
# instruction), occupancy and launch figures, one text report per kernel in $OUT (or
# ./gpu-logs). Run on the GPU from the repository root with a build made by the `gpu` preset (or
# BUILD=...). SEQS and DIMS pick the shape (default N 2048, d 128). SASS=1 adds ncu's source
# counters: each kernel's per-instruction stall samples, as sass_<kernel>.csv.gz (ncu's source
# page of the SASS; docs/performance.md, "The d = 64 backward, instruction by instruction").
set -uo pipefail
BUILD=${BUILD:-build/gpu}
LOGS=${OUT:-gpu-logs}
mkdir -p "$LOGS"
status=0
# KERNELS picks which: a kernel name profiles its first launch; flash_fwd_hopper_kernel@RUNG
# profiles that rung of the wgmma forward (all rungs are one kernel name). The ladder times each
# wgmma forward rung with 5 warm-up launches and 30 timed ones at N <= 2048 (10 above) in the order
# serial, pingpong, overlap, kept-max, tma, warp-spec, persistent, dynamic, so rung r is launch
# 35 r (15 r) of that kernel. flash_bwd_hopper_kernel@RUNG does the same for the backward's
# rungs serial, tma and warp-spec (3 warm-up launches each: rung r is launch 33 r, or 13 r).
# Each report names the template arguments of the launch it profiled (the forward's rung is the
# last one, the backward's TMA and producer flags the last two), to check. SEQS is one N here.
rung_index() {
  case $1 in serial) echo 0;; pingpong) echo 1;; overlap) echo 2;; kept-max) echo 3;;
             tma) echo 4;; warp-spec) echo 5;; persistent) echo 6;; dynamic) echo 7;;
             *) echo "unknown rung $1" >&2; return 1;; esac
}
bwd_rung_index() {
  case $1 in serial) echo 0;; tma) echo 1;; warp-spec) echo 2;;
             *) echo "unknown backward rung $1" >&2; return 1;; esac
}
source "$(dirname "$0")/ncu_common.sh"
for item in ${KERNELS:-flash_fwd_simple_kernel flash_fwd_kernel flash_fwd_hopper_kernel@overlap \
                flash_fwd_hopper_kernel@kept-max flash_fwd_hopper_kernel@tma flash_fwd_hopper_kernel@warp-spec \
                flash_fwd_hopper_kernel@persistent flash_bwd_kernel flash_bwd_hopper_kernel@serial \
                flash_bwd_hopper_kernel@tma flash_bwd_hopper_kernel@warp-spec}; do
  kernel=${item%@*}
  skip=0
  # The teaching kernel takes seconds per launch at N = 8192: run it only to profile it.
  teaching=--no-teaching
  [[ $kernel == flash_fwd_simple_kernel ]] && teaching=
  if [[ $item == flash_bwd_hopper_kernel@* ]]; then
    index=$(bwd_rung_index "${item#*@}") || { status=1; continue; }
    skip=$(( $(( ${SEQS:-2048} <= 2048 ? 33 : 13 )) * index ))
  elif [[ $item == *@* ]]; then
    index=$(rung_index "${item#*@}") || { status=1; continue; }
    skip=$(( $(( ${SEQS:-2048} <= 2048 ? 35 : 15 )) * index ))
  fi
  name=${item/@/_}
  source_args=()
  [[ ${SASS:-0} == 1 ]] && source_args=(--section SourceCounters -o "$LOGS/$name" -f)
  ncu --clock-control none -k "$kernel" --launch-skip "$skip" -c 1 "${ncu_sections[@]}" \
    "${source_args[@]}" \
    "$BUILD/bench/flashlab-gpu-bench" --ladder --fp16-only $teaching \
    --seqs "${SEQS:-2048}" --dims "${DIMS:-128}" --json "$LOGS/ladder_ncu_run.json" \
    > "$LOGS/ncu_$name.txt" 2>&1 && echo "$item: profiled" || { echo "$item: FAILED"; status=1; }
  if [[ ${SASS:-0} == 1 && -f "$LOGS/$name.ncu-rep" ]]; then
    ncu_print_report "$LOGS/$name.ncu-rep" "$LOGS/ncu_$name.txt" "$LOGS/sass_$name.csv.gz" ||
      { echo "$item: SASS page FAILED"; status=1; }
  fi
done
rm -f "$LOGS/ladder_ncu_run.json"
exit $status
