// The fast fused forward: FlashAttention-2's loop order (FA2 Alg. 1) on mma.sync tensor cores, for
// any sm_80+ GPU and every head dim of kFastHeadDims.
//
// Map to the paper:
//   grid.x  = query block i (Br = kBlockM rows; FA2's "parallelism over sequence length"),
//             FA2 Alg. 1 l. 3; grid.y = (batch, head)
//   loop j  = key/value blocks (Bc = kBlockN rows of K and V), FA2 Alg. 1 l. 6
// Memory: Q_i, K_j, V_j tiles in shared memory (cp.async, rows padded by 16 bytes so ldmatrix is
// conflict-free: MmaFwdLayout); S_ij, P_ij, the running O_i, m_i, l_i in registers; O and L
// written to HBM once at the end. Each warp owns whole query rows (16 per m-tile), so the online
// softmax needs no inter-warp communication (FA2 §3.3). Scores are kept in base 2: exp(x) =
// exp2(x * log2 e), folded into the softmax scale.
//
// Test: tests/gpu/flash_forward_test.cpp (accuracy), tests/gpu/tile_skip_test.cpp (skipped
// tiles). Benchmark: build/gpu/bench/flashlab-gpu-bench --dims 32,64,96,128,256 (rows "fused" where
// no wgmma kernel exists, "mma.sync" beside the wgmma rows at d = 64 and 128).
#pragma once

#include "flash_fwd_common.cuh"
#include "fwd_epilogue.cuh"
#include "fwd_softmax.cuh"
#include "mma.cuh"

