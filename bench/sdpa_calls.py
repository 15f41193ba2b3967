#!/usr/bin/env python3
"""Runs PyTorch's FlashAttention-2 backend (scaled_dot_product_attention, SDPBackend.FLASH_ATTENTION)
once forward and once backward per shape, each call fenced by torch.cuda._sleep (its kernel,
spin_kernel, is the fence), for Nsight Compute to profile beside flashlab-gpu-calls
(bench/validate_model.sh). Shapes as flashlab-gpu-bench: batch = 32768/N, heads = 2048/d, fp16.
Writes a manifest of the calls in launch order.
Usage: sdpa_calls.py --manifest OUT.json [--seqs 512,1024,...] [--dims 64,128]"""
import argparse
import json

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel


def fence():
    torch.cuda.synchronize()
    torch.cuda._sleep(10)
    torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--seqs", default="512,1024,2048,4096,8192,16384")
    ap.add_argument("--dims", default="64,128")
    a = ap.parse_args()
    calls = []
    dev = torch.device("cuda")
    for d in [int(x) for x in a.dims.split(",")]:
        for n in [int(x) for x in a.seqs.split(",")]:
            for causal in (False, True):
                B, H = 32768 // n, 2048 // d
                q = torch.rand(B, H, n, d, device=dev, dtype=torch.float16) * 2 - 1
                k = torch.rand_like(q) * 2 - 1
                v = torch.rand_like(q) * 2 - 1
                go = torch.rand_like(q) * 2 - 1
                for t in (q, k, v):
                    t.requires_grad_(True)
                with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
                    fence()
                    o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                    fence()
                    calls.append({"call": "torch_fa2_fwd", "B": B, "H": H, "N": n, "d": d,
                                  "causal": causal, "kernel": "pytorch-flash"})
                    fence()
                    o.backward(go)
                    fence()
                    calls.append({"call": "torch_fa2_bwd", "B": B, "H": H, "N": n, "d": d,
                                  "causal": causal, "kernel": "pytorch-flash"})
                print(f"torch B={B} H={H} N={n} d={d} causal={causal}", flush=True)
                with open(a.manifest, "w") as f:  # after every shape: a stopped run keeps it
                    json.dump({"gpu": torch.cuda.get_device_name(), "calls": calls}, f, indent=0)
                del q, k, v, go, o


if __name__ == "__main__":
    main()
