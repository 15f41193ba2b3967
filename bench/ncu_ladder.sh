#!/usr/bin/env bash
# Nsight Compute on one launch of every rung of the kernel ladder (docs/performance.md, "The
# ladder"): speed of light, pipe utilisation, warp stalls, occupancy and launch figures, one text
# report per kernel in $OUT (or ./gpu-logs). Run on the GPU from the repository root with a build
# made by the `gpu` preset (or BUILD=...). SEQS and DIMS pick the shape (default N 2048, d 128).
set -uo pipefail
BUILD=${BUILD:-build/gpu}
LOGS=${OUT:-gpu-logs}
mkdir -p "$LOGS"
status=0
for kernel in flash_fwd_simple_kernel flash_fwd_kernel flash_fwd_hopper_kernel flash_bwd_kernel \
              flash_bwd_hopper_kernel; do
  ncu --clock-control none -k "$kernel" -c 1 --section SpeedOfLight \
    --section ComputeWorkloadAnalysis --section WarpStateStats --section Occupancy \
    --section LaunchStats "$BUILD/bench/flashlab-gpu-bench" --ladder --fp16-only \
    --seqs "${SEQS:-2048}" --dims "${DIMS:-128}" --json "$LOGS/ladder_ncu_run.json" \
    > "$LOGS/ncu_$kernel.txt" 2>&1 && echo "$kernel: profiled" || { echo "$kernel: FAILED"; status=1; }
done
rm -f "$LOGS/ladder_ncu_run.json"
exit $status
