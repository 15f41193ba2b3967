// The fast fused forward: FlashAttention-2's loop order (FA2 Alg. 1) on mma.sync tensor cores.
//
// Map to the paper:
//   grid.x  = query block i (Br = kBlockM rows; FA2's "parallelism over sequence length")
//   grid.y  = (batch, head)
//   loop j  = key/value blocks (Bc = kBlockN rows of K and V), the inner loop of FA2 Alg. 1
// Memory: Q_i, K_j, V_j tiles in shared memory (cp.async, rows padded by 16 bytes so ldmatrix is
// conflict-free); S_ij, P_ij, the running O_i, m_i, l_i in registers; O and L written to HBM
// once at the end. Each warp owns 16 query rows, so the online softmax needs no inter-warp
// communication (FA2 §3.3). Scores are kept in base 2: exp(x) = exp2(x * log2 e), folded into
// the softmax scale.
#pragma once

#include <flashlab/core/dropout.hpp>
#include <flashlab/core/options.hpp>

#include "mma.cuh"
#include "tile_masks.cuh"

namespace flashlab::cuda {

template <typename Elem>
struct FlashFwdParams {
  const Elem* __restrict__ q;
  const Elem* __restrict__ k;
  const Elem* __restrict__ v;
  Elem* __restrict__ o;
  float* __restrict__ lse;
  int seq_q, seq_k, heads;
  float scale_log2;  // softmax scale * log2(e)
  MaskParams mask;
  DropoutParams dropout;
  float keep_scale;
};

namespace fwd {

constexpr float kLn2 = 0.6931471805599453f;
constexpr float kLog2e = 1.4426950408889634f;

// Copies rows [row0, row0 + kRows) of a [seq, kD] tensor into shared memory (row stride kStride);
// rows past `seq` are zero-filled.
template <int kRows, int kD, int kStride, int kThreads, typename Elem>
__device__ __forceinline__ void load_tile_async(Elem* smem, const Elem* gmem, int row0, int seq) {
  constexpr int kChunksPerRow = kD / 8;  // 16-byte chunks
  for (int c = threadIdx.x; c < kRows * kChunksPerRow; c += kThreads) {
    const int r = c / kChunksPerRow, col = (c % kChunksPerRow) * 8;
    const bool inside = row0 + r < seq;
    const Elem* src = gmem + int64_t(inside ? row0 + r : 0) * kD + col;
    ptx::cp_async_16(smem + r * kStride + col, src, inside ? 16 : 0);
  }
}

}  // namespace fwd

// kDropout is a template parameter: the Philox path costs registers that the no-dropout kernel
// needs for its accumulators (d = 128 would spill).
// Two thread blocks per SM: 8 warps must stay at <= 128 registers (measured: 132 registers
// halved the resident warps and cost d = 64 a third of its speed), 4 warps at <= 255.
template <typename Elem, int kD, int kBlockM, int kBlockN, int kWarps, bool kDropout>
__global__ void __launch_bounds__(kWarps * 32, 2) flash_fwd_kernel(const FlashFwdParams<Elem> p) {
  constexpr int kThreads = kWarps * 32;
  constexpr int kMTiles = kBlockM / (16 * kWarps);  // 16-row mma tiles per warp (FA2: 2 for d<=128)
  constexpr int kStride = kD + 8;       // padded row: 16 extra bytes shift banks per row
  constexpr int kNTiles = kBlockN / 8;  // 8-column mma tiles of S_ij
  constexpr int kDTiles = kD / 8;       // 8-column mma tiles of O_i
  static_assert(kMTiles * 16 * kWarps == kBlockM, "kBlockM must be a multiple of 16 * kWarps");
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Elem* sQ = reinterpret_cast<Elem*>(smem_raw);
  Elem* sK = sQ + kBlockM * kStride;
  Elem* sV = sK + kBlockN * kStride;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int i_block = gridDim.x - 1 - blockIdx.x;  // heaviest causal blocks first
  const int bh = blockIdx.y, b = bh / p.heads, h = bh % p.heads;
  const int row0 = i_block * kBlockM;
  const Elem* q = p.q + int64_t(bh) * p.seq_q * kD;
  const Elem* k = p.k + int64_t(bh) * p.seq_k * kD;
  const Elem* v = p.v + int64_t(bh) * p.seq_k * kD;

  // Key blocks this query block can see: causal stops at the diagonal (FA2 §3.1 "causal").
  const int rows_here = min(kBlockM, p.seq_q - row0);
  const int n_blocks = (p.seq_k + kBlockN - 1) / kBlockN;
  const int j_end = p.mask.causal ? min(n_blocks, (row0 + rows_here - 1) / kBlockN + 1) : n_blocks;
  auto visible = [&](int j) {
    return tile_visible(p.mask, row0, rows_here, int64_t(j) * kBlockN,
                        min(kBlockN, p.seq_k - j * kBlockN));
  };
  auto next_visible = [&](int j) {
    while (j < j_end && !visible(j)) ++j;
    return j;
  };

  // The warp owns rows warp_row0 + 16 mt + [0, 16); this thread rows lane/4 and lane/4 + 8 of
  // each m-tile (mma accumulator layout).
  const int warp_row0 = warp * 16 * kMTiles;
  const int r_lo = row0 + warp_row0 + lane / 4;
  float O[kMTiles][kDTiles][4] = {};
  float m[kMTiles][2], l[kMTiles][2];  // running max (base-2 units) and this thread's share of l
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
    for (int r = 0; r < 2; ++r) {
      m[mt][r] = -INFINITY;
      l[mt][r] = 0.f;
    }

  int j = next_visible(0);
  fwd::load_tile_async<kBlockM, kD, kStride, kThreads>(sQ, q, row0, p.seq_q);
  if (j < j_end) fwd::load_tile_async<kBlockN, kD, kStride, kThreads>(sK, k, j * kBlockN, p.seq_k);
  ptx::cp_async_commit();

  while (j < j_end) {
    const int col0 = j * kBlockN;
    ptx::cp_async_wait<0>();
    __syncthreads();  // K_j (and Q) resident; every warp is done with V_{j-1}
    fwd::load_tile_async<kBlockN, kD, kStride, kThreads>(sV, v, col0, p.seq_k);
    ptx::cp_async_commit();

    // S_ij = Q_i K_j^T (FA2 Alg. 1 line 8). Each K fragment serves all of the warp's m-tiles,
    // which halves shared-memory traffic per FLOP against one m-tile per warp.
    float S[kMTiles][kNTiles][4] = {};
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      uint32_t a[kMTiles][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt)
        ptx::ldmatrix_x4(
            a[mt], sQ + (warp_row0 + mt * 16 + lane % 16) * kStride + kk * 16 + (lane / 16) * 8);
#pragma unroll
      for (int t = 0; t < kNTiles; t += 2) {
        uint32_t bk[4];
        const int mat = lane / 8;
        ptx::ldmatrix_x4(
            bk, sK + ((t + (mat >> 1)) * 8 + lane % 8) * kStride + kk * 16 + (mat & 1) * 8);
        const uint32_t b0[2] = {bk[0], bk[1]}, b1[2] = {bk[2], bk[3]};
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          ptx::mma_16x8x16<Elem>(S[mt][t], a[mt], b0);
          ptx::mma_16x8x16<Elem>(S[mt][t + 1], a[mt], b1);
        }
      }
    }
    __syncthreads();  // every warp is done reading K_j: prefetch K_{j+1} over it
    const int j_next = next_visible(j + 1);
    if (j_next < j_end)
      fwd::load_tile_async<kBlockN, kD, kStride, kThreads>(sK, k, j_next * kBlockN, p.seq_k);
    ptx::cp_async_commit();

