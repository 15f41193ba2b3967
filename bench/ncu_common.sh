# What bench/ncu_ladder.sh and bench/ncu_sdpa.sh share (sourced, not run): the sections and
# metrics every profile collects, and the export of a report's SASS page.
#
# The sections print a stall reason only when one dominates and name the busiest pipe only; the
# metrics add the tensor, XU (ex2: the softmax's exponentials), FMA and ALU pipes' utilisation and
# every stall reason (cycles a warp spends in it per issued instruction; they sum to "Warp Cycles
# Per Issued Instruction").
ncu_active=avg.pct_of_peak_sustained_active
ncu_metrics=sm__pipe_tensor_cycles_active.$ncu_active,sm__inst_executed_pipe_xu.$ncu_active
ncu_metrics=$ncu_metrics,sm__inst_executed_pipe_fma.$ncu_active,sm__inst_executed_pipe_alu.$ncu_active
ncu_metrics=$ncu_metrics,'regex:^smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio$'
ncu_sections=(--section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats
              --section Occupancy --section LaunchStats --metrics "$ncu_metrics")

# ncu_print_report REPORT TEXT SASS_CSV_GZ: appends the report's sections to TEXT (with -o they go
# to the report, not stdout), writes its SASS page (per-instruction stall samples, the input of
# bench/sass_stalls.py) gzipped, and removes the report. Fails when the SASS page cannot be read.
ncu_print_report() {
  ncu -i "$1" --page details >> "$2" 2>&1
  ncu -i "$1" --page source --csv --print-source sass 2>/dev/null | gzip > "$3"
  local rc=${PIPESTATUS[0]}
  rm -f "$1"
  return "$rc"
}
