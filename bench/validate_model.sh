#!/usr/bin/env bash
# The measurements the simulator's performance model is validated against (docs/simulator.md,
# "Validation against the GPU"), in one call on the lent GPU, from the repository root with a
# build made by the `gpu` preset (or BUILD=...):
#   bench/validate_model.sh [micro|ncu-ours|ncu-dropout|ncu-torch|times|all]
# micro:     flashlab-gpu-microbench (copy and L2 bandwidth, GEMM, exp and fp32 rates, launch floor):
#            the model's constants come from here or from datasheets, never from the rows below;
# ncu-ours:  Nsight Compute over flashlab-gpu-calls (our fused forward and backward, the naive
#            baseline), every shape once: DRAM bytes, L2 bytes, kernel time, grid;
# ncu-dropout: the same for our fused kernels with dropout on DROPOUT (default 0.1), N >= 2048
#            (measured_dropout.json; not part of `all`);
# ncu-torch: the same over PyTorch's FlashAttention-2 backend (bench/sdpa_calls.py);
# times:     flashlab-gpu-bench and bench/sdpa_compare.py (median of many warm runs, fp16).
# Everything goes to $OUT (or ./gpu-logs). Then, on any machine, with the two files ncu-ours and
# ncu-torch wrote there (validate takes files, one --measured each, not a directory; add
# --measured $OUT/measured_dropout.json after ncu-dropout):
#   flashlab validate --measured $OUT/measured_ours.json --measured $OUT/measured_torch.json
# It prints the table; --markdown/--svg write the docs' copies.
# SEQS and DIMS narrow the shapes (default 512..16384 and 64,128).
set -uo pipefail
BUILD=${BUILD:-build/gpu}
LOGS=${OUT:-gpu-logs}
SEQS=${SEQS:-512,1024,2048,4096,8192,16384}
DIMS=${DIMS:-64,128}
mkdir -p "$LOGS"
what=${1:-all}
status=0

metrics=(dram__bytes_read.sum dram__bytes_write.sum lts__t_bytes.sum gpu__time_duration.sum
         lts__t_sectors_srcunit_tex_op_read.sum lts__t_sectors_srcunit_tex_op_write.sum
         lts__t_sectors_srcunit_tex_op_red.sum lts__t_sectors_srcunit_tex_op_atom.sum)
known=$(ncu --query-metrics 2>/dev/null | awk '{print $1}')
keep=()
for m in "${metrics[@]}"; do
  if [[ -z $known ]] || grep -qx "${m%.*}" <<< "$known"; then keep+=("$m"); else echo "ncu: no metric $m here, skipped"; fi
done
keep+=(launch__grid_size launch__block_size launch__registers_per_thread launch__shared_mem_per_block_dynamic)
ncu_flags=(--clock-control none --cache-control all --replay-mode kernel --csv --page raw
           --print-units base --metrics "$(IFS=,; echo "${keep[*]}")")

if [[ $what == micro || $what == all ]]; then
  echo "=== microbenchmarks"
  "$BUILD/bench/flashlab-gpu-microbench" --json "$LOGS/microbench.json" || status=1
fi
if [[ $what == ncu-ours || $what == all ]]; then
  echo "=== ncu: flashlab-gpu-calls"
  ncu "${ncu_flags[@]}" --log-file "$LOGS/ncu_ours.csv" \
    "$BUILD/bench/flashlab-gpu-calls" --seqs "$SEQS" --dims "$DIMS" --shape 1,4,1024,64 \
    --manifest "$LOGS/calls_ours.json" > "$LOGS/calls_ours.log" 2>&1 || status=1
  tail -1 "$LOGS/calls_ours.log"
  python3 bench/ncu_collect.py "$LOGS/ncu_ours.csv" "$LOGS/calls_ours.json" "$LOGS/measured_ours.json" || status=1
fi
if [[ $what == ncu-dropout ]]; then
  echo "=== ncu: flashlab-gpu-calls --dropout ${DROPOUT:-0.1}"
  ncu "${ncu_flags[@]}" --log-file "$LOGS/ncu_dropout.csv" \
    "$BUILD/bench/flashlab-gpu-calls" --seqs "${SEQS_DROPOUT:-2048,4096,8192,16384}" --dims "$DIMS" \
    --dropout "${DROPOUT:-0.1}" --naive-limit-gib 0 \
    --manifest "$LOGS/calls_dropout.json" > "$LOGS/calls_dropout.log" 2>&1 || status=1
  tail -1 "$LOGS/calls_dropout.log"
  python3 bench/ncu_collect.py "$LOGS/ncu_dropout.csv" "$LOGS/calls_dropout.json" "$LOGS/measured_dropout.json" || status=1
fi
if [[ $what == ncu-torch || $what == all ]]; then
  echo "=== ncu: PyTorch FlashAttention-2"
  ncu "${ncu_flags[@]}" --kernel-name regex:"flash|spin_kernel" --log-file "$LOGS/ncu_torch.csv" \
    python3 bench/sdpa_calls.py --seqs "$SEQS" --dims "$DIMS" --manifest "$LOGS/calls_torch.json" \
    > "$LOGS/calls_torch.log" 2>&1 || status=1
  tail -1 "$LOGS/calls_torch.log"
  python3 bench/ncu_collect.py "$LOGS/ncu_torch.csv" "$LOGS/calls_torch.json" "$LOGS/measured_torch.json" || status=1
fi
if [[ $what == times || $what == all ]]; then
  echo "=== times (warm, median)"
  "$BUILD/bench/flashlab-gpu-bench" --fp16-only --seqs "$SEQS" --dims "$DIMS" \
    --json "$LOGS/times_ours.json" > "$LOGS/times_ours.log" 2>&1 || status=1
  tail -1 "$LOGS/times_ours.log"
  python3 bench/sdpa_compare.py "$LOGS/times_ours.json" --backends flash \
    --json "$LOGS/times_all.json" --markdown "$LOGS/times_table.md" > "$LOGS/times_torch.log" 2>&1 || status=1
  tail -1 "$LOGS/times_torch.log"
fi
exit $status
