#!/usr/bin/env python3
"""Compares two builds timed in one call on the GPU from flashlab-gpu-bench's printed rows (its
log, one row per kernel and shape): the best (shortest) time of each row over every log of a
build, then build B's speed over build A's, A ms / B ms, row by row and as a range per kernel,
direction and head dim. An A/B measured in one call is what separates a change from the spread
between calls (docs/performance.md, "v16").

Usage: ab_compare.py --a A.log [A.log ...] --b B.log [B.log ...] [--kernel fused] [--mode bwd]
                     [--markdown OUT.md]
       ab_compare.py --self-test
Example (the first A/B of v16 in docs/performance.md: main, then dK's products after dQ's):
  bench/ab_compare.py --a bench/results/v16_h200/dk_after_dq/bench_main_*.log \\
                      --b bench/results/v16_h200/dk_after_dq/bench_new_*.log --mode bwd
Exit status: 0 printed, 1 unreadable input or no row in both builds, 2 bad usage."""
import os
import re
import sys
import tempfile

from script_common import check_refusals, parser_from_doc, print_and_save, verdict

# The row gpu_bench.cpp prints (Bench::add): kernel, direction, dtype, d, N, causal, time.
ROW = re.compile(r"^(\S+)\s+(fwd|bwd|fwdbwd)\s+(\S+) d=\s*(\d+) N=\s*(\d+) causal=([01])\s+"
                 r"([0-9.]+) ms\b")


class InputError(Exception):
    """A log without rows, or builds with nothing to compare; the message says which."""


def load(paths):
    """The best time of each row (kernel, mode, dtype, d, N, causal) over the logs; rows with
    time 0 (skipped shapes) are left out."""
    best = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror}")
        rows = 0
        for line in lines:
            m = ROW.match(line)
            if not m:
                continue
            rows += 1
            kernel, mode, dtype, d, n, causal, ms = m.groups()
            if float(ms) <= 0:
                continue
            key = (kernel, mode, dtype, int(d), int(n), causal == "1")
            best[key] = min(best.get(key, float("inf")), float(ms))
        if rows == 0:
            raise InputError(f"{path}: no flashlab-gpu-bench rows (kernel mode dtype d= N= "
                             "causal= ms)")
    return best


def compare(a, b, kernel=None, mode=None):
    """Markdown lines: B's speed over A's per row both builds timed, then the range per kernel,
    direction and head dim."""
    keys = sorted(k for k in a.keys() & b.keys()
                  if (kernel is None or k[0] == kernel) and (mode is None or k[1] == mode))
    if not keys:
        raise InputError("no row (kernel, direction, dtype, d, N, causal) in both builds"
                         + (f" for kernel {kernel}" if kernel else "")
                         + (f" and direction {mode}" if mode else ""))
    lines = ["| kernel | mode | dtype | d | N | causal | A ms | B ms | B speed / A |",
             "|---|---|---|---:|---:|---|---:|---:|---:|"]
    groups = {}
    for k in keys:
        ratio = a[k] / b[k]
        groups.setdefault(k[:2] + (k[3],), []).append(ratio)
        lines.append(f"| {k[0]} | {k[1]} | {k[2]} | {k[3]} | {k[4]} | {'yes' if k[5] else 'no'} "
                     f"| {a[k]:.3f} | {b[k]:.3f} | {ratio:.3f}× |")
    lines += ["", "| kernel | mode | d | rows | B speed / A |", "|---|---|---:|---:|---|"]
    for (kern, md, d), ratios in sorted(groups.items()):
        low, high = min(ratios), max(ratios)
        span = f"{low:.3f}×" if low == high else f"{low:.3f}–{high:.3f}×"
        lines.append(f"| {kern} | {md} | {d} | {len(ratios)} | {span} |")
    return lines


def self_test():
    """Two builds' logs worked out by hand, and the refusals."""
    row = "{:<10s} {:<6s} fp16 d={:3d} N={:5d} causal={:d}  {:9.3f} ms  100.0 TFLOP/s  10.0% of GEMM"
    a1 = [row.format("fused", "bwd", 128, 2048, 0, 4.0), row.format("fused", "bwd", 128, 2048, 1, 2.0),
          row.format("mma.sync", "bwd", 128, 2048, 0, 9.0), "cuBLAS GEMM 8192^3 fp16: 750.0"]
    a2 = [row.format("fused", "bwd", 128, 2048, 0, 3.6), row.format("naive", "bwd", 96, 2048, 0, 0)]
    b1 = [row.format("fused", "bwd", 128, 2048, 0, 3.0), row.format("fused", "bwd", 128, 2048, 1, 2.5),
          row.format("fused", "fwd", 128, 2048, 0, 1.0)]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        def write(name, lines):
            path = os.path.join(tmp, name)
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            return path

        a = load([write("a1.log", a1), write("a2.log", a2)])
        b = load([write("b1.log", b1)])
        text = "\n".join(compare(a, b, kernel="fused"))
        # Best of A: 3.6 (of 4.0 and 3.6) and 2.0; B: 3.0 and 2.5 -> 1.200× and 0.800×. The
        # forward (B only), mma.sync (other kernel) and the skipped naive row are not compared.
        for want in ("| fused | bwd | fp16 | 128 | 2048 | no | 3.600 | 3.000 | 1.200× |",
                     "| fused | bwd | fp16 | 128 | 2048 | yes | 2.000 | 2.500 | 0.800× |",
                     "| fused | bwd | 128 | 2 | 0.800–1.200× |"):
            if want not in text:
                failures.append(f"self-test: the comparison lacks {want!r}:\n{text}")
        for unwanted in ("mma.sync", "| fwd |", "naive"):
            if unwanted in text:
                failures.append(f"self-test: the comparison has {unwanted!r}:\n{text}")
        refusals = {
            "missing file": (lambda: load([os.path.join(tmp, "absent.log")]), "cannot read"),
            "no rows": (lambda: load([write("empty.log", ["GPU: none"])]), "no flashlab-gpu-bench"),
            "nothing in both": (lambda: compare(a, b, mode="fwdbwd"), "no row"),
        }
        check_refusals(refusals, InputError, failures)
    return verdict(failures)


def main():
    parser = parser_from_doc(__doc__)
    parser.add_argument("--a", nargs="+", help="flashlab-gpu-bench logs of build A (the base)")
    parser.add_argument("--b", nargs="+", help="flashlab-gpu-bench logs of build B")
    parser.add_argument("--kernel", help="compare only this kernel's rows (fused, mma.sync, ...)")
    parser.add_argument("--mode", choices=("fwd", "bwd", "fwdbwd"), help="only this direction")
    parser.add_argument("--markdown", help="also write the comparison to this file")
    parser.add_argument("--self-test", action="store_true", help="check this script and exit")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    if not args.a or not args.b:
        parser.error("give the logs of both builds: --a A.log ... --b B.log ...")
    try:
        text = "\n".join(compare(load(args.a), load(args.b), args.kernel, args.mode)) + "\n"
    except InputError as e:
        print(f"ab_compare.py: {e}", file=sys.stderr)
        return 1
    return print_and_save(text, args.markdown)


if __name__ == "__main__":
    sys.exit(main())
