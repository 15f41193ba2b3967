// The per-tile work of the fused forward between its two matrix products, shared by the mma.sync
// kernel (flash_fwd_kernel.cuh) and the Hopper wgmma kernel (flash_fwd_hopper_kernel.cuh): the
// element mask, the online softmax (FA2 Alg. 1 l. 9), the rescale of O_i (FA2 Alg. 1 l. 10),
// dropout and the A fragments of P; and, for the wgmma kernel's rungs from KeptMax on, the
// softmax that keeps its running max (FA4's conditional rescale) with FA2's as its fallback. The
// epilogue (FA2 Alg. 1 l. 12–15) is fwd_epilogue.cuh. Both kernels hold S_ij and O_i in the mma
// accumulator layout (mma.cuh): a warp owns kMTiles tiles of 16 query rows, the thread rows
// r_lo + 16 mt and r_lo + 16 mt + 8, columns 8 t + 2 (lane % 4) + {0, 1} of each 8-column tile t.
#pragma once

#include <flashlab/core/dropout.hpp>
#include <flashlab/core/options.hpp>
#include <flashlab/core/softmax_state.hpp>

#include "dropout_bits.cuh"
#include "mma.cuh"

namespace flashlab::cuda::fwd {

// Sets to -inf the scores of S_ij (tile columns from col0) that may not attend: past seq_k, above
// the causal diagonal, or in a zero block of a block-sparse layout (looked up only for rows inside
// seq_q: the padding rows of the last block are never stored). Callers skip it for tiles that
// are fully visible, and skip invisible tiles altogether (core's tile_visibility). Without a
// block-sparse layout the test is two compares and a select per element; the layout's lookup is
// a second pass (as a branch inside the first, it cost a reconvergence per element on every
// diagonal tile).
template <int kMTiles, int kNTiles>
__device__ __forceinline__ void mask_scores(float (&S)[kMTiles][kNTiles][4], const MaskParams& mask,
                                            int seq_q, int seq_k, int r_lo, int col0, int lane) {
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
    ptx::for_each_accumulator(S[mt], r_lo + mt * 16, col0, lane, [&](float& s, int row, int col) {
      const bool hidden = col >= seq_k || (mask.causal && col > row);
      s = hidden ? -INFINITY : s;
    });
  if (mask.block.layout == nullptr) return;
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
    ptx::for_each_accumulator(S[mt], r_lo + mt * 16, col0, lane, [&](float& s, int row, int col) {
      if (row < seq_q && col < seq_k && !mask.block.allows(row, col)) s = -INFINITY;
    });
}

// Online softmax over one tile (FA2 Alg. 1 l. 9). S holds raw scores q.k; m is the running max in
// base-2 units (scores times scale_log2 = scale * log2 e, so e^x = 2^(x log2 e) costs one FFMA
// and one ex2). On return S holds P~_ij = exp(scale S - m_new), l the updated partial row sums
// (this thread's columns; the four threads of a row are summed in store_output), and rescale the
// factor e^{m_old - m_new} that the caller applies to O_i (rescale_output, FA2 Alg. 1 l. 10).
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
          row_sum += S[mt][t][e];  // l sums the *un-dropped* P~ (FA1 Alg. 2)
        }
      l[mt][r] = l[mt][r] * rescale[mt][r] + row_sum;
    }
}

// O_i = diag(e^{m_old - m_new}) O_i, the first half of FA2 Alg. 1 l. 10: the old partial output
// in the new max's units (the caller adds P~_ij V_j).
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

// Dropout on P~ before it multiplies V (FA1 Alg. 2 l. 14): each element scaled by keep_scale
// (1 / the realised keep rate) or dropped as its bit in `keep` says (dropout_keep_bits: the
// same Philox words, and so the same dropped elements, as the reference, core/dropout.hpp).
template <int kMTiles, int kNTiles>
__device__ __forceinline__ void apply_keep_bits(float (&S)[kMTiles][kNTiles][4],
                                                const KeepBits<kMTiles * kNTiles>& keep,
                                                float keep_scale) {
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int t = 0; t < kNTiles; ++t)
#pragma unroll
      for (int e = 0; e < 4; ++e) S[mt][t][e] *= keep.keep(mt * kNTiles + t, e) ? keep_scale : 0.f;
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

