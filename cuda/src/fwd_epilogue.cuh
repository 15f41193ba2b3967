// The epilogue of the fused forward, shared by the mma.sync kernel (flash_fwd_kernel.cuh) and the
// Hopper wgmma kernel (flash_fwd_hopper_kernel.cuh): after the last key block, O_i is normalised
// once and written with the logsumexp L_i (FA2 Alg. 1 l. 12–15), from the mma accumulator layout
// of fwd_softmax.cuh.
#pragma once

#include <flashlab/core/softmax_state.hpp>

#include "mma.cuh"

namespace flashlab::cuda::fwd {

// O_i = diag(l_i)^-1 O_i (FA2 Alg. 1 l. 12) and L_i = m_i + log l_i (FA2 Alg. 1 l. 13), written
// once (FA2 Alg. 1 l. 14 and 15). m is in base-2 units, so L = (m + log2 l) ln 2. l holds this
// thread's share of each row sum: the four threads of a row add theirs first. L goes to HBM; each
// pair of O_i's 16-bit values to store_pair(row, column, packed pair): to HBM directly, or to
// shared memory for a TMA store. Rows past seq_q are not written.
template <typename Elem, int kD, int kMTiles, typename StorePair>
__device__ __forceinline__ void store_output(const float (&O)[kMTiles][kD / 8][4],
                                             const float (&m)[kMTiles][2],
                                             const float (&l)[kMTiles][2], float* lse, int seq_q,
                                             int r_lo, int lane, StorePair store_pair) {
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
#pragma unroll
      for (int t = 0; t < kD / 8; ++t)
        store_pair(row, t * 8 + (lane % 4) * 2,
                   ptx::pack2<Elem>(O[mt][t][2 * r] * inv_l, O[mt][t][2 * r + 1] * inv_l));
      if (lane % 4 == 0)
        lse[row] = row_sum > 0.f ? (m[mt][r] + log2f(row_sum)) * float(kLn2) : -INFINITY;
    }
}

// store_output's destination for O_i in HBM: `o` points at row 0 of this (batch, head).
template <typename Elem, int kD>
__device__ __forceinline__ auto to_global(Elem* o) {
  return [o](int row, int col, uint32_t pair) {
    *reinterpret_cast<uint32_t*>(o + int64_t(row) * kD + col) = pair;
  };
}

}  // namespace flashlab::cuda::fwd
