// The fast fused backward: FlashAttention-2's backward (FA2 Alg. 2, paper Alg. 4 with the
// logsumexp) on mma.sync tensor cores, with recomputation of P instead of storing it.
//
// Map to the paper:
//   preprocess  D_i = rowsum(dO_i ∘ O_i)                      (Alg. 4 line 19, hoisted: FA2)
//   grid.x      key block j (Bc = kBlockN rows of K, V); grid.y = (batch, head)
//   loop i      query blocks (Br = kBlockM rows of Q, dO), Alg. 4 line 9
//   per warp    16 keys of the block: S^T, P^T, dP^T, dS^T live in registers, dK_j and dV_j
//               accumulate in registers (Alg. 4 lines 16 and 22) and are written once at the end
//   dQ          dQ_i += dS_ij K_j through shared memory (dS^T) and fp32 atomics in HBM
//               (Alg. 4 line 21; FA2's "atomic adds for dQ"), scaled and converted afterwards.
// Everything is computed transposed (keys as rows) so that dK and dV accumulate in the warps'
// own registers; for head dim 256 the dK/dV columns are done in two passes to fit registers.
#pragma once

#include <flashlab/core/dropout.hpp>
#include <flashlab/core/options.hpp>

#include "flash_fwd_common.cuh"
#include "fwd_softmax.cuh"
#include "mma.cuh"
#include "tile_masks.cuh"

