#!/usr/bin/env python3
"""Summarise Nsight Compute's SASS source page (the per-instruction warp-stall samples that
`bench/ncu_ladder.sh SASS=1` and `bench/ncu_sdpa.sh` write as sass_<kernel>.csv.gz): the share of
every stall reason in all samples, and the instructions with the most samples, each with its
largest reason; with --mix, the instructions executed per opcode instead (the kernel's
instruction mix: how many exponentials, FMAs, products it issued), each with its share of the
samples and its largest reason there.

  python3 bench/sass_stalls.py sass_flash_bwd_hopper_kernel_warp-spec.csv.gz [--top 12]
  python3 bench/sass_stalls.py sass_sdpa_cudnn_fwd_fp16_d64_n2048.csv.gz --mix [--top 12]
  python3 bench/sass_stalls.py --self-test

The page's columns: Address, Source (the SASS text), "Warp Stall Sampling (All Samples)", and one
column per reason, stall_<reason> (with a "(Not Issued)" twin that this summary leaves out), and
"Instructions Executed" (warp-level, which --mix needs). A file without those columns, or with no
samples, is refused with a message naming it.
"""
import argparse
import csv
import gzip
import io
import sys

from script_common import check_refusals, verdict

ALL = "Warp Stall Sampling (All Samples)"
EXECUTED = "Instructions Executed"


class PageError(Exception):
    pass


def read_page(stream, name):
    """Rows of the page as (address, source, total samples, {reason: samples}, warp instructions
    executed, or None where the page lacks the column)."""
    rows = list(csv.reader(stream))
    header_at = next((i for i, r in enumerate(rows) if "Source" in r and ALL in r), None)
    if header_at is None:
        raise PageError(f"{name}: no header with 'Source' and '{ALL}': not ncu's SASS source page")
    header = rows[header_at]
    col = {c: i for i, c in enumerate(header)}
    reasons = [c for c in header if c.startswith("stall_") and not c.endswith("(Not Issued)")]
    if not reasons:
        raise PageError(f"{name}: no stall_<reason> columns")

    def number(row, c):
        text = row[col[c]].replace(",", "").strip() if col[c] < len(row) else ""
        try:
            return float(text) if text else 0.0
        except ValueError:
            raise PageError(f"{name}: '{text}' in column '{c}' is not a number") from None

    out = []
    for row in rows[header_at + 1:]:
        if len(row) < 2:
            continue
        out.append((row[col["Address"]] if "Address" in col else "", row[col["Source"]],
                    number(row, ALL), {r[len("stall_"):]: number(row, r) for r in reasons},
                    number(row, EXECUTED) if EXECUTED in col else None))
    if not out or sum(r[2] for r in out) <= 0:
        raise PageError(f"{name}: no samples")
    return out


def summary(rows, top):
    total = sum(r[2] for r in rows)
    by_reason = {}
    for _, _, _, reasons, _ in rows:
        for k, v in reasons.items():
            by_reason[k] = by_reason.get(k, 0.0) + v
    lines = [f"samples: {total:.0f}", "", "| stall reason | share of samples |", "|---|---:|"]
    for k, v in sorted(by_reason.items(), key=lambda kv: -kv[1]):
        if v > 0:
            lines.append(f"| {k} | {100 * v / total:.1f} % |")
    lines += ["", f"| instruction (top {top} by samples) | share | largest reason |", "|---|---:|---|"]
    for address, source, samples, reasons, _ in sorted(rows, key=lambda r: -r[2])[:top]:
        reason, count = max(reasons.items(), key=lambda kv: kv[1])
        text = " ".join(source.split())
        lines.append(f"| `{text}` | {100 * samples / total:.1f} % | {reason} "
                     f"({100 * count / max(samples, 1):.0f} %) |")
    return "\n".join(lines)


def opcode(source):
    """The mnemonic with its modifiers (MUFU.EX2, HGMMA.64x128x16.F32...), without a predicate."""
    words = source.split()
    if words and words[0].startswith("@"):
        words = words[1:]
    return words[0] if words else "(empty)"