    // Scale into base-2 units and mask the elements that may not attend (tails, diagonal,
    // partial sparse blocks); whole invisible tiles were skipped above.
    const bool mask_elements =
        col0 + kBlockN > p.seq_k || !tile_fully_visible(p.mask, row0, kBlockM, col0, kBlockN);
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
      for (int t = 0; t < kNTiles; ++t)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          S[mt][t][e] *= p.scale_log2;
          if (mask_elements) {
            const int row = r_lo + mt * 16 + (e / 2) * 8,
                      col = col0 + t * 8 + (lane % 4) * 2 + e % 2;
            if (col >= p.seq_k || !p.mask.allows(row, col)) S[mt][t][e] = -INFINITY;
          }
        }

        // Online softmax (FA2 Alg. 1 lines 9-10): new max, rescale of the old sum and output.
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        float m_tile = -INFINITY;
#pragma unroll
        for (int t = 0; t < kNTiles; ++t)
          m_tile = fmaxf(m_tile, fmaxf(S[mt][t][2 * r], S[mt][t][2 * r + 1]));
        m_tile = fmaxf(m_tile, __shfl_xor_sync(0xffffffffu, m_tile, 1));
        m_tile = fmaxf(m_tile, __shfl_xor_sync(0xffffffffu, m_tile, 2));
        const float m_new = fmaxf(m[mt][r], m_tile);
        // A row that has seen only masked scores keeps m = -inf; subtract 0 then, not -inf.
        const float m_use = m_new == -INFINITY ? 0.f : m_new;
        const float rescale =
            ptx::fast_exp2(m[mt][r] - m_use);  // e^{m_old - m_new}; 0 when m_old = -inf
        m[mt][r] = m_new;
        l[mt][r] *= rescale;
