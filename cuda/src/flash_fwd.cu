// Launches the fast fused forward (flash_fwd_kernel.cuh): validates the call, picks the tile
// sizes for the head dim and dispatches on dtype. Only the head dims of kFastHeadDims are built.
#include <flashlab/cuda/api.hpp>

#include "check.hpp"
#include "device_mask.hpp"
#include "flash_fwd_kernel.cuh"
#include "validate.hpp"

namespace flashlab::cuda {
namespace {

// Tile sizes per head dim, measured on the H100 (docs/performance.md). d >= 96: FA2's 128 query
// rows with 4 warps of 32 rows (two m-tiles share every K and V fragment loaded); d <= 64: 8
// warps of 16 rows, whose lower register count keeps twice the warps resident; d = 256: 64 rows
// of 4 warps (registers). Key blocks of 64, or 32 where dropout's Philox registers would spill.
template <int kD, bool kDropout>
struct FwdTiles {
  static constexpr int kWarps = kD <= 64 ? 8 : 4;
  static constexpr int kBlockM = kD <= 128 ? 128 : 64;
  static constexpr int kBlockN = kD >= 96 && kDropout ? 32 : 64;
};

template <typename Elem, int kD, bool kDropout>
void launch(const AttentionShape& shape, const AttentionParams& params, const ForwardArgs& args,
            cudaStream_t stream) {
  using Tiles = FwdTiles<kD, kDropout>;
  constexpr int kWarps = Tiles::kWarps, kBlockM = Tiles::kBlockM, kBlockN = Tiles::kBlockN;
  constexpr int kSmemBytes = (kBlockM + 2 * kBlockN) * (kD + 8) * int(sizeof(Elem));
  auto kernel = flash_fwd_kernel<Elem, kD, kBlockM, kBlockN, kWarps, kDropout>;
  FLASHLAB_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes));
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
  const dim3 grid(unsigned((shape.seq_q + kBlockM - 1) / kBlockM),
                  unsigned(shape.batch * shape.heads));
  kernel<<<grid, kWarps * 32, kSmemBytes, stream>>>(p);
  FLASHLAB_CUDA_CHECK_LAUNCH();
}

template <typename Elem, int kD>
void launch(const AttentionShape& shape, const AttentionParams& params, const ForwardArgs& args,
            cudaStream_t stream) {
  if (params.dropout.enabled)
    launch<Elem, kD, true>(shape, params, args, stream);
  else
    launch<Elem, kD, false>(shape, params, args, stream);
}

template <typename Elem>
void dispatch_head_dim(const AttentionShape& shape, const AttentionParams& params,
                       const ForwardArgs& args, cudaStream_t stream) {
  switch (shape.head_dim) {
    case 32:
      return launch<Elem, 32>(shape, params, args, stream);
    case 64:
      return launch<Elem, 64>(shape, params, args, stream);
    case 96:
      return launch<Elem, 96>(shape, params, args, stream);
    case 128:
      return launch<Elem, 128>(shape, params, args, stream);
    case 256:
      return launch<Elem, 256>(shape, params, args, stream);
  }
}

template <int kD>
TileSizes tiles_of(bool dropout) {
  return dropout ? TileSizes{FwdTiles<kD, true>::kBlockM, FwdTiles<kD, true>::kBlockN}
                 : TileSizes{FwdTiles<kD, false>::kBlockM, FwdTiles<kD, false>::kBlockN};
}

}  // namespace

TileSizes flash_forward_tiles(int64_t head_dim, bool dropout) {
  switch (head_dim) {
    case 32:
      return tiles_of<32>(dropout);
    case 64:
      return tiles_of<64>(dropout);
    case 96:
      return tiles_of<96>(dropout);
    case 128:
      return tiles_of<128>(dropout);
    case 256:
      return tiles_of<256>(dropout);
  }
  throw Error("flash_forward_tiles: head_dim " + std::to_string(head_dim) +
              " is not supported; accepted: 32, 64, 96, 128, 256");
}

void flash_forward(const AttentionShape& shape, const AttentionOptions& options, DType dtype,
                   const ForwardArgs& args, cudaStream_t stream) {
  validate_fast_call(shape, options, dtype, "flash_forward");
  validate_forward_args(args, dtype);
  DeviceMask mask(options, stream);
  AttentionParams params = make_params(options, shape);
  params.mask.block = mask.view();
  if (dtype == DType::F16)
    dispatch_head_dim<__half>(shape, params, args, stream);
  else
    dispatch_head_dim<__nv_bfloat16>(shape, params, args, stream);
}

}  // namespace flashlab::cuda
