// Which fused kernel runs (FusedKernel: Hopper wgmma or portable mma.sync), and the launch
// sequence both the forward and the backward use.
#pragma once

#include <cstdint>

#include <flashlab/cuda/api.hpp>

#include "check.hpp"

namespace flashlab::cuda {

// Head dims that have a wgmma kernel, per direction. The forward's: its O_i takes d / 2 registers
// per thread (128 at d = 256) and its tiles 192 KiB at d = 256; the backward's at d = 256 splits
// the columns of dK, dV and dQ between its warpgroups (hopper_bwd_shares_keys). d = 96 runs the
// d = 128 kernels (wgmma_kernel_head_dim).
inline constexpr int kWgmmaForwardHeadDims[] = {64, 96, 128, 256};
inline constexpr int kWgmmaBackwardHeadDims[] = {64, 96, 128, 256};
// The head dims of the debug kernels that record their tiles.
inline constexpr int kTileLogHeadDims[] = {64, 128};

template <size_t kCount>
constexpr bool listed(const int (&head_dims)[kCount], int64_t head_dim) {
  for (int d : head_dims)
    if (head_dim == d) return true;
  return false;
}
// The head dim a wgmma kernel is built for: d, or a d that is not a multiple of 64 (96) rounded
// up to one, since the 128-byte swizzle takes whole 64-column panels. The tensor maps keep the
// tensors' true d: TMA fills the columns past it with zeros, which add nothing to Q K^T and give
// O zero columns there, which the TMA store drops (the kernel must copy by TMA both ways).
constexpr int wgmma_kernel_head_dim(int head_dim) {
  return (head_dim + 63) / 64 * 64;
}
constexpr bool has_wgmma_forward(int64_t head_dim) {
  return listed(kWgmmaForwardHeadDims, head_dim);
}
constexpr bool has_wgmma_backward(int64_t head_dim) {
  return listed(kWgmmaBackwardHeadDims, head_dim);
}

// The debug kernels that record the tiles they visit (ForwardArgs::tile_log) are built for fp16
// without dropout at kTileLogHeadDims, so that a test sees both kernels of each direction; the
// production kernels stay as they are (the record is a template flag, not a branch in every
// kernel).
constexpr bool tile_log_built(DType dtype, int64_t head_dim, bool dropout) {
  return dtype == DType::F16 && listed(kTileLogHeadDims, head_dim) && !dropout;
}

// The ladder rungs (FusedKernel::WgmmaSerial ... WgmmaPersistentDynamic) are built for fp16 and
// bf16 at every wgmma head dim (both directions have the same) without dropout and without a
// tile log: the ladder's configuration. d = 96's cp.async rungs copy into the d = 128 kernel's
// tiles and fill the columns past d with zeros, as TMA does (fwd::load_tile_async).
constexpr bool is_ladder_rung(FusedKernel k) {
  return k == FusedKernel::WgmmaSerial || k == FusedKernel::WgmmaPingpong ||
         k == FusedKernel::WgmmaOverlap || k == FusedKernel::WgmmaKeptMax ||
         k == FusedKernel::WgmmaTma || k == FusedKernel::WgmmaWarpSpecialized ||
         k == FusedKernel::WgmmaPersistent || k == FusedKernel::WgmmaPersistentDynamic;
}
constexpr bool ladder_rungs_built(int64_t head_dim, bool dropout) {
  return has_wgmma_forward(head_dim) && has_wgmma_backward(head_dim) && !dropout;
}
// Throws, naming what is built, when a call asks for a ladder rung it does not have.
void require_ladder_rung_built(FusedKernel kernel, int64_t head_dim, bool dropout, bool tile_log,
                               const char* entry);
// Throws when a backward entry point asks for a ladder rung other than WgmmaSerial (the wgmma
// backward on cp.async copies), WgmmaTma (the same on TMA) and WgmmaWarpSpecialized (+ a
// producer warpgroup, what Wgmma runs); the others are the forward's.
void refuse_ladder_rung(FusedKernel kernel, const char* entry);

// Throws, naming what is built, when a call asks for a tile log that tile_log_built refuses.
void require_tile_log_built(DType dtype, int64_t head_dim, bool dropout, const char* entry);

// Whether this build holds sm_90a code and the current GPU (compute capability 9.0) runs it.
// Asked once per device; no usable GPU: false (the launch that follows reports why).
bool wgmma_runs_here();

// Resolves FusedKernel::Auto for `entry` (flash_forward, flash_backward); asking for the wgmma
// kernel where it cannot run throws, naming why.
enum class Pass { Forward, Backward };
bool use_wgmma(FusedKernel kernel, Pass pass, int64_t head_dim, const char* entry);

// Raises the limit on dynamic shared memory of `kernel` to smem_bytes on the current device,
// once per kernel and device rather than with a runtime call before every launch.
void set_smem_limit_once(const void* kernel, int smem_bytes);

// Launches the kernel on grid x threads with smem_bytes of dynamic shared memory and the given
// arguments, checking every step.
template <typename Kernel, typename... Args>
void launch_kernel(Kernel kernel, dim3 grid, int threads, int smem_bytes, cudaStream_t stream,
                   const Args&... args) {
  set_smem_limit_once(reinterpret_cast<const void*>(kernel), smem_bytes);
  kernel<<<grid, threads, smem_bytes, stream>>>(args...);
  FLASHLAB_CUDA_CHECK_LAUNCH();
}

// The current device's streaming multiprocessors (the size of a persistent grid), asked once per
// device.
int multiprocessor_count();

}  // namespace flashlab::cuda