namespace flashlab::cuda {

// Shared memory of flash_fwd_kernel: Q_i, K_j and V_j, each row padded by 8 elements (16 bytes)
// so that the 8 rows one ldmatrix reads start in different banks.
template <int kD, int kBlockM, int kBlockN>
struct MmaFwdLayout {
  static constexpr int kStride = kD + 8;  // elements per padded row
  static constexpr int kTileQ = kBlockM * kStride, kTileKV = kBlockN * kStride;  // elements
  static constexpr int kSmemBytes = (kTileQ + 2 * kTileKV) * 2;                  // fp16 / bf16
};

// kDropout is a template parameter: the Philox path costs registers that the no-dropout kernel
// needs for its accumulators (d = 128 would spill). kLogTiles builds the debug kernel that records
// the tiles it visits (ForwardArgs::tile_log); the production kernels are built without it.
// Two thread blocks per SM: 8 warps must stay at <= 128 registers (measured: 132 registers
// halved the resident warps and cost d = 64 a third of its speed), 4 warps at <= 255.
template <typename Elem, int kD, int kBlockM, int kBlockN, int kWarps, bool kDropout,
          bool kLogTiles = false>
__global__ void __launch_bounds__(kWarps * 32, 2) flash_fwd_kernel(const FlashFwdParams<Elem> p) {
  using Layout = MmaFwdLayout<kD, kBlockM, kBlockN>;
  constexpr int kThreads = kWarps * 32;
  constexpr int kMTiles = kBlockM / (16 * kWarps);  // 16-row mma tiles per warp (FA2: 2 for d<=128)
  constexpr int kStride = Layout::kStride;
  constexpr int kNTiles = kBlockN / 8;  // 8-column mma tiles of S_ij
  constexpr int kDTiles = kD / 8;       // 8-column mma tiles of O_i
  static_assert(kMTiles * 16 * kWarps == kBlockM, "kBlockM must be a multiple of 16 * kWarps");
  static_assert(sizeof(Elem) == 2, "MmaFwdLayout counts 2-byte elements");
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Elem* sQ = reinterpret_cast<Elem*>(smem_raw);
  Elem* sK = sQ + Layout::kTileQ;
  Elem* sV = sK + Layout::kTileKV;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const fwd::QueryBlock<Elem, kD, kBlockM, kBlockN> qb(p);
  const int row0 = qb.row0;
  auto padded = [](int r, int c) { return r * kStride + c; };

  // The warp owns rows warp_row0 + 16 mt + [0, 16); this thread rows lane/4 and lane/4 + 8 of
  // each m-tile (mma accumulator layout).
  const int warp_row0 = warp * 16 * kMTiles;
  const int r_lo = row0 + warp_row0 + lane / 4;
  // FA2 Alg. 1 l. 5: O_i = 0, l_i = 0, m_i = -inf, on chip.
  float O[kMTiles][kDTiles][4] = {};
  float m[kMTiles][2], l[kMTiles][2];  // running max (base-2 units) and this thread's share of l
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
    for (int r = 0; r < 2; ++r) {
      m[mt][r] = -INFINITY;
      l[mt][r] = 0.f;
    }

  int j = qb.next_visible(p, 0);
  // Q_i (FA2 Alg. 1 l. 4) and the first visible K_j (FA2 Alg. 1 l. 7), then the loop over j
  // (FA2 Alg. 1 l. 6).
  fwd::load_tile_async<kBlockM, kD, kThreads>(sQ, qb.q, row0, p.seq_q, padded);
  if (j < qb.j_end)
    fwd::load_tile_async<kBlockN, kD, kThreads>(sK, qb.k, j * kBlockN, p.seq_k, padded);
  ptx::cp_async_commit();

  while (j < qb.j_end) {
    const int col0 = j * kBlockN;
    ptx::cp_async_wait<0>();
    __syncthreads();  // K_j (and Q) resident; every warp is done with V_{j-1}
    // V_j (FA2 Alg. 1 l. 7), landing while S_ij is computed.
    fwd::load_tile_async<kBlockN, kD, kThreads>(sV, qb.v, col0, p.seq_k, padded);
    ptx::cp_async_commit();

    // S_ij = Q_i K_j^T (FA2 Alg. 1 l. 8). Each K fragment serves all of the warp's m-tiles,
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
    const int j_next = qb.next_visible(p, j + 1);
    if (j_next < qb.j_end)
      fwd::load_tile_async<kBlockN, kD, kThreads>(sK, qb.k, j_next * kBlockN, p.seq_k, padded);
    ptx::cp_async_commit();

    // Mask the elements that may not attend (tails, diagonal, partial sparse blocks: the mask of
    // FA1 Alg. 2 l. 11); whole invisible tiles were skipped above. Then m_i, P~_ij, l_i (FA2 Alg. 1
    // FA2 Alg. 1 l. 9) and the rescale of O_i (FA2 Alg. 1 l. 10).
    const bool element_mask = qb.needs_element_mask(p, j);
    if constexpr (kLogTiles) qb.log_tile(p, j, element_mask, threadIdx.x == 0);
    if (element_mask) fwd::mask_scores(S, p.mask, p.seq_q, p.seq_k, r_lo, col0, lane);
    float rescale[kMTiles][2];
    fwd::softmax_update(S, m, l, rescale, p.scale_log2);
    fwd::rescale_output(O, rescale);
    if constexpr (kDropout)
      fwd::apply_keep_bits(
          S,
          fwd::dropout_keep_bits<kMTiles, kNTiles>(p.dropout, qb.batch, qb.head, r_lo, col0, lane),
          p.keep_scale);

    ptx::cp_async_wait<1>();  // V_j resident (K_{j+1} may still be in flight)
    __syncthreads();
    // O_i += P~_ij V_j (FA2 Alg. 1 l. 10): the S accumulators become A fragments directly.
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      uint32_t a[kMTiles][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) fwd::p_fragment<Elem>(S, mt, kk, a[mt]);
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

  // FA2 Alg. 1 l. 12–15: normalise O_i, L_i = m_i + log l_i, both written once.
  fwd::store_output<Elem, kD>(O, m, l, qb.logsumexp(p), p.seq_q, r_lo, lane,
                              fwd::to_global<Elem, kD>(qb.output(p)));
  ptx::cp_async_wait<0>();
}

}  // namespace flashlab::cuda
