// Launches the fast fused forward: validates the call, picks the kernel (wgmma on Hopper for
// d = 64 and 128: flash_fwd_hopper_kernel.cuh; mma.sync elsewhere: flash_fwd_kernel.cuh) and its
// tile sizes, and dispatches on dtype. Only the head dims of kFastHeadDims are built.
#include <flashlab/cuda/api.hpp>

#include "check.hpp"
#include "device_mask.hpp"
#include "flash_fwd_hopper_kernel.cuh"
#include "flash_fwd_kernel.cuh"
#include "kernel_choice.hpp"
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

// Tiles of the wgmma kernel: 128 query rows (two warpgroups). Keys per block, measured on the
// H100 (docs/performance.md, v4): 128 at d = 128 (64 with dropout: 255 registers and spills at
// 128); 64 at d = 64, where 126 registers let two blocks share an SM (+8 % without a mask, +25 %
// causal at N = 2048 against 128 keys and one block).
template <int kD, bool kDropout>
struct HopperFwdTiles {
  static constexpr int kBlockM = HopperFwdLayout<kD, 128>::kBlockM;
  static constexpr int kBlockN = kD == 128 && !kDropout ? 128 : 64;
};

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
  p.scale_log2 = float(params.scale * 1.4426950408889634);
  p.mask = params.mask;
  p.dropout = params.dropout;
  p.keep_scale = float(params.dropout.keep_scale);
  return p;
}

// One thread block per query block and (batch, head).
dim3 forward_grid(const AttentionShape& shape, int block_m) {
  return dim3(unsigned((shape.seq_q + block_m - 1) / block_m), unsigned(shape.batch * shape.heads));
}

template <typename Elem, int kD, bool kDropout>
void launch_mma_sync(const AttentionShape& shape, const FlashFwdParams<Elem>& p,
                     cudaStream_t stream) {
  using Tiles = FwdTiles<kD, kDropout>;
  constexpr int kSmemBytes = (Tiles::kBlockM + 2 * Tiles::kBlockN) * (kD + 8) * int(sizeof(Elem));
  launch_kernel(flash_fwd_kernel<Elem, kD, Tiles::kBlockM, Tiles::kBlockN, Tiles::kWarps, kDropout>,
                p, forward_grid(shape, Tiles::kBlockM), Tiles::kWarps * 32, kSmemBytes, stream);
}

template <typename Elem, int kD, bool kDropout>
void launch_wgmma(const AttentionShape& shape, const FlashFwdParams<Elem>& p, cudaStream_t stream) {
  using Layout = HopperFwdLayout<kD, HopperFwdTiles<kD, kDropout>::kBlockN>;
  launch_kernel(flash_fwd_hopper_kernel<Elem, kD, HopperFwdTiles<kD, kDropout>::kBlockN, kDropout>,
                p, forward_grid(shape, Layout::kBlockM), Layout::kThreads, Layout::kSmemBytes,
                stream);
}

template <typename Elem, int kD>
void launch(const AttentionShape& shape, const FlashFwdParams<Elem>& p, bool dropout, bool wgmma,
            cudaStream_t stream) {
  if constexpr (has_wgmma_kernel(kD)) {
    if (wgmma) {
      if (dropout) return launch_wgmma<Elem, kD, true>(shape, p, stream);
      return launch_wgmma<Elem, kD, false>(shape, p, stream);
    }
  }
  if (dropout) return launch_mma_sync<Elem, kD, true>(shape, p, stream);
  launch_mma_sync<Elem, kD, false>(shape, p, stream);
}

template <typename Elem>
void dispatch_head_dim(const AttentionShape& shape, const AttentionParams& params,
                       const ForwardArgs& args, bool wgmma, cudaStream_t stream) {
  const FlashFwdParams<Elem> p = kernel_params<Elem>(shape, params, args);
  const bool dropout = params.dropout.enabled;
  switch (shape.head_dim) {
    case 32:
      return launch<Elem, 32>(shape, p, dropout, wgmma, stream);
    case 64:
      return launch<Elem, 64>(shape, p, dropout, wgmma, stream);
    case 96:
      return launch<Elem, 96>(shape, p, dropout, wgmma, stream);
    case 128:
      return launch<Elem, 128>(shape, p, dropout, wgmma, stream);
    case 256:
      return launch<Elem, 256>(shape, p, dropout, wgmma, stream);
  }
}

template <int kD>
TileSizes tiles_of(bool dropout, bool wgmma) {
  if constexpr (has_wgmma_kernel(kD))
    if (wgmma)
      return dropout
                 ? TileSizes{HopperFwdTiles<kD, true>::kBlockM, HopperFwdTiles<kD, true>::kBlockN}
                 : TileSizes{HopperFwdTiles<kD, false>::kBlockM,
                             HopperFwdTiles<kD, false>::kBlockN};
  return dropout ? TileSizes{FwdTiles<kD, true>::kBlockM, FwdTiles<kD, true>::kBlockN}
                 : TileSizes{FwdTiles<kD, false>::kBlockM, FwdTiles<kD, false>::kBlockN};
}

}  // namespace

TileSizes flash_forward_tiles(int64_t head_dim, bool dropout, FusedKernel kernel) {
  const bool wgmma = use_wgmma(kernel, head_dim, "flash_forward_tiles");
  switch (head_dim) {
    case 32:
      return tiles_of<32>(dropout, wgmma);
    case 64:
      return tiles_of<64>(dropout, wgmma);
    case 96:
      return tiles_of<96>(dropout, wgmma);
    case 128:
      return tiles_of<128>(dropout, wgmma);
    case 256:
      return tiles_of<256>(dropout, wgmma);
  }
  throw Error("flash_forward_tiles: head_dim " + std::to_string(head_dim) +
              " is not supported; accepted: 32, 64, 96, 128, 256");
}

void flash_forward(const AttentionShape& shape, const AttentionOptions& options, DType dtype,
                   const ForwardArgs& args, cudaStream_t stream, FusedKernel kernel) {
  validate_fast_call(shape, options, dtype, "flash_forward");
  validate_forward_args(args, dtype);
  DeviceMask mask(options, stream);
  AttentionParams params = make_params(options, shape);
  params.mask.block = mask.view();
  const bool wgmma = use_wgmma(kernel, shape.head_dim, "flash_forward");
  if (dtype == DType::F16)
    dispatch_head_dim<__half>(shape, params, args, wgmma, stream);
  else
    dispatch_head_dim<__nv_bfloat16>(shape, params, args, wgmma, stream);
}

}  // namespace flashlab::cuda
