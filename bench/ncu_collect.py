#!/usr/bin/env python3
"""Joins Nsight Compute's per-kernel CSV (ncu --csv --page raw) with the manifest of the fenced
calls that produced it (flashlab-gpu-calls or sdpa_calls.py): the kernels between two fence
kernels (flashlab_marker_kernel or PyTorch's spin_kernel) are one call. Sums DRAM bytes, L2 bytes
and kernel time per call and keeps the grid of the call's largest kernel.
Usage: ncu_collect.py NCU.csv MANIFEST.json OUT.json"""
import csv
import json
import sys

FENCES = ("flashlab_marker_kernel", "spin_kernel")
SUMMED = {  # output field: ncu metric
    "dram_read_bytes": "dram__bytes_read.sum",
    "dram_write_bytes": "dram__bytes_write.sum",
    "l2_bytes": "lts__t_bytes.sum",
    "l2_sm_read_sectors": "lts__t_sectors_srcunit_tex_op_read.sum",
    "l2_sm_write_sectors": "lts__t_sectors_srcunit_tex_op_write.sum",
    "l2_sm_red_sectors": "lts__t_sectors_srcunit_tex_op_red.sum",
    "l2_sm_atom_sectors": "lts__t_sectors_srcunit_tex_op_atom.sum",
    "time_ns": "gpu__time_duration.sum",
}
UNIT_SCALE = {"byte": 1, "Kbyte": 1e3, "Mbyte": 1e6, "Gbyte": 1e9, "Tbyte": 1e12,
              "KB": 1e3, "MB": 1e6, "GB": 1e9, "ns": 1, "usecond": 1e3, "us": 1e3,
              "nsecond": 1, "msecond": 1e6, "ms": 1e6, "second": 1e9, "s": 1e9, "sector": 1, "": 1}


def number(text, unit):
    text = text.replace(",", "").strip()
    if text in ("", "n/a"):
        return None
    return float(text) * UNIT_SCALE.get(unit.strip(), 1)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    with open(sys.argv[1], newline="") as f:
        lines = [l for l in f if not l.startswith("==")]  # ncu's own messages
    rows = list(csv.reader(lines))
    header, units, data = rows[0], rows[1], rows[2:]
    col = {name: i for i, name in enumerate(header)}
    manifest = json.load(open(sys.argv[2]))["calls"]

    groups, current, inside = [], [], False
    for r in data:
        name = r[col["Kernel Name"]]
        if any(fence in name for fence in FENCES):
            if inside:
                groups.append(current)
            current, inside = [], not inside
        elif inside:
            current.append(r)
    if len(groups) != len(manifest):  # a run stopped at its time limit: keep what both have
        print(f"ncu_collect: warning: {len(groups)} fenced groups in {sys.argv[1]} but "
              f"{len(manifest)} calls in {sys.argv[2]}; keeping the first "
              f"{min(len(groups), len(manifest))}", file=sys.stderr)

    out = []
    for call, kernels in zip(manifest, groups):
        rec = dict(call)
        for field, metric in SUMMED.items():
            if metric not in col:
                continue
            vals = [number(k[col[metric]], units[col[metric]]) for k in kernels]
            vals = [v for v in vals if v is not None]
            rec[field] = sum(vals) if vals else None
        for f in ("read", "write", "red", "atom"):
            s = rec.pop(f"l2_sm_{f}_sectors", None)
            if s is not None:
                rec[f"l2_sm_{f}_bytes"] = 32 * s
        main_kernel = max(kernels, key=lambda k: number(k[col["gpu__time_duration.sum"]],
                                                        units[col["gpu__time_duration.sum"]]) or 0)
        rec["kernels"] = [k[col["Kernel Name"]][:80] for k in kernels]
        rec["main_kernel"] = main_kernel[col["Kernel Name"]][:120]
        for key, metric in (("grid", "launch__grid_size"), ("block", "launch__block_size"),
                            ("smem_per_block", "launch__shared_mem_per_block_dynamic"),
                            ("registers", "launch__registers_per_thread")):
            if metric in col:
                rec[key] = number(main_kernel[col[metric]], "")
        out.append(rec)
    with open(sys.argv[3], "w") as f:
        json.dump(out, f, indent=1)
    print(f"ncu_collect: {len(out)} calls -> {sys.argv[3]}")


if __name__ == "__main__":
    main()
