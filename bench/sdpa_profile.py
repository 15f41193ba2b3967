#!/usr/bin/env python3
"""Runs one call of a PyTorch scaled_dot_product_attention backend (cudnn, flash = FlashAttention-2,
efficient) between cudaProfilerStart and cudaProfilerStop, after warm-up, so that
`ncu --profile-from-start off` profiles that call's kernels only (bench/ncu_sdpa.sh). The shape
is flashlab-gpu-bench's: batch = 32768/N, heads = 2048/d. The inputs require gradients, so the
forward is the one training runs (it keeps the logsumexp for the backward, as ours does).
Usage: sdpa_profile.py --backend cudnn --dtype fp16 --d 64 --n 2048 [--causal] [--pass fwd|bwd]
       [--dropout P]"""
import argparse
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import sdpa_kernel

from sdpa_compare import BACKENDS, DTYPES


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=[b for b in BACKENDS if b != "math"], required=True)
    ap.add_argument("--dtype", choices=DTYPES, default="fp16")
    ap.add_argument("--d", type=int, required=True, help="head dim; must divide 2048")
    ap.add_argument("--n", type=int, required=True, help="sequence length; must divide 32768")
    ap.add_argument("--causal", action="store_true")
    ap.add_argument("--pass", dest="which", choices=("fwd", "bwd"), default="fwd",
                    help="profile the forward or the backward (default fwd)")
    ap.add_argument("--dropout", type=float, default=0.0,
                    help="dropout_p of the call, 0 <= P < 1 (default 0), as flashlab-gpu-bench --dropout")
    ap.add_argument("--warmup", type=int, default=5, help="unprofiled calls first (default 5)")
    a = ap.parse_args()
    if a.d <= 0 or 2048 % a.d or a.n <= 0 or 32768 % a.n:
        ap.error(f"--d {a.d} must divide 2048 and --n {a.n} must divide 32768 (the bench's shapes)")
    if not 0.0 <= a.dropout < 1.0:
        ap.error(f"--dropout {a.dropout} must be in [0, 1)")
    if not torch.cuda.is_available():
        sys.exit("sdpa_profile: no CUDA device")
    B, H = 32768 // a.n, 2048 // a.d
    q = torch.randn(B, H, a.n, a.d, device="cuda", dtype=DTYPES[a.dtype], requires_grad=True)
    k = torch.randn_like(q, requires_grad=True)
    v = torch.randn_like(q, requires_grad=True)
    go = torch.randn_like(q)

    def forward():
        return F.scaled_dot_product_attention(q, k, v, is_causal=a.causal, dropout_p=a.dropout)

    with sdpa_kernel([BACKENDS[a.backend]]):
        for _ in range(a.warmup):
            o = forward()
            if a.which == "bwd":
                o.backward(go)
        # The profiled range holds one pass: the backward's forward runs before it.
        o = forward() if a.which == "bwd" else None
        torch.cuda.synchronize()
        torch.cuda.cudart().cudaProfilerStart()
        if a.which == "bwd":
            o.backward(go)
        else:
            forward()
        torch.cuda.synchronize()
        torch.cuda.cudart().cudaProfilerStop()
    print(f"sdpa_profile: {a.backend} {a.which} {a.dtype} B={B} H={H} N={a.n} d={a.d} "
          f"causal={a.causal} dropout={a.dropout}: profiled")


if __name__ == "__main__":
    main()
