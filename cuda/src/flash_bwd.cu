// Launches the fast fused backward: validates the call, picks the kernel (wgmma on Hopper for
// d = 64, 96, 128 and 256: flash_bwd_hopper_kernel.cuh; mma.sync elsewhere:
// flash_bwd_kernel.cuh), and runs the preprocess (D = rowsum(dO∘O), L in base 2), the main
// kernel over key blocks, then dQ's conversion from its fp32 accumulator. Dtype, head dim and
// dropout are dispatched by static_switch.hpp.
#include <flashlab/core/softmax_state.hpp>
#include <flashlab/cuda/api.hpp>

#include "check.hpp"
#include "device_mask.hpp"
#include "flash_bwd_hopper_kernel.cuh"
#include "flash_bwd_kernel.cuh"
#include "kernel_choice.hpp"
#include "static_switch.hpp"
#include "tensor_map.hpp"
#include "validate.hpp"

namespace flashlab::cuda {
namespace {

// Keys per block of the mma.sync kernel (one warp per 16 keys): 128 up to d = 64, which halves
// the dQ atomics and the reloads of Q and dO against 64 (measured on the H100 at d = 64: 79–82 ->
// 90–94 TFLOP/s without a mask, +13–23 % causal); 64 above, where ptxas spills at 128 (d = 128:
// 104 bytes) and 128 keys of K and V at d = 256 would not fit shared memory. Query blocks are
// kBwdBlockM = 64 rows (the wgmma kernel's: hopper_bwd_block_m).
constexpr int mma_sync_block_n(int64_t head_dim) {
  return head_dim <= 64 ? 128 : 64;
}

// One thread block per key block and (batch, head).
dim3 backward_grid(const AttentionShape& shape, int block_n) {
  return dim3(unsigned((shape.seq_k + block_n - 1) / block_n), unsigned(shape.batch * shape.heads));
}

template <typename Elem, int kD, bool kLogTiles>
void launch_mma_sync(const AttentionShape& shape, const FlashBwdParams<Elem>& p,
                     cudaStream_t stream) {
  constexpr int kBlockN = mma_sync_block_n(kD);
  using Layout = MmaBwdLayout<kD, kBlockN>;
  launch_kernel(flash_bwd_kernel<Elem, kD, kBlockN, kLogTiles>, backward_grid(shape, kBlockN),
                Layout::kThreads, Layout::kSmemBytes, stream, p);
}

// kD: the tensors' head dim; the kernel's is wgmma_kernel_head_dim(kD): d = 96 runs the d = 128
// kernel on tiles its copies (TMA, or cp.async on the serial rung) pad with zero columns, which
// add nothing to S and dP, give dK, dV and dQ zero columns there, and are not stored
// (store_dk_dv, convert_dq_kernel).
template <typename Elem, int kD, bool kDropout, bool kLogTiles, bool kTma = false,
          bool kProducer = false>
void launch_wgmma(const AttentionShape& shape, const FlashBwdParams<Elem>& p, cudaStream_t stream) {
  constexpr int kKernelD = wgmma_kernel_head_dim(kD);
  using Layout = HopperBwdLayout<kKernelD, kDropout, kProducer>;
  BwdTensorMaps maps{};
  if constexpr (kTma) {
    constexpr DType kDType = kDTypeOf<Elem>;
    const int64_t matrices = shape.batch * shape.heads;
    maps.q = make_tile_map(p.q, kDType, kD, p.seq_q, matrices, Layout::kBlockM);
    maps.d_o = make_tile_map(p.d_o, kDType, kD, p.seq_q, matrices, Layout::kBlockM);
    maps.k = make_tile_map(p.k, kDType, kD, p.seq_k, matrices, Layout::kBlockN);
    maps.v = make_tile_map(p.v, kDType, kD, p.seq_k, matrices, Layout::kBlockN);
  }
  launch_kernel(flash_bwd_hopper_kernel<Elem, kKernelD, kDropout, kLogTiles, kTma, kProducer, kD>,
                backward_grid(shape, Layout::kBlockN), Layout::kThreads, Layout::kSmemBytes, stream,
                p, maps);
}

// The mma.sync kernel takes dropout as a run-time flag (its registers allow it), the wgmma kernel
// as a template flag. The wgmma backward runs warp-specialised by default: a producer warpgroup
// copies the tiles by TMA (measured 1.09-1.16x over the same kernel without a producer on the
// H200: bench/results/v9_h200). FusedKernel::WgmmaSerial (cp.async copies) and WgmmaTma (TMA
// copies the compute warpgroups issue themselves) run the rungs below it, where the call is the
// ladder's configuration (require_ladder_rung_built checked it); WgmmaWarpSpecialized is what
// Wgmma runs.
template <typename Elem, int kD, bool kDropout, bool kLogTiles>
void launch(const AttentionShape& shape, const FlashBwdParams<Elem>& p, bool wgmma,
            FusedKernel kernel, cudaStream_t stream) {
  if constexpr (has_wgmma_backward(kD)) {
    if constexpr (ladder_rungs_built(kD, kDropout) && !kLogTiles) switch (kernel) {
        case FusedKernel::WgmmaSerial:
          return launch_wgmma<Elem, kD, kDropout, false, false>(shape, p, stream);
        case FusedKernel::WgmmaTma:
          return launch_wgmma<Elem, kD, kDropout, false, true>(shape, p, stream);
        default:
          break;
      }
    if (wgmma) return launch_wgmma<Elem, kD, kDropout, kLogTiles, true, true>(shape, p, stream);
  }
  launch_mma_sync<Elem, kD, kLogTiles>(shape, p, stream);
}

int64_t padded_seq_q(const AttentionShape& shape) {
  return (shape.seq_q + kBwdPaddedRows - 1) / kBwdPaddedRows * kBwdPaddedRows;
}

// Query rows per block of the kernel that runs: its dQ accumulator's blocks (convert_dq_kernel).
int backward_block_m(int64_t head_dim, bool dropout, bool wgmma) {
  return wgmma ? hopper_bwd_block_m(wgmma_kernel_head_dim(int(head_dim)), dropout) : kBwdBlockM;
}

// How the kernel that runs lays out dQ's accumulator: the wgmma kernel's register order (it adds
// dQ in 16-byte vector reductions or bulk reductions), row-major for the mma.sync kernel (it adds
// by atomics).
DqLayout backward_dq_layout(bool wgmma) {
  return wgmma ? DqLayout::Fragments : DqLayout::RowMajor;
}

// Columns of dQ's fp32 accumulator: the wgmma kernel's head dim where it runs, which is larger
// than d where d is padded (96 -> 128). The workspace is sized for the larger whichever kernel
// runs, so that its size does not depend on the GPU.
int64_t dq_accum_columns(int64_t head_dim, bool wgmma) {
  return wgmma && has_wgmma_backward(head_dim) ? wgmma_kernel_head_dim(int(head_dim)) : head_dim;
}

template <typename Tag>
void run(Tag, const AttentionShape& shape, const AttentionParams& params, const BackwardArgs& args,
         void* workspace, bool wgmma, FusedKernel kernel, cudaStream_t stream) {
  using Elem = typename Tag::type;
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
  p.dq_accum_d = int(dq_accum_columns(shape.head_dim, wgmma));
  p.D = p.dq_accum + padded_rows * p.dq_accum_d;
  p.L2 = p.D + padded_rows;
  p.seq_q = int(shape.seq_q);
  p.seq_k = int(shape.seq_k);
  p.padded_q = int(padded_seq_q(shape));
  p.heads = int(shape.heads);
  p.d = int(shape.head_dim);
  p.scale = float(params.scale);
  p.scale_log2 = float(params.scale * kLog2e);
  p.mask = params.mask;
  p.dropout = params.dropout;
  p.keep_scale = float(params.dropout.keep_scale);
  p.tile_log = args.tile_log;

  FLASHLAB_CUDA_CHECK(
      cudaMemsetAsync(p.dq_accum, 0, size_t(padded_rows * p.dq_accum_d) * sizeof(float), stream));
  const int64_t preprocess_threads = padded_rows * bwd::kPreprocessLanes;
  switch_head_dim(shape.head_dim, [&](auto d) {
    constexpr int kD = decltype(d)::value;
    bwd::preprocess_kernel<Elem, kD>
        <<<unsigned((preprocess_threads + bwd::kPreprocessThreads - 1) / bwd::kPreprocessThreads),
           bwd::kPreprocessThreads, 0, stream>>>(p, padded_rows);
    FLASHLAB_CUDA_CHECK_LAUNCH();
    switch_bool(params.dropout.enabled, [&](auto drop) {
      constexpr bool kDropout = decltype(drop)::value;
      if constexpr (tile_log_built(Tag::dtype, kD, kDropout))
        if (p.tile_log != nullptr)
          return launch<Elem, kD, kDropout, true>(shape, p, wgmma, kernel, stream);
      launch<Elem, kD, kDropout, false>(shape, p, wgmma, kernel, stream);
    });
  });
  const int block_m = backward_block_m(shape.head_dim, params.dropout.enabled, wgmma);
  const dim3 query_blocks(unsigned(p.padded_q / block_m), unsigned(shape.batch * shape.heads));
  bwd::convert_dq_kernel<Elem>
      <<<query_blocks, 256, 0, stream>>>(p, backward_dq_layout(wgmma), block_m);
  FLASHLAB_CUDA_CHECK_LAUNCH();
}

}  // namespace

TileSizes flash_backward_tiles(int64_t head_dim, bool dropout, FusedKernel kernel) {
  require_fast_head_dim(head_dim, "flash_backward_tiles");
  refuse_ladder_rung(kernel, "flash_backward_tiles");
  require_ladder_rung_built(kernel, head_dim, dropout, false, "flash_backward_tiles");
  const bool wgmma = use_wgmma(kernel, Pass::Backward, head_dim, "flash_backward_tiles");
  return {backward_block_m(head_dim, dropout, wgmma),
          wgmma ? hopper_bwd_block_n(wgmma_kernel_head_dim(int(head_dim)))
                : mma_sync_block_n(head_dim)};
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
  return shape.batch * shape.heads * padded_seq_q(shape) *
         (dq_accum_columns(shape.head_dim, true) + 2) * int64_t(sizeof(float));
}

void flash_backward(const AttentionShape& shape, const AttentionOptions& options, DType dtype,
                    const BackwardArgs& args, void* workspace, cudaStream_t stream,
                    FusedKernel kernel) {
  validate_fast_call(shape, options, dtype, "flash_backward");
  refuse_ladder_rung(kernel, "flash_backward");
  validate_backward_args(args, dtype);
  require_device_pointer(workspace, "workspace", 16);
  AttentionParams params = make_params(options, shape);
  if (args.tile_log != nullptr)
    require_tile_log_built(dtype, shape.head_dim, params.dropout.enabled, "flash_backward");
  require_ladder_rung_built(kernel, shape.head_dim, params.dropout.enabled,
                            args.tile_log != nullptr, "flash_backward");
  DeviceMask mask(options, stream);
  params.mask.block = mask.view();
  const bool wgmma = use_wgmma(kernel, Pass::Backward, shape.head_dim, "flash_backward");
  switch_dtype(
      dtype, [&](auto elem) { run(elem, shape, params, args, workspace, wgmma, kernel, stream); });
}

}  // namespace flashlab::cuda
