// measure_forward_part_rates: the wgmma forward's products and its softmax step, each timed alone
// on every SM, and the two together in the forward's inner loop (forward_part_rates.hpp). Every
// kernel keeps its operands on chip: the products read fixed tiles in shared memory, the softmax
// reworks a tile in registers, so what they time is the tensor cores at the forward's shapes and
// the warpgroups' instruction streams, not memory.
#include <cuda_fp16.h>

#include <string>

#include <flashlab/cuda/api.hpp>
#include <flashlab/cuda/device_buffer.hpp>
#include <flashlab/cuda/event_timer.hpp>
#include <flashlab/cuda/forward_part_rates.hpp>

#include "check.hpp"
#include "fwd_softmax.cuh"
#include "pingpong.cuh"
#include "wgmma.cuh"

namespace flashlab::cuda {
namespace {

constexpr int kRows = 64;   // one warpgroup's query rows
constexpr int kKeys = 128;  // keys per tile, as the forward's producer rungs take them
constexpr int kPSteps = kKeys / 16;

// Fixed bits for the tiles: values in [-1, 1) from the index, so that the products multiply
// ordinary numbers (the tensor cores' rate does not depend on them, but denormals and NaN stay
// out of the picture).
__device__ __forceinline__ float tile_value(int i) {
  return float((i * 37) % 255 - 127) / 128.f;
}

// The block's fixed operands in shared memory: Q (kGroups warpgroups' rows: the forward's two,
// or FA3's three at d = 64) and two stages of K and V (kKeys rows each), as the forward keeps
// them, 128-byte swizzled from a 1024-byte boundary; and the products the forward issues on them.
// Every thread of the block constructs it (all fill, then meet at a barrier).
template <int kD, int kGroups = 2>
struct FixedTiles {
  static constexpr int kStages = 2;
  static constexpr int kQRows = kGroups * kRows;  // the block's Q tile
  const __half* q_group;                          // this warpgroup's 64 rows of Q
  const __half *k, *v;  // stage 0 of K and of V; stage s is kKeys * kD elements further

  __device__ explicit FixedTiles(unsigned char* smem_raw) {
    __half* q =
        reinterpret_cast<__half*>(smem_raw + ((1024 - ptx::smem_address(smem_raw) % 1024) % 1024));
    for (int i = threadIdx.x; i < (kQRows + 2 * kStages * kKeys) * kD; i += blockDim.x)
      q[i] = __float2half(tile_value(i));
    wgmma::fence_shared_for_async_proxy();
    __syncthreads();
    q_group = q + wgmma::swizzled_offset<kQRows>(int(threadIdx.x / 128) * kRows, 0);
    k = q + kQRows * kD;
    v = k + kStages * kKeys * kD;
  }
  static constexpr int smem_bytes() { return (kQRows + 2 * kStages * kKeys) * kD * 2 + 1024; }

