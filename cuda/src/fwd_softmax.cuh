// The per-tile work of the fused forward between the two matrix products, shared by the mma.sync
// kernel (flash_fwd_kernel.cuh) and the Hopper wgmma kernel (flash_fwd_hopper_kernel.cuh): masking,
// the online softmax (FA2 Alg. 1 lines 9-10), dropout, the A fragments of P, and the epilogue
// (lines 12-13). Both kernels hold S_ij and O_i in the mma accumulator layout (mma.cuh): a warp
// owns kMTiles tiles of 16 query rows, the thread rows r_lo + 16 mt and r_lo + 16 mt + 8, columns
// 8 t + 2 (lane % 4) + {0, 1} of each 8-column tile t.
#pragma once

#include <flashlab/core/dropout.hpp>
#include <flashlab/core/options.hpp>

#include "mma.cuh"

namespace flashlab::cuda::fwd {

// The logsumexp L is kept in natural-log units in HBM, the running max in base 2.
constexpr float kLn2 = 0.6931471805599453f;
constexpr float kLog2e = 1.4426950408889634f;

// Sets to -inf the scores of S_ij (tile columns from col0) that may not attend: past seq_k, above
// the causal diagonal, or in a zero block of a block-sparse layout (looked up only for rows inside
// seq_q: the padding rows of the last block are never stored). Callers skip it for tiles that
// are fully visible, and skip invisible tiles altogether. Without a block-sparse layout the test
// is two compares and a select per element; the layout's lookup is kept out of that loop (as a
// branch inside it, it cost a reconvergence per element on every diagonal tile).
template <int kMTiles, int kNTiles>
__device__ __forceinline__ void mask_scores(float (&S)[kMTiles][kNTiles][4], const MaskParams& mask,
                                            int seq_q, int seq_k, int r_lo, int col0, int lane) {
  const bool sparse = mask.block.layout != nullptr;
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int t = 0; t < kNTiles; ++t)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int row = r_lo + mt * 16 + (e / 2) * 8, col = col0 + t * 8 + (lane % 4) * 2 + e % 2;
        const bool hidden = col >= seq_k || (mask.causal && col > row);
        S[mt][t][e] = hidden ? -INFINITY : S[mt][t][e];
      }
  if (!sparse) return;
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int t = 0; t < kNTiles; ++t)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int row = r_lo + mt * 16 + (e / 2) * 8, col = col0 + t * 8 + (lane % 4) * 2 + e % 2;
        if (row < seq_q && col < seq_k && !mask.block.allows(row, col)) S[mt][t][e] = -INFINITY;
      }
}

// Online softmax over one tile (FA2 Alg. 1 lines 9-10). S holds raw scores q.k; m is the running
// max in base-2 units (scores times scale_log2 = scale * log2 e, so e^x = 2^(x log2 e) costs one
// FFMA and one ex2). On return S holds P~_ij = exp(scale S - m_new), l the updated partial row sums
// (this thread's columns; the four threads of a row are summed in store_output), and rescale the
// factor e^{m_old - m_new} that the caller applies to O_i (rescale_output).
template <int kMTiles, int kNTiles>
__device__ __forceinline__ void softmax_update(float (&S)[kMTiles][kNTiles][4],
                                               float (&m)[kMTiles][2], float (&l)[kMTiles][2],
                                               float (&rescale)[kMTiles][2], float scale_log2) {
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float s_max = -INFINITY;
#pragma unroll
      for (int t = 0; t < kNTiles; ++t)
        s_max = fmaxf(s_max, fmaxf(S[mt][t][2 * r], S[mt][t][2 * r + 1]));
      // The row's other columns live in the three neighbouring lanes.
      s_max = fmaxf(s_max, __shfl_xor_sync(0xffffffffu, s_max, 1));
      s_max = fmaxf(s_max, __shfl_xor_sync(0xffffffffu, s_max, 2));
      const float m_new = fmaxf(m[mt][r], s_max * scale_log2);
      // A row that has seen only masked scores keeps m = -inf; subtract 0 then, not -inf.
      const float m_use = m_new == -INFINITY ? 0.f : m_new;
      rescale[mt][r] = ptx::fast_exp2(m[mt][r] - m_use);  // 0 while m_old = -inf
      m[mt][r] = m_new;
      float row_sum = 0.f;
#pragma unroll
      for (int t = 0; t < kNTiles; ++t)
#pragma unroll
        for (int e = 2 * r; e < 2 * r + 2; ++e) {
          S[mt][t][e] = ptx::fast_exp2(fmaf(S[mt][t][e], scale_log2, -m_use));
          row_sum += S[mt][t][e];  // l sums the *un-dropped* P~ (paper Alg. 2)
        }
      l[mt][r] = l[mt][r] * rescale[mt][r] + row_sum;
    }
}