#pragma unroll
        for (int t = 0; t < kDTiles; ++t) {
          O[mt][t][2 * r] *= rescale;
          O[mt][t][2 * r + 1] *= rescale;
        }
#pragma unroll
        for (int t = 0; t < kNTiles; ++t) {
          S[mt][t][2 * r] = ptx::fast_exp2(S[mt][t][2 * r] - m_use);  // P~_ij, un-normalized
          S[mt][t][2 * r + 1] = ptx::fast_exp2(S[mt][t][2 * r + 1] - m_use);
          l[mt][r] += S[mt][t][2 * r] + S[mt][t][2 * r + 1];  // l sums the *un-dropped* P (Alg. 2)
        }
      }

    // Dropout on P~ before it multiplies V (Alg. 2); the same Philox words as the reference.
    if constexpr (kDropout) {
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int t = 0; t < kNTiles; ++t)
#pragma unroll
          for (int r = 0; r < 2; ++r) {
            const int row = r_lo + mt * 16 + r * 8, col = col0 + t * 8 + (lane % 4) * 2;
            const Philox4x32 w = dropout_random_words(p.dropout.seed, b, h, row, col);
            S[mt][t][2 * r] *= w.x[col & 3] >= p.dropout.drop_below ? p.keep_scale : 0.f;
            S[mt][t][2 * r + 1] *= w.x[(col + 1) & 3] >= p.dropout.drop_below ? p.keep_scale : 0.f;
          }
    }

    ptx::cp_async_wait<1>();  // V_j resident (K_{j+1} may still be in flight)
    __syncthreads();
    // O_i += P~_ij V_j (FA2 Alg. 1 line 10): the S accumulators become A fragments directly.
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      uint32_t a[kMTiles][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        a[mt][0] = ptx::pack2<Elem>(S[mt][2 * kk][0], S[mt][2 * kk][1]);
        a[mt][1] = ptx::pack2<Elem>(S[mt][2 * kk][2], S[mt][2 * kk][3]);
        a[mt][2] = ptx::pack2<Elem>(S[mt][2 * kk + 1][0], S[mt][2 * kk + 1][1]);
        a[mt][3] = ptx::pack2<Elem>(S[mt][2 * kk + 1][2], S[mt][2 * kk + 1][3]);
      }
#pragma unroll
      for (int t = 0; t < kDTiles; t += 2) {
        uint32_t bv[4];
        const int mat = lane / 8;
        ptx::ldmatrix_x4_trans(
            bv, sV + (kk * 16 + (mat & 1) * 8 + lane % 8) * kStride + (t + (mat >> 1)) * 8);
        const uint32_t b0[2] = {bv[0], bv[1]}, b1[2] = {bv[2], bv[3]};
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          ptx::mma_16x8x16<Elem>(O[mt][t], a[mt], b0);
          ptx::mma_16x8x16<Elem>(O[mt][t + 1], a[mt], b1);
        }
      }
    }
    j = j_next;
  }

  // Epilogue (FA2 Alg. 1 lines 12-13): O_i = diag(l)^-1 O_i, L_i = m_i + log l_i.
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float lr = l[mt][r];
      lr += __shfl_xor_sync(0xffffffffu, lr, 1);
      lr += __shfl_xor_sync(0xffffffffu, lr, 2);
      const int row = r_lo + mt * 16 + r * 8;
      if (row >= p.seq_q) continue;
      const float inv_l = lr > 0.f ? 1.f / lr : 0.f;  // fully masked row: O = 0
      Elem* o_row = p.o + (int64_t(bh) * p.seq_q + row) * kD;
#pragma unroll
      for (int t = 0; t < kDTiles; ++t)
        *reinterpret_cast<uint32_t*>(o_row + t * 8 + (lane % 4) * 2) =
            ptx::pack2<Elem>(O[mt][t][2 * r] * inv_l, O[mt][t][2 * r + 1] * inv_l);
      if (lane % 4 == 0)
        p.lse[int64_t(bh) * p.seq_q + row] =
            lr > 0.f ? (m[mt][r] + log2f(lr)) * fwd::kLn2 : -INFINITY;
    }
  ptx::cp_async_wait<0>();
}

}  // namespace flashlab::cuda
