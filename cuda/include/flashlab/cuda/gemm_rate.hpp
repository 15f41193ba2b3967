// The dense tensor-core rate of the GPU as cuBLAS reaches it on one large matrix product: the
// yardstick the benchmark divides every attention kernel's FLOP/s by ("fraction of the dense
// peak"), and one of the microbenchmarks the simulator's performance model takes its constants
// from (docs/simulator.md).
#pragma once

#include <flashlab/cuda/api.hpp>

namespace flashlab::cuda {

// FLOP/s of cuBLAS's n x n x n GEMM (C = A B, fp32 accumulation, output in `dtype`) on random
// inputs uniform in [-1, 1) (constant inputs switch fewer bits and would flatter the rate), as
// the median of CUDA-event timings after warm-up. fp16 or bf16; throws flashlab::Error otherwise
// or on any CUDA or cuBLAS failure.
double measure_gemm_flops_per_s(DType dtype, int n = 8192);

}  // namespace flashlab::cuda
