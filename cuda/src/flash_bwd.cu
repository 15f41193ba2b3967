// Launches the fast fused backward: validates the call, picks the kernel (wgmma on Hopper for
// d = 64 and 128: flash_bwd_hopper_kernel.cuh; mma.sync elsewhere: flash_bwd_kernel.cuh), and
// runs the preprocess (D = rowsum(dO∘O), L in base 2), the main kernel over key blocks, then
// dQ's conversion from its fp32 accumulator.
#include <flashlab/cuda/api.hpp>

#include "check.hpp"
#include "device_mask.hpp"
#include "flash_bwd_hopper_kernel.cuh"
#include "flash_bwd_kernel.cuh"
#include "kernel_choice.hpp"
#include "validate.hpp"

namespace flashlab::cuda {
namespace {

// Keys per block of the mma.sync kernel (one warp per 16 keys): 128 up to d = 64, which halves
// the dQ atomics and the reloads of Q and dO against 64 (docs/performance.md, v4c); 64 above,
// where ptxas spills at 128 (d = 128: 104 bytes) and 128 keys of K and V at d = 256 would not fit
// shared memory. Query blocks are kBwdBlockM = 64 rows in both kernels.
constexpr int mma_sync_block_n(int64_t head_dim) {
  return head_dim <= 64 ? 128 : 64;
}

// One thread block per key block and (batch, head).
dim3 backward_grid(const AttentionShape& shape, int block_n) {
  return dim3(unsigned((shape.seq_k + block_n - 1) / block_n), unsigned(shape.batch * shape.heads));
}

template <typename Elem, int kD>
void launch_mma_sync(const AttentionShape& shape, const FlashBwdParams<Elem>& p,
                     cudaStream_t stream) {
  constexpr int kBlockN = mma_sync_block_n(kD);
  constexpr int kSmemBytes = (2 * kBlockN + 2 * kBwdBlockM) * (kD + 8) * int(sizeof(Elem)) +
                             kBlockN * (kBwdBlockM + 8) * int(sizeof(Elem)) + 2 * kBwdBlockM * 4;
  launch_kernel(flash_bwd_kernel<Elem, kD, kBlockN>, p, backward_grid(shape, kBlockN),
                kBlockN / 16 * 32, kSmemBytes, stream);
}

template <typename Elem, int kD>
void launch_wgmma(const AttentionShape& shape, const FlashBwdParams<Elem>& p, cudaStream_t stream) {
  using Layout = HopperBwdLayout<kD>;
  const dim3 grid = backward_grid(shape, Layout::kBlockN);
  if (p.dropout.enabled)
    return launch_kernel(flash_bwd_hopper_kernel<Elem, kD, true>, p, grid, Layout::kThreads,
                         Layout::kSmemBytes, stream);
  launch_kernel(flash_bwd_hopper_kernel<Elem, kD, false>, p, grid, Layout::kThreads,
                Layout::kSmemBytes, stream);
}

template <typename Elem, int kD>
void launch(const AttentionShape& shape, const FlashBwdParams<Elem>& p, bool wgmma,
            cudaStream_t stream) {
  if constexpr (has_wgmma_kernel(kD))
    if (wgmma) return launch_wgmma<Elem, kD>(shape, p, stream);
  launch_mma_sync<Elem, kD>(shape, p, stream);
}

int64_t padded_seq_q(const AttentionShape& shape) {
  return (shape.seq_q + kBwdBlockM - 1) / kBwdBlockM * kBwdBlockM;
}

template <typename Elem>
void run(const AttentionShape& shape, const AttentionParams& params, const BackwardArgs& args,
         void* workspace, bool wgmma, cudaStream_t stream) {
  const int64_t padded_rows = shape.batch * shape.heads * padded_seq_q(shape);
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
  p.D = p.dq_accum + padded_rows * shape.head_dim;
  p.L2 = p.D + padded_rows;
  p.seq_q = int(shape.seq_q);
  p.seq_k = int(shape.seq_k);
  p.padded_q = int(padded_seq_q(shape));
  p.heads = int(shape.heads);
  p.d = int(shape.head_dim);
  p.scale = float(params.scale);
  p.scale_log2 = float(params.scale * 1.4426950408889634);
  p.mask = params.mask;
  p.dropout = params.dropout;
  p.keep_scale = float(params.dropout.keep_scale);

  FLASHLAB_CUDA_CHECK(
      cudaMemsetAsync(p.dq_accum, 0, size_t(padded_rows * shape.head_dim) * sizeof(float), stream));
  bwd::preprocess_kernel<Elem>
      <<<unsigned((padded_rows * 32 + 255) / 256), 256, 0, stream>>>(p, padded_rows);
  FLASHLAB_CUDA_CHECK_LAUNCH();
  switch (shape.head_dim) {
    case 32:
      launch<Elem, 32>(shape, p, wgmma, stream);
      break;
    case 64:
      launch<Elem, 64>(shape, p, wgmma, stream);
      break;
    case 96:
      launch<Elem, 96>(shape, p, wgmma, stream);
      break;
    case 128:
      launch<Elem, 128>(shape, p, wgmma, stream);
      break;
    case 256:
      launch<Elem, 256>(shape, p, wgmma, stream);
      break;
  }
  const int64_t n = shape.q_elements();
  bwd::convert_dq_kernel<Elem>
      <<<unsigned(std::min<int64_t>((n + 255) / 256, 65535)), 256, 0, stream>>>(
          p, wgmma ? DqLayout::Fragments : DqLayout::RowMajor, n);
  FLASHLAB_CUDA_CHECK_LAUNCH();
}

}  // namespace

TileSizes flash_backward_tiles(int64_t head_dim, FusedKernel kernel) {
  bool supported = false;
  for (int d : kFastHeadDims) supported |= head_dim == d;
  require(supported, "flash_backward_tiles: head_dim " + std::to_string(head_dim) +
                         " is not supported; accepted: 32, 64, 96, 128, 256");
  if (use_wgmma(kernel, head_dim, "flash_backward_tiles"))
    return {kBwdBlockM,
            head_dim == 64 ? HopperBwdLayout<64>::kBlockN : HopperBwdLayout<128>::kBlockN};
  return {kBwdBlockM, mma_sync_block_n(head_dim)};
}

bool flash_backward_supports(const AttentionShape& shape, const AttentionOptions& options,
                             DType dtype, std::string* why) {
  try {
    validate_fast_call(shape, options, dtype, "flash_backward");  // what flash_backward checks
    return true;
  } catch (const Error& e) {
    if (why != nullptr) *why = e.what();
    return false;
  }
}

int64_t flash_backward_workspace_bytes(const AttentionShape& shape) {
  return shape.batch * shape.heads * padded_seq_q(shape) * (shape.head_dim + 2) *
         int64_t(sizeof(float));
}

void flash_backward(const AttentionShape& shape, const AttentionOptions& options, DType dtype,
                    const BackwardArgs& args, void* workspace, cudaStream_t stream,
                    FusedKernel kernel) {
  validate_fast_call(shape, options, dtype, "flash_backward");
  validate_backward_args(args, dtype);
  require_device_pointer(workspace, "workspace", 16);
  DeviceMask mask(options, stream);
  AttentionParams params = make_params(options, shape);
  params.mask.block = mask.view();
  const bool wgmma = use_wgmma(kernel, shape.head_dim, "flash_backward");
  if (dtype == DType::F16)
    run<__half>(shape, params, args, workspace, wgmma, stream);
  else
    run<__nv_bfloat16>(shape, params, args, workspace, wgmma, stream);
}

}  // namespace flashlab::cuda
