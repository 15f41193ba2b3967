#!/usr/bin/env python3
"""The ladder's Nsight Compute reports as one Markdown table: per rung, the launch it profiled,
its time, grid, registers, how busy the issue slots and the tensor and XU pipes were, the L1, L2
and DRAM throughput and the largest warp stalls (docs/performance.md, "What each step removed").

usage: ncu_ladder_table.py FOLDER [FOLDER ...] [--markdown FILE] | --self-test
  FOLDER holds the ncu_<kernel>[_<rung>].txt reports bench/ncu_ladder.sh writes (one launch
  each); rows follow the ladder (mma.sync, serial, pingpong, overlap, kept-max, tma, warp-spec,
  persistent, dynamic; forward first), then any other report by name.
  Example: python3 bench/ncu_ladder_table.py bench/results/v31_h200/callC_ladder_ncu_d96
exit status: 0 the table, 1 a self-test failure, 2 a folder without reports or a report that
lacks a figure (named)."""
import glob
import os
import re
import sys

from script_common import check_refusals, parser_from_doc, print_and_save, verdict

RUNGS = ["serial", "pingpong", "overlap", "kept-max", "tma", "warp-spec", "persistent", "dynamic"]
ORDER = (["flash_fwd_simple_kernel", "flash_fwd_kernel"] +
         [f"flash_fwd_hopper_kernel_{r}" for r in RUNGS] + ["flash_bwd_kernel"] +
         [f"flash_bwd_hopper_kernel_{r}" for r in RUNGS])

# What each column reads: (label, pattern whose group 1 is the figure).
FIGURES = {
    "launch": r"(?m)^  void (flash\w+<[^>]*>)",
    "duration": r"Duration\s+(\w+\s+[\d.,]+)",
    "grid": r"Grid Size\s+([\d,]+)",
    "block": r"Block Size\s+([\d,]+)",
    "registers": r"Registers Per Thread\s+register/thread\s+(\d+)",
    "issue": r"Issue Slots Busy\s+%\s+([\d.]+)",
    "cycles": r"Warp Cycles Per Issued Instruction\s+cycle\s+([\d.]+)",
    "tensor": r"sm__pipe_tensor_cycles_active\S*\s+%\s+([\d.]+)",
    "xu": r"sm__inst_executed_pipe_xu\S*\s+%\s+([\d.]+)",
    "l1": r"L1/TEX Cache Throughput\s+%\s+([\d.]+)",
    "l2": r"L2 Cache Throughput\s+%\s+([\d.]+)",
    "dram": r"DRAM Throughput\s+%\s+([\d.]+)",
}
STALL = r"smsp__average_warps_issue_stalled_(\w+?)_per_issue_active\.ratio\s+inst\s+([\d.]+)"


class ReportError(Exception):
    pass


def time_ms(text):
    """ncu's "ms 1.25" or "us 850.30" as milliseconds."""
    unit, value = text.split()
    value = float(value.replace(",", ""))
    scale = {"s": 1e3, "ms": 1.0, "us": 1e-3, "ns": 1e-6}
    if unit not in scale:
        raise ReportError(f"duration unit {unit!r} is not s, ms, us or ns")
    return value * scale[unit]


def read_report(name, text, stalls_shown=3):
    """One table row from one report's text; ReportError naming the figure it lacks."""
    got = {}
    for label, pattern in FIGURES.items():
        m = re.search(pattern, text)
        if not m:
            raise ReportError(f"{name}: no {label} figure (pattern {pattern!r})")
        got[label] = m.group(1)
    # "selected" is the cycle of the issue itself, not a stall.
    stalls = sorted(((float(v), k) for k, v in re.findall(STALL, text) if k != "selected"),
                    reverse=True)
    if not stalls:
        raise ReportError(f"{name}: no warp stall figures (smsp__average_warps_issue_stalled_*)")
    args = got["launch"].split("<", 1)[1].rstrip(">")
    return (f"| {name} | `<{args}>` | {time_ms(got['duration']):.2f} ms | "
            f"{got['grid']} × {got['block']} | {got['registers']} | {got['issue']} % | "
            f"{got['cycles']} | {got['tensor']} % | {got['xu']} % | "
            f"{got['l1']} / {got['l2']} / {got['dram']} % | " +
            ", ".join(f"{k} {v:.2f}" for v, k in stalls[:stalls_shown]) + " |")


