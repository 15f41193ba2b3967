// The fused forward on Hopper's warpgroup tensor-core instructions (wgmma, sm_90a): the same
// algorithm and loop order as flash_fwd_kernel.cuh (FA2 Alg. 1), with the two matrix products
// issued asynchronously so that the softmax of one warpgroup overlaps products (FA3 §3.1-3.2).
//
// Map to the paper:
//   grid.x = query block i (Br = 128 rows, FA2 Alg. 1 l. 3), grid.y = (batch, head);
//   loop j = key blocks (Bc rows, FA2 Alg. 1 l. 6).
//   Two compute warpgroups per block, 64 query rows each; every warp holds its 16 rows of S_ij,
//   P_ij and O_i in registers, in the mma accumulator layout (fwd_softmax.cuh).
// Memory: Q_i and two stages each of K_j and V_j in shared memory, 128-byte swizzled
// (wgmma.cuh), filled by cp.async or, from the Tma rung on, by the TMA engine (tma.cuh); wgmma
// reads Q and K straight from shared memory for S = Q K^T, and P from registers with V from
// shared memory for O += P V. From the WarpSpecialized rung on, a third warpgroup only issues
// the copies (FwdRung below).
//
// Iteration j issues S_j = Q_i K_j^T and O_i += P_{j-1} V_{j-1} back to back, waits for S_j only,
// and runs the softmax of S_j (mask, max, exp, row sums, dropout) while the tensor cores still
// work on P_{j-1} V_{j-1} (FA3 §3.2, intra-warpgroup overlap). Then it waits for the product,
// rescales O_i by e^{m_{j-1} - m_j} and keeps P_j for the next iteration; the last P V follows
// the loop. The two warpgroups take turns issuing their products (FA3 §3.1, pingpong).
// That is the source's order. In the binary (CUDA 13.0), ptxas moves the wait for P V above the
// softmax in every kernel without dropout, so there the softmax starts once P V is done and runs
// under the other warpgroup's products only (bench/sass_waits.py shows where the waits sit).
// Keeping the softmax ahead of that wait measured 0.93-0.98x at d = 64 and 0.99-1.02x at
// d = 128 on the default rungs, and is not done (docs/performance.md, "v22"). From the KeptMax
// rung on the source waits there too: the softmax keeps the running max m while the tile's
// scores stay within 2^8 of it in P~, so the exponentials need neither the row maxima first nor
// a rescale of O_i after (FA4's conditional rescale; 1.03-1.20x, docs/performance.md "v26").
// With dropout, the keep bits of the tile (dropout_bits.cuh) are drawn while S_ij is computed,
// before any wait (docs/performance.md "v28").
//
// Shared-memory stages: iteration j (in order of visited blocks) reads K slot j%2 and V slot
// (j-1)%2. Without a producer its first barrier proves every warp finished iteration j-1, so it
// then copies V_j into V slot j%2 (last read by P_{j-2} V_{j-2}) and K_{j+1} into K slot (j+1)%2
// (last read by S_{j-1}): each copy has a whole iteration to land. With a producer, mbarriers
// replace that barrier: each warp releases a stage as soon as the product that read it is done.
//
// Test: tests/gpu/flash_forward_test.cpp (accuracy, every rung), tests/gpu/tile_skip_test.cpp
// (skipped tiles). Benchmark: build/gpu/bench/flashlab-gpu-bench --dims 64,128 on an H100 or
// H200 (rows "fused": this kernel is the default there); --ladder times every rung.
#pragma once

#include <cuda.h>  // CUtensorMap

#include <type_traits>

#include "bulk_copy.cuh"
#include "flash_fwd_common.cuh"
#include "fwd_epilogue.cuh"
#include "fwd_softmax.cuh"
#include "pingpong.cuh"
#include "tma.cuh"
#include "wgmma.cuh"