def mix(rows, name, top):
    """Warp instructions executed per opcode, the most executed first, each with its share of the
    stall samples and its largest reason there (which stalls each kind of instruction waits in)."""
    if any(r[4] is None for r in rows):
        raise PageError(f"{name}: no '{EXECUTED}' column: --mix needs it")
    per = {}  # opcode -> [executed, samples, {reason: samples}]
    for _, source, samples, reasons, executed in rows:
        entry = per.setdefault(opcode(source), [0.0, 0.0, {}])
        entry[0] += executed
        entry[1] += samples
        for k, v in reasons.items():
            entry[2][k] = entry[2].get(k, 0.0) + v
    total = sum(e[0] for e in per.values())
    if total <= 0:
        raise PageError(f"{name}: no instructions executed")
    all_samples = sum(e[1] for e in per.values())
    lines = [f"warp instructions executed: {total:.0f}", "",
             f"| opcode (top {top}) | executed | share | share of samples | largest reason there |",
             "|---|---:|---:|---:|---|"]
    for op, (n, samples, reasons) in sorted(per.items(), key=lambda kv: -kv[1][0])[:top]:
        reason, count = max(reasons.items(), key=lambda kv: kv[1]) if reasons else ("-", 0.0)
        lines.append(f"| `{op}` | {n:.0f} | {100 * n / total:.1f} % | "
                     f"{100 * samples / all_samples:.1f} % | {reason} "
                     f"({100 * count / all_samples:.1f} % of all) |")
    return "\n".join(lines)


def self_test():
    """A page worked out by hand, and the refusals; returns the exit status."""
    failures = []
    page = ("Kernel Name,k,\n"
            f"Address,Source,{ALL},{EXECUTED},stall_wait,stall_wait (Not Issued),stall_barrier\n"
            "0x10,FFMA R1 R2 R3,30,600,20,20,10\n"
            "0x18,@!P0 FFMA R4 R2 R3,0,200,0,0,0\n"
            "0x20,BAR.SYNC 0x1,70,200,0,0,70\n")
    rows = read_page(io.StringIO(page), "hand-made")
    for text, want in [(summary(rows, 2), ["samples: 100", "| barrier | 80.0 % |", "| wait | 20.0 % |",
                                           "| `BAR.SYNC 0x1` | 70.0 % | barrier (100 %) |",
                                           "| `FFMA R1 R2 R3` | 30.0 % | wait (67 %) |"]),
                       (mix(rows, "hand-made", 5), [
                           "warp instructions executed: 1000",
                           "| `FFMA` | 800 | 80.0 % | 30.0 % | wait (20.0 % of all) |",
                           "| `BAR.SYNC` | 200 | 20.0 % | 70.0 % | barrier (70.0 % of all) |"])]:
        missing = [w for w in want if w not in text]
        if missing:
            failures.append(f"self-test: {missing} not in the summary worked out by hand:\n{text}")

    def page_of(text):
        return lambda: read_page(io.StringIO(text), "bad")

    refusals = {
        "not a page": (page_of("a,b\n1,2\n"), "not ncu's SASS source page"),
        "no reasons": (page_of(f"Address,Source,{ALL}\n0x1,NOP,3\n"), "no stall_<reason> columns"),
        "no samples": (page_of(f"Address,Source,{ALL},stall_wait\n0x1,NOP,0,0\n"), "no samples"),
        "not a number": (page_of(f"Address,Source,{ALL},stall_wait\n0x1,NOP,x,1\n"),
                         "is not a number"),
        "--mix without executed counts": (
            lambda: mix(page_of(f"Address,Source,{ALL},stall_wait\n0x1,NOP,3,3\n")(), "old", 5),
            "--mix needs it"),
    }
    check_refusals(refusals, PageError, failures)
    return verdict(failures)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", nargs="?", help="sass_<kernel>.csv.gz (or an uncompressed .csv)")
    parser.add_argument("--top", type=int, default=12,
                        help="instructions (or opcodes) to list (default 12)")
    parser.add_argument("--mix", action="store_true",
                        help="instructions executed per opcode instead of the stall samples")
    parser.add_argument("--self-test", action="store_true", help="check the summary by hand")
    a = parser.parse_args()
    if a.self_test:
        return self_test()
    if not a.page:
        parser.error("give a SASS page (sass_<kernel>.csv.gz) or --self-test")
    if a.top < 1:
        parser.error("--top must be at least 1")
    try:
        opener = gzip.open if a.page.endswith(".gz") else open
        with opener(a.page, "rt", errors="replace") as stream:
            rows = read_page(stream, a.page)
        print(mix(rows, a.page, a.top) if a.mix else summary(rows, a.top))
    except (OSError, PageError) as e:
        print(f"sass_stalls.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
