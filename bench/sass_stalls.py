#!/usr/bin/env python3
"""Summarise Nsight Compute's SASS source page (the per-instruction warp-stall samples that
`bench/ncu_ladder.sh SASS=1` writes as sass_<kernel>.csv.gz): the share of every stall reason in
all samples, and the instructions with the most samples, each with its largest reason.

  python3 bench/sass_stalls.py sass_flash_bwd_hopper_kernel_warp-spec.csv.gz [--top 12]
  python3 bench/sass_stalls.py --self-test

The page's columns: Address, Source (the SASS text), "Warp Stall Sampling (All Samples)", and one
column per reason, stall_<reason> (with a "(Not Issued)" twin that this summary leaves out). A
file without those columns, or with no samples, is refused with a message naming it.
"""
import argparse
import csv
import gzip
import io
import sys

ALL = "Warp Stall Sampling (All Samples)"


class PageError(Exception):
    pass


def read_page(stream, name):
    """Rows of the page as (address, source, total samples, {reason: samples})."""
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
                    number(row, ALL), {r[len("stall_"):]: number(row, r) for r in reasons}))
    if not out or sum(r[2] for r in out) <= 0:
        raise PageError(f"{name}: no samples")
    return out


def summary(rows, top):
    total = sum(r[2] for r in rows)
    by_reason = {}
    for _, _, _, reasons in rows:
        for k, v in reasons.items():
            by_reason[k] = by_reason.get(k, 0.0) + v
    lines = [f"samples: {total:.0f}", "", "| stall reason | share of samples |", "|---|---:|"]
    for k, v in sorted(by_reason.items(), key=lambda kv: -kv[1]):
        if v > 0:
            lines.append(f"| {k} | {100 * v / total:.1f} % |")
    lines += ["", f"| instruction (top {top} by samples) | share | largest reason |", "|---|---:|---|"]
    for address, source, samples, reasons in sorted(rows, key=lambda r: -r[2])[:top]:
        reason, count = max(reasons.items(), key=lambda kv: kv[1])
        text = " ".join(source.split())
        lines.append(f"| `{text}` | {100 * samples / total:.1f} % | {reason} "
                     f"({100 * count / max(samples, 1):.0f} %) |")
    return "\n".join(lines)


def self_test():
    page = ("Kernel Name,k,\n"
            f"Address,Source,{ALL},stall_wait,stall_wait (Not Issued),stall_barrier\n"
            "0x10,FFMA R1 R2 R3,30,20,20,10\n"
            "0x20,BAR.SYNC 0x1,70,0,0,70\n")
    text = summary(read_page(io.StringIO(page), "hand-made"), 2)
    assert "samples: 100" in text, text
    assert "| barrier | 80.0 % |" in text and "| wait | 20.0 % |" in text, text
    assert "| `BAR.SYNC 0x1` | 70.0 % | barrier (100 %) |" in text, text
    assert "| `FFMA R1 R2 R3` | 30.0 % | wait (67 %) |" in text, text
    for bad, message in [("a,b\n1,2\n", "not ncu's SASS source page"),
                         (f"Address,Source,{ALL}\n0x1,NOP,3\n", "no stall_<reason> columns"),
                         (f"Address,Source,{ALL},stall_wait\n0x1,NOP,0,0\n", "no samples"),
                         (f"Address,Source,{ALL},stall_wait\n0x1,NOP,x,1\n", "is not a number")]:
        try:
            read_page(io.StringIO(bad), "bad")
        except PageError as e:
            assert message in str(e), (message, str(e))
        else:
            raise AssertionError(f"accepted a page that should fail with '{message}'")
    print("sass_stalls.py self-test: ok")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", nargs="?", help="sass_<kernel>.csv.gz (or an uncompressed .csv)")
    parser.add_argument("--top", type=int, default=12, help="instructions to list (default 12)")
    parser.add_argument("--self-test", action="store_true", help="check the summary by hand")
    a = parser.parse_args()
    if a.self_test:
        self_test()
        return 0
    if not a.page:
        parser.error("give a SASS page (sass_<kernel>.csv.gz) or --self-test")
    if a.top < 1:
        parser.error("--top must be at least 1")
    try:
        opener = gzip.open if a.page.endswith(".gz") else open
        with opener(a.page, "rt", errors="replace") as stream:
            print(summary(read_page(stream, a.page), a.top))
    except (OSError, PageError) as e:
        print(f"sass_stalls.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