def order_key(name):
    return (ORDER.index(name), "") if name in ORDER else (len(ORDER), name)


def table(folders):
    header = ("| rung (report) | launch's template arguments | time | blocks × threads | "
              "registers | issue slots busy | cycles between issues | tensor pipe | XU pipe | "
              "L1 / L2 / DRAM | largest stalls (cycles per issued instruction) |\n"
              "|---|---|---:|---|---:|---:|---:|---:|---:|---|---|\n")
    out = []
    for folder in folders:
        paths = glob.glob(os.path.join(folder, "ncu_*.txt"))
        if not paths:
            raise ReportError(f"{folder}: no ncu_*.txt reports")
        names = sorted((os.path.basename(p)[4:-4] for p in paths), key=order_key)
        rows = []
        for name in names:
            with open(os.path.join(folder, f"ncu_{name}.txt"), encoding="utf-8") as f:
                rows.append(read_report(name, f.read()))
        out.append(f"{folder}: {len(rows)} reports\n\n" + header + "\n".join(rows) + "\n")
    return "\n".join(out)


# A report reduced to what the table reads, its figures worked out by hand.
SAMPLE = """  void flash_fwd_hopper_kernel<__half, 256, 64, 0, 0, 5, 256>(FlashFwdParams<T1>) (1, 2, 1)
    smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio   inst   0.63
    smsp__average_warps_issue_stalled_long_scoreboard_per_issue_active.ratio   inst   0.70
    smsp__average_warps_issue_stalled_selected_per_issue_active.ratio   inst   1.00
    smsp__average_warps_issue_stalled_wait_per_issue_active.ratio   inst   1.64
    sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active   %   18.79
    sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active   %   74.87
    DRAM Throughput                   %        12.98
    Duration                         us       850.30
    L1/TEX Cache Throughput           %        60.97
    L2 Cache Throughput               %        43.73
    Issue Slots Busy               %        37.98
    Warp Cycles Per Issued Instruction             cycle         5.61
    Block Size                                                   384
    Grid Size                                                  2,048
    Registers Per Thread             register/thread             168
"""


def self_test():
    failures = []
    row = read_report("flash_fwd_hopper_kernel_warp-spec", SAMPLE, stalls_shown=2)
    want = ("| flash_fwd_hopper_kernel_warp-spec | `<__half, 256, 64, 0, 0, 5, 256>` | 0.85 ms | "
            "2,048 × 384 | 168 | 37.98 % | 5.61 | 74.87 % | 18.79 % | 60.97 / 43.73 / 12.98 % | "
            "wait 1.64, long_scoreboard 0.70 |")
    if row != want:
        failures.append(f"self-test: row\n  {row}\nwanted\n  {want}")
    if abs(time_ms("ms 1,912.5") - 1912.5) > 1e-9:
        failures.append("self-test: 'ms 1,912.5' is not 1912.5 ms")
    if sorted(["flash_bwd_kernel", "zz", "flash_fwd_hopper_kernel_tma", "flash_fwd_kernel"],
              key=order_key) != ["flash_fwd_kernel", "flash_fwd_hopper_kernel_tma",
                                 "flash_bwd_kernel", "zz"]:
        failures.append("self-test: the ladder's order")
    check_refusals({
        "no duration": (lambda: read_report("r", SAMPLE.replace("Duration", "Length")),
                        "r: no duration figure"),
        "no stalls": (lambda: read_report("r", SAMPLE.replace("stalled", "waited")),
                      "r: no warp stall figures"),
        "odd unit": (lambda: time_ms("min 3"), "duration unit 'min'"),
        "empty folder": (lambda: table([os.path.dirname(os.path.abspath(__file__)) + "/nothing"]),
                         "no ncu_*.txt reports"),
    }, ReportError, failures)
    return verdict(failures)


def main():
    ap = parser_from_doc(__doc__)
    ap.add_argument("folders", nargs="*")
    ap.add_argument("--markdown")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if not a.folders:
        ap.error("give at least one folder of reports (or --self-test)")
    try:
        return print_and_save(table(a.folders), a.markdown)
    except (ReportError, OSError) as e:
        print(f"ncu_ladder_table: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
