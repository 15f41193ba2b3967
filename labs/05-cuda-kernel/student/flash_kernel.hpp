// Lab 5: the host entry point of your kernel (flash_kernel.cu, README.md). Plain C++ so that
// the grader needs no nvcc; do not change the signature.
#pragma once

#include <string>

namespace flashlab::labs::lab5 {

struct Problem {
  int batch = 1, heads = 1, seq_q = 1, seq_k = 1, head_dim = 64;
  float scale = 1.0f;   // tau: S = tau Q K^T
  bool causal = false;  // top-left: query row r sees key rows c <= r
};

// The kernel keeps its tiles of head_dim floats in shared memory: head_dim 1..64.
inline constexpr int kMaxHeadDim = 64;

// Runs the forward on the GPU and waits for it. q, k, v, o are device pointers to fp32
// [batch, heads, seq, head_dim] row-major tensors (seq_q rows for q and o, seq_k for k and v);
// lse is a device pointer to [batch, heads, seq_q] floats, the row logsumexp m + log l.
// Returns "" on success, else what went wrong.
std::string flash_forward_gpu(const Problem& p, const float* q, const float* k, const float* v,
                              float* o, float* lse);

}  // namespace flashlab::labs::lab5
