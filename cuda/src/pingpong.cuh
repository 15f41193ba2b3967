// The pingpong of the wgmma forward's two compute warpgroups (FA3 §3.1): they take turns to issue
// their products, so that the softmax of one overlaps the products of the other rather than both
// competing for the tensor cores at once. Named barrier 1 + w opens warpgroup w's turn: w waits
// on it, the other arrives; each barrier counts the 128 threads that wait and the 128 that
// arrive. Shared by the kernel (flash_fwd_hopper_kernel.cuh) and the microbenchmark of its inner
// loop (forward_part_rates.cu).
#pragma once

#include "mma.cuh"

namespace flashlab::cuda {

// Waits at warpgroup `group`'s own named barrier, kFirst + group, of kCount threads.
template <int kFirst, int kCount>
__device__ __forceinline__ void group_barrier_sync(int group) {
  if (group == 0)
    ptx::named_barrier_sync<kFirst, kCount>();
  else
    ptx::named_barrier_sync<kFirst + 1, kCount>();
}

namespace pingpong {

// Warpgroup `group` (0 or 1) waits for its turn to issue products.
__device__ __forceinline__ void wait_turn(int group) {
  group_barrier_sync<1, 256>(group);
}

// Warpgroup `group` hands the turn to the other.
__device__ __forceinline__ void pass_turn(int group) {
  if (group == 0)
    ptx::named_barrier_arrive<2, 256>();
  else
    ptx::named_barrier_arrive<1, 256>();
}

}  // namespace pingpong
}  // namespace flashlab::cuda