// How far (base-2 units) a score may lie above the running max m before the softmax must move m
// (core's kKeptMaxSlackLog2, FA4's threshold: P~ = 2^(scale s - m) stays at most 2^8).
constexpr float kKeptMaxSlack = float(kKeptMaxSlackLog2);

// The online softmax of one tile against the running max as it stands (FA4's conditional
// rescale): O_i and l_i stay in the units of m as long as every score of the tile is at most
// kKeptMaxSlack above it, since O = (sum_j P~_ij V_j) / l_i holds for any m that the
// exponentials and l_i share (FA2 Alg. 1 l. 9–12). The exponentials then need nothing but S and
// m, so they issue as soon as S_ij is done, not after a row maximum and two shuffles, and O_i
// needs no rescale. They go first, into P (the A fragments of P~_ij, which must be free); then
// the tile's maxima decide, for the whole warp: if a row's scores rose further (or its m is still
// -inf), l and m are untouched, P holds garbage and the caller runs softmax_update on S, which
// this leaves as it was. Returns whether the tile was taken. `drop(tile)` applies dropout to
// P~ (FA1 Alg. 2 l. 14) after its row sums, which l sums un-dropped.
template <typename Elem, int kNTiles, int kPSteps, typename Drop>
__device__ __forceinline__ bool softmax_update_kept_max(const float (&S)[1][kNTiles][4],
                                                        const float (&m)[1][2], float (&l)[1][2],
                                                        uint32_t (&P)[kPSteps][4], float scale_log2,
                                                        Drop&& drop) {
  static_assert(kNTiles == 2 * kPSteps, "two 8-column tiles per 16-key step of P V");
  float p[1][kNTiles][4], row_sum[2] = {0.f, 0.f}, s_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
  for (int t = 0; t < kNTiles; ++t)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      // Where m = -inf these are +inf or NaN: such a row fails the test below.
      p[0][t][e] = ptx::fast_exp2(fmaf(S[0][t][e], scale_log2, -m[0][e / 2]));
      row_sum[e / 2] += p[0][t][e];
      s_max[e / 2] = fmaxf(s_max[e / 2], S[0][t][e]);
    }
  drop(p);
#pragma unroll
  for (int kk = 0; kk < kPSteps; ++kk) p_fragment<Elem>(p, 0, kk, P[kk]);
  bool kept = true;
#pragma unroll
  for (int r = 0; r < 2; ++r)
    kept &= m[0][r] > -INFINITY && s_max[r] * scale_log2 <= m[0][r] + kKeptMaxSlack;
  if (!__all_sync(0xffffffffu, kept)) return false;
#pragma unroll
  for (int r = 0; r < 2; ++r) l[0][r] += row_sum[r];
  return true;
}

// The `drop` of softmax_step_kept_max without dropout.
struct NoDropout {
  template <typename Tile>
  __device__ __forceinline__ void operator()(Tile&) const {}
};

// One tile's softmax on the rungs that keep the max (FwdRung::KeptMax and up), once
// P_{j-1} V_{j-1} is done: against the kept max where the tile allows, else (and on a unit's
// first tile, where m is still -inf) FA2's softmax and O_i's rescale (FA2 Alg. 1 l. 9–10); then
// `drop(tile)`, dropout on P~ (FA1 Alg. 2 l. 14; a no-op without it). On return P holds the A
// fragments of P~_ij.
template <typename Elem, int kNTiles, int kDTiles, int kPSteps, typename Drop>
__device__ __forceinline__ void softmax_step_kept_max(float (&S)[1][kNTiles][4],
                                                      float (&O)[1][kDTiles][4],
                                                      uint32_t (&P)[kPSteps][4], float (&m)[1][2],
                                                      float (&l)[1][2], float scale_log2,
                                                      bool first_tile, Drop&& drop) {
  if (!first_tile && softmax_update_kept_max<Elem>(S, m, l, P, scale_log2, drop)) return;
  float rescale[1][2];
  softmax_update(S, m, l, rescale, scale_log2);
  rescale_output(O, rescale);
  drop(S);
#pragma unroll
  for (int kk = 0; kk < kPSteps; ++kk) p_fragment<Elem>(S, 0, kk, P[kk]);
}

}  // namespace flashlab::cuda::fwd