// O_i = diag(e^{m_old - m_new}) O_i: the old partial output in the new max's units.
template <int kMTiles, int kDTiles>
__device__ __forceinline__ void rescale_output(float (&O)[kMTiles][kDTiles][4],
                                               const float (&rescale)[kMTiles][2]) {
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int t = 0; t < kDTiles; ++t)
#pragma unroll
      for (int e = 0; e < 4; ++e) O[mt][t][e] *= rescale[mt][e / 2];
}

// Dropout on P~ before it multiplies V (paper Alg. 2 line 13): the same Philox words, and so the
// same dropped elements, as the reference (core/dropout.hpp).
template <int kMTiles, int kNTiles>
__device__ __forceinline__ void apply_dropout(float (&S)[kMTiles][kNTiles][4],
                                              const DropoutParams& dropout, float keep_scale,
                                              int batch, int head, int r_lo, int col0, int lane) {
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int t = 0; t < kNTiles; ++t)
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int row = r_lo + mt * 16 + r * 8, col = col0 + t * 8 + (lane % 4) * 2;
        const Philox4x32 w = dropout_random_words(dropout.seed, batch, head, row, col);
        S[mt][t][2 * r] *= w.x[col & 3] >= dropout.drop_below ? keep_scale : 0.f;
        S[mt][t][2 * r + 1] *= w.x[(col + 1) & 3] >= dropout.drop_below ? keep_scale : 0.f;
      }
}

// The A fragment (m16n8k16) of P~ for key columns [16 kk, 16 kk + 16) of m-tile mt: the
// accumulator layout of two adjacent 8-column tiles is exactly the A layout, so P never leaves
// the registers (FA2 §3.1).
template <typename Elem, int kMTiles, int kNTiles>
__device__ __forceinline__ void p_fragment(const float (&S)[kMTiles][kNTiles][4], int mt, int kk,
                                           uint32_t (&a)[4]) {
  a[0] = ptx::pack2<Elem>(S[mt][2 * kk][0], S[mt][2 * kk][1]);
  a[1] = ptx::pack2<Elem>(S[mt][2 * kk][2], S[mt][2 * kk][3]);
  a[2] = ptx::pack2<Elem>(S[mt][2 * kk + 1][0], S[mt][2 * kk + 1][1]);
  a[3] = ptx::pack2<Elem>(S[mt][2 * kk + 1][2], S[mt][2 * kk + 1][3]);
}

// Epilogue (FA2 Alg. 1 lines 12-13): O_i = diag(l)^-1 O_i and L_i = m_i + log l_i, written once
// to HBM. `o` points at row 0 of this (batch, head); rows past seq_q are not written.
template <typename Elem, int kD, int kMTiles>
__device__ __forceinline__ void store_output(const float (&O)[kMTiles][kD / 8][4],
                                             const float (&m)[kMTiles][2],
                                             const float (&l)[kMTiles][2], Elem* o, float* lse,
                                             int seq_q, int r_lo, int lane) {
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float row_sum = l[mt][r];
      row_sum += __shfl_xor_sync(0xffffffffu, row_sum, 1);
      row_sum += __shfl_xor_sync(0xffffffffu, row_sum, 2);
      const int row = r_lo + mt * 16 + r * 8;
      if (row >= seq_q) continue;
      const float inv_l = row_sum > 0.f ? 1.f / row_sum : 0.f;  // fully masked row: O = 0
      Elem* o_row = o + int64_t(row) * kD;
#pragma unroll
      for (int t = 0; t < kD / 8; ++t)
        *reinterpret_cast<uint32_t*>(o_row + t * 8 + (lane % 4) * 2) =
            ptx::pack2<Elem>(O[mt][t][2 * r] * inv_l, O[mt][t][2 * r + 1] * inv_l);
      if (lane % 4 == 0) lse[row] = row_sum > 0.f ? (m[mt][r] + log2f(row_sum)) * kLn2 : -INFINITY;
    }
}

}  // namespace flashlab::cuda::fwd
