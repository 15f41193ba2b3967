// The fused backward on Hopper's warpgroup tensor-core instructions (wgmma, sm_90a): the same
// algorithm and loop order as flash_bwd_kernel.cuh (FA2 Alg. 2: FA1 Alg. 4 with the logsumexp),
// with all five matrix products on wgmma and dQ added from registers in 16-byte vectors (at
// d = 256 through shared memory: hopper_bwd_dq_in_stage).
//
// Map to the paper (FA1 Alg. 4):
//   grid.x = key block j (Bc = 128 keys, FA1 Alg. 4 l. 6), grid.y = (batch, head); loop i = query
//   blocks (Br = 64, or 128 at d = 64 without dropout: hopper_bwd_block_m; FA1 Alg. 4 l. 9). Two
//   warpgroups (8 warps); warpgroup g owns keys 64 g .. 64 g
//   + 63 of the block, and every warp 16 of them: S^T, P^T, dP^T and dS^T of its keys live in its
//   registers, transposed (keys as rows) so that dK_j and dV_j accumulate in the same registers
//   across the whole loop (FA1 Alg. 4 l. 16 and 22) and are written once at the end
//   (FA1 Alg. 4 l. 24).
// Memory: K_j and V_j in shared memory for the whole loop, Q_i, dO_i, L_i and D_i in two stages
// (the next block's copies land during this one), all 128-byte swizzled (wgmma.cuh). With kTma
// (the ladder's rung FusedKernel::WgmmaTma) the copy engine copies the tiles (tma.cuh), one thread
// issuing each tile and mbarriers saying when it landed; L_i and D_i (Br floats each) stay on
// cp.async. Without it (the rung below, FusedKernel::WgmmaSerial) every thread copies its share by
// cp.async. With kProducer as well (what FusedKernel::Wgmma runs, FA3 §3.1 applied to the
// backward) a third warpgroup only copies: one of its threads keeps the two stages of Q_i and
// dO_i full, waiting on an "empty" mbarrier per stage that the compute warps release (they copy
// L_i and D_i themselves by cp.async: racecheck cannot order bulk copies into a buffer its
// threads read, so those copies would be reported as races), and gives its registers to the two
// compute warpgroups (setmaxnreg). The compute warpgroups then never meet the producer at a
// block-wide barrier: they wait for the stage they need and exchange dS^T through two buffers (one
// barrier of the 256 compute threads per iteration).
//
// Iteration i:
//   S^T = K_j Q_i^T and dP^T = V_j dO_i^T (FA1 Alg. 4 l. 11, 17): wgmma from shared memory; P is
//     recomputed from S^T (FA1 Alg. 4 l. 13) as soon as it is done, while the tensor cores still
//     compute dP^T.
//   dS^T = P^T ∘ (dP^T - D_i) (FA1 Alg. 4 l. 20); dV_j += P^T dO_i and dK_j += dS^T Q_i
//     (FA1 Alg. 4 l. 16, 22) take P^T and dS^T from registers (wgmma A operand) and dO_i, Q_i from
//     shared memory; at d = 96 and 128 dK's products queue behind dQ's (kDKAfterDQ). At d = 256
//     (hopper_bwd_shares_keys) each warpgroup computes S^T and dP^T for half of the queries, and dV
//     and dK read the other half of P^T and dS^T from shared memory.
//   dQ_i += dS_ij K_j (FA1 Alg. 4 l. 21) needs every key of the block, so dS^T also goes to shared
//   memory;
//     warpgroup g computes columns [g d/2, (g+1) d/2) of dQ_i (rows [64 g, 64 g + 64) when
//     Br = 128) and adds them into the fp32 accumulator in HBM, kept in register order
//     (bwd::dq_quad_position): up to d = 128 every thread by 16-byte vector reductions from its
//     registers, at d = 256 through the stage that held Q_i and dO_i
//     (hopper_bwd_dq_in_stage) by one thread's bulk reductions (bulk_copy.cuh), FA3's dQ path.
//
// Test: tests/gpu/backward_test.cpp (accuracy), tests/gpu/tile_skip_test.cpp (skipped tiles).
// Benchmark: build/gpu/bench/flashlab-gpu-bench --dims 64,128 on an H100 or H200 (rows "fused":
// this kernel is the default there).
#pragma once

#include <cuda.h>  // CUtensorMap

#include "bulk_copy.cuh"
#include "flash_bwd_common.cuh"
#include "flash_fwd_common.cuh"
#include "tma.cuh"
#include "wgmma.cuh"

