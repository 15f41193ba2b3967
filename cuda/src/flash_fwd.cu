// Launches the fast fused forward: validates the call, picks the kernel (wgmma on Hopper for
// d = 64, 96, 128 and 256: flash_fwd_hopper_kernel.cuh; mma.sync elsewhere: flash_fwd_kernel.cuh)
// and its tile sizes, and dispatches on dtype, head dim and dropout (static_switch.hpp). Only the
// head dims of kFastHeadDims are built.
#include <algorithm>

#include <flashlab/core/softmax_state.hpp>
#include <flashlab/cuda/api.hpp>

#include "check.hpp"
#include "device_mask.hpp"
#include "flash_fwd_hopper_kernel.cuh"
#include "flash_fwd_kernel.cuh"
#include "kernel_choice.hpp"
#include "static_switch.hpp"
#include "tensor_map.hpp"
#include "validate.hpp"

namespace flashlab::cuda {
namespace {

// Tile sizes of the mma.sync kernel per head dim, measured on the H100 (docs/performance.md).
// d >= 96: FA2's 128 query rows with 4 warps of 32 rows (two m-tiles share every K and V fragment
// loaded); d <= 64: 8 warps of 16 rows, whose lower register count keeps twice the warps
// resident; d = 256: 64 rows of 4 warps (registers). Key blocks of 64, or 32 where dropout's
// Philox registers would spill.
template <int kD, bool kDropout>
struct FwdTiles {
  static constexpr int kWarps = kD <= 64 ? 8 : 4;
  static constexpr int kBlockM = kD <= 128 ? 128 : 64;
  static constexpr int kBlockN = kD >= 96 && kDropout ? 32 : 64;
};

// Every rung of the ladder, as the int values switch_value dispatches on.
constexpr int kFwdRungs[] = {int(FwdRung::Serial),     int(FwdRung::Pingpong),
                             int(FwdRung::Overlap),    int(FwdRung::KeptMax),
                             int(FwdRung::Tma),        int(FwdRung::WarpSpecialized),
                             int(FwdRung::Persistent), int(FwdRung::PersistentDynamic)};

// The rung of the ladder that FusedKernel::Wgmma (and Auto on Hopper) runs, the fastest measured
// on the H200 (fp16, N 2048 and 8192): at d = 128 the warp-specialised kernel (1.12-1.27x over
// TMA alone; the persistent rung gains at one shape only, 0.87-1.05x, bench/results/v11_h200);
// at d = 64 the persistent rung with 128 keys (1.13-1.19x over TMA without a producer with 64
// keys, which was d = 64's choice until v11; warp specialisation with 128 keys 1.03-1.13x:
// bench/results/v11_h200/call3_36e70ca/sweep_d64.md), with dropout too since v29: its keep bits
// then fit the consumers' registers with 128 keys, and the persistent rung ran 1.42-1.45x the
// TMA rung with 64 keys that d = 64 took with dropout until then (the same keep bits in both),
// which held 164 registers and so one block of eight warps per SM
// (bench/results/v29_h200/call2_rule16_ab, v2 against v1).
// d = 256 takes the d = 128 choice (its ladder is measured: docs/performance.md), and so does
// d = 96, which runs the d = 128 kernel (wgmma_kernel_head_dim). Every rung from KeptMax on
// keeps the softmax's running max (v26: 1.03-1.09x at d = 64, 1.05-1.20x at d = 128 over the
// same rungs without it, bench/results/v26_h200/call1_kept_max_ab; with dropout since v28).
template <int kD>
constexpr FwdRung fwd_production_rung() {
  if constexpr (wgmma_kernel_head_dim(kD) >= 128) return FwdRung::WarpSpecialized;
  return FwdRung::Persistent;
}

// Keys per block of the wgmma kernel per rung (its query rows are HopperFwdLayout's): 128 where
// the registers allow: d = 128, and d = 64 with a producer (its consumers get 240 registers).
// With dropout 128 keys spilled until v29 (255 registers at d = 128), so 64 were taken; with a
// Philox call per eight elements and the round keys as constants they fit without spills, and
// ran 1.10-1.13x at d = 128 (the same keep bits in both: bench/results/v29_h200/
// call2_rule16_ab, v2 against v1). Wider blocks are not built with dropout.
// d = 64 without a producer takes 64 keys, so that 126 registers let two blocks share an SM (H100:
// 320 -> 338 TFLOP/s dense and 192 -> 241 causal at N = 2048 against 128 keys and one block; H200:
// 128 keys spill 392 bytes at two blocks, 0.70-0.75x). FA3's d = 64 tiles, three warpgroups of 64
// rows with a producer, measured 0.90-0.95x of two warp-specialised with 128 keys (64 keys; 128
// spill at their 160 registers): bench/results/v11_h200/call3_36e70ca/sweep_d64.md. d = 64 with a
// producer takes 160 keys where they pay (wide_keys_pay): each iteration's waits, turns and rescale
// of O then serve a quarter more keys. H200, fp16, in one call against 128 keys: 1.01-1.08x without
// a mask at N 2048-16384; causal 0.95-1.07x (0.95 at N = 2048, where more of the wider blocks
// straddle the diagonal); 192 keys, FA3's choice, spilled 56 bytes and ran 0.91-1.00x
// (bench/results/v13_h200/wide_keys_ab). Causal calls take 160 keys from kWideCausalKeys on
// (wide_keys_pay).
constexpr int hopper_fwd_block_n(int kernel_d, bool dropout, FwdRung rung, bool wide_keys) {
  const bool room = kernel_d == 128 || (kernel_d == 64 && rung >= FwdRung::WarpSpecialized);
  if (!room) return 64;
  if (dropout) return 128;
  return kernel_d == 64 && wide_keys ? 160 : 128;
}

// Under a causal mask the wider blocks pay only where few of them straddle the diagonal: 160 keys
// against 128, in one call (fp16 and bf16, each build best of two or three): 0.958x at N = 2048,
// 0.988-0.999x at 4096, 1.018-1.030x at 8192 and 1.011-1.045x at 16384, while the calls without a
// mask, whose kernel is the same in both builds, moved by 0.964-1.037x
// (bench/results/v19_h200/causal_wide_ab; v13's run: 0.96, 1.00, 1.03 and 1.02x).
constexpr int64_t kWideCausalKeys = 8192;

// Whether a call takes the wider key blocks where a kernel has them: under a causal mask from
// kWideCausalKeys keys on, and only where padding the last block of 160 keys costs less than the
// ~4 % the wider blocks save per key (measured above): at N = 512 and 1024 the padding (25 % and
// 9 %) made the d = 64 forward 0.83x and 0.93x as fast (Nsight Compute's kernel times with 160
// keys everywhere, bench/results/v13_h200/bench_d64/validation_raw_6913f2d.tgz against
// validation_h200_raw_v12).
bool wide_keys_pay(const AttentionShape& shape, bool causal) {
  auto padded = [&](int64_t keys) { return (shape.seq_k + keys - 1) / keys * keys; };
  return (!causal || shape.seq_k >= kWideCausalKeys) && padded(160) * 100 <= padded(128) * 104;
}

template <typename Elem>
FlashFwdParams<Elem> kernel_params(const AttentionShape& shape, const AttentionParams& params,
                                   const ForwardArgs& args) {
  FlashFwdParams<Elem> p{};
  p.q = static_cast<const Elem*>(args.q);
  p.k = static_cast<const Elem*>(args.k);
  p.v = static_cast<const Elem*>(args.v);
  p.o = static_cast<Elem*>(args.o);
  p.lse = args.lse;
  p.seq_q = int(shape.seq_q);
  p.seq_k = int(shape.seq_k);
  p.heads = int(shape.heads);
  p.batch_heads = int(shape.batch * shape.heads);
  p.scale_log2 = float(params.scale * kLog2e);
  p.mask = params.mask;
  p.dropout = params.dropout;
  p.keep_scale = float(params.dropout.keep_scale);
  p.tile_log = args.tile_log;
  return p;
}

// One thread block per query block and (batch, head).
dim3 forward_grid(const AttentionShape& shape, int block_m) {
  return dim3(unsigned((shape.seq_q + block_m - 1) / block_m), unsigned(shape.batch * shape.heads));
}

template <typename Elem, int kD, bool kDropout, bool kLogTiles>
void launch_mma_sync(const AttentionShape& shape, const FlashFwdParams<Elem>& p,
                     cudaStream_t stream) {
  using Tiles = FwdTiles<kD, kDropout>;
  using Layout = MmaFwdLayout<kD, Tiles::kBlockM, Tiles::kBlockN>;
  launch_kernel(flash_fwd_kernel<Elem, kD, Tiles::kBlockM, Tiles::kBlockN, Tiles::kWarps, kDropout,
                                 kLogTiles>,
                forward_grid(shape, Tiles::kBlockM), Tiles::kWarps * 32, Layout::kSmemBytes, stream,
                p);
}

// kD: the tensors' head dim; the kernel's is wgmma_kernel_head_dim(kD), padded by its copies.
template <typename Elem, int kD, bool kDropout, bool kLogTiles, FwdRung kRung, int kBlockN>
void launch_wgmma_tiles(const AttentionShape& shape, const FlashFwdParams<Elem>& p,
                        cudaStream_t stream) {
  constexpr int kKernelD = wgmma_kernel_head_dim(kD);
  using Layout = HopperFwdLayout<kKernelD, kBlockN, kRung>;
  FwdTensorMaps maps{};
  if constexpr (Layout::kTma) {
    constexpr DType kDType = kDTypeOf<Elem>;
    maps.q = make_tile_map(p.q, kDType, kD, p.seq_q, p.batch_heads, Layout::kBlockM);
    maps.k = make_tile_map(p.k, kDType, kD, p.seq_k, p.batch_heads, kBlockN);
    maps.v = make_tile_map(p.v, kDType, kD, p.seq_k, p.batch_heads, kBlockN);
    maps.o = make_tile_map(p.o, kDType, kD, p.seq_q, p.batch_heads, 64);
  }
  auto kernel = flash_fwd_hopper_kernel<Elem, kKernelD, kBlockN, kDropout, kLogTiles, kRung, kD>;
  const dim3 grid = forward_grid(shape, Layout::kBlockM);
  if constexpr (kRung >= FwdRung::Persistent) {
    // One block per SM (or fewer for small problems). The dynamic scheduler's blocks draw units
    // from a counter of their own: allocated, zeroed and freed in stream order, so launches on
    // other streams never share it.
    const dim3 persistent_grid(
        unsigned(std::min<int64_t>(int64_t(grid.x) * grid.y, multiprocessor_count())));
    FlashFwdParams<Elem> persistent = p;
    if constexpr (Layout::kClaims) {
      FLASHLAB_CUDA_CHECK(cudaMallocAsync(&persistent.work_counter, sizeof(int), stream));
      FLASHLAB_CUDA_CHECK(cudaMemsetAsync(persistent.work_counter, 0, sizeof(int), stream));
    }
    launch_kernel(kernel, persistent_grid, Layout::kThreads, Layout::kSmemBytes, stream, persistent,
                  maps);
    if constexpr (Layout::kClaims)
      FLASHLAB_CUDA_CHECK(cudaFreeAsync(persistent.work_counter, stream));
  } else {
    launch_kernel(kernel, grid, Layout::kThreads, Layout::kSmemBytes, stream, p, maps);
  }
}

// The keys per block may depend on the call (wide_keys_pay); where they do not, both branches
// name the same kernel.
template <typename Elem, int kD, bool kDropout, bool kLogTiles, FwdRung kRung>
void launch_wgmma(const AttentionShape& shape, const FlashFwdParams<Elem>& p, cudaStream_t stream) {
  switch_bool(wide_keys_pay(shape, p.mask.causal), [&](auto wide) {
    constexpr int kBlockN =
        hopper_fwd_block_n(wgmma_kernel_head_dim(kD), kDropout, kRung, decltype(wide)::value);
    launch_wgmma_tiles<Elem, kD, kDropout, kLogTiles, kRung, kBlockN>(shape, p, stream);
  });
}

// The rung a ladder FusedKernel names (is_ladder_rung).
constexpr FwdRung ladder_rung(FusedKernel kernel) {
  switch (kernel) {
    case FusedKernel::WgmmaSerial:
      return FwdRung::Serial;
    case FusedKernel::WgmmaPingpong:
      return FwdRung::Pingpong;
    case FusedKernel::WgmmaOverlap:
      return FwdRung::Overlap;
    case FusedKernel::WgmmaKeptMax:
      return FwdRung::KeptMax;
    case FusedKernel::WgmmaTma:
      return FwdRung::Tma;
    case FusedKernel::WgmmaWarpSpecialized:
      return FwdRung::WarpSpecialized;
    case FusedKernel::WgmmaPersistent:
      return FwdRung::Persistent;
    default:
      return FwdRung::PersistentDynamic;
  }
}

// `kernel` picks a ladder rung where the call is the ladder's configuration
// (require_ladder_rung_built checked it); otherwise `wgmma` decides.
template <typename Elem, int kD, bool kDropout, bool kLogTiles>
void launch(const AttentionShape& shape, const FlashFwdParams<Elem>& p, bool wgmma,
            FusedKernel kernel, cudaStream_t stream) {
  if constexpr (has_wgmma_forward(kD)) {
    if constexpr (ladder_rungs_built(kD, kDropout) && !kLogTiles) {
      if (is_ladder_rung(kernel) &&
          switch_value<kFwdRungs>(int(ladder_rung(kernel)), [&](auto rung) {
            launch_wgmma<Elem, kD, kDropout, false, FwdRung(decltype(rung)::value)>(shape, p,
                                                                                    stream);
          }))
        return;
    }
    if (wgmma)
      return launch_wgmma<Elem, kD, kDropout, kLogTiles, fwd_production_rung<kD>()>(shape, p,
                                                                                    stream);
  }
  launch_mma_sync<Elem, kD, kDropout, kLogTiles>(shape, p, stream);
}

// The wgmma rung a call runs: the ladder rung `kernel` names, else the production rung.
template <int kD>
FwdRung rung_of(FusedKernel kernel) {
  return is_ladder_rung(kernel) ? ladder_rung(kernel) : fwd_production_rung<kD>();
}

// The tiles of the kernel a call runs (the rungs differ: d = 64 with a producer has 128 keys, or
// 160 where they pay).
template <int kD, bool kDropout>
TileSizes tiles_of(bool wgmma, FusedKernel kernel, bool wide_keys) {
  if constexpr (has_wgmma_forward(kD)) {
    if (wgmma) {
      TileSizes tiles;
      switch_value<kFwdRungs>(int(rung_of<kD>(kernel)), [&](auto rung) {
        constexpr int kKernelD = wgmma_kernel_head_dim(kD);
        constexpr FwdRung kRung = FwdRung(decltype(rung)::value);
        switch_bool(wide_keys, [&](auto wide) {
          constexpr int kBlockN =
              hopper_fwd_block_n(kKernelD, kDropout, kRung, decltype(wide)::value);
          tiles = {HopperFwdLayout<kKernelD, kBlockN, kRung>::kBlockM, kBlockN};
        });
      });
      return tiles;
    }
  }
  return {FwdTiles<kD, kDropout>::kBlockM, FwdTiles<kD, kDropout>::kBlockN};
}

}  // namespace

TileSizes flash_forward_tiles(const AttentionShape& shape, const AttentionOptions& options,
                              FusedKernel kernel) {
  const int64_t head_dim = shape.head_dim;
  require_fast_head_dim(head_dim, "flash_forward_tiles");
  const bool dropout = options.dropout_p > 0;
  require_ladder_rung_built(kernel, head_dim, dropout, false, "flash_forward_tiles");
  const bool wgmma = use_wgmma(kernel, Pass::Forward, head_dim, "flash_forward_tiles");
  TileSizes tiles;
  switch_head_dim(head_dim, [&](auto d) {
    switch_bool(dropout, [&](auto drop) {
      tiles = tiles_of<decltype(d)::value, decltype(drop)::value>(
          wgmma, kernel, wide_keys_pay(shape, options.causal));
    });
  });
  return tiles;
}

bool flash_forward_overlaps_softmax(int64_t head_dim, bool dropout, FusedKernel kernel) {
  require_fast_head_dim(head_dim, "flash_forward_overlaps_softmax");
  require_ladder_rung_built(kernel, head_dim, dropout, false, "flash_forward_overlaps_softmax");
  if (!use_wgmma(kernel, Pass::Forward, head_dim, "flash_forward_overlaps_softmax")) return false;
  bool overlaps = false;
  switch_head_dim(head_dim, [&](auto d) {
    if constexpr (has_wgmma_forward(decltype(d)::value))
      overlaps = rung_of<decltype(d)::value>(kernel) >= FwdRung::WarpSpecialized;
  });
  return overlaps;
}

bool flash_forward_keeps_max(int64_t head_dim, bool dropout, FusedKernel kernel) {
  require_fast_head_dim(head_dim, "flash_forward_keeps_max");
  require_ladder_rung_built(kernel, head_dim, dropout, false, "flash_forward_keeps_max");
  if (!use_wgmma(kernel, Pass::Forward, head_dim, "flash_forward_keeps_max")) return false;
  bool keeps = false;
  switch_head_dim(head_dim, [&](auto d) {
    if constexpr (has_wgmma_forward(decltype(d)::value))
      keeps = rung_of<decltype(d)::value>(kernel) >= FwdRung::KeptMax;
  });
  return keeps;
}

void flash_forward(const AttentionShape& shape, const AttentionOptions& options, DType dtype,
                   const ForwardArgs& args, cudaStream_t stream, FusedKernel kernel) {
  validate_fast_call(shape, options, dtype, "flash_forward");
  validate_forward_args(args, dtype);
  AttentionParams params = make_params(options, shape);
  const bool log_tiles = args.tile_log != nullptr;
  if (log_tiles)
    require_tile_log_built(dtype, shape.head_dim, params.dropout.enabled, "flash_forward");
  require_ladder_rung_built(kernel, shape.head_dim, params.dropout.enabled, log_tiles,
                            "flash_forward");
  DeviceMask mask(options, stream);
  params.mask.block = mask.view();
  const bool wgmma = use_wgmma(kernel, Pass::Forward, shape.head_dim, "flash_forward");
  switch_dtype(dtype, [&](auto elem) {
    using Elem = typename decltype(elem)::type;
    const FlashFwdParams<Elem> p = kernel_params<Elem>(shape, params, args);
    switch_head_dim(shape.head_dim, [&](auto d) {
      constexpr int kD = decltype(d)::value;
      switch_bool(params.dropout.enabled, [&](auto drop) {
        constexpr bool kDropout = decltype(drop)::value;
        if constexpr (tile_log_built(decltype(elem)::dtype, kD, kDropout))
          if (log_tiles) return launch<Elem, kD, kDropout, true>(shape, p, wgmma, kernel, stream);
        launch<Elem, kD, kDropout, false>(shape, p, wgmma, kernel, stream);
      });
    });
  });
}

}  // namespace flashlab::cuda
