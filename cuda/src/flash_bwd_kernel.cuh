// The fast fused backward: FlashAttention-2's backward (FA2 Alg. 2: FA1 Alg. 4 with the
// logsumexp) on mma.sync tensor cores, with recomputation of P instead of storing it, for any
// sm_80+ GPU and every head dim of kFastHeadDims.
//
// Map to the paper (FA1 Alg. 4):
//   preprocess  D_i = rowsum(dO_i ∘ O_i), FA1 Alg. 4 l. 19, hoisted out of the loops as in
//               FA2 Alg. 2
//   grid.x      key block j (Bc = kBlockN rows of K, V), FA1 Alg. 4 l. 6; grid.y = (batch, head)
//   loop i      query blocks (Br = kBwdBlockM rows of Q, dO), FA1 Alg. 4 l. 9
//   per warp    16 keys of the block: S^T, P^T, dP^T, dS^T live in registers, dK_j and dV_j
//               accumulate in registers (FA1 Alg. 4 l. 16 and 22) and are written once at the end
//               (FA1 Alg. 4 l. 24)
//   dQ          dQ_i += dS_ij K_j through shared memory (dS^T) and fp32 atomics in HBM
//               (FA1 Alg. 4 l. 21; FA2's "atomic adds for dQ"), scaled and converted afterwards.
// Everything is computed transposed (keys as rows) so that dK and dV accumulate in the warps'
// own registers; for head dim 256 the dK/dV columns are done in two passes to fit registers.
//
// Test: tests/gpu/backward_test.cpp (accuracy), tests/gpu/tile_skip_test.cpp (skipped tiles).
// Benchmark: build/gpu/bench/flashlab-gpu-bench --dims 32,64,96,128,256 (rows "fused" where no
// wgmma kernel exists, "mma.sync" beside the wgmma rows at d = 64 and 128).
#pragma once

#include "flash_bwd_common.cuh"
#include "flash_fwd_common.cuh"

