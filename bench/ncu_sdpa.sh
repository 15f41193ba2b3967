#!/usr/bin/env bash
# Nsight Compute on one call of a PyTorch attention backend (bench/sdpa_profile.py), with the same
# sections, metrics and SASS page as bench/ncu_ladder.sh gives flashlab's kernels, so that the two
# read side by side (docs/performance.md, "cuDNN's forward under Nsight Compute"). Run on the GPU
# from the repository root:
#   bench/ncu_sdpa.sh BACKEND DTYPE D N CAUSAL(0|1) [fwd|bwd]
# e.g. bench/ncu_sdpa.sh cudnn fp16 64 2048 0 fwd. Writes ncu_sdpa_<backend>_<pass>_<dtype>_d<D>_n<N>
# [_causal].txt (the sections of every kernel the call launched) and sass_sdpa_....csv.gz (their
# SASS pages) to $OUT (or ./gpu-logs). KERNEL=regex limits the profile to the kernels whose name
# matches (default: every kernel of the call, at most 8). DROPOUT=P runs the call with
# dropout_p = P (the names get _dropP).
set -uo pipefail
if [[ $# -lt 5 || $# -gt 6 ]]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
backend=$1 dtype=$2 d=$3 n=$4 causal=$5 which=${6:-fwd}
[[ $causal == 0 || $causal == 1 ]] || { echo "ncu_sdpa: CAUSAL must be 0 or 1, not '$causal'" >&2; exit 2; }
LOGS=${OUT:-gpu-logs}
mkdir -p "$LOGS"
source "$(dirname "$0")/ncu_common.sh"
name=sdpa_${backend}_${which}_${dtype}_d${d}_n${n}
causal_arg=()
[[ $causal == 1 ]] && { name=${name}_causal; causal_arg=(--causal); }
dropout_arg=()
[[ -n ${DROPOUT:-} ]] && { name=${name}_drop${DROPOUT}; dropout_arg=(--dropout "$DROPOUT"); }
filter=()
[[ -n ${KERNEL:-} ]] && filter=(-k "regex:$KERNEL")
ncu --clock-control none --profile-from-start off "${filter[@]}" -c 8 "${ncu_sections[@]}" \
  --section SourceCounters -o "$LOGS/$name" -f \
  python3 "$(dirname "$0")/sdpa_profile.py" --backend "$backend" --dtype "$dtype" --d "$d" --n "$n" \
  "${causal_arg[@]}" "${dropout_arg[@]}" --pass "$which" > "$LOGS/ncu_$name.txt" 2>&1 ||
  { echo "$name: FAILED (ncu_$name.txt)"; exit 1; }
ncu_print_report "$LOGS/$name.ncu-rep" "$LOGS/ncu_$name.txt" "$LOGS/sass_$name.csv.gz" ||
  { echo "$name: SASS page FAILED"; exit 1; }
echo "$name: profiled"
