#!/usr/bin/env python3
"""Times PyTorch's scaled_dot_product_attention backends (flash = FlashAttention-2, cudnn,
efficient, math) on the shapes flashlab-gpu-bench measured, in the same run, and prints our
TFLOP/s beside theirs with the ratios.
Usage: sdpa_compare.py OURS.json [--markdown OUT.md] [--json ALL.json] [--backends flash,cudnn]

Records of flashlab-gpu-bench --dropout P carry P ("dropout"): PyTorch's backends then run
with dropout_p = P too (a backend without dropout says so in its cells).

FLOPs as in ../shared/anchors: forward 4*B*H*N^2*d (half when causal), backward 2.5x forward.
Times are medians of triton.testing.do_bench (CUDA events) after warm-up. Memory: peak bytes
allocated during the call beyond the inputs (torch.cuda.max_memory_allocated)."""
import argparse
import json
import math

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from triton.testing import do_bench

BACKENDS = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
            "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}
DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def time_backend(backend, B, H, N, d, causal, dtype, dropout_p=0.0):
    """Returns {mode: (ms, peak_extra_MiB)} for fwd, bwd and fwdbwd, or an error string."""
    dev = torch.device("cuda")
    if backend == "math" and B * H * N * N * 4 * 3 > 40e9:
        return "skipped: math needs > 40 GB"
    q = torch.randn(B, H, N, d, device=dev, dtype=dtype, requires_grad=True)
    k = torch.randn_like(q, requires_grad=True)
    v = torch.randn_like(q, requires_grad=True)
    go = torch.randn_like(q)
    out = {}
    try:
        with sdpa_kernel([BACKENDS[backend]]):
            def fwd():
                with torch.no_grad():
                    F.scaled_dot_product_attention(q, k, v, is_causal=causal, dropout_p=dropout_p)

            def fwdbwd():
                o = F.scaled_dot_product_attention(q, k, v, is_causal=causal, dropout_p=dropout_p)
                o.backward(go)

            for mode, fn in (("fwd", fwd), ("fwdbwd", fwdbwd)):
                fn()
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                base = torch.cuda.memory_allocated()
                ms = do_bench(fn, warmup=25, rep=100, return_mode="median")
                out[mode] = (ms, (torch.cuda.max_memory_allocated() - base) / 2**20)
        out["bwd"] = (out["fwdbwd"][0] - out["fwd"][0], out["fwdbwd"][1])
        return out
    except Exception as e:  # a backend that does not support the shape says why
        return f"unsupported: {str(e).splitlines()[0][:50]}"
    finally:
        del q, k, v, go
        torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ours", help="JSON written by flashlab-gpu-bench")
    ap.add_argument("--markdown", help="also write the table as Markdown to this file")
    ap.add_argument("--json", help="write all numbers (ours and PyTorch's) to this file")
    ap.add_argument("--backends", default=",".join(BACKENDS),
                    help="comma-separated PyTorch backends to time (default: all four)")
    args = ap.parse_args()
    backends = args.backends.split(",")
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        ap.error(f"unknown backend(s) {unknown}; choose from {list(BACKENDS)}")
    ours = json.load(open(args.ours))
    props = torch.cuda.get_device_properties(0)
    print(f"device {props.name}, torch {torch.__version__}")

    dropouts = {r.get("dropout", 0.0) for r in ours}
    if len(dropouts) > 1:
        ap.error(f"{args.ours} mixes dropout probabilities {sorted(dropouts)}: one per run")
    dropout_p = dropouts.pop() if dropouts else 0.0
    if dropout_p > 0:
        print(f"dropout_p = {dropout_p} for every backend")
    shapes = sorted({(r["dtype"], r["d"], r["N"], r["causal"], r["B"], r["H"]) for r in ours})
    torch_results = {}
    for dt, d, N, causal, B, H in shapes:
        for be in BACKENDS:
            torch_results[(dt, d, N, causal, be)] = (
                time_backend(be, B, H, N, d, causal, DTYPES[dt], dropout_p) if be in backends
                else "not timed")

    def ours_rec(kernel, mode, dt, d, N, causal):
        for r in ours:
            if (r["kernel"], r["mode"], r["dtype"], r["d"], r["N"], r["causal"]) == (kernel, mode, dt, d, N, causal):
                return r
        return None

    lines = ["| mode | dtype | d | N | causal | fused TFLOP/s | FA2 (flash) | ratio | mma.sync | cuDNN "
             "| efficient | math | naive | fused/naive speed | fused % GEMM | cuDNN % GEMM | fused MiB | FA2 MiB "
             "| naive MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    merged = []
    for mode in ("fwd", "bwd", "fwdbwd"):
        for dt, d, N, causal, B, H in shapes:
            flops = 4 * B * H * N * N * d / (2 if causal else 1) * {"fwd": 1, "bwd": 2.5, "fwdbwd": 3.5}[mode]
            f = ours_rec("fused", mode, dt, d, N, causal)
            nv = ours_rec("naive", mode, dt, d, N, causal)
            mma = ours_rec("mma.sync", mode, dt, d, N, causal)

            def tf(be):
                r = torch_results[(dt, d, N, causal, be)]
                if isinstance(r, str) or r[mode][0] <= 0:
                    return float("nan"), float("nan")
                return flops / r[mode][0] / 1e9, r[mode][1]

            fa2, fa2_mib = tf("flash")
            row = dict(mode=mode, dtype=dt, d=d, N=N, causal=causal, dropout=dropout_p,
                       fused=f["tflops"], fa2=fa2,
                       ratio=f["tflops"] / fa2 if fa2 == fa2 else float("nan"),
                       mma_sync=mma["tflops"] if mma else float("nan"), cudnn=tf("cudnn")[0],
                       efficient=tf("efficient")[0], math=tf("math")[0],
                       naive=nv["tflops"] if nv and nv["ms"] > 0 else float("nan"),
                       fused_mib=f["extra_mib"], fa2_mib=fa2_mib,
                       naive_mib=nv["extra_mib"] if nv else float("nan"))
            row["speedup_vs_naive"] = row["fused"] / row["naive"] if row["naive"] == row["naive"] else float("nan")
            # Fractions of the dense rate cuBLAS reached in the same run (flashlab-gpu-bench).
            gemm = f.get("gemm_tflops", 0) or float("nan")
            row["gemm"] = gemm
            row["fused_pct_gemm"] = 100 * row["fused"] / gemm
            row["cudnn_pct_gemm"] = 100 * row["cudnn"] / gemm
            merged.append(row)
            fmt = lambda x, p=0: "n/a" if isinstance(x, float) and math.isnan(x) else f"{x:.{p}f}"
            lines.append(f"| {mode} | {dt} | {d} | {N} | {int(causal)} | {fmt(row['fused'])} | {fmt(fa2)} | "
                         f"{fmt(row['ratio'], 2)} | {fmt(row['mma_sync'])} | {fmt(row['cudnn'])} | {fmt(row['efficient'])} | {fmt(row['math'])} | "
                         f"{fmt(row['naive'])} | {fmt(row['speedup_vs_naive'], 1)} | {fmt(row['fused_pct_gemm'])} | "
                         f"{fmt(row['cudnn_pct_gemm'])} | {fmt(row['fused_mib'], 1)} | "
                         f"{fmt(fa2_mib, 1)} | {fmt(row['naive_mib'], 0)} |")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        drop = f", dropout_p = {dropout_p} (ours and PyTorch's)" if dropout_p > 0 else ""
        open(args.markdown, "w").write(f"device: {props.name}, torch {torch.__version__}{drop}\n\n{table}\n")
    if args.json:
        json.dump(merged, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