namespace flashlab::cuda {

// Shared memory of flash_bwd_kernel: K_j, V_j, Q_i, dO_i and dS^T in 2-byte elements, rows
// padded by 8 elements (16 bytes) so that ldmatrix is conflict-free, then L_i and D_i in fp32.
// One warp per 16 keys.
template <int kD, int kBlockN>
struct MmaBwdLayout {
  static constexpr int kBlockM = kBwdBlockM;
  static constexpr int kThreads = kBlockN / 16 * 32;
  static constexpr int kStride = kD + 8, kSStride = kBlockM + 8;  // elements per padded row
  static constexpr int kTileKV = kBlockN * kStride, kTileQ = kBlockM * kStride;
  static constexpr int kTileS = kBlockN * kSStride;  // dS^T: [key][query]
  static constexpr int kSmemBytes = (2 * kTileKV + 2 * kTileQ + kTileS) * 2 + 2 * kBlockM * 4;
};

// kLogTiles builds the debug kernel that records the tiles it visits (BackwardArgs::tile_log); the
// production kernels are built without it.
template <typename Elem, int kD, int kBlockN, bool kLogTiles = false>
__global__ void __launch_bounds__(MmaBwdLayout<kD, kBlockN>::kThreads)
    flash_bwd_kernel(const FlashBwdParams<Elem> p) {
  using Layout = MmaBwdLayout<kD, kBlockN>;
  constexpr int kBlockM = Layout::kBlockM, kThreads = Layout::kThreads, kWarps = kThreads / 32;
  constexpr int kStride = Layout::kStride, kSStride = Layout::kSStride;
  auto padded = [](int r, int c) { return r * kStride + c; };
  constexpr int kQTiles = kBlockM / 8;       // 8-query mma tiles of S^T
  constexpr int kPasses = kD > 128 ? 2 : 1;  // dK/dV column passes (registers)
  constexpr int kDPass = kD / kPasses;       // dK/dV columns per pass
  // dQ_i = dS K_j: warp w takes query rows 16 (w % kRowGroups) and the kColGroups-th share of
  // the columns numbered w / kRowGroups, so every warp works; kDQChunk columns per pass.
  constexpr int kRowGroups = kBlockM / 16, kColGroups = kWarps / kRowGroups;
  constexpr int kDQCols = kD / kColGroups;
  constexpr int kDQChunk = kDQCols % 64 == 0 ? 64 : kDQCols % 32 == 0 ? 32 : 16;
  static_assert(kWarps % kRowGroups == 0 && kD % kColGroups == 0 && kDQCols % kDQChunk == 0,
                "dQ's warps must tile its rows and columns");
  static_assert(sizeof(Elem) == 2, "MmaBwdLayout counts 2-byte elements");
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Elem* sK = reinterpret_cast<Elem*>(smem_raw);
  Elem* sV = sK + Layout::kTileKV;
  Elem* sQ = sV + Layout::kTileKV;
  Elem* sdO = sQ + Layout::kTileQ;
  Elem* sdS = sdO + Layout::kTileQ;  // dS^T: [key][query]
  float* sL = reinterpret_cast<float*>(sdS + Layout::kTileS);
  float* sD = sL + kBlockM;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const bwd::KeyBlock<kBlockN> kb(p);
  const int64_t q_off = int64_t(kb.bh) * p.seq_q * kD, k_off = int64_t(kb.bh) * p.seq_k * kD;

  // K_j, V_j (FA1 Alg. 4 l. 7), resident for the whole loop over i.
  fwd::load_tile_async<kBlockN, kD, kThreads>(sK, p.k + k_off, kb.col0, p.seq_k, padded);
  fwd::load_tile_async<kBlockN, kD, kThreads>(sV, p.v + k_off, kb.col0, p.seq_k, padded);
  ptx::cp_async_commit();

  const int key_lo = kb.col0 + warp * 16 + lane / 4;  // this thread's keys: key_lo, key_lo + 8
  // Q_i, dO_i, L_i and D_i into shared memory (cp.async): FA1 Alg. 4 l. 10, with L and D in
  // place of l, m and O, and dQ_i left in HBM.
  auto load_query_block = [&](int i) {
    fwd::load_tile_async<kBlockM, kD, kThreads>(sQ, p.q + q_off, i * kBlockM, p.seq_q, padded);
    fwd::load_tile_async<kBlockM, kD, kThreads>(sdO, p.d_o + q_off, i * kBlockM, p.seq_q, padded);
    kb.load_row_stats_async(p, i, sL, sD, int(threadIdx.x));
    ptx::cp_async_commit();
  };

  for (int pass = 0; pass < kPasses; ++pass) {
    float dK[kDPass / 8][4] = {}, dV[kDPass / 8][4] = {};  // FA1 Alg. 4 l. 8
    int i = kb.next_visible(p, kb.i_begin);
    if (i < kb.n_qblocks) load_query_block(i);
    while (i < kb.n_qblocks) {  // FA1 Alg. 4 l. 9, visible query blocks only
      const int row0 = i * kBlockM, i_next = kb.next_visible(p, i + 1);
      ptx::cp_async_wait<0>();
      __syncthreads();  // Q_i, dO_i, L_i, D_i resident; the previous dQ is done with sdS

      // S^T = K_j Q_i^T and dP^T = V_j dO_i^T (FA1 Alg. 4 l. 11 and 17), 16 keys per warp.
      float ST[kQTiles][4] = {}, dPT[kQTiles][4] = {};
#pragma unroll
      for (int kk = 0; kk < kD / 16; ++kk) {
        uint32_t ak[4], av[4];
        const int a_row = (warp * 16 + lane % 16) * kStride + kk * 16 + (lane / 16) * 8;
        ptx::ldmatrix_x4(ak, sK + a_row);
        ptx::ldmatrix_x4(av, sV + a_row);
#pragma unroll
        for (int t = 0; t < kQTiles; t += 2) {
          const int mat = lane / 8;
          const int b_row = ((t + (mat >> 1)) * 8 + lane % 8) * kStride + kk * 16 + (mat & 1) * 8;
          uint32_t bq[4], bo[4];
          ptx::ldmatrix_x4(bq, sQ + b_row);
          ptx::ldmatrix_x4(bo, sdO + b_row);
          const uint32_t bq0[2] = {bq[0], bq[1]}, bq1[2] = {bq[2], bq[3]};
          const uint32_t bo0[2] = {bo[0], bo[1]}, bo1[2] = {bo[2], bo[3]};
          ptx::mma_16x8x16<Elem>(ST[t], ak, bq0);
          ptx::mma_16x8x16<Elem>(ST[t + 1], ak, bq1);
          ptx::mma_16x8x16<Elem>(dPT[t], av, bo0);
          ptx::mma_16x8x16<Elem>(dPT[t + 1], av, bo1);
        }
      }

      // P^T from L (FA1 Alg. 4 l. 13), the element mask where the tile needs one
      // (FA1 Alg. 4 l. 12), then dropout and dS^T (FA1 Alg. 4 l. 14–15, 18, 20).
      bwd::recompute_p(ST, p, sL, lane);
      const bool element_mask = kb.needs_element_mask(p, i);
      if constexpr (kLogTiles) kb.log_tile(p, i, element_mask, threadIdx.x == 0);
      if (element_mask) bwd::mask_p(ST, p, key_lo, row0, lane);
      KeepBits<kQTiles> keep;
      if (p.dropout.enabled)
        keep = bwd::dropout_keep_bits_transposed<kQTiles>(p.dropout, kb.batch, kb.head, key_lo,
                                                          row0, lane);
      bwd::dropout_and_ds(ST, dPT, keep, p.dropout.enabled, p.keep_scale, sD, lane);

      // dV_j += (P ∘ Z)^T dO_i and dK_j += dS^T Q_i (FA1 Alg. 4 l. 16 and 22): the accumulators
      // of S^T and dS^T are already the A fragments (rows = keys, k = queries).
#pragma unroll
      for (int kk = 0; kk < kBlockM / 16; ++kk) {
        uint32_t ap[4], as[4];
        bwd::a_fragment<Elem>(ST, kk, ap);
        bwd::a_fragment<Elem>(dPT, kk, as);
        if (pass == 0) {  // keep dS^T in shared memory for dQ (below)
          *reinterpret_cast<uint32_t*>(sdS + (warp * 16 + lane / 4) * kSStride + kk * 16 +
                                       (lane % 4) * 2) = as[0];
          *reinterpret_cast<uint32_t*>(sdS + (warp * 16 + lane / 4 + 8) * kSStride + kk * 16 +
                                       (lane % 4) * 2) = as[1];
          *reinterpret_cast<uint32_t*>(sdS + (warp * 16 + lane / 4) * kSStride + kk * 16 + 8 +
                                       (lane % 4) * 2) = as[2];
          *reinterpret_cast<uint32_t*>(sdS + (warp * 16 + lane / 4 + 8) * kSStride + kk * 16 + 8 +
                                       (lane % 4) * 2) = as[3];
        }
#pragma unroll
        for (int t = 0; t < kDPass / 8; t += 2) {
          const int mat = lane / 8;
          const int b_row =
              (kk * 16 + (mat & 1) * 8 + lane % 8) * kStride + pass * kDPass + (t + (mat >> 1)) * 8;
          uint32_t bo[4], bq[4];
          ptx::ldmatrix_x4_trans(bo, sdO + b_row);
          ptx::ldmatrix_x4_trans(bq, sQ + b_row);
          const uint32_t bo0[2] = {bo[0], bo[1]}, bo1[2] = {bo[2], bo[3]};
          const uint32_t bq0[2] = {bq[0], bq[1]}, bq1[2] = {bq[2], bq[3]};
          ptx::mma_16x8x16<Elem>(dV[t], ap, bo0);
          ptx::mma_16x8x16<Elem>(dV[t + 1], ap, bo1);
          ptx::mma_16x8x16<Elem>(dK[t], as, bq0);
          ptx::mma_16x8x16<Elem>(dK[t + 1], as, bq1);
        }
      }
      // Every warp is done with Q_i, dO_i, L_i, D_i (and has written its dS^T): the next query
      // block's copies start now and land while dQ below runs (they were exposed before).
      __syncthreads();
      if (i_next < kb.n_qblocks) load_query_block(i_next);

      // dQ_i += dS_ij K_j (FA1 Alg. 4 l. 21), reading dS from the transposed copy in shared
      // memory, added into the fp32 accumulator in HBM.
      if (pass == 0) {
        const int dq_row = (warp % kRowGroups) * 16, dq_col = (warp / kRowGroups) * kDQCols;
#pragma unroll
        for (int c0 = dq_col; c0 < dq_col + kDQCols; c0 += kDQChunk) {
          float dQ[kDQChunk / 8][4] = {};
#pragma unroll
          for (int kk = 0; kk < kBlockN / 16; ++kk) {
            const int mat = lane / 8;
            uint32_t a[4];
            ptx::ldmatrix_x4_trans(
                a, sdS + (kk * 16 + (mat >> 1) * 8 + lane % 8) * kSStride + dq_row + (mat & 1) * 8);
#pragma unroll
            for (int t = 0; t < kDQChunk / 8; t += 2) {
              uint32_t bk[4];
              ptx::ldmatrix_x4_trans(bk, sK + (kk * 16 + (mat & 1) * 8 + lane % 8) * kStride + c0 +
                                             (t + (mat >> 1)) * 8);
              const uint32_t b0[2] = {bk[0], bk[1]}, b1[2] = {bk[2], bk[3]};
              ptx::mma_16x8x16<Elem>(dQ[t], a, b0);
              ptx::mma_16x8x16<Elem>(dQ[t + 1], a, b1);
            }
          }
#pragma unroll
          for (int r = 0; r < 2; ++r) {
            const int row = row0 + dq_row + lane / 4 + r * 8;
            if (row >= p.seq_q) continue;
            float* dst =
                p.dq_accum + (int64_t(kb.bh) * p.padded_q + row) * kD + c0 + (lane % 4) * 2;
#pragma unroll
            for (int t = 0; t < kDQChunk / 8; ++t) {
              atomicAdd(dst + t * 8, dQ[t][2 * r]);
              atomicAdd(dst + t * 8 + 1, dQ[t][2 * r + 1]);
            }
          }
        }
      }
      i = i_next;
    }

    // dK_j, dV_j to HBM (FA1 Alg. 4 l. 24).
    bwd::store_dk_dv<Elem, kD, kDPass>(dK, dV, p, kb.bh, key_lo, pass * kDPass, lane);
  }
  ptx::cp_async_wait<0>();  // K_j, V_j copies are complete even if no query block was visible
}

}  // namespace flashlab::cuda
