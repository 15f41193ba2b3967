// The fused forward on Hopper's warpgroup tensor-core instructions (wgmma, sm_90a): the same
// algorithm and loop order as flash_fwd_kernel.cuh (FA2 Alg. 1), with the two matrix products
// issued asynchronously so that the softmax of one tile overlaps a product (FA3 §3.2).
//
// Map to the paper:
//   grid.x = query block i (Br = 128 rows, FA2 Alg. 1 l. 3), grid.y = (batch, head); loop j = key
//   blocks (Bc rows, FA2 Alg. 1 l. 6).
//   Two warpgroups (8 warps) per block, 64 query rows each; every warp holds its 16 rows of
//   S_ij, P_ij and O_i in registers, in the mma accumulator layout (fwd_softmax.cuh).
// Memory: Q_i and two stages each of K_j and V_j in shared memory, 128-byte swizzled
// (wgmma.cuh), filled by cp.async; wgmma reads Q and K straight from shared memory for
// S = Q K^T, and P from registers with V from shared memory for O += P V.
//
// Iteration j issues S_j = Q_i K_j^T and O_i += P_{j-1} V_{j-1} back to back, waits for S_j only,
// and runs the softmax of S_j (mask, max, exp, row sums, dropout) while the tensor cores still
// work on P_{j-1} V_{j-1} (FA3 §3.2, intra-warpgroup overlap). Then it waits for the product,
// rescales O_i by e^{m_{j-1} - m_j} and keeps P_j for the next iteration; the last P V follows
// the loop. The two warpgroups take turns issuing their products (FA3 §3.1, pingpong).
//
// Shared-memory stages: iteration j (in order of visited blocks) reads K slot j%2 and V slot
// (j-1)%2. Its first barrier proves every warp finished iteration j-1, so it then copies V_j into
// V slot j%2 (last read by P_{j-2} V_{j-2}) and K_{j+1} into K slot (j+1)%2 (last read by S_{j-1}):
// each copy has a whole iteration to land.
//
// Test: tests/gpu/flash_forward_test.cpp (accuracy), tests/gpu/tile_skip_test.cpp (skipped
// tiles). Benchmark: build/gpu/bench/flashlab-gpu-bench --dims 64,128 on an H100 or H200 (rows
// "fused": this kernel is the default there).
#pragma once

#include "flash_fwd_common.cuh"
#include "fwd_epilogue.cuh"
#include "fwd_softmax.cuh"
#include "wgmma.cuh"

