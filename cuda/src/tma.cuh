// Hopper's tensor memory accelerator (TMA) and the barriers it signals, as named wrappers (PTX ISA
// "cp.async.bulk.tensor", "mbarrier", "setmaxnreg"). One thread hands the copy engine a whole
// tile, described by a tensor map (tensor_map.hpp) and a box origin; the engine writes it into
// shared memory in the 128-byte swizzled layout that wgmma reads (wgmma.cuh), fills rows outside
// the tensor with zeros, and counts the bytes it delivered against an mbarrier. Threads that need
// the tile wait on that barrier's phase. This replaces the per-thread address arithmetic and
// cp.async instructions of fwd::load_tile_async (FA3 §3.1, "TMA").
//
// An mbarrier (a 64-bit word in shared memory) completes a phase when its expected arrivals have
// arrived and the bytes announced with arrive_expect_tx have landed; the phase parity then flips.
// Waiting for parity n & 1 waits for the n-th completion (n = 0, 1, ...) of a barrier that is
// reused round after round. Compiled for sm_90a only, like wgmma.cuh.
#pragma once

#include <cuda.h>  // CUtensorMap

#include <cstdint>

#include "mma.cuh"
#include "wgmma.cuh"

namespace flashlab::cuda::tma {

// Sets up the barrier for `arrivals` arrivals per phase. One thread initialises; the others
// may use it after make_barrier_inits_visible and a block-wide barrier.
__device__ __forceinline__ void barrier_init(uint64_t* bar, uint32_t arrivals) {
#if FLASHLAB_WGMMA_ENABLED
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(ptx::smem_address(bar)),
               "r"(arrivals)
               : "memory");
#endif
}
// Orders the barrier initialisations before their use by the copy engine (async proxy).
__device__ __forceinline__ void make_barrier_inits_visible() {
#if FLASHLAB_WGMMA_ENABLED
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#endif
}

// One arrival, announcing `bytes` more that the copies of this phase will deliver.
__device__ __forceinline__ void arrive_expect_bytes(uint64_t* bar, uint32_t bytes) {
#if FLASHLAB_WGMMA_ENABLED
  asm volatile(
      "mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(ptx::smem_address(bar)),
      "r"(bytes)
      : "memory");
#endif
}
// One arrival (a consumer saying it is done with the buffer the barrier guards).
__device__ __forceinline__ void arrive(uint64_t* bar) {
#if FLASHLAB_WGMMA_ENABLED
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(ptx::smem_address(bar))
               : "memory");
#endif
}
// Blocks until the phase with this parity has completed. A producer waiting for a free buffer
// for its n-th fill asks for parity (n & 1) ^ 1, which a fresh barrier reports complete: the
// first fill of each buffer does not wait.
__device__ __forceinline__ void wait(uint64_t* bar, uint32_t parity) {
#if FLASHLAB_WGMMA_ENABLED
  asm volatile(
      "{\n.reg .pred done;\n"
      "wait_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra wait_%=;\n}\n" ::"r"(ptx::smem_address(bar)),
      "r"(parity)
      : "memory");
#endif
}

// Copies the box of the tensor map whose origin is (column, row, matrix) into shared memory at
// `smem` (1024-byte aligned for the 128-byte swizzle) and counts its bytes against `bar`. Boxes
// reaching past the tensor's edges are zero-filled; the full box's bytes are counted.
__device__ __forceinline__ void load_box(void* smem, const void* tensor_map, uint64_t* bar,
                                         int column, int row, int matrix) {
#if FLASHLAB_WGMMA_ENABLED
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%2, %3, %4}], [%5];\n" ::"r"(ptx::smem_address(smem)),
      "l"(tensor_map), "r"(column), "r"(row), "r"(matrix), "r"(ptx::smem_address(bar))
      : "memory");
#endif
}
// The kRows x kD tile of 16-bit elements at row0 of matrix `matrix`, in the 128-byte swizzled
// layout of wgmma.cuh (kD / 64 boxes, one per 64-column panel, the map's boxes 64 columns x kRows
// rows), with its bytes announced on `full` by the calling thread (one arrival).
template <int kRows, int kD, typename Elem>
__device__ __forceinline__ void load_tile(Elem* smem, const CUtensorMap& map, uint64_t* full,
                                          int row0, int matrix) {
  arrive_expect_bytes(full, kRows * kD * int(sizeof(Elem)));
#pragma unroll
  for (int panel = 0; panel < kD / 64; ++panel)
    load_box(smem + panel * kRows * 64, &map, full, panel * 64, row0, matrix);
}

// Copies the box of the tensor map whose origin is (column, row, matrix) from shared memory at
// `smem` (laid out as load_box writes it) to global memory, in this thread's bulk async-group:
// rows past the tensor's edges are not written. bulk_commit and bulk_wait_all<true>
// (bulk_copy.cuh) close the group and wait until the copy engine has read `smem`.
__device__ __forceinline__ void store_box(const void* tensor_map, const void* smem, int column,
                                          int row, int matrix) {
#if FLASHLAB_WGMMA_ENABLED
  asm volatile(
      "cp.async.bulk.tensor.3d.global.shared::cta.bulk_group [%0, {%2, %3, %4}], [%1];\n" ::"l"(
          tensor_map),
      "r"(ptx::smem_address(smem)), "r"(column), "r"(row), "r"(matrix)
      : "memory");
#endif
}
// Stores the kRows x kD tile laid out as load_tile writes it to rows row0.. of matrix `matrix`,
// one box per 64-column panel.
template <int kRows, int kD, typename Elem>
__device__ __forceinline__ void store_tile(const CUtensorMap& map, const Elem* smem, int row0,
                                           int matrix) {
#pragma unroll
  for (int panel = 0; panel < kD / 64; ++panel)
    store_box(&map, smem + panel * kRows * 64, panel * 64, row0, matrix);
}

// Fetches the tensor map into the constant cache before its first use.
__device__ __forceinline__ void prefetch_map(const void* tensor_map) {
#if FLASHLAB_WGMMA_ENABLED
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(tensor_map) : "memory");
#endif
}

// Moves registers between the warpgroups of a warp-specialised block (setmaxnreg): the producer
// warpgroup, which only issues copies, gives its registers back, and the consumer warpgroups take
// them for S, P and O (FA3 §3.1). Every thread of the warpgroup must execute it.
template <int kRegisters>
__device__ __forceinline__ void shrink_registers() {
#if FLASHLAB_WGMMA_ENABLED
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegisters));
#endif
}
template <int kRegisters>
__device__ __forceinline__ void grow_registers() {
#if FLASHLAB_WGMMA_ENABLED
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kRegisters));
#endif
}

}  // namespace flashlab::cuda::tma
