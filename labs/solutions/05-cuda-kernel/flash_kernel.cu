// FLASHLAB-INSTRUCTOR-ONLY: lab 5 solution, the fused fp32 forward.
// Grid: one thread block per (Q block i, batch x head). The block keeps Q_i and the
// un-normalized output O_i in shared memory for the whole row of tiles (FA2's loop order:
// outer over i across blocks, inner over j here) and streams K_j, V_j through shared memory:
// FA2 Alg. 1 l. 4–15 for one i, with FA1 Alg. 2's scale and a causal mask.
#include <cuda_runtime.h>

#include <cmath>

#include "flash_kernel.hpp"

namespace flashlab::labs::lab5 {
namespace {

constexpr int kBr = 32;  // rows of a Q / O tile
constexpr int kBc = 32;  // rows of a K / V tile
constexpr int kThreads = 128;

struct Params {
  const float* __restrict__ q;
  const float* __restrict__ k;
  const float* __restrict__ v;
  float* __restrict__ o;
  float* __restrict__ lse;
  int seq_q, seq_k, d;
  float scale;
  bool causal;
};

__global__ void __launch_bounds__(kThreads) flash_fwd_kernel(const Params p) {
  extern __shared__ float smem[];
  const int d = p.d;
  float* Qi = smem;          // kBr x d
  float* Kj = Qi + kBr * d;  // kBc x d
  float* Vj = Kj + kBc * d;  // kBc x d
  float* Oi = Vj + kBc * d;  // kBr x d: sum_j e^{S - m} V_j, not yet divided by l
  float* S = Oi + kBr * d;   // kBr x kBc: S_ij, then P~_ij
  float* m = S + kBr * kBc;  // kBr: running row max
  float* l = m + kBr;        // kBr: running row sum
  float* alpha = l + kBr;    // kBr: e^{m_old - m_new} of this step

  const int i = blockIdx.x, bh = blockIdx.y, tid = threadIdx.x;
  const int r0 = i * kBr, rows = min(kBr, p.seq_q - r0);
  const float* Q = p.q + size_t(bh) * p.seq_q * d;
  const float* K = p.k + size_t(bh) * p.seq_k * d;
  const float* V = p.v + size_t(bh) * p.seq_k * d;

  for (int x = tid; x < rows * d; x += kThreads) {  // FA2 Alg. 1 l. 4–5: load Q_i; O_i = 0
    Qi[x] = Q[size_t(r0) * d + x];
    Oi[x] = 0.0f;
  }
  for (int r = tid; r < kBr; r += kThreads) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
  }
  __syncthreads();

  const int Tc = (p.seq_k + kBc - 1) / kBc;
  // Causal: tiles whose first column is past the tile's last row are all masked (FA2 §3.1).
  const int Tc_end = p.causal ? min(Tc, (r0 + rows - 1) / kBc + 1) : Tc;
  for (int j = 0; j < Tc_end; ++j) {
    const int c0 = j * kBc, cols = min(kBc, p.seq_k - c0);
    for (int x = tid; x < cols * d; x += kThreads) {  // FA2 Alg. 1 l. 7: load K_j, V_j
      Kj[x] = K[size_t(c0) * d + x];
      Vj[x] = V[size_t(c0) * d + x];
    }
    __syncthreads();

    // FA2 Alg. 1 l. 8 with FA1 Alg. 2's scale and mask: S_ij = tau Q_i K_j^T, masked: -inf.
    for (int x = tid; x < rows * kBc; x += kThreads) {
      const int r = x / kBc, c = x % kBc;
      float s = -INFINITY;
      if (c < cols && (!p.causal || c0 + c <= r0 + r)) {
        float dot = 0.0f;
        for (int e = 0; e < d; ++e) dot += Qi[r * d + e] * Kj[c * d + e];
        s = p.scale * dot;
      }
      S[x] = s;
    }
    __syncthreads();

    // FA2 Alg. 1 l. 9, one thread per row: P~ = e^{S - m_new}, l = e^{m - m_new} l + rowsum P~.
    for (int r = tid; r < rows; r += kThreads) {
      float m_tile = -INFINITY;
      for (int c = 0; c < cols; ++c) m_tile = fmaxf(m_tile, S[r * kBc + c]);
      const float m_new = fmaxf(m[r], m_tile);
      if (m_new == -INFINITY) {  // every score of the row masked so far: nothing to add
        alpha[r] = 1.0f;
        for (int c = 0; c < kBc; ++c) S[r * kBc + c] = 0.0f;
        continue;
      }
      const float a = m[r] == -INFINITY ? 0.0f : expf(m[r] - m_new);
      float sum = 0.0f;
      for (int c = 0; c < kBc; ++c) {
        const float pv = c < cols ? expf(S[r * kBc + c] - m_new) : 0.0f;  // e^{-inf} = 0
        S[r * kBc + c] = pv;
        sum += pv;
      }
      l[r] = a * l[r] + sum;
      m[r] = m_new;
      alpha[r] = a;
    }
    __syncthreads();

    // FA2 Alg. 1 l. 10: O_i <- diag(e^{m_old - m_new}) O_i + P~_ij V_j.
    for (int x = tid; x < rows * d; x += kThreads) {
      const int r = x / d, e = x % d;
      float pv = 0.0f;
      for (int c = 0; c < cols; ++c) pv += S[r * kBc + c] * Vj[c * d + e];
      Oi[x] = alpha[r] * Oi[x] + pv;
    }
    __syncthreads();  // K_j, V_j, S are overwritten by the next iteration
  }

  // FA2 Alg. 1 l. 12–15: O_i = diag(l)^-1 O_i and the logsumexp L = m + log l, to HBM.
  float* O = p.o + size_t(bh) * p.seq_q * d;
  for (int x = tid; x < rows * d; x += kThreads) {
    const int r = x / d;
    O[size_t(r0) * d + x] = l[r] > 0.0f ? Oi[x] / l[r] : 0.0f;
  }
  for (int r = tid; r < rows; r += kThreads)
    p.lse[size_t(bh) * p.seq_q + r0 + r] = l[r] > 0.0f ? m[r] + logf(l[r]) : -INFINITY;
}

}  // namespace

std::string flash_forward_gpu(const Problem& p, const float* q, const float* k, const float* v,
                              float* o, float* lse) {
  if (p.head_dim < 1 || p.head_dim > kMaxHeadDim)
    return "head_dim must be 1.." + std::to_string(kMaxHeadDim) + ", got " +
           std::to_string(p.head_dim);
  const Params params{q, k, v, o, lse, p.seq_q, p.seq_k, p.head_dim, p.scale, p.causal};
  const dim3 grid(unsigned((p.seq_q + kBr - 1) / kBr), unsigned(p.batch * p.heads));
  const size_t smem =
      size_t(2 * kBr * p.head_dim + 2 * kBc * p.head_dim + kBr * kBc + 3 * kBr) * sizeof(float);
  flash_fwd_kernel<<<grid, kThreads, smem>>>(params);
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) e = cudaDeviceSynchronize();
  return e == cudaSuccess ? "" : std::string("CUDA error: ") + cudaGetErrorString(e);
}

}  // namespace flashlab::labs::lab5