namespace flashlab::cuda {

template <int kD, int kBlockN>
struct HopperFwdLayout {
  static constexpr int kBlockM = 128;  // two warpgroups x 64 rows
  static constexpr int kThreads = 256;
  static constexpr int kTileQ = kBlockM * kD, kTileKV = kBlockN * kD;  // elements
  // Q, two K stages, two V stages, and 1 KiB to align the swizzled tiles to 1024 bytes.
  static constexpr int kSmemBytes = (kTileQ + 4 * kTileKV) * 2 + 1024;
  static_assert(kD % 64 == 0, "the 128-byte swizzle needs whole 64-column panels");
  static_assert(kBlockN % 16 == 0 && kBlockN <= 128, "S_ij must fit one wgmma (N <= 128)");
};

// d = 64 asks for two resident blocks (<= 128 registers; dropout's Philox state would spill),
// d = 128 needs up to 255 registers for O and S. kLogTiles: as in flash_fwd_kernel. kPingpong and
// kOverlap switch off FA3 §3.1 and §3.2 for the lower rungs of the ladder (FusedKernel's
// WgmmaSerial and WgmmaPingpong); the production kernel has both.
template <typename Elem, int kD, int kBlockN, bool kDropout, bool kLogTiles = false,
          bool kPingpong = true, bool kOverlap = true>
__global__ void __launch_bounds__(256, kD <= 64 && !kDropout ? 2 : 1)
    flash_fwd_hopper_kernel(const FlashFwdParams<Elem> p) {
#if FLASHLAB_WGMMA_ENABLED
  using Layout = HopperFwdLayout<kD, kBlockN>;
  constexpr int kBlockM = Layout::kBlockM, kThreads = Layout::kThreads;
  constexpr int kNTiles = kBlockN / 8, kDTiles = kD / 8, kPSteps = kBlockN / 16;
  extern __shared__ unsigned char smem_raw[];
  Elem* const smem =
      reinterpret_cast<Elem*>(smem_raw + ((1024 - ptx::smem_address(smem_raw) % 1024) % 1024));
  Elem* const sQ = smem;
  auto sK = [&](int slot) { return sQ + Layout::kTileQ + slot * Layout::kTileKV; };
  auto sV = [&](int slot) { return sQ + Layout::kTileQ + (2 + slot) * Layout::kTileKV; };
  auto q_tile = [](int r, int c) { return wgmma::swizzled_offset<kBlockM>(r, c); };
  auto kv_tile = [](int r, int c) { return wgmma::swizzled_offset<kBlockN>(r, c); };

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const fwd::QueryBlock<Elem, kD, kBlockM, kBlockN> qb(p);
  // Warp w owns query rows 16 w .. 16 w + 15 of the block (rows 16 (w % 4) of warpgroup w / 4).
  const int r_lo = qb.row0 + warp * 16 + lane / 4;
  const Elem* const sQ_group = sQ + q_tile((warp / 4) * 64, 0);

  // FA2 Alg. 1 l. 5: O_i = 0, l_i = 0, m_i = -inf, on chip.
  float S[1][kNTiles][4] = {};
  float O[1][kDTiles][4] = {};
  uint32_t P[kPSteps][4] = {};  // A fragments of the previous tile's P~
  float m[1][2] = {{-INFINITY, -INFINITY}}, l[1][2] = {{0.f, 0.f}}, rescale[1][2];

  // O_i += P V_slot, one wgmma per 16 keys: B = V_j[16 keys][kD], MN-major, kD / 64 panels.
  auto multiply_pv = [&](const Elem* sV_slot) {
#pragma unroll
    for (int kk = 0; kk < kPSteps; ++kk)
      wgmma::mma_rs<Elem, kD>(O[0], P[kk],
                              wgmma::descriptor(sV_slot + kv_tile(16 * kk, 0), kBlockN * 128), 1);
    wgmma::commit();
  };
  // Pingpong (FA3 §3.1): the two warpgroups take turns to issue their products (named barrier
  // 1 + w opens warpgroup w's turn), so the softmax of one overlaps the products of the other
  // rather than both competing for the tensor cores at once.
  const int group = warp / 4;
  auto wait_turn = [&] {
    if constexpr (kPingpong) {
      if (group == 0)
        ptx::named_barrier_sync<1, kThreads>();
      else
        ptx::named_barrier_sync<2, kThreads>();
    }
  };
  auto pass_turn = [&] {
    if constexpr (kPingpong) {
      if (group == 0)
        ptx::named_barrier_arrive<2, kThreads>();
      else
        ptx::named_barrier_arrive<1, kThreads>();
    }
  };

  int j = qb.next_visible(p, 0);
  // Q_i (FA2 Alg. 1 l. 4) and the first visible K_j (FA2 Alg. 1 l. 7), then the loop over j
  // (FA2 Alg. 1 l. 6).
  fwd::load_tile_async<kBlockM, kD, kThreads>(sQ, qb.q, qb.row0, p.seq_q, q_tile);
  if (j < qb.j_end)
    fwd::load_tile_async<kBlockN, kD, kThreads>(sK(0), qb.k, j * kBlockN, p.seq_k, kv_tile);
  ptx::cp_async_commit();

  if (group == 1) pass_turn();  // warpgroup 0 goes first
  int it = 0;                   // iterations done = visible key blocks so far
  for (; j < qb.j_end; ++it) {
    const int slot = it % 2;
    ptx::cp_async_wait<0>();
    wgmma::fence_shared_for_async_proxy();
    __syncthreads();  // K_j resident; every warp is through iteration it - 1
    const int j_next = qb.next_visible(p, j + 1);
    // V_j and the next visible K (FA2 Alg. 1 l. 7), each a whole iteration ahead of its use.
    fwd::load_tile_async<kBlockN, kD, kThreads>(sV(slot), qb.v, j * kBlockN, p.seq_k, kv_tile);
    if (j_next < qb.j_end)
      fwd::load_tile_async<kBlockN, kD, kThreads>(sK(1 - slot), qb.k, j_next * kBlockN, p.seq_k,
                                                  kv_tile);
    ptx::cp_async_commit();

    // S_ij = Q_i K_j^T (FA2 Alg. 1 l. 8), 16 columns of the head dim per wgmma.
    wait_turn();
    wgmma::fence();
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk)
      wgmma::mma_ss<Elem, kBlockN>(S[0], wgmma::descriptor(sQ_group + q_tile(0, 16 * kk)),
                                   wgmma::descriptor(sK(slot) + kv_tile(0, 16 * kk)), kk > 0);
    wgmma::commit();
    if (it > 0) {
      multiply_pv(sV(1 - slot));  // O_i += P~_{i,j-1} V_{j-1} (FA2 Alg. 1 l. 10, previous tile)
      pass_turn();
      // With the overlap, only S_ij must be done; without it the softmax waits for P V too.
      constexpr int kProductsLeft = kOverlap ? 1 : 0;
      wgmma::wait<kProductsLeft>();
    } else {
      pass_turn();
      wgmma::wait<0>();
    }
    wgmma::pin(S[0]);

    // Softmax of S_ij (FA1 Alg. 2 l. 11's mask, then FA2 Alg. 1 l. 9) while the tensor cores run
    // the product above.
    const bool element_mask = qb.needs_element_mask(p, j);
    if constexpr (kLogTiles) qb.log_tile(p, j, element_mask);
    if (element_mask) fwd::mask_scores(S, p.mask, p.seq_q, p.seq_k, r_lo, j * kBlockN, lane);
    fwd::softmax_update(S, m, l, rescale, p.scale_log2);
    if constexpr (kDropout)
      fwd::apply_dropout(S, p.dropout, p.keep_scale, qb.batch, qb.head, r_lo, j * kBlockN, lane);
    wgmma::pin(S[0]);  // the softmax stays ahead of the wait (measured: else it sinks below)
    wgmma::pin(l);
    wgmma::pin(rescale);

    wgmma::wait<0>();
    wgmma::pin(O[0]);
    wgmma::pin(P);
    fwd::rescale_output(O, rescale);  // FA2 Alg. 1 l. 10's rescale; P~ V comes next iteration
#pragma unroll
    for (int kk = 0; kk < kPSteps; ++kk) fwd::p_fragment<Elem>(S, 0, kk, P[kk]);
    j = j_next;
  }

  if (group == 0) wait_turn();  // consumes warpgroup 1's last pass_turn
  if (it > 0) {                 // the last tile's P V (FA2 Alg. 1 l. 10)
    ptx::cp_async_wait<0>();
    wgmma::fence_shared_for_async_proxy();
    __syncthreads();  // its V is resident
    wgmma::fence();
    multiply_pv(sV((it - 1) % 2));
    wgmma::wait<0>();
    wgmma::pin(O[0]);
  }
  ptx::cp_async_wait<0>();  // the Q copy is still in flight when no key block was visible
  // FA2 Alg. 1 l. 12–15: normalise O_i, L_i = m_i + log l_i, both written once.
  fwd::store_output<Elem, kD>(O, m, l, qb.output(p), qb.logsumexp(p), p.seq_q, r_lo, lane);
#endif
}

}  // namespace flashlab::cuda
