#!/usr/bin/env bash
# One call on the lent GPU (../shared/GPU.md): the GPU tests, compute-sanitizer (memcheck and
# racecheck) on small cases of every kernel, then the benchmark against PyTorch, table last, and
# its summary against issue 16's targets (bench/summarize_bench.py, bench_summary.md).
# Run from the repository root with a build folder made by the `gpu` preset (or BUILD=...):
#   bench/run_gpu_check.sh [tests|sanitize|bench|ladder|all] ; logs go to $OUT (or ./gpu-logs).
# `ladder` (not part of `all`) times every rung of the kernel ladder, fp16 (BENCH_ARGS=--bf16-only
# for bf16, with --no-teaching to skip the fp32 teaching kernel the fp16 ladder already timed;
# docs/performance.md).
# BENCH_ARGS go to flashlab-gpu-bench (e.g. "--fp16-only --seqs 2048,8192"), TORCH_ARGS to
# bench/sdpa_compare.py (e.g. "--backends flash").
set -uo pipefail
BUILD=${BUILD:-build/gpu}
LOGS=${OUT:-gpu-logs}
mkdir -p "$LOGS"
what=${1:-all}
status=0

if [[ $what == tests || $what == all ]]; then
  echo "=== GPU tests"
  "$BUILD/tests/gpu/test_gpu" --duration=true > "$LOGS/gpu_tests.log" 2>&1 || status=1
  tail -4 "$LOGS/gpu_tests.log"
fi
if [[ $what == sanitize || $what == all ]]; then
  echo "=== compute-sanitizer (small cases)"
  for tool in memcheck racecheck; do
    compute-sanitizer --tool $tool --error-exitcode 9 "$BUILD/tests/gpu/test_gpu" -tc='sanitizer*,fused kernels skip*' \
      > "$LOGS/sanitizer_$tool.log" 2>&1 && echo "$tool: clean" || { echo "$tool: FAILED"; status=1; }
    grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$LOGS/sanitizer_$tool.log" | tail -1
  done
fi
if [[ $what == bench || $what == all ]]; then
  echo "=== benchmark"
  "$BUILD/bench/flashlab-gpu-bench" ${BENCH_ARGS:-} --json "$LOGS/ours.json" > "$LOGS/bench_ours.log" 2>&1 || status=1
  tail -3 "$LOGS/bench_ours.log"
  python3 bench/sdpa_compare.py "$LOGS/ours.json" ${TORCH_ARGS:-} --markdown "$LOGS/bench_table.md" --json "$LOGS/bench_all.json" \
    2> "$LOGS/bench_torch.err" || status=1
  python3 bench/summarize_bench.py "$LOGS/bench_all.json" --below 1.0 --markdown "$LOGS/bench_summary.md" \
    > /dev/null || status=1
fi
if [[ $what == ladder ]]; then
  echo "=== ladder"
  "$BUILD/bench/flashlab-gpu-bench" --ladder --fp16-only ${BENCH_ARGS:-} --json "$LOGS/ladder.json" \
    > "$LOGS/ladder.log" 2>&1 || status=1
  sed -n '/^| mode/,$p' "$LOGS/ladder.log"
fi
exit $status
