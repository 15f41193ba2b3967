// Hopper's ways to add fp32 into global memory in bulk (sm_90): the bulk asynchronous reduction
// (PTX ISA "cp.reduce.async.bulk"), where one thread hands the copy engine a contiguous run of
// shared memory and the warps go on, and the vector reduction (red .v4.f32) straight from
// registers. The wgmma backward adds each query block's dQ one of these ways instead of with one
// atomic per element (hopper_bwd_dq_in_stage).
#pragma once

#include <cstdint>

#include "mma.cuh"

namespace flashlab::cuda::ptx {

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define FLASHLAB_BULK_ENABLED 1
#else
#define FLASHLAB_BULK_ENABLED 0
#endif

// global[0, bytes) += shared[0, bytes) as fp32, element by element (atomically per element, so
// thread blocks may add into the same rows). Both addresses 16-byte aligned, bytes a multiple of
// 16. The shared memory must have been made visible to the async proxy
// (fence.proxy.async.shared::cta) by the threads that wrote it.
__device__ __forceinline__ void bulk_reduce_add_f32(float* global, const float* shared,
                                                    uint32_t bytes) {
#if FLASHLAB_BULK_ENABLED
  asm volatile(
      "cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32 [%0], [%1], %2;\n" ::"l"(global),
      "r"(smem_address(shared)), "r"(bytes)
      : "memory");
#endif
}
// global[0, 4) += v as fp32, one vector reduction from registers (sm_90, PTX ISA "red", .v4.f32;
// atomic per element). global 16-byte aligned. No shared memory, no fence and no wait: the
// warp's 32 lanes on 32 consecutive float4 add 512 contiguous bytes, as one bulk reduction of
// them would, without staging them in shared memory first.
__device__ __forceinline__ void red_add_f32x4(float* global, float4 v) {
#if FLASHLAB_BULK_ENABLED
  asm volatile("red.relaxed.gpu.global.add.v4.f32 [%0], {%1, %2, %3, %4};\n" ::"l"(global),
               "f"(v.x), "f"(v.y), "f"(v.z), "f"(v.w));
#endif
}
// Closes the group of bulk copies this thread issued since the last commit.
__device__ __forceinline__ void bulk_commit() {
#if FLASHLAB_BULK_ENABLED
  asm volatile("cp.async.bulk.commit_group;\n" ::: "memory");
#endif
}
// Waits until this thread's committed bulk groups have finished reading shared memory (so it may
// be overwritten), or with kReadOnly = false until their writes to global memory are complete.
template <bool kReadOnly>
__device__ __forceinline__ void bulk_wait_all() {
#if FLASHLAB_BULK_ENABLED
  if constexpr (kReadOnly)
    asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory");
  else
    asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory");
#endif
}

}  // namespace flashlab::cuda::ptx