namespace flashlab::cuda {

// Above d = 128 the two compute warpgroups share one block of 64 keys and split the columns of
// dK, dV and dQ between them: 64 keys x 256 columns of dK and dV take 256 registers per thread in
// one warpgroup, and wgmma's N (our operand lists) stops at 128. Up to d = 128 each warpgroup owns
// 64 keys of a 128-key block and every column.
constexpr bool hopper_bwd_shares_keys(int kernel_d) {
  return kernel_d > 128;
}

// Keys per thread block of the wgmma backward: two warpgroups x 64, or 64 shared by both.
constexpr int hopper_bwd_block_n(int kernel_d) {
  return hopper_bwd_shares_keys(kernel_d) ? 64 : 128;
}

// How the wgmma backward adds dQ_i into HBM. Up to d = 128 every thread adds its accumulators
// straight from registers, 16 bytes per red.v4 (a warp's 32 lanes add 512 contiguous bytes of the
// accumulator's register order). FA3's path, dQ_i written to a shared-memory buffer and added by
// one bulk reduction per warpgroup, cost a fence, two barriers of the group and a wait for the
// last reduction per iteration, and 2 x 32 KiB of shared-memory traffic (the writes, the copy
// engine's reads) beside the products' operand reads; the reductions from registers ran
// 1.045-1.060x the whole backward at d = 96 and 128 (v18, docs/performance.md). Above d = 128,
// where this is true, dQ_i goes through the stage that held Q_i and dO_i instead, by bulk
// reductions: each thread would add twice as much, where v12's float2 atomics were the largest
// stall (lg_throttle), and a buffer of its own (64 KiB at d = 256) would not fit beside K, V and
// two stages of Q and dO. Each warpgroup computes the columns of dQ_i that its dK and dV products
// read of Q_i and dO_i (kDKVCols from dkv_col0), so it writes into the halves of those two tiles
// that only it read (2 x 16 KiB, its 64 x 128 fp32), and the stage goes back to the producer once
// the reductions have read it.
constexpr bool hopper_bwd_dq_in_stage(int kernel_d) {
  return hopper_bwd_shares_keys(kernel_d);
}

// Queries per iteration of the wgmma backward: 128 at d = 64 without dropout (FA3's d = 64 tiles:
// each iteration's waits, barriers and dQ hand-off then serve twice the products; S^T, dP^T, dK
// and dV of 64 keys fit the compute warps' 240 registers), 64 elsewhere (with dropout 128 queries
// spill: 376 bytes, and still 216 with v29's lighter keep bits).
constexpr int hopper_bwd_block_m(int kernel_d, bool dropout) {
  return kernel_d == 64 && !dropout ? 128 : kBwdBlockM;
}

// The tensor maps of the TMA rung: Q and dO in boxes of Br rows, K and V of Bc rows
// (tensor_map.hpp); the cp.async kernel receives and ignores them.
struct BwdTensorMaps {
  CUtensorMap q, d_o, k, v;
};

// The TMA rungs' mbarriers: K_j and V_j landed; Q_i and dO_i of stage s landed; with a producer,
// the eight compute warps are done with stage s.
struct BwdBarriers {
  uint64_t kv_full, q_full[2], q_empty[2];
};

// kProducer: the warp-specialised rung (a third warpgroup copies; two dS^T buffers).
template <int kD, bool kDropout, bool kProducer = false>
struct HopperBwdLayout {
  static constexpr int kBlockM = hopper_bwd_block_m(kD, kDropout);  // queries per iteration
  static constexpr int kBlockN = hopper_bwd_block_n(kD);
  static constexpr bool kSharedKeys = hopper_bwd_shares_keys(kD),
                        kDQInStage = hopper_bwd_dq_in_stage(kD);
  static constexpr int kDKVCols = kSharedKeys ? kD / 2 : kD;  // columns of dK, dV per warpgroup
  // Queries of S^T and dP^T per warpgroup: all the block's, or with shared keys half of them, so
  // that the two groups do not compute the same products and exponentials; P^T then goes
  // through shared memory too (kPBuffers tiles), as dS^T does, for dV's products.
  static constexpr int kGroupQueries = kSharedKeys ? kBlockM / 2 : kBlockM;
  static constexpr int kConsumerThreads = 256;
  static constexpr int kThreads = kConsumerThreads + (kProducer ? 128 : 0);
  static constexpr int kDSBuffers = kProducer ? 2 : 1;
  static constexpr int kPBuffers = kSharedKeys ? kDSBuffers : 0;
  static constexpr int kTileQ = kBlockM * kD, kTileK = kBlockN * kD;  // elements
  static constexpr int kTileS = kBlockN * kBlockM;                    // dS^T
  static constexpr int kDQFloats = kBlockM * kD;  // dQ_i in fp32 (in HBM, one block's)
  // K, V, two stages of Q and dO, dS^T (and P^T); two stages of L_i and D_i; the TMA rungs'
  // barriers; 1 KiB to align the swizzled tiles to 1024 bytes.
  static constexpr int kBarrierOffset =
      (2 * kTileK + 4 * kTileQ + (kDSBuffers + kPBuffers) * kTileS) * 2 + 4 * kBlockM * 4;
  static constexpr int kSmemBytes = kBarrierOffset + int(sizeof(BwdBarriers)) + 1024;
  // setmaxnreg budgets, as the forward's: 128 x 24 + 256 x 240 <= 64 Ki.
  static constexpr int kProducerRegisters = 24, kConsumerRegisters = 240;
  static_assert(kD == 64 || kD == 128 || kD == 256, "dK, dV and dQ fit wgmma's N");
  static_assert(!kDQInStage || (kSharedKeys && kBlockM == 64),
                "a warpgroup's dQ_i columns are its halves of Q_i's and dO_i's tiles");
};

// kLogTiles: as in flash_bwd_kernel. kTma: the TMA rung; kProducer: the warp-specialised rung
// (see Memory above). kStoredD: the tensors' head dim where it is smaller than kD (96 on the
// d = 128 kernel: the copies, TMA or cp.async, pad the tiles with zero columns, which S^T, dP^T,
// dV and dK skip, and dK and dV keep kStoredD columns).
template <typename Elem, int kD, bool kDropout, bool kLogTiles = false, bool kTma = false,
          bool kProducer = false, int kStoredD = kD>
__global__ void __launch_bounds__(HopperBwdLayout<kD, kDropout, kProducer>::kThreads, 1)
    flash_bwd_hopper_kernel(const FlashBwdParams<Elem> p,
                            const __grid_constant__ BwdTensorMaps maps) {
#if FLASHLAB_WGMMA_ENABLED
  static_assert(!kProducer || kTma, "the producer copies by TMA");
  static_assert(kStoredD == kD || !hopper_bwd_shares_keys(kD), "padding up to d = 128 only");
  using Layout = HopperBwdLayout<kD, kDropout, kProducer>;
  constexpr int kBlockM = Layout::kBlockM, kBlockN = Layout::kBlockN;
  constexpr int kCopyThreads = Layout::kConsumerThreads;  // the threads that copy by cp.async
  constexpr int kQTiles = Layout::kGroupQueries / 8;      // 8-query tiles of this group's S^T
  // dQ_i's kBlockM x kD elements, split between the two warpgroups (bwd::dq_quad_position): by
  // columns with 64 queries, by rows with 128; each warpgroup's share is one 64-row wgmma of
  // kDQCols columns.
  constexpr int kDQCols = kBlockM * kD / 128;
  extern __shared__ unsigned char smem_raw[];
  Elem* const smem =
      reinterpret_cast<Elem*>(smem_raw + ((1024 - ptx::smem_address(smem_raw) % 1024) % 1024));
  Elem* const sK = smem;
  Elem* const sV = sK + Layout::kTileK;
  auto sQ = [&](int stage) { return sV + Layout::kTileK + stage * Layout::kTileQ; };
  auto sdO = [&](int stage) { return sV + Layout::kTileK + (2 + stage) * Layout::kTileQ; };
  Elem* const sdS = sV + Layout::kTileK + 4 * Layout::kTileQ;  // dS^T: [key][query], per buffer
  Elem* const sP = sdS + Layout::kDSBuffers * Layout::kTileS;  // P^T (with shared keys)
  float* const sStats = reinterpret_cast<float*>(sP + Layout::kPBuffers * Layout::kTileS);
  auto sL = [&](int stage) { return sStats + stage * kBlockM; };
  auto sD = [&](int stage) { return sStats + (2 + stage) * kBlockM; };
  auto k_tile = [](int r, int c) { return wgmma::swizzled_offset<kBlockN>(r, c); };
  auto q_tile = [](int r, int c) { return wgmma::swizzled_offset<kBlockM>(r, c); };

  const bwd::KeyBlock<kBlockN, kBlockM> kb(p);
  BwdBarriers* const bars = reinterpret_cast<BwdBarriers*>(reinterpret_cast<unsigned char*>(smem) +
                                                           Layout::kBarrierOffset);
  if constexpr (kTma) {
    if (threadIdx.x == 0) {
      // One arrival per tile (K and V; Q_i and dO_i); with a producer one arrival per compute
      // warp frees a stage, or with dQ_i staged in it one per warpgroup (its leader's, once the
      // group's reductions have read it).
      tma::barrier_init(&bars->kv_full, 2);
      for (int s = 0; s < 2; ++s) {
        tma::barrier_init(&bars->q_full[s], 2);
        if constexpr (kProducer)
          tma::barrier_init(&bars->q_empty[s],
                            Layout::kDQInStage ? 2 : Layout::kConsumerThreads / 32);
      }
      tma::make_barrier_inits_visible();
    }
    __syncthreads();
  }

  // The producer warpgroup: one thread copies K_j and V_j, then walks the visible query blocks
  // as the compute warps do and fills stage it % 2 with Q_i and dO_i once the compute warps
  // released it. threadIdx.x / 128 read from lane 0 so that ptxas knows it is the same
  // across the warp (as in the forward: else it serialises the consumers' wgmma, C7520).
  if constexpr (kProducer) {
    if (__shfl_sync(0xffffffffu, int(threadIdx.x) / 128, 0) == 0) {
      tma::shrink_registers<Layout::kProducerRegisters>();
      if (threadIdx.x != 0) return;
      tma::load_tile<kBlockN, kD>(sK, maps.k, &bars->kv_full, kb.col0, kb.bh);
      tma::load_tile<kBlockN, kD>(sV, maps.v, &bars->kv_full, kb.col0, kb.bh);
      int it = 0;
      for (int i = kb.template next_visible<true>(p, kb.i_begin); i < kb.n_qblocks;
           i = kb.template next_visible<true>(p, i + 1), ++it) {
        const int stage = it % 2;
        tma::wait(&bars->q_empty[stage], ((it / 2) & 1) ^ 1);
        tma::load_tile<kBlockM, kD>(sQ(stage), maps.q, &bars->q_full[stage], i * kBlockM, kb.bh);
        tma::load_tile<kBlockM, kD>(sdO(stage), maps.d_o, &bars->q_full[stage], i * kBlockM, kb.bh);
      }
      return;
    }
    tma::grow_registers<Layout::kConsumerRegisters>();
  }

  const unsigned tid = threadIdx.x - (kProducer ? 128u : 0u);  // unsigned: / and % are shifts
  const int warp = int(tid / 32), lane = int(tid % 32);
  // The warpgroup read from lane 0, so that ptxas knows it is the same across the warp (as the
  // forward's): the descriptors that depend on it can then live in uniform registers, instead of
  // moving from per-thread registers before every wgmma.
  const int group = __shfl_sync(0xffffffffu, warp / 4, 0);
  const bool group_leader = tid % 128 == 0;  // issues the group's bulk reductions (d = 256)
  // The tensors' rows are kStoredD long (the cp.async rung's copies pad them to kD, as TMA does).
  const int64_t q_off = int64_t(kb.bh) * p.seq_q * kStoredD;
  const int64_t k_off = int64_t(kb.bh) * p.seq_k * kStoredD;
  // This thread's keys are rows key_row and key_row + 8 of the block's tiles; the group's first
  // key row is group_key0, and its first column of dK and dV dkv_col0 (hopper_bwd_shares_keys).
  constexpr bool kSharedKeys = Layout::kSharedKeys;
  const int key_row = (kSharedKeys ? warp % 4 : warp) * 16 + lane / 4, key_lo = kb.col0 + key_row;
  const int group_key0 = kSharedKeys ? 0 : group * 64;
  const int dkv_col0 = kSharedKeys ? group * Layout::kDKVCols : 0;
  const int group_q0 = kSharedKeys ? group * Layout::kGroupQueries : 0;  // its first query of S^T
  // This group's named barrier (1 or 2; 0 is __syncthreads), and the compute threads' (3).
  auto group_sync = [&] {
    if (group == 0)
      ptx::named_barrier_sync<1, 128>();
    else
      ptx::named_barrier_sync<2, 128>();
  };

  auto load_query_block = [&](int i, int stage) {
    if constexpr (kTma) {
      if (threadIdx.x == 0) {
        tma::load_tile<kBlockM, kD>(sQ(stage), maps.q, &bars->q_full[stage], i * kBlockM, kb.bh);
        tma::load_tile<kBlockM, kD>(sdO(stage), maps.d_o, &bars->q_full[stage], i * kBlockM, kb.bh);
      }
    } else {
      fwd::load_tile_async<kBlockM, kStoredD, kCopyThreads, kD>(sQ(stage), p.q + q_off, i * kBlockM,
                                                                p.seq_q, q_tile);
      fwd::load_tile_async<kBlockM, kStoredD, kCopyThreads, kD>(sdO(stage), p.d_o + q_off,
                                                                i * kBlockM, p.seq_q, q_tile);
    }
    kb.load_row_stats_async(p, i, sL(stage), sD(stage), int(tid));
  };

  // K_j, V_j (FA1 Alg. 4 l. 7) and the first visible Q_i, dO_i, L_i, D_i (FA1 Alg. 4 l. 10),
  // unless the producer copies them.
  int i = kb.template next_visible<kProducer>(p, kb.i_begin);
  if constexpr (!kProducer) {
    if constexpr (kTma) {
      if (threadIdx.x == 0) {
        tma::load_tile<kBlockN, kD>(sK, maps.k, &bars->kv_full, kb.col0, kb.bh);
        tma::load_tile<kBlockN, kD>(sV, maps.v, &bars->kv_full, kb.col0, kb.bh);
      }
    } else {
      fwd::load_tile_async<kBlockN, kStoredD, kCopyThreads, kD>(sK, p.k + k_off, kb.col0, p.seq_k,
                                                                k_tile);
      fwd::load_tile_async<kBlockN, kStoredD, kCopyThreads, kD>(sV, p.v + k_off, kb.col0, p.seq_k,
                                                                k_tile);
    }
    if (i < kb.n_qblocks) load_query_block(i, 0);
    ptx::cp_async_commit();
  } else if (i < kb.n_qblocks) {
    // The compute threads copy L_i and D_i themselves (cp.async, 512 bytes), each block's during
    // the one before it, resident for all of them after the next barrier of the 256.
    kb.load_row_stats_async(p, i, sL(0), sD(0), int(tid));
    ptx::cp_async_commit();
    ptx::cp_async_wait<0>();
    ptx::named_barrier_sync<3, Layout::kConsumerThreads>();
  }

  // Descriptors of the tiles, built once (wgmma::advance steps through them). K-major: K and V
  // (this group's 64 keys) as A of S^T and dP^T, Q and dO (this group's queries) as their B; with
  // shared keys P^T and dS^T as A of dV and dK. MN-major (panel stride of the tile as leading
  // byte offset): dO and Q as B of dV and dK, dS^T and K for dQ.
  const uint64_t k_desc = wgmma::descriptor(sK + k_tile(group_key0, 0));
  const uint64_t v_desc = wgmma::descriptor(sV + k_tile(group_key0, 0));
  const uint64_t q_desc = wgmma::descriptor(sQ(0) + q_tile(group_q0, 0));
  const uint64_t do_desc = wgmma::descriptor(sdO(0) + q_tile(group_q0, 0));
  const uint64_t p_desc = wgmma::descriptor(sP), ds_desc = wgmma::descriptor(sdS);
  const uint64_t q_desc_mn = wgmma::descriptor(sQ(0), kBlockM * 128);
  const uint64_t do_desc_mn = wgmma::descriptor(sdO(0), kBlockM * 128);
  // dQ: this warpgroup's queries of dS (columns of dS^T: all 64, or 64 of 128) and its columns
  // of K (half of them, or all).
  const uint64_t ds_desc_mn =
      wgmma::descriptor(kBlockM == 128 ? sdS + k_tile(0, 64 * group) : sdS, kBlockN * 128);
  const uint64_t k_desc_mn =
      wgmma::descriptor(sK + k_tile(0, kBlockM == 128 ? 0 : group * kDQCols), kBlockN * 128);

  // acc = A B^T over the head dim, 16 columns per wgmma, as one group: A = this group's 64 keys of
  // K_j or V_j, B = its queries of Q_i or dO_i (its stage's descriptor).
  auto keys_times_queries = [&](float(&acc)[kQTiles][4], uint64_t a_desc, uint64_t b_desc) {
#pragma unroll
    for (int kk = 0; kk < kStoredD / 16; ++kk)  // the zero columns past kStoredD add nothing
      wgmma::mma_ss<Elem, Layout::kGroupQueries>(acc, wgmma::advance(a_desc, k_tile(0, 16 * kk)),
                                                 wgmma::advance(b_desc, q_tile(0, 16 * kk)),
                                                 kk > 0);
    wgmma::commit();
  };

  // FA1 Alg. 4 l. 8; with padded tiles only the kStoredD columns that are not zero.
  constexpr int kDKVCols = kStoredD < kD ? kStoredD : Layout::kDKVCols;
  float dK[kDKVCols / 8][4] = {}, dV[kDKVCols / 8][4] = {};
  for (int it = 0; i < kb.n_qblocks; ++it) {  // FA1 Alg. 4 l. 9, visible blocks only
    const int stage = it % 2, row0 = i * kBlockM;
    const int stage_offset = stage * Layout::kTileQ;  // from stage 0 of Q or dO
    const int ds_buffer = it % Layout::kDSBuffers;
    if constexpr (kProducer) {
      if (it == 0) tma::wait(&bars->kv_full, 0);
      tma::wait(&bars->q_full[stage], (it / 2) & 1);  // Q_i, dO_i resident
    } else {
      // With dQ_i staged in the stage of Q_i and dO_i (d = 256), the last iteration's bulk
      // reductions must have read the other stage before it is refilled below.
      if constexpr (Layout::kDQInStage)
        if (group_leader) ptx::bulk_wait_all<true>();
      ptx::cp_async_wait<0>();
      wgmma::fence_shared_for_async_proxy();
      __syncthreads();  // Q_i, dO_i, L_i, D_i resident; every warp is through iteration it - 1
      if constexpr (kTma) {
        if (it == 0) tma::wait(&bars->kv_full, 0);
        tma::wait(&bars->q_full[stage], (it / 2) & 1);
      }
    }
    const int i_next = kb.template next_visible<kProducer>(p, i + 1);
    if (i_next < kb.n_qblocks) {
      if constexpr (kProducer)  // the other stage's readers all passed the last barrier of the 256
        kb.load_row_stats_async(p, i_next, sL(1 - stage), sD(1 - stage), int(tid));
      else
        load_query_block(i_next, 1 - stage);
      ptx::cp_async_commit();
    }

    // S^T = K_j Q_i^T, then dP^T = V_j dO_i^T (FA1 Alg. 4 l. 11, 17), each its own group: this
    // group's queries of the block (all, or with shared keys its half from group_q0).
    float ST[kQTiles][4], dPT[kQTiles][4];
    wgmma::fence();
    keys_times_queries(ST, k_desc, wgmma::advance(q_desc, stage_offset));
    keys_times_queries(dPT, v_desc, wgmma::advance(do_desc, stage_offset));
    if constexpr (Layout::kDQInStage && kProducer) {
      // The last iteration's dQ_i reductions read the other stage while the products above were
      // issued: once they are done reading, that stage is the producer's.
      if (group_leader && it > 0) {
        ptx::bulk_wait_all<true>();
        tma::arrive(&bars->q_empty[1 - stage]);
      }
    }
    const int q_row0 = row0 + group_q0;  // this group's first query
    // Dropout's keep bits need only the tile's position: the Philox calls run while the tensor
    // cores compute S^T and dP^T (pinned here, else ptxas sinks them below the waits).
    KeepBits<kQTiles> keep;
    if constexpr (kDropout) {
      keep = bwd::dropout_keep_bits_transposed<kQTiles>(p.dropout, kb.batch, kb.head, key_lo,
                                                        q_row0, lane);
      wgmma::pin(keep.word);
    }
    wgmma::wait<1>();
    wgmma::pin(ST);
    bwd::recompute_p(ST, p, sL(stage) + group_q0, lane);  // FA1 Alg. 4 l. 13
    const bool element_mask = kb.needs_element_mask(p, i);
    if constexpr (kLogTiles) kb.log_tile(p, i, element_mask, tid == 0);
    if (element_mask) bwd::mask_p(ST, p, key_lo, q_row0, lane);  // FA1 Alg. 4 l. 12
    wgmma::pin(ST);  // keeps the exponentials ahead of the wait, overlapping dP^T
    wgmma::wait<0>();
    wgmma::pin(dPT);
    // Dropout and dS^T (FA1 Alg. 4 l. 14–15, 18, 20).
    bwd::dropout_and_ds(ST, dPT, keep, kDropout, p.keep_scale, sD(stage) + group_q0, lane);

    // dV_j += (P ∘ Z)^T dO_i and dK_j += dS^T Q_i (FA1 Alg. 4 l. 16, 22), B MN-major (d / 64
    // panels; this group's columns from dkv_col0), over the 16-query steps of the group's own
    // queries with A from registers, issued here to run while dS^T goes to shared memory; with
    // shared keys the other group's queries follow from shared memory (below), once its halves
    // of P^T and dS^T are there.
    // kDKAfterDQ: dK's products are issued after dQ's instead (below), so that dQ_i's hand-off
    // to HBM runs while the tensor cores compute them rather than after they drained (measured
    // 1.01-1.04x at d = 96 and 128 in v16, when the hand-off was the buffer and the bulk
    // reduction; half of them after dQ's: 0.98-1.00x of that; with v18's vector reductions,
    // dK's products first ran 0.955-0.971x in v19, bench/results/v19_h200/dk_order_ab). The
    // stage of Q_i then goes back to the producer at the end of the iteration. Only with a
    // producer at d = 96 and 128 without dropout: at d = 64 (128 queries) ptxas serialises the
    // wgmma for want of registers (C7512), with dropout it spills (144 bytes; still 28 with
    // v29's lighter keep bits).
    constexpr bool kDKAfterDQ = kProducer && !kSharedKeys && kBlockM == 64 && !kDropout;
    constexpr int kOwnSteps = Layout::kGroupQueries / 16;
    // step(kk, B) for the 16-query steps from q0, B = this group's columns of dO_i or Q_i.
    auto query_steps = [&](int q0, uint64_t b_desc_mn, auto&& step) {
#pragma unroll
      for (int kk = 0; kk < kOwnSteps; ++kk)
        step(kk, wgmma::advance(b_desc_mn, stage_offset + q_tile(q0 + 16 * kk, dkv_col0)));
    };
    uint32_t aP[kOwnSteps][4], adS[kOwnSteps][4];
#pragma unroll
    for (int kk = 0; kk < kOwnSteps; ++kk) {
      bwd::a_fragment<Elem>(ST, kk, aP[kk]);
      bwd::a_fragment<Elem>(dPT, kk, adS[kk]);
    }
    auto own_dk_products = [&] {
      query_steps(group_q0, q_desc_mn, [&](int kk, uint64_t b) {
        wgmma::mma_rs_columns<Elem, kDKVCols>(dK, adS[kk], b, kBlockM * 64);
      });
    };
    wgmma::fence();
    query_steps(group_q0, do_desc_mn, [&](int kk, uint64_t b) {
      wgmma::mma_rs_columns<Elem, kDKVCols>(dV, aP[kk], b, kBlockM * 64);
    });
    if constexpr (!kDKAfterDQ) own_dk_products();
    wgmma::commit();

    // dS^T (and with shared keys P^T) to shared memory: rows = keys, 16-bit pairs of consecutive
    // queries, this group's from group_q0. The products that last read this buffer are done:
    // without a producer, the barrier at the top says so; with one (two buffers), the barrier
    // below of the previous iteration, which both groups reach only after their dQ of the
    // iteration before.
    auto store_transposed = [&](Elem* tile, const float(&acc)[kQTiles][4]) {
#pragma unroll
      for (int t = 0; t < kQTiles; ++t) {
        const int q = group_q0 + t * 8 + (lane % 4) * 2;
        *reinterpret_cast<uint32_t*>(tile + k_tile(key_row, q)) =
            ptx::pack2<Elem>(acc[t][0], acc[t][1]);
        *reinterpret_cast<uint32_t*>(tile + k_tile(key_row + 8, q)) =
            ptx::pack2<Elem>(acc[t][2], acc[t][3]);
      }
    };
    store_transposed(sdS + ds_buffer * Layout::kTileS, dPT);
    if constexpr (kSharedKeys) store_transposed(sP + ds_buffer * Layout::kTileS, ST);
    wgmma::fence_shared_for_async_proxy();
    if constexpr (kProducer) {
      ptx::cp_async_wait<0>();  // L and D of the next block: resident after the barrier
      ptx::named_barrier_sync<3, Layout::kConsumerThreads>();  // all of dS^T is written
    } else {
      __syncthreads();  // all of dS^T is written
    }
    if constexpr (kSharedKeys) {
      // The other group's queries: A = its halves of P^T and dS^T, K-major.
      const int other_q0 = Layout::kGroupQueries - group_q0;
      auto a_desc = [&](uint64_t desc, int kk) {
        return wgmma::advance(desc, ds_buffer * Layout::kTileS + k_tile(0, other_q0 + 16 * kk));
      };
      wgmma::fence();
      query_steps(other_q0, do_desc_mn, [&](int kk, uint64_t b) {
        wgmma::mma_ss<Elem, Layout::kDKVCols, false, true>(dV, a_desc(p_desc, kk), b, 1);
      });
      query_steps(other_q0, q_desc_mn, [&](int kk, uint64_t b) {
        wgmma::mma_ss<Elem, Layout::kDKVCols, false, true>(dK, a_desc(ds_desc, kk), b, 1);
      });
      wgmma::commit();
    }

    // This warpgroup's share of dQ_i = dS_ij K_j (FA1 Alg. 4 l. 21), 64 queries from dq_row0 by
    // kDQCols columns from dq_col0: A = dS (queries x keys) read from dS^T, B = K_j, both
    // MN-major; 16 keys per wgmma.
    float dQ[kDQCols / 8][4];
    wgmma::fence();
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk)
      wgmma::mma_ss<Elem, kDQCols, true>(
          dQ, wgmma::advance(ds_desc_mn, ds_buffer * Layout::kTileS + k_tile(16 * kk, 0)),
          wgmma::advance(k_desc_mn, k_tile(16 * kk, 0)), kk > 0);
    wgmma::commit();
    if constexpr (kDKAfterDQ) {
      own_dk_products();
      wgmma::commit();
      wgmma::wait<1>();  // dQ_i; dK's products run on during its hand-off below
    } else {
      wgmma::wait<0>();
      wgmma::pin(adS);
    }
    wgmma::pin(dQ);
    wgmma::pin(aP);               // the products have read them
    if constexpr (kSharedKeys) {  // the other group's dV and dK products were issued with dQ's
      wgmma::pin(dV);
      wgmma::pin(dK);
    }
    // This warpgroup's share of dQ_i into the accumulator of block i, kept in register order
    // (bwd::dq_quad_position): 16 queries x kDQCols per warp, one float4 per lane for each 8
    // columns.
    constexpr int kWarpFloats = 16 * kDQCols;
    float* const dq_dst = p.dq_accum +
                          (int64_t(kb.bh) * (p.padded_q / kBlockM) + i) * Layout::kDQFloats +
                          group * 4 * kWarpFloats;
    if constexpr (!Layout::kDQInStage) {  // from registers
      // dV and dK have read Q_i and dO_i: the stage's Q and dO are the producer's (with
      // kDKAfterDQ once dK's products are done, at the end of the iteration).
      if (kProducer && !kDKAfterDQ && lane == 0) tma::arrive(&bars->q_empty[stage]);
      // With dropout the group's barrier orders nothing here; it keeps ptxas from moving code
      // across (without it the d = 128 kernel spills 128 bytes, v18).
      if constexpr (kDropout) group_sync();
      float* const dq_thread = dq_dst + warp % 4 * kWarpFloats + lane * 4;
#pragma unroll
      for (int v = 0; v < kDQCols / 8; ++v) {
        // Padded tiles: the columns past kStoredD (warpgroup 1's last 32) are zero; the
        // accumulator's stay as the memset left them.
        if (kStoredD < kD && group * kDQCols + v * 8 >= kStoredD) continue;
        ptx::red_add_f32x4(dq_thread + v * 128,
                           make_float4(dQ[v][0], dQ[v][1], dQ[v][2], dQ[v][3]));
      }
    } else {
      // Into the stage that held Q_i and dO_i once every warp of the group is through its dK and
      // dV products, which read the halves it overwrites: warps 0, 1 of the group into its half of
      // Q_i's tile, warps 2, 3 into its half of dO_i's; then the group's leader adds both halves
      // by two bulk reductions.
      constexpr int kPieceFloats = 2 * kWarpFloats;
      auto dq_piece = [&](int piece) -> float* {
        return reinterpret_cast<float*>((piece == 0 ? sQ(stage) : sdO(stage)) +
                                        group * Layout::kTileQ / 2);
      };
      group_sync();
      float4* const sdQ_thread =
          reinterpret_cast<float4*>(dq_piece(warp % 4 / 2) + warp % 2 * kWarpFloats) + lane;
#pragma unroll
      for (int v = 0; v < kDQCols / 8; ++v)
        sdQ_thread[v * 32] = make_float4(dQ[v][0], dQ[v][1], dQ[v][2], dQ[v][3]);
      wgmma::fence_shared_for_async_proxy();
      group_sync();
      if (group_leader) {
#pragma unroll
        for (int piece = 0; piece < 2; ++piece)
          ptx::bulk_reduce_add_f32(dq_dst + piece * kPieceFloats, dq_piece(piece),
                                   kPieceFloats * 4);
        ptx::bulk_commit();
      }
    }
    if constexpr (kDKAfterDQ) {
      wgmma::wait<0>();
      wgmma::pin(dK);
      wgmma::pin(adS);
      if (lane == 0) tma::arrive(&bars->q_empty[stage]);  // dK has read Q_i: the stage is free
    }
    i = i_next;
  }
  if constexpr (Layout::kDQInStage)
    if (group_leader) ptx::bulk_wait_all<false>();
  ptx::cp_async_wait<0>();  // K_j, V_j copies are complete even if no query block was visible
  if constexpr (kTma) tma::wait(&bars->kv_full, 0);
  bwd::store_dk_dv<Elem, kD, kDKVCols, kStoredD>(dK, dV, p, kb.bh, key_lo, dkv_col0,
                                                 lane);  // FA1 Alg. 4 l. 24
#endif
}

}  // namespace flashlab::cuda