  // S = Q K_stage^T over the head dim (FA2 Alg. 1 l. 8): kD / 16 wgmma of 64 x kKeys x 16, both
  // operands in shared memory; the first adds onto S or, as the forward does, overwrites it.
  __device__ void multiply_qk(float (&S)[kKeys / 8][4], int stage, bool accumulate) const {
    const __half* k_stage = k + stage * kKeys * kD;
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk)
      wgmma::mma_ss<__half, kKeys>(
          S, wgmma::descriptor(q_group + wgmma::swizzled_offset<kQRows>(0, 16 * kk)),
          wgmma::descriptor(k_stage + wgmma::swizzled_offset<kKeys>(0, 16 * kk)),
          accumulate || kk > 0);
  }
  // O += P V_stage: one wgmma of 64 x kD x 16 per 16 keys, P in registers (FA2 Alg. 1 l. 10).
  __device__ void multiply_pv(float (&O)[kD / 8][4], const uint32_t (&P)[kPSteps][4],
                              int stage) const {
    constexpr int kN = kD < 128 ? kD : 128;
    const __half* v_stage = v + stage * kKeys * kD;
#pragma unroll
    for (int kk = 0; kk < kPSteps; ++kk)
#pragma unroll
      for (int c = 0; c < kD; c += kN)
        wgmma::mma_rs<__half, kN>(
            *reinterpret_cast<float(*)[kN / 8][4]>(&O[c / 8]), P[kk],
            wgmma::descriptor(v_stage + wgmma::swizzled_offset<kKeys>(16 * kk, c), kKeys * 128), 1);
  }
};

// A fixed P~ for the products: 16-bit pairs in (-1, 1) from the lane.
__device__ __forceinline__ void fixed_p(uint32_t (&P)[kPSteps][4], int lane) {
#pragma unroll
  for (int kk = 0; kk < kPSteps; ++kk)
#pragma unroll
    for (int e = 0; e < 4; ++e) P[kk][e] = ptx::pack2<__half>(tile_value(lane + e), 0.5f);
}

// Each warpgroup: S = Q K^T, then O += P V, as the forward issues them, with one group of products
// left in flight (the forward's overlap keeps one). P is fixed: the products alone, no softmax
// between them. S accumulates across iterations (the kernel overwrites it; the tensor cores take
// as long either way): a product of fixed operands that overwrites its result is loop-invariant,
// and ptxas hoisted it out of the loop (the first run measured 1.26e15 FLOP/s, above the dense
// peak).
template <int kD>
__global__ void __launch_bounds__(256) products_kernel(int iters, float* __restrict__ sink) {
#if FLASHLAB_WGMMA_ENABLED
  extern __shared__ unsigned char smem_raw[];
  const FixedTiles<kD> tiles(smem_raw);
  float S[kKeys / 8][4] = {};
  float O[kD / 8][4] = {};
  uint32_t P[kPSteps][4];
  fixed_p(P, int(threadIdx.x % 32));
  for (int it = 0; it < iters; ++it) {
    wgmma::fence();
    tiles.multiply_qk(S, 0, true);
    tiles.multiply_pv(O, P, 0);
    wgmma::commit();
    wgmma::wait<1>();
  }
  wgmma::wait<0>();
  wgmma::pin(S);
  wgmma::pin(O);
  float sum = 0.f;
#pragma unroll
  for (int t = 0; t < kKeys / 8; ++t) sum += S[t][0] + S[t][3];
#pragma unroll
  for (int t = 0; t < kD / 8; ++t) sum += O[t][0] + O[t][3];
  if (sum == 12345.678f) *sink = sum;
#else
  if (iters < 0) *sink = 0.f;  // not built for sm_90a: measure_forward_part_rates refuses first
#endif
}

// Each warpgroup: the forward's softmax step on its 64 x 128 scores as the default rungs run it
// between their waits (fwd::softmax_step_kept_max: FA2's softmax and the rescale of its 64 x d
// output on the first step, FA2 Alg. 1 l. 9–10; after that against the kept max, P packed for the
// next product). The scores are hidden from the compiler at every step, as the product would
// deliver new ones.
template <int kD>
__global__ void __launch_bounds__(256) softmax_kernel(int iters, float* __restrict__ sink) {
  const int lane = threadIdx.x % 32;
  float S[1][kKeys / 8][4];
  float O[1][kD / 8][4];
#pragma unroll
  for (int t = 0; t < kKeys / 8; ++t)
#pragma unroll
    for (int e = 0; e < 4; ++e) S[0][t][e] = tile_value(lane * 7 + t * 4 + e);
#pragma unroll
  for (int t = 0; t < kD / 8; ++t)
#pragma unroll
    for (int e = 0; e < 4; ++e) O[0][t][e] = 1.f + tile_value(lane * 5 + t * 4 + e);
  float m[1][2] = {{-INFINITY, -INFINITY}}, l[1][2] = {{0.f, 0.f}};
  uint32_t P[kPSteps][4];
  const float scale_log2 = 0.125f * 1.4426950408889634f;
  for (int it = 0; it < iters; ++it) {
    wgmma::pin(S[0]);
    fwd::softmax_step_kept_max<__half>(S, O, P, m, l, scale_log2, it == 0, fwd::NoDropout{});
    wgmma::pin(P);
    wgmma::pin(O[0]);
  }
  // Every output feeds the check, so that ptxas (which sees through the pins' empty asm) keeps
  // all of each step's work.
  float sum = l[0][0] + l[0][1] + m[0][0] + m[0][1];
#pragma unroll
  for (int t = 0; t < kD / 8; ++t)
#pragma unroll
    for (int e = 0; e < 4; ++e) sum += O[0][t][e];
  uint32_t bits = 0;
#pragma unroll
  for (int kk = 0; kk < kPSteps; ++kk)
#pragma unroll
    for (int e = 0; e < 4; ++e) bits ^= P[kk][e];
  if (sum == 12345.678f || bits == 0x12345678u) *sink = sum + float(bits);
}

// Both warpgroups run the forward's inner loop (flash_fwd_hopper_kernel.cuh, FwdRung::KeptMax and
// above, without dropout) on tiles that stay on chip: issue S = Q K^T and O += P~ V of the
// previous step, wait for both, run the softmax step (fwd::softmax_step_kept_max) into P~. With
// kPingpong the two take turns to issue their products (pingpong.cuh), as the kernel's rungs from
// Pingpong up do. So it times the overlap of the two halves measured alone above, without the
// loads, the producer's stages and the epilogue that the kernel adds. As in the kernel, S_j is
// overwritten and step j reads K from stage j % 2 and V of the previous step from the other:
// the operands change every step, so no product is loop-invariant (products_kernel, with fixed
// operands, accumulates instead). A first version accumulated S here too and took 11 % longer per
// step at d = 64 than the kernel itself (bench/results/v14_h200/part_rates_loop/first_loop).
// The source's order is the kernel's. Until v26 both issued the softmax before the wait for O,
// and ptxas moved that wait above it (v22: bench/sass_waits.py on this file's object); forcing
// the softmax ahead of the wait (a shared-memory store before it) took the pingpong step from
// 1.17 to 1.21 us at d = 64 and the three groups' from 1.25 to 0.96
// (bench/results/v22_h200/call1_overlap_two_groups/micro).
// With kGroups = 3 (FA3's d = 64 layout, 192 query rows; no pingpong, which takes turns between
// two) a third warpgroup's products can run while the other two do their softmax.
template <int kD, bool kPingpong, int kGroups = 2>
__global__ void __launch_bounds__(128 * kGroups) step_kernel(int iters, float* __restrict__ sink) {
#if FLASHLAB_WGMMA_ENABLED
  static_assert(!kPingpong || kGroups == 2, "the pingpong takes turns between two warpgroups");
  extern __shared__ unsigned char smem_raw[];
  const FixedTiles<kD, kGroups> tiles(smem_raw);
  const int group = threadIdx.x / 128;
  float S[1][kKeys / 8][4] = {};
  float O[1][kD / 8][4] = {};
  uint32_t P[kPSteps][4];
  fixed_p(P, int(threadIdx.x % 32));
  float m[1][2] = {{-INFINITY, -INFINITY}}, l[1][2] = {{0.f, 0.f}};
  const float scale_log2 = 0.125f * 1.4426950408889634f;

  if (kPingpong && group == 1) pingpong::pass_turn(group);  // warpgroup 0 goes first
  for (int it = 0; it < iters; ++it) {
    if constexpr (kPingpong) pingpong::wait_turn(group);
    wgmma::fence();
    const int stage = it % 2;
    tiles.multiply_qk(S[0], stage, false);
    wgmma::commit();
    tiles.multiply_pv(O[0], P, 1 - stage);
    wgmma::commit();
    if constexpr (kPingpong) pingpong::pass_turn(group);
    wgmma::wait<1>();
    wgmma::pin(S[0]);
    wgmma::wait<0>();
    wgmma::pin(O[0]);
    wgmma::pin(P);
    fwd::softmax_step_kept_max<__half>(S, O, P, m, l, scale_log2, it == 0, fwd::NoDropout{});
  }
  if (kPingpong && group == 0) pingpong::wait_turn(group);  // the last pass_turn of group 1
  wgmma::pin(O[0]);
  float sum = l[0][0] + l[0][1] + m[0][0] + m[0][1];
#pragma unroll
  for (int t = 0; t < kD / 8; ++t) sum += O[0][t][0] + O[0][t][3];
  uint32_t bits = 0;
#pragma unroll
  for (int kk = 0; kk < kPSteps; ++kk) bits ^= P[kk][0] ^ P[kk][3];
  if (sum == 12345.678f || bits == 0x12345678u) *sink = sum + float(bits);
#else
  if (iters < 0) *sink = 0.f;  // not built for sm_90a: measure_forward_part_rates refuses first
#endif
}

// Seconds per iteration of a launch of kernels that run kIters iterations (the median of CUDA-event
// timings after warm-up).
constexpr int kIters = 4000;
template <typename Launch>
double seconds_per_iteration(Launch&& launch) {
  const double ms = median_event_ms(
      [&] {
        launch();
        FLASHLAB_CUDA_CHECK_LAUNCH();
      },
      {3, 10, 10, 0});
  return ms * 1e-3 / kIters;
}

template <int kD>
ForwardPartRates measure(int sms, float* sink) {
  ForwardPartRates r;
  r.head_dim = kD;
  r.exps_per_step = double(kRows) * kKeys;
  const int smem = FixedTiles<kD>::smem_bytes();
  FLASHLAB_CUDA_CHECK(
      cudaFuncSetAttribute(products_kernel<kD>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  const double flops_per_group_step = 4.0 * kRows * kKeys * kD;  // S and P V, 2 FLOPs a MAC
  for (int groups = 1; groups <= 2; ++groups) {
    // One block per SM (the products' shared memory allows no second), every SM busy; each
    // warpgroup of the grid runs kIters steps, and an SM's warpgroups share it.
    const double products_s = seconds_per_iteration(
        [&] { products_kernel<kD><<<sms, 128 * groups, smem>>>(kIters, sink); });
    const double softmax_s =
        seconds_per_iteration([&] { softmax_kernel<kD><<<sms, 128 * groups>>>(kIters, sink); });
    (groups == 1 ? r.products_one_group_flops_per_s : r.products_two_groups_flops_per_s) =
        flops_per_group_step * groups * sms / products_s;
    (groups == 1 ? r.softmax_one_group_s : r.softmax_two_groups_s) = softmax_s / groups;
  }
  // The whole step: every warpgroup, one iteration each.
  auto step_seconds = [&](auto kernel, int groups, int smem_bytes) {
    FLASHLAB_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes));
    return seconds_per_iteration([&] { kernel<<<sms, 128 * groups, smem_bytes>>>(kIters, sink); });
  };
  r.overlap_step_s = step_seconds(step_kernel<kD, false>, 2, smem);
  r.pingpong_step_s = step_seconds(step_kernel<kD, true>, 2, smem);
  if constexpr (kD == 64)  // 192 rows a step: scaled to the two groups' 128
    r.three_groups_step_s =
        step_seconds(step_kernel<kD, false, 3>, 3, FixedTiles<kD, 3>::smem_bytes()) * 2 / 3;
  r.products_step_s = 2 * flops_per_group_step * sms / r.products_two_groups_flops_per_s;
  r.softmax_step_s = 2 * r.softmax_one_group_s;
  r.rest_rate_under_products = r.softmax_step_s / r.pingpong_step_s;
  return r;
}

}  // namespace

bool forward_part_rates_available() {
  return wgmma_forward_available(64) && wgmma_forward_available(128);
}

ForwardPartRates measure_forward_part_rates(int head_dim) {
  if (!forward_part_rates_available())
    throw Error(
        "measure_forward_part_rates: needs the wgmma kernels (a build for sm_90a) and a GPU "
        "that runs them (Hopper)");
  if (head_dim != 64 && head_dim != 128)
    throw Error("measure_forward_part_rates: head dim " + std::to_string(head_dim) +
                " is not measured; 64 or 128");
  int dev = 0, sms = 0;
  FLASHLAB_CUDA_CHECK(cudaGetDevice(&dev));
  FLASHLAB_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  DeviceBuffer sink(sizeof(float));
  return head_dim == 64 ? measure<64>(sms, sink.as<float>()) : measure<128>(sms, sink.as<float>());
}

}  // namespace flashlab::cuda
