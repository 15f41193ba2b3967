// Launches the fast fused backward (flash_bwd_kernel.cuh): preprocess D = rowsum(dO∘O), the main
// kernel over key blocks, then dQ's conversion. Validates every argument first.
#include <flashlab/cuda/api.hpp>

#include "check.hpp"
#include "device_mask.hpp"
#include "flash_bwd_kernel.cuh"
#include "validate.hpp"

namespace flashlab::cuda {
namespace {

// 64 query rows per block; keys per block (one warp per 16 keys): 128 up to d = 64, which halves
// the dQ atomics and the reloads of Q and dO against 64 (docs/performance.md, v4c); 64 above,
// where ptxas spills at 128 (d = 128: 104 bytes) and 128 keys of K and V at d = 256 would not fit
// shared memory.
constexpr int kBlockM = 64;
constexpr int block_n(int64_t head_dim) {
  return head_dim <= 64 ? 128 : 64;
}

template <typename Elem, int kD>
void launch(const AttentionShape& shape, const FlashBwdParams<Elem>& p, cudaStream_t stream) {
  constexpr int kBlockN = block_n(kD);
  constexpr int kSmemBytes = (2 * kBlockN + 2 * kBlockM) * (kD + 8) * int(sizeof(Elem)) +
                             kBlockN * (kBlockM + 8) * int(sizeof(Elem)) + 2 * kBlockM * 4;
  auto kernel = flash_bwd_kernel<Elem, kD, kBlockM, kBlockN>;
  FLASHLAB_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes));
  const dim3 grid(unsigned((shape.seq_k + kBlockN - 1) / kBlockN),
                  unsigned(shape.batch * shape.heads));
  kernel<<<grid, kBlockN / 16 * 32, kSmemBytes, stream>>>(p);
  FLASHLAB_CUDA_CHECK_LAUNCH();
}

template <typename Elem>
void run(const AttentionShape& shape, const AttentionParams& params, const BackwardArgs& args,
         void* workspace, cudaStream_t stream) {
  FlashBwdParams<Elem> p{};
  p.q = static_cast<const Elem*>(args.q);
  p.k = static_cast<const Elem*>(args.k);
  p.v = static_cast<const Elem*>(args.v);
  p.o = static_cast<const Elem*>(args.o);
  p.d_o = static_cast<const Elem*>(args.d_o);
  p.lse = args.lse;
  p.dq = static_cast<Elem*>(args.dq);
  p.dk = static_cast<Elem*>(args.dk);
  p.dv = static_cast<Elem*>(args.dv);
  p.dq_accum = static_cast<float*>(workspace);
  p.D = p.dq_accum + shape.q_elements();
  p.seq_q = int(shape.seq_q);
  p.seq_k = int(shape.seq_k);
  p.heads = int(shape.heads);
  p.d = int(shape.head_dim);
  p.scale = float(params.scale);
  p.scale_log2 = float(params.scale * 1.4426950408889634);
  p.mask = params.mask;
  p.dropout = params.dropout;
  p.keep_scale = float(params.dropout.keep_scale);

  const int64_t rows = shape.lse_elements();
  flash_bwd_preprocess_kernel<Elem><<<unsigned((rows * 32 + 255) / 256), 256, 0, stream>>>(p, rows);
  FLASHLAB_CUDA_CHECK_LAUNCH();
  switch (shape.head_dim) {
    case 32:
      launch<Elem, 32>(shape, p, stream);
      break;
    case 64:
      launch<Elem, 64>(shape, p, stream);
      break;
    case 96:
      launch<Elem, 96>(shape, p, stream);
      break;
    case 128:
      launch<Elem, 128>(shape, p, stream);
      break;
    case 256:
      launch<Elem, 256>(shape, p, stream);
      break;
  }
  const int64_t n = shape.q_elements();
  flash_bwd_convert_dq_kernel<Elem>
      <<<unsigned(std::min<int64_t>((n + 255) / 256, 65535)), 256, 0, stream>>>(p, n);
  FLASHLAB_CUDA_CHECK_LAUNCH();
}

}  // namespace

TileSizes flash_backward_tiles(int64_t head_dim) {
  bool supported = false;
  for (int d : kFastHeadDims) supported |= head_dim == d;
  require(supported, "flash_backward_tiles: head_dim " + std::to_string(head_dim) +
                         " is not supported; accepted: 32, 64, 96, 128, 256");
  return {kBlockM, block_n(head_dim)};
}

int64_t flash_backward_workspace_bytes(const AttentionShape& shape) {
  return (shape.q_elements() + shape.lse_elements()) * int64_t(sizeof(float));
}

void flash_backward(const AttentionShape& shape, const AttentionOptions& options, DType dtype,
                    const BackwardArgs& args, void* workspace, cudaStream_t stream) {
  validate_fast_call(shape, options, dtype, "flash_backward");
  validate_backward_args(args, dtype);
  require_device_pointer(workspace, "workspace", 16);
  DeviceMask mask(options, stream);
  AttentionParams params = make_params(options, shape);
  params.mask.block = mask.view();
  if (dtype == DType::F16)
    run<__half>(shape, params, args, workspace, stream);
  else
    run<__nv_bfloat16>(shape, params, args, workspace, stream);
}

}  // namespace flashlab::cuda