namespace flashlab::cuda {

template <typename Elem>
struct FlashBwdParams {
  const Elem* __restrict__ q;
  const Elem* __restrict__ k;
  const Elem* __restrict__ v;
  const Elem* __restrict__ o;
  const Elem* __restrict__ d_o;
  const float* __restrict__ lse;
  Elem* __restrict__ dk;
  Elem* __restrict__ dv;
  Elem* __restrict__ dq;
  float* __restrict__ dq_accum;  // fp32 [batch, heads, seq_q, d], zeroed by the preprocess
  float* __restrict__ D;         // fp32 [batch, heads, seq_q]
  int seq_q, seq_k, heads, d;
  float scale, scale_log2;
  MaskParams mask;
  DropoutParams dropout;
  float keep_scale;
};

// D_i = rowsum(dO ∘ O) per query row (one warp per row), and dQ's accumulator set to zero.
template <typename Elem>
__global__ void flash_bwd_preprocess_kernel(const FlashBwdParams<Elem> p, int64_t rows) {
  const int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  float sum = 0.f;
  for (int e = lane; e < p.d; e += 32) {
    const int64_t x = row * p.d + e;
    sum += float(p.d_o[x]) * float(p.o[x]);
    p.dq_accum[x] = 0.f;
  }
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  if (lane == 0) p.D[row] = sum;
}

// dQ = scale * dQ_accum, converted to the element type.
template <typename Elem>
__global__ void flash_bwd_convert_dq_kernel(const FlashBwdParams<Elem> p, int64_t n) {
  for (int64_t x = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; x < n;
       x += int64_t(gridDim.x) * blockDim.x)
    p.dq[x] = Elem(p.dq_accum[x] * p.scale);
}

template <typename Elem, int kD, int kBlockM, int kBlockN>
__global__ void __launch_bounds__(kBlockN / 16 * 32)
    flash_bwd_kernel(const FlashBwdParams<Elem> p) {
  constexpr int kWarps = kBlockN / 16, kThreads = kWarps * 32;
  constexpr int kStride = kD + 8, kSStride = kBlockM + 8;
  auto padded = [](int r, int c) { return r * kStride + c; };  // rows padded by 16 bytes
  constexpr int kQTiles = kBlockM / 8;                         // 8-query mma tiles of S^T
  constexpr int kPasses = kD > 128 ? 2 : 1;                    // dK/dV column passes (registers)
  constexpr int kDPass = kD / kPasses;                         // dK/dV columns per pass
  // dQ_i = dS K_j: warp w takes query rows 16 (w % kRowGroups) and the kColGroups-th share of
  // the columns numbered w / kRowGroups, so every warp works; kDQChunk columns per pass.
  constexpr int kRowGroups = kBlockM / 16, kColGroups = kWarps / kRowGroups;
  constexpr int kDQCols = kD / kColGroups;
  constexpr int kDQChunk = kDQCols % 64 == 0 ? 64 : kDQCols % 32 == 0 ? 32 : 16;
  static_assert(kWarps % kRowGroups == 0 && kD % kColGroups == 0 && kDQCols % kDQChunk == 0,
                "dQ's warps must tile its rows and columns");
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Elem* sK = reinterpret_cast<Elem*>(smem_raw);
  Elem* sV = sK + kBlockN * kStride;
  Elem* sQ = sV + kBlockN * kStride;
  Elem* sdO = sQ + kBlockM * kStride;
  Elem* sdS = sdO + kBlockM * kStride;  // dS^T: [key][query]
  float* sLse = reinterpret_cast<float*>(sdS + kBlockN * kSStride);
  float* sD = sLse + kBlockM;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int j_block = blockIdx.x, bh = blockIdx.y, b = bh / p.heads, h = bh % p.heads;
  const int col0 = j_block * kBlockN;
  const int cols_here = min(kBlockN, p.seq_k - col0);
  const int64_t q_off = int64_t(bh) * p.seq_q * kD, k_off = int64_t(bh) * p.seq_k * kD;

  fwd::load_tile_async<kBlockN, kD, kThreads>(sK, p.k + k_off, col0, p.seq_k, padded);
  fwd::load_tile_async<kBlockN, kD, kThreads>(sV, p.v + k_off, col0, p.seq_k, padded);
  ptx::cp_async_commit();

  const int key_lo = col0 + warp * 16 + lane / 4;  // this thread's keys: key_lo, key_lo + 8
  const int n_qblocks = (p.seq_q + kBlockM - 1) / kBlockM;
  const int i_begin = p.mask.causal ? col0 / kBlockM : 0;  // earlier rows cannot see these keys

  // Query blocks that can see this key block (paper Alg. 5 skips the others).
  auto next_visible = [&](int i) {
    while (i < n_qblocks &&
           !tile_visible(p.mask, i * kBlockM, min(kBlockM, p.seq_q - i * kBlockM), col0, cols_here))
      ++i;
    return i;
  };
  // Q_i and dO_i (cp.async) and L_i (in base 2) and D_i (plain loads) into shared memory.
  auto load_query_block = [&](int i) {
    const int row0 = i * kBlockM;
    fwd::load_tile_async<kBlockM, kD, kThreads>(sQ, p.q + q_off, row0, p.seq_q, padded);
    fwd::load_tile_async<kBlockM, kD, kThreads>(sdO, p.d_o + q_off, row0, p.seq_q, padded);
    ptx::cp_async_commit();
    for (int r = threadIdx.x; r < kBlockM; r += kThreads) {
      const bool inside = row0 + r < p.seq_q;
      const float L = inside ? p.lse[int64_t(bh) * p.seq_q + row0 + r] : -INFINITY;
      sLse[r] = L * fwd::kLog2e;
      sD[r] = inside ? p.D[int64_t(bh) * p.seq_q + row0 + r] : 0.f;
    }
  };

  for (int pass = 0; pass < kPasses; ++pass) {
    float dK[kDPass / 8][4] = {}, dV[kDPass / 8][4] = {};
    int i = next_visible(i_begin);
    if (i < n_qblocks) load_query_block(i);
    while (i < n_qblocks) {
      const int row0 = i * kBlockM, i_next = next_visible(i + 1);
      ptx::cp_async_wait<0>();
      __syncthreads();  // Q_i, dO_i, L_i, D_i resident; the previous dQ is done with sdS

      // S^T = K_j Q_i^T and dP^T = V_j dO_i^T (Alg. 4 lines 11 and 17), 16 keys per warp.
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

      // P = exp(S - L) recomputed exactly (Alg. 4 line 13 with FA2's logsumexp); masked -> 0.
      // Then Z (line 14, same Philox words as the forward) and dS = P ∘ (dP ∘ Z - D) (line 20).
      const bool mask_elements = col0 + kBlockN > p.seq_k || row0 + kBlockM > p.seq_q ||
                                 !tile_fully_visible(p.mask, row0, kBlockM, col0, kBlockN);
#pragma unroll
      for (int t = 0; t < kQTiles; ++t)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = key_lo + (e / 2) * 8, qr = t * 8 + (lane % 4) * 2 + e % 2;
          const int row = row0 + qr;
          const float L = sLse[qr];
          float P = L == -INFINITY ? 0.f : ptx::fast_exp2(ST[t][e] * p.scale_log2 - L);
          if (mask_elements && (key >= p.seq_k || row >= p.seq_q || !p.mask.allows(row, key)))
            P = 0.f;
          float Z = 1.f;
          if (p.dropout.enabled) {
            const Philox4x32 w = dropout_random_words(p.dropout.seed, b, h, row, key);
            Z = w.x[key & 3] >= p.dropout.drop_below ? p.keep_scale : 0.f;
          }
          ST[t][e] = P * Z;                          // P ∘ Z, for dV
          dPT[t][e] = P * (dPT[t][e] * Z - sD[qr]);  // dS
        }

        // dV_j += (P ∘ Z)^T dO_i and dK_j += dS^T Q_i (Alg. 4 lines 16 and 22): the accumulators
        // of S^T and dS^T are already the A fragments (rows = keys, k = queries).
#pragma unroll
      for (int kk = 0; kk < kBlockM / 16; ++kk) {
        const uint32_t ap[4] = {ptx::pack2<Elem>(ST[2 * kk][0], ST[2 * kk][1]),
                                ptx::pack2<Elem>(ST[2 * kk][2], ST[2 * kk][3]),
                                ptx::pack2<Elem>(ST[2 * kk + 1][0], ST[2 * kk + 1][1]),
                                ptx::pack2<Elem>(ST[2 * kk + 1][2], ST[2 * kk + 1][3])};
        const uint32_t as[4] = {ptx::pack2<Elem>(dPT[2 * kk][0], dPT[2 * kk][1]),
                                ptx::pack2<Elem>(dPT[2 * kk][2], dPT[2 * kk][3]),
                                ptx::pack2<Elem>(dPT[2 * kk + 1][0], dPT[2 * kk + 1][1]),
                                ptx::pack2<Elem>(dPT[2 * kk + 1][2], dPT[2 * kk + 1][3])};
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
      if (i_next < n_qblocks) load_query_block(i_next);

      // dQ_i += dS_ij K_j (Alg. 4 line 21), reading dS from the transposed copy in shared
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
            float* dst = p.dq_accum + q_off + int64_t(row) * kD + c0 + (lane % 4) * 2;
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

    // Alg. 4 line 24: write dK_j (with the softmax scale of S = tau Q K^T) and dV_j.
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int key = key_lo + r * 8;
      if (key >= p.seq_k) continue;
      const int64_t base = k_off + int64_t(key) * kD + pass * kDPass + (lane % 4) * 2;
#pragma unroll
      for (int t = 0; t < kDPass / 8; ++t) {
        *reinterpret_cast<uint32_t*>(p.dk + base + t * 8) =
            ptx::pack2<Elem>(dK[t][2 * r] * p.scale, dK[t][2 * r + 1] * p.scale);
        *reinterpret_cast<uint32_t*>(p.dv + base + t * 8) =
            ptx::pack2<Elem>(dV[t][2 * r], dV[t][2 * r + 1]);
      }
    }
  }
  ptx::cp_async_wait<0>();  // K_j, V_j copies are complete even if no query block was visible
}

}  // namespace flashlab::cuda
