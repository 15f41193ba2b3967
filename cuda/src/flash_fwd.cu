// Launches the fast fused forward (flash_fwd_kernel.cuh): validates the call, picks the tile
// sizes for the head dim and dispatches on dtype. Only the head dims of kFastHeadDims are built.
#include <flashlab/cuda/api.hpp>

#include "check.hpp"
#include "device_mask.hpp"
#include "flash_fwd_kernel.cuh"
#include "validate.hpp"

namespace flashlab::cuda {
namespace {

template <typename Elem, int kD>
void launch(const AttentionShape& shape, const AttentionParams& params, const ForwardArgs& args,
            cudaStream_t stream) {
  // 128 x 64 tiles (8 warps) as FA2 uses for d <= 128; 64 x 64 above, where registers run out.
  constexpr int kBlockM = kD <= 128 ? 128 : 64, kBlockN = 64;
  constexpr int kSmemBytes = (kBlockM + 2 * kBlockN) * (kD + 8) * int(sizeof(Elem));
  auto kernel = flash_fwd_kernel<Elem, kD, kBlockM, kBlockN>;
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
  kernel<<<grid, kBlockM / 16 * 32, kSmemBytes, stream>>>(p);
  FLASHLAB_CUDA_CHECK_LAUNCH();
}

template <typename Elem>
void dispatch_head_dim(const AttentionShape& shape, const AttentionParams& params,
                       const ForwardArgs& args, cudaStream_t stream) {
  switch (shape.head_dim) {
    case 32: return launch<Elem, 32>(shape, params, args, stream);
    case 64: return launch<Elem, 64>(shape, params, args, stream);
    case 96: return launch<Elem, 96>(shape, params, args, stream);
    case 128: return launch<Elem, 128>(shape, params, args, stream);
    case 256: return launch<Elem, 256>(shape, params, args, stream);
  }
}

}  // namespace

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