namespace flashlab::cuda {

// The rungs of the forward's ladder (docs/performance.md, "The ladder"), each adding one
// technique to the rung below; every rung is this one kernel with the techniques above it
// switched off at compile time.
//   Serial:   the softmax of S_j waits for both products in flight; cp.async copies.
//   Pingpong: the two warpgroups take turns to issue their products (FA3 §3.1).
//   Overlap:  the softmax of S_j is issued before the wait for P_{j-1} V_{j-1} (FA3 §3.2);
//             without dropout ptxas moves that wait above it (see the top of this file).
//   KeptMax:  the softmax keeps its running max (and O_i unscaled) until a score passes it by
//             2^8 in P~ (FA4's conditional rescale, fwd::softmax_update_kept_max): the
//             exponentials no longer wait for the row maxima, and O_i's rescale is gone. It
//             waits for P V before the softmax (where ptxas put the wait above), so that the
//             exponentials go straight into P's registers. Dropout follows the exponentials
//             (the row sums before it, FA1 Alg. 2 l. 14).
//   Tma:      one thread hands each tile to the copy engine (tma.cuh); mbarriers, not cp.async
//             waits, say when it has landed.
//   WarpSpecialized: a producer warpgroup issues every copy into a two-stage mbarrier pipeline
//             and gives its registers to the two consumer warpgroups (setmaxnreg, FA3 §3.1); the
//             consumers never wait for a whole block at __syncthreads.
//   Persistent: one thread block per SM loops over (query block, head) work units, heaviest
//             causal blocks first, in a static order (FwdUnits::static_unit); the producer loads
//             the next unit's Q and K while the consumers finish the current one.
//   PersistentDynamic: the same, each unit drawn from a counter in HBM (FA3's tile scheduler).
enum class FwdRung {
  Serial,
  Pingpong,
  Overlap,
  KeptMax,
  Tma,
  WarpSpecialized,
  Persistent,
  PersistentDynamic
};

// The tensor maps of Q (boxes of kBlockM query rows), K and V (boxes of kBlockN key rows) and O
// (boxes of 64 rows, one warpgroup's), built on the host for the TMA rungs (tensor_map.hpp); the
// cp.async rungs receive and ignore them.
struct FwdTensorMaps {
  CUtensorMap q, k, v, o;
};

// The mbarriers of the TMA rungs: a tile is "full" when its bytes have landed, "empty" when the
// eight consumer warps are done with it (the producer waits for that before refilling; the rung
// without a producer uses __syncthreads instead). K_j and V_j share stage n % 2, n counting the
// visible key blocks the thread block has processed.
struct FwdBarriers {
  uint64_t q_full, q_empty, k_full[2], k_empty[2], v_full[2], v_empty[2];
  int unit;  // PersistentDynamic: the unit the producer claimed this round (kUnitFull publishes)
};

// The persistent rung hands each claimed unit from the producer's first warp to the consumers
// through `FwdBarriers::unit` between two named barriers (racecheck follows those, not a hand-off
// ordered by mbarriers): kUnitFull, the unit is written (the producer warp arrives, the consumers
// wait); kUnitEmpty, every consumer has read it (the consumers arrive, the producer warp waits
// before it writes the next). 1-2 take the pingpong turns, 4-5 the epilogues.
constexpr int kUnitFull = 7, kUnitEmpty = 8;

// Two consumer warpgroups of 64 query rows each (a third, FA3's d = 64 layout, measured
// 0.90-0.95x of two with 128 keys, warp-specialised: docs/performance.md).
template <int kD, int kBlockN, FwdRung kRung = FwdRung::Overlap>
struct HopperFwdLayout {
  static constexpr bool kTma = kRung >= FwdRung::Tma;
  static constexpr bool kProducer = kRung >= FwdRung::WarpSpecialized;
  static constexpr int kBlockM = 128;
  static constexpr int kConsumerThreads = 256;
  static constexpr int kThreads = kConsumerThreads + (kProducer ? 128 : 0);
  static constexpr int kTileQ = kBlockM * kD, kTileKV = kBlockN * kD;  // elements
  // O_i staged for its TMA store (the TMA rungs): its own buffer, as the producer may already be
  // copying the next unit's Q_i into Q's.
  // At d = 256 Q and two stages of K and V take 192 KiB: O_i leaves from registers there.
  static constexpr bool kStoreByTma = kTma && kD <= 128;
  static constexpr int kTileO = kStoreByTma ? kBlockM * kD : 0;
  // Q, two K stages, two V stages, O, then the barriers; 1 KiB to align the swizzled tiles to 1024.
  static constexpr int kTileBytes = (kTileQ + 4 * kTileKV + kTileO) * 2;
  static constexpr int kSmemBytes = kTileBytes + int(sizeof(FwdBarriers)) + 1024;
  // setmaxnreg budgets (FA3's): 128 x 24 + 256 x 240 <= 64 Ki. The dynamic scheduler's producer
  // also claims units (an atomicAdd), which spilled at 24: it takes 32 and the consumers 232 (no
  // spill either), 128 x 32 + 256 x 232 <= 64 Ki.
  static constexpr bool kClaims = kRung == FwdRung::PersistentDynamic;
  static constexpr int kProducerRegisters = kClaims ? 32 : 24;
  static constexpr int kConsumerRegisters = kClaims ? 232 : 240;
  // The threads of a claimed unit's hand-off (kUnitFull, kUnitEmpty): the consumers and the
  // producer's first warp.
  static constexpr int kHandOffThreads = kConsumerThreads + 32;
  static_assert(kD % 64 == 0, "the 128-byte swizzle needs whole 64-column panels");
  static_assert(kBlockN == 64 || kBlockN == 128 || kBlockN == 160,
                "S_ij is one wgmma: instantiate mma_ss for this N");
};

// The work units of the persistent rungs, in rounds of one unit per thread block. Persistent walks
// them in a static order (static_unit); PersistentDynamic takes them one at a time from a counter
// in HBM (a dynamic tile scheduler, FA3's): the producer of a thread block claims the next unit
// when its consumers are done with the last one's Q, so a block that drew a light causal unit
// draws again sooner and no static order decides the last wave.
//   Order of the units: every query block of one head, the last (the longest causal rows) first,
//   before the next head, so that the units running at once share their head's K and V in the L2
//   (walking every head of one query block first measured DRAM at 82 % of its throughput
//   against 11 %, docs/performance.md). Static walks measured: a plain stride 0.62x at d = 64,
//   N = 2048, causal (132 SMs, a multiple of its 11 query blocks), a snake 0.93-1.06x
//   (bench/results/v8_h200).
// Stateless (read from the launch parameters when needed): registers are the consumers' limit.
template <typename Elem, int kD, int kBlockM, int kBlockN>
struct FwdUnits {
  static __device__ int query_blocks(const FlashFwdParams<Elem>& p) {
    return (p.seq_q + kBlockM - 1) / kBlockM;
  }
  static __device__ int count(const FlashFwdParams<Elem>& p) {
    return query_blocks(p) * p.batch_heads;
  }
  // The static walk: thread block b takes the round's b-th unit, or in odd rounds its
  // (gridDim.x-1-b)-th (a snake), so that a block that took a heavy causal unit takes a light one
  // next; a plain stride gives block b the same query block every round wherever gridDim.x is a
  // multiple of the query blocks (measured 0.62x at d = 64, N = 2048, causal). Only the last
  // round can be short, so the first unit past the end ends the walk.
  static __device__ int static_unit(int round) {
    const int b = int(blockIdx.x), n = int(gridDim.x);
    return round * n + ((round & 1) ? n - 1 - b : b);
  }
  static __device__ fwd::QueryBlock<Elem, kD, kBlockM, kBlockN> block(const FlashFwdParams<Elem>& p,
                                                                      int unit) {
    const int blocks = query_blocks(p);
    return fwd::QueryBlock<Elem, kD, kBlockM, kBlockN>(p, blocks - 1 - unit % blocks,
                                                       unit / blocks);
  }
};

// d = 64 without a producer asks for two resident blocks (<= 128 registers; dropout's Philox
// state would spill), d = 128 needs up to 255 registers for O and S. kLogTiles: as in
// flash_fwd_kernel. kRung: the techniques built in (FwdRung); the production kernel is
// fwd_production_rung (flash_fwd.cu). kStoredD: the tensors' head dim where it is smaller than
// kD (96 on the d = 128 kernel: the copies, TMA or cp.async, pad the tiles with zero columns,
// which S = Q K^T and P V skip, and O_i keeps kStoredD columns).
template <typename Elem, int kD, int kBlockN, bool kDropout, bool kLogTiles, FwdRung kRung,
          int kStoredD = kD>
__global__ void __launch_bounds__(HopperFwdLayout<kD, kBlockN, kRung>::kThreads,
                                  kD <= 64 && !kDropout && kRung < FwdRung::WarpSpecialized ? 2 : 1)
    flash_fwd_hopper_kernel(const FlashFwdParams<Elem> p,
                            const __grid_constant__ FwdTensorMaps maps) {
#if FLASHLAB_WGMMA_ENABLED
  using Layout = HopperFwdLayout<kD, kBlockN, kRung>;
  constexpr bool kPingpong = kRung >= FwdRung::Pingpong, kOverlap = kRung >= FwdRung::Overlap;
  constexpr bool kTma = Layout::kTma, kProducer = Layout::kProducer;
  constexpr bool kPersistent = kRung >= FwdRung::Persistent;
  constexpr bool kKeptMax = kRung >= FwdRung::KeptMax;
  constexpr int kBlockM = Layout::kBlockM, kConsumers = Layout::kConsumerThreads;
  constexpr int kNTiles = kBlockN / 8, kDTiles = kStoredD / 8, kPSteps = kBlockN / 16;
  extern __shared__ unsigned char smem_raw[];
  unsigned char* const smem_base = smem_raw + ((1024 - ptx::smem_address(smem_raw) % 1024) % 1024);
  Elem* const sQ = reinterpret_cast<Elem*>(smem_base);
  auto sK = [&](int slot) { return sQ + Layout::kTileQ + slot * Layout::kTileKV; };
  auto sV = [&](int slot) { return sQ + Layout::kTileQ + (2 + slot) * Layout::kTileKV; };
  Elem* const sO = sQ + Layout::kTileQ + 4 * Layout::kTileKV;  // warpgroup g's 64 rows at g 64 kD
  auto q_tile = [](int r, int c) { return wgmma::swizzled_offset<kBlockM>(r, c); };
  auto kv_tile = [](int r, int c) { return wgmma::swizzled_offset<kBlockN>(r, c); };
  FwdBarriers* const bars = reinterpret_cast<FwdBarriers*>(smem_base + Layout::kTileBytes);
  // The tensors' rows are kStoredD long: the query block's pointers step by it.
  using Block = fwd::QueryBlock<Elem, kStoredD, kBlockM, kBlockN>;
  using Units = FwdUnits<Elem, kStoredD, kBlockM, kBlockN>;

  if constexpr (kTma) {
    if (threadIdx.x == 0) {
      tma::barrier_init(&bars->q_full, 1);
      tma::barrier_init(&bars->q_empty, kConsumers / 32);
      for (int s = 0; s < 2; ++s) {
        tma::barrier_init(&bars->k_full[s], 1);
        tma::barrier_init(&bars->v_full[s], 1);
        tma::barrier_init(&bars->k_empty[s], kConsumers / 32);
        tma::barrier_init(&bars->v_empty[s], kConsumers / 32);
      }
      tma::make_barrier_inits_visible();
      tma::prefetch_map(&maps.q);
      tma::prefetch_map(&maps.k);
      tma::prefetch_map(&maps.v);
    }
    __syncthreads();
  }

  // The producer warpgroup (FA3 §3.1): one thread walks the same units and key blocks as the
  // consumers and keeps the two stages full: Q, K_0, then K_{j+1} before V_j, the order in which
  // the consumers use them. Each refill waits until the eight consumer warps released the stage.
  // With a producer, threadIdx.x / 128 read from lane 0: ptxas then knows it is the same across
  // the warp, and keeps the consumers' wgmma out of a "divergent path" (else it serialises them,
  // C7520).
  const int warpgroup =
      kProducer ? __shfl_sync(0xffffffffu, int(threadIdx.x) / 128, 0) : int(threadIdx.x) / 128;
  if constexpr (kProducer) {
    if (warpgroup == 0) {
      tma::shrink_registers<Layout::kProducerRegisters>();
      // One thread copies; with the dynamic scheduler its whole warp takes part in the hand-off
      // of each unit (named barriers count whole warps).
      if (threadIdx.x >= (Layout::kClaims ? 32u : 1u)) return;
      int n = 0;  // visible key blocks loaded so far (stage n % 2, its (n / 2)-th fill)
      // Q_i of one unit (its buffer is free), then its visible K_j and V_j.
      auto load_unit = [&](const Block& qb) {
        tma::load_tile<kBlockM, kD>(sQ, maps.q, &bars->q_full, qb.row0, qb.bh);
        auto load_kv = [&](const CUtensorMap& map, Elem* stage, uint64_t* full, uint64_t* empty,
                           int j, int index) {
          tma::wait(empty, ((index / 2) & 1) ^ 1);
          tma::load_tile<kBlockN, kD>(stage, map, full, j * kBlockN, qb.bh);
        };
        int j = qb.template next_visible<kProducer>(p, 0);
        if (j < qb.j_end)
          load_kv(maps.k, sK(n % 2), &bars->k_full[n % 2], &bars->k_empty[n % 2], j, n);
        for (; j < qb.j_end; ++n) {
          const int j_next = qb.template next_visible<kProducer>(p, j + 1);
          if (j_next < qb.j_end)
            load_kv(maps.k, sK((n + 1) % 2), &bars->k_full[(n + 1) % 2],
                    &bars->k_empty[(n + 1) % 2], j_next, n + 1);
          load_kv(maps.v, sV(n % 2), &bars->v_full[n % 2], &bars->v_empty[n % 2], j, n);
          j = j_next;
        }
      };
      if constexpr (Layout::kClaims) {
        // Claims units until they run out: lane 0 takes the next from the counter once the
        // consumers are done with the last one's Q, writes it where they read it once they read
        // the last, and copies its tiles. The claim past the end tells them to stop.
        for (int round = 0;; ++round) {
          int unit = 0;
          if (threadIdx.x == 0) {
            tma::wait(&bars->q_empty, (round & 1) ^ 1);  // the consumers are done with Q
            unit = atomicAdd(p.work_counter, 1);
          }
          __syncwarp();
          if (round > 0) ptx::named_barrier_sync<kUnitEmpty, Layout::kHandOffThreads>();
          if (threadIdx.x == 0) bars->unit = unit;
          ptx::named_barrier_arrive<kUnitFull, Layout::kHandOffThreads>();
          unit = __shfl_sync(0xffffffffu, unit, 0);
          if (unit >= Units::count(p)) break;
          if (threadIdx.x == 0) load_unit(Units::block(p, unit));
          __syncwarp();
        }
      } else if constexpr (kPersistent) {
        for (int round = 0; Units::static_unit(round) < Units::count(p); ++round) {
          tma::wait(&bars->q_empty, (round & 1) ^ 1);  // the consumers are done with Q
          load_unit(Units::block(p, Units::static_unit(round)));
        }
      } else {
        load_unit(Block(p));  // Q's first fill: no wait
      }
      return;
    }
    tma::grow_registers<Layout::kConsumerRegisters>();
  }

  const unsigned tid = threadIdx.x - (kProducer ? 128u : 0u);  // unsigned: / and % are shifts
  const int warp = int(tid / 32), lane = int(tid % 32), group = warpgroup - (kProducer ? 1 : 0);
  const bool group_leader = tid % 128 == 0;  // issues the warpgroup's TMA store of O_i
  // The warpgroup's own named barrier for the epilogue: 4 + group (1 and 2 take the turns).
  auto epilogue_sync = [&] { group_barrier_sync<4, 128>(group); };
  // Pingpong (FA3 §3.1, pingpong.cuh): the warpgroups take turns to issue their products.
  auto wait_turn = [&] {
    if constexpr (kPingpong) pingpong::wait_turn(group);
  };
  auto pass_turn = [&] {
    if constexpr (kPingpong) pingpong::pass_turn(group);
  };
  // A consumer warp is done with the stage `empty` guards (only the producer waits for it).
  auto release = [&](uint64_t* empty) {
    if constexpr (kProducer)
      if (lane == 0) tma::arrive(empty);
  };
  // The copies the consumers issue themselves on the rungs without a producer: cp.async by every
  // thread, or one TMA per tile by thread 0.
  auto load_own = [&](Elem* smem, const Elem* gmem, const CUtensorMap& map, uint64_t* full,
                      int row0, int seq, int bh, auto rows) {
    constexpr int kRows = decltype(rows)::value;
    if constexpr (!kTma) {
      auto tile = [](int r, int c) { return wgmma::swizzled_offset<kRows>(r, c); };
      fwd::load_tile_async<kRows, kStoredD, kConsumers, kD>(smem, gmem, row0, seq, tile);
    } else if (tid == 0) {
      tma::load_tile<kRows, kD>(smem, map, full, row0, bh);
    }
  };
  using QRows = std::integral_constant<int, kBlockM>;
  using KVRows = std::integral_constant<int, kBlockN>;

  // One work unit (query block i of one head); returns the visible key blocks it processed.
  // Stages and barrier phases: K_j and V_j of the n-th visible key block of the thread block sit
  // in stage n % 2 (its (n / 2)-th fill), n = n0 + it; Q_i of the round-th unit is Q's
  // (round)-th fill. Both are 0 where a block has one unit.
  auto run_unit = [&](const Block& qb, int n0, int round) -> int {
    // Warp w owns query rows 16 w .. 16 w + 15 of the block (rows 16 (w % 4) of warpgroup w / 4).
    const int r_lo = qb.row0 + warp * 16 + lane / 4;
    const Elem* const sQ_group = sQ + q_tile(group * 64, 0);

    // FA2 Alg. 1 l. 5: O_i = 0, l_i = 0, m_i = -inf, on chip.
    float S[1][kNTiles][4] = {};
    float O[1][kDTiles][4] = {};
    uint32_t P[kPSteps][4] = {};  // A fragments of the previous tile's P~
    float m[1][2] = {{-INFINITY, -INFINITY}}, l[1][2] = {{0.f, 0.f}}, rescale[1][2];

    // O_i += P V_stage, per 16 keys one wgmma per 128 columns (wgmma's N; mma_rs_columns): B =
    // V_j[16 keys][kStoredD], MN-major, in panels of 64 columns.
    auto multiply_pv = [&](const Elem* sV_stage) {
#pragma unroll
      for (int kk = 0; kk < kPSteps; ++kk)
        wgmma::mma_rs_columns<Elem, kStoredD>(
            O[0], P[kk], wgmma::descriptor(sV_stage + kv_tile(16 * kk, 0), kBlockN * 128),
            kBlockN * 64);
      wgmma::commit();
    };

    int j = qb.template next_visible<kProducer>(p, 0);
    // Q_i (FA2 Alg. 1 l. 4) and the first visible K_j (FA2 Alg. 1 l. 7), then the loop over j
    // (FA2 Alg. 1 l. 6).
    if constexpr (!kProducer) {
      load_own(sQ, qb.q, maps.q, &bars->q_full, qb.row0, p.seq_q, qb.bh, QRows{});
      if (j < qb.j_end)
        load_own(sK(0), qb.k, maps.k, &bars->k_full[0], j * kBlockN, p.seq_k, qb.bh, KVRows{});
      if constexpr (!kTma) ptx::cp_async_commit();
    }
    if constexpr (kTma) tma::wait(&bars->q_full, round & 1);

    if (group == 1) pass_turn();  // warpgroup 0 goes first
    int it = 0;                   // iterations done = visible key blocks of this unit so far
    for (; j < qb.j_end; ++it) {
      const int n = n0 + it, stage = n % 2;
      if constexpr (!kProducer) {
        if constexpr (!kTma) {
          ptx::cp_async_wait<0>();
          wgmma::fence_shared_for_async_proxy();
        }
        __syncthreads();  // every warp is through iteration it - 1: its stages may be refilled
      }
      if constexpr (kTma) tma::wait(&bars->k_full[stage], (n / 2) & 1);
      const int j_next = qb.template next_visible<kProducer>(p, j + 1);
      // Without a producer: V_j and the next visible K (FA2 Alg. 1 l. 7), each a whole iteration
      // ahead of its use. V_j goes to stage n % 2 (last read by P_{j-2} V_{j-2}), the next K to
      // the other stage (last read by S_{j-1}).
      if constexpr (!kProducer) {
        load_own(sV(stage), qb.v, maps.v, &bars->v_full[stage], j * kBlockN, p.seq_k, qb.bh,
                 KVRows{});
        if (j_next < qb.j_end)
          load_own(sK(1 - stage), qb.k, maps.k, &bars->k_full[1 - stage], j_next * kBlockN, p.seq_k,
                   qb.bh, KVRows{});
        if constexpr (!kTma) ptx::cp_async_commit();
      }

      // S_ij = Q_i K_j^T (FA2 Alg. 1 l. 8), 16 columns of the head dim per wgmma (the zero
      // columns past kStoredD add nothing).
      wait_turn();
      wgmma::fence();
#pragma unroll
      for (int kk = 0; kk < kStoredD / 16; ++kk)
        wgmma::mma_ss<Elem, kBlockN>(S[0], wgmma::descriptor(sQ_group + q_tile(0, 16 * kk)),
                                     wgmma::descriptor(sK(stage) + kv_tile(0, 16 * kk)), kk > 0);
      wgmma::commit();
      // Dropout's keep bits need only the tile's position: the Philox calls run while the tensor
      // cores compute S_ij (pinned there, else ptxas sinks them below the wait). Each branch
      // below keeps its own wait: with one wait after both, ptxas serialised the products of
      // the kernels without dropout (C7514; they ran 0.69-0.79x, docs/performance.md "v28").
      KeepBits<kNTiles> keep;
      auto draw_keep_bits = [&] {
        if constexpr (kDropout) {
          keep = fwd::dropout_keep_bits<1, kNTiles>(p.dropout, qb.batch, qb.head, r_lo, j * kBlockN,
                                                    lane);
          wgmma::pin(keep.word);
        }
      };
      if (it > 0) {
        if constexpr (kTma) tma::wait(&bars->v_full[1 - stage], ((n - 1) / 2) & 1);
        multiply_pv(sV(1 - stage));  // O_i += P~_{i,j-1} V_{j-1} (FA2 Alg. 1 l. 10, previous tile)
        pass_turn();
        draw_keep_bits();
        // With the overlap, only S_ij must be done; without it the softmax waits for P V too.
        constexpr int kProductsLeft = kOverlap ? 1 : 0;
        wgmma::wait<kProductsLeft>();
      } else {
        pass_turn();
        draw_keep_bits();
        wgmma::wait<0>();
      }
      auto drop = [&](auto& tile) {
        if constexpr (kDropout) fwd::apply_keep_bits(tile, keep, p.keep_scale);
      };
      wgmma::pin(S[0]);
      // S_ij is done: K_j's stage (and after the last block, Q_i) may be refilled.
      release(&bars->k_empty[stage]);
      if (j_next >= qb.j_end) release(&bars->q_empty);

      // Softmax of S_ij (FA1 Alg. 2 l. 11's mask, then FA2 Alg. 1 l. 9) while the tensor cores
      // run the product above.
      const bool element_mask = qb.needs_element_mask(p, j);
      if constexpr (kLogTiles) qb.log_tile(p, j, element_mask, tid == 0);
      if (element_mask) fwd::mask_scores(S, p.mask, p.seq_q, p.seq_k, r_lo, j * kBlockN, lane);
      if constexpr (kKeptMax) {
        // P V is waited for first, where ptxas put the wait anyway (the top of this file), so
        // that the exponentials go straight into P's registers.
        wgmma::wait<0>();
        wgmma::pin(O[0]);
        wgmma::pin(P);
        if (it > 0) release(&bars->v_empty[1 - stage]);
        fwd::softmax_step_kept_max<Elem>(S, O, P, m, l, p.scale_log2, it == 0, drop);
      } else {
        fwd::softmax_update(S, m, l, rescale, p.scale_log2);
        drop(S);
        wgmma::pin(S[0]);  // the softmax stays ahead of the wait (measured: else it sinks below)
        wgmma::pin(l);
        wgmma::pin(rescale);

        wgmma::wait<0>();
        wgmma::pin(O[0]);
        wgmma::pin(P);
        if (it > 0) release(&bars->v_empty[1 - stage]);
        fwd::rescale_output(O, rescale);  // FA2 Alg. 1 l. 10's rescale; P~ V comes next iteration
#pragma unroll
        for (int kk = 0; kk < kPSteps; ++kk) fwd::p_fragment<Elem>(S, 0, kk, P[kk]);
      }
      j = j_next;
    }

    if (group == 0) wait_turn();  // consumes the last warpgroup's last pass_turn
    if (it > 0) {                 // the last tile's P V (FA2 Alg. 1 l. 10)
      const int n = n0 + it, last = (n - 1) % 2;
      if constexpr (kTma) {
        tma::wait(&bars->v_full[last], ((n - 1) / 2) & 1);
      } else {
        ptx::cp_async_wait<0>();
        wgmma::fence_shared_for_async_proxy();
        __syncthreads();  // its V is resident
      }
      wgmma::fence();
      multiply_pv(sV(last));
      wgmma::wait<0>();
      wgmma::pin(O[0]);
      release(&bars->v_empty[last]);
    } else {
      release(&bars->q_empty);  // no visible key block: Q_i was never read
    }
    if constexpr (!kTma) ptx::cp_async_wait<0>();  // the Q copy is in flight if nothing was visible
    // FA2 Alg. 1 l. 12–15: normalise O_i, L_i = m_i + log l_i, both written once. The TMA rungs
    // stage the warpgroup's 64 rows of O_i in shared memory (the layout load_tile writes) and one
    // thread hands them to the copy engine, which writes whole rows and drops those past seq_q;
    // the others write each thread's pairs of O_i straight from registers.
    if constexpr (Layout::kStoreByTma) {
      Elem* const sO_group = sO + group * 64 * kD;
      const int group_row0 = qb.row0 + group * 64;
      if (group_leader) ptx::bulk_wait_all<true>();  // the last unit's store has read sO_group
      epilogue_sync();
      fwd::store_output<Elem, kStoredD>(
          O, m, l, qb.logsumexp(p), p.seq_q, r_lo, lane, [&](int row, int col, uint32_t pair) {
            *reinterpret_cast<uint32_t*>(sO_group +
                                         wgmma::swizzled_offset<64>(row - group_row0, col)) = pair;
          });
      wgmma::fence_shared_for_async_proxy();
      epilogue_sync();  // the warpgroup's rows are in sO_group
      if (group_leader && group_row0 < p.seq_q) {
        tma::store_tile<64, kD>(maps.o, sO_group, group_row0, qb.bh);
        ptx::bulk_commit();
      }
    } else {
      fwd::store_output<Elem, kStoredD>(O, m, l, qb.logsumexp(p), p.seq_q, r_lo, lane,
                                        fwd::to_global<Elem, kStoredD>(qb.output(p)));
    }
    return it;
  };
  if constexpr (Layout::kClaims) {
    // Each round's unit, as the producer claimed it: read between the two named barriers.
    int n0 = 0;
    for (int round = 0;; ++round) {
      ptx::named_barrier_sync<kUnitFull, Layout::kHandOffThreads>();
      const int unit = bars->unit;
      if (unit >= Units::count(p)) break;
      ptx::named_barrier_arrive<kUnitEmpty, Layout::kHandOffThreads>();
      n0 += run_unit(Units::block(p, unit), n0, round);
    }
  } else if constexpr (kPersistent) {
    int n0 = 0;
    for (int round = 0; Units::static_unit(round) < Units::count(p); ++round)
      n0 += run_unit(Units::block(p, Units::static_unit(round)), n0, round);
  } else {
    run_unit(Block(p), 0, 0);
  }
  if constexpr (Layout::kStoreByTma)
    if (group_leader) ptx::bulk_wait_all<true>();  // the copy engine has read sO before it goes
#endif
}

}  // namespace flashlab::cuda
