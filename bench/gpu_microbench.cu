// flashlab-gpu-microbench: measures the few rates the simulator's performance model needs, each
// with its own small kernel, so that the model's constants never come from the attention times it
// predicts (docs/simulator.md, "Where the constants come from"):
//   copy bandwidth (device-to-device copy of 1 GiB: DRAM read + write),
//   L2 read bandwidth (many blocks reading a 16 MiB buffer that stays in L2),
//   dense fp16 tensor-core rate (cuBLAS GEMM 8192^3, fp32 accumulation),
//   exp rate (ex2.approx in a dependent-free loop on every SM, fp32 and packed fp16) and the SM
//   clock under load,
//   fp32 rate (FMA loop), dropout draws (the kernels' Philox call and threshold, eight elements
//   each: cuda/dropout_draw_rate.hpp), L2 reductions (fp32 atomics and bulk tile adds, as the
//   backward kernels add dQ), the launch floor (an empty kernel, back to back), and on Hopper the
//   wgmma forward's two halves alone: its products at the kernel's shapes and one warpgroup's
//   softmax step (cuda/forward_part_rates.hpp).
// Writes one JSON object. Run on the GPU: flashlab-gpu-microbench --json micro.json
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <flashlab/core/dropout.hpp>
#include <flashlab/core/error.hpp>
#include <flashlab/cuda/dropout_draw_rate.hpp>
#include <flashlab/cuda/event_timer.hpp>
#include <flashlab/cuda/forward_part_rates.hpp>
#include <flashlab/cuda/gemm_rate.hpp>

namespace {

using flashlab::Error;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string(what) + ": " + cudaGetErrorString(e));
}

// Median milliseconds of `fn` over `reps` runs after `warmup` runs (cuda/event_timer.hpp).
double median_ms(const std::function<void()>& fn, int warmup, int reps) {
  return flashlab::cuda::median_event_ms(fn, {warmup, reps, reps, 0});
}

// Reads `n` float4 values `passes` times (the buffer stays in L2 when it is smaller than L2);
// the sum is stored so the loads cannot be removed.
__global__ void l2_read_kernel(const float4* __restrict__ data, int64_t n, int passes,
                               float* __restrict__ sink) {
  float acc = 0.f;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int p = 0; p < passes; ++p)
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += stride) {
      const float4 v = __ldcg(data + i);  // L2 only: the L1 would serve the repeats otherwise
      acc += v.x + v.y + v.z + v.w;
    }
  if (acc == 12345.678f) *sink = acc;
}

// Eight independent chains of base-2 exponentials per thread (the SFU's ex2.approx, as the
// attention kernels' exp2f); records the SM clock cycles the block took.
__global__ void exp_kernel(int iters, float* __restrict__ sink, long long* __restrict__ cycles) {
  float x[8];
  for (int k = 0; k < 8; ++k) x[k] = -1.f - 0.001f * float(threadIdx.x + k);
  const long long t0 = clock64();
  for (int i = 0; i < iters; ++i)
#pragma unroll
    for (int k = 0; k < 8; ++k) asm volatile("ex2.approx.ftz.f32 %0, %0;" : "+f"(x[k]));
  const long long t1 = clock64();
  float s = 0.f;
  for (int k = 0; k < 8; ++k) s += x[k];
  if (s == 12345.678f) *sink = s;
  if (threadIdx.x == 0) cycles[blockIdx.x] = t1 - t0;
}

// The same with packed halves: ex2.approx.f16x2 computes two exponentials per instruction. Whether
// the SFU then does twice the exponentials per clock decides whether the forward's softmax could
// halve its SFU time by exponentiating in fp16 (P enters the P V product in fp16 anyway).
__global__ void exp_f16x2_kernel(int iters, float* __restrict__ sink) {
  uint32_t x[8];
  for (int k = 0; k < 8; ++k) {
    const __half2 h = __floats2half2_rn(-1.f - 0.001f * float(threadIdx.x + k), -0.5f);
    x[k] = *reinterpret_cast<const uint32_t*>(&h);
  }
  for (int i = 0; i < iters; ++i)
#pragma unroll
    for (int k = 0; k < 8; ++k) asm volatile("ex2.approx.f16x2 %0, %0;" : "+r"(x[k]));
  uint32_t s = 0;
  for (int k = 0; k < 8; ++k) s ^= x[k];
  if (s == 12345u) *sink = float(s);
}

// Eight independent FMA chains per thread: 2 FLOPs each.
__global__ void fma_kernel(int iters, float* __restrict__ sink) {
  float x[8];
  for (int k = 0; k < 8; ++k) x[k] = 0.5f + 0.001f * float(threadIdx.x + k);
  for (int i = 0; i < iters; ++i)
#pragma unroll
    for (int k = 0; k < 8; ++k) x[k] = fmaf(x[k], 0.999f, 0.0001f);
  float s = 0.f;
  for (int k = 0; k < 8; ++k) s += x[k];
  if (s == 12345.678f) *sink = s;
}

// Reductions into an L2-resident fp32 buffer, as the backward kernels add dQ: one float atomic
// per element (FA2's atomicAdd; the result unused compiles to RED) ...
__global__ void red_scalar_kernel(float* __restrict__ data, int64_t n, int passes) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int p = 0; p < passes; ++p)
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += stride)
      atomicAdd(data + i, 1.0f);
}

// ... and whole 16 KiB tiles added from shared memory by the copy engine
// (cp.reduce.async.bulk ... add.f32), as flashlab's wgmma backward adds each dQ block.
constexpr int kBulkBytes = 16 * 1024;
__global__ void red_bulk_kernel(float* __restrict__ data, int64_t chunks, int passes) {
  __shared__ alignas(128) float tile[kBulkBytes / 4];
  for (int k = threadIdx.x; k < kBulkBytes / 4; k += blockDim.x) tile[k] = 1.0f;
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
  __syncthreads();
  if (threadIdx.x != 0) return;
  const uint32_t src = uint32_t(__cvta_generic_to_shared(tile));
  for (int p = 0; p < passes; ++p)
    for (int64_t c = blockIdx.x; c < chunks; c += gridDim.x) {
      float* dst = data + c * (kBulkBytes / 4);
      asm volatile(
          "cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32 [%0], [%1], %2;\n" ::"l"(dst),
          "r"(src), "r"(kBulkBytes)
          : "memory");
      asm volatile("cp.async.bulk.commit_group;\n" ::: "memory");
    }
  asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory");
}

__global__ void empty_kernel() {}

struct Result {
  std::string name;
  double value;
  std::string unit, how;
};

}  // namespace

int main(int argc, char** argv) {
  std::string json_path = "microbench.json";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else {
      std::fprintf(stderr, "usage: flashlab-gpu-microbench [--json FILE]\n");
      return 2;
    }
  }
  try {
    int dev = 0;
    cudaDeviceProp prop{};
    check(cudaGetDevice(&dev), "cudaGetDevice");
    check(cudaGetDeviceProperties(&prop, dev), "cudaGetDeviceProperties");
    const int sms = prop.multiProcessorCount;
    std::vector<Result> out;
    auto add = [&](const char* name, double v, const char* unit, const char* how) {
      out.push_back({name, v, unit, how});
      std::printf("%-24s %12.4g %-10s %s\n", name, v, unit, how);
      std::fflush(stdout);
    };
    float* sink = nullptr;
    check(cudaMalloc(&sink, 4), "cudaMalloc");

    {  // DRAM: a device-to-device copy reads and writes every byte once.
      const size_t bytes = size_t(1) << 30;
      void *a = nullptr, *b = nullptr;
      check(cudaMalloc(&a, bytes), "cudaMalloc");
      check(cudaMalloc(&b, bytes), "cudaMalloc");
      check(cudaMemset(a, 1, bytes), "cudaMemset");
      const double ms = median_ms(
          [&] { check(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice), "copy"); }, 3, 20);
      add("dram_copy_bytes_per_s", 2.0 * double(bytes) / (ms * 1e-3), "B/s",
          "cudaMemcpy D2D of 1 GiB, read + write");
      cudaFree(a);
      cudaFree(b);
    }
    {  // L2: 16 MiB read 64 times by 8 blocks per SM.
      const int64_t n = (int64_t(16) << 20) / 16;
      const int passes = 64;
      float4* buf = nullptr;
      check(cudaMalloc(&buf, size_t(n) * 16), "cudaMalloc");
      check(cudaMemset(buf, 0, size_t(n) * 16), "cudaMemset");
      const double ms =
          median_ms([&] { l2_read_kernel<<<sms * 8, 256>>>(buf, n, passes, sink); }, 3, 20);
      check(cudaGetLastError(), "l2_read_kernel");
      add("l2_read_bytes_per_s", double(n) * 16 * passes / (ms * 1e-3), "B/s",
          "16 MiB buffer read 64x with ld.global.cg");
      cudaFree(buf);
    }
    // Tensor cores: cuBLAS fp16 GEMM, 8192^3, fp32 accumulation, on random inputs
    // (cuda/gemm_rate.hpp; the benchmark divides by the same measurement).
    add("gemm_fp16_flops_per_s",
        flashlab::cuda::measure_gemm_flops_per_s(flashlab::cuda::DType::F16), "FLOP/s",
        "cuBLAS GemmEx fp16 8192^3, fp32 accumulate, random inputs");
    {  // SFU exponentials and the SM clock under that load.
      const int iters = 4096, blocks = sms * 8, threads = 256;
      long long* cycles = nullptr;
      check(cudaMalloc(&cycles, sizeof(long long) * blocks), "cudaMalloc");
      const double ms =
          median_ms([&] { exp_kernel<<<blocks, threads>>>(iters, sink, cycles); }, 3, 20);
      check(cudaGetLastError(), "exp_kernel");
      std::vector<long long> cyc(static_cast<size_t>(blocks));
      check(cudaMemcpy(cyc.data(), cycles, sizeof(long long) * blocks, cudaMemcpyDeviceToHost),
            "cudaMemcpy");
      std::sort(cyc.begin(), cyc.end());
      const double exps = double(blocks) * threads * iters * 8;
      add("exp2_per_s", exps / (ms * 1e-3), "exp/s", "ex2.approx.ftz.f32, 8 chains per thread");
      // 8 blocks of 256 threads fill an SM (2048 threads): the grid is one wave, so a block's
      // clock64 cycles over the kernel's time is the SM clock under this load.
      add("sm_clock_hz", double(cyc[cyc.size() / 2]) / (ms * 1e-3), "Hz",
          "clock64 cycles of a block of the exp loop / kernel time (one wave)");
      cudaFree(cycles);
    }
    {  // SFU exponentials on packed halves: two per instruction.
      const int iters = 4096, blocks = sms * 8, threads = 256;
      const double ms =
          median_ms([&] { exp_f16x2_kernel<<<blocks, threads>>>(iters, sink); }, 3, 20);
      check(cudaGetLastError(), "exp_f16x2_kernel");
      const double exps = double(blocks) * threads * iters * 8 * 2;
      add("exp2_f16x2_per_s", exps / (ms * 1e-3), "exp/s",
          "ex2.approx.f16x2, 8 chains per thread, 2 exponentials per instruction");
    }
    {  // FP32 FMA: 2 FLOPs each.
      const int iters = 8192, blocks = sms * 8, threads = 256;
      const double ms = median_ms([&] { fma_kernel<<<blocks, threads>>>(iters, sink); }, 3, 20);
      check(cudaGetLastError(), "fma_kernel");
      add("fp32_flops_per_s", 2.0 * blocks * threads * double(iters) * 8 / (ms * 1e-3), "FLOP/s",
          "fmaf, 8 chains per thread");
    }
    {  // core's rule names the rounds, so the label cannot go stale
      const std::string how = "Philox-4x32-" + std::to_string(flashlab::kDropoutPhiloxRounds) +
                              " call + threshold (8 keep bits), 8 independent calls per thread";
      add("dropout_draws_per_s", flashlab::cuda::measure_dropout_draws_per_s(), "draw/s",
          how.c_str());
    }
    if (flashlab::cuda::forward_part_rates_available()) {  // the wgmma forward's halves, loop
      for (const int d : {64, 128}) {
        const flashlab::cuda::ForwardPartRates r = flashlab::cuda::measure_forward_part_rates(d);
        const std::string k = "fwd_d" + std::to_string(d) + "_";
        using R = flashlab::cuda::ForwardPartRates;
        struct Row {
          const char* name;
          double R::*value;
          const char* unit;
          const char* how;
        };
        const Row rows[] = {
            Row{"products_one_group_flops_per_s", &R::products_one_group_flops_per_s, "FLOP/s",
                "wgmma S = Q K^T (64x128) then O += P V, one warpgroup per SM, fixed tiles"},
            Row{"products_two_groups_flops_per_s", &R::products_two_groups_flops_per_s, "FLOP/s",
                "the same, two warpgroups per SM (the forward's compute warpgroups)"},
            Row{"softmax_one_group_s", &R::softmax_one_group_s, "s",
                "one warpgroup's softmax step (64x128 exps, kept max, P), alone on its SM"},
            Row{"softmax_two_groups_s", &R::softmax_two_groups_s, "s",
                "the same per step, two warpgroups per SM side by side"},
            Row{"softmax_exps_per_step", &R::exps_per_step, "exp", "64 x 128 (kept max)"},
            Row{"overlap_step_s", &R::overlap_step_s, "s",
                "the forward's loop, both warpgroups one step (128x128), softmax after P V"},
            Row{"pingpong_step_s", &R::pingpong_step_s, "s",
                "the same with the warpgroups taking turns at the tensor cores (the kernel's)"},
            Row{"three_groups_step_s", &R::three_groups_step_s, "s",
                "three warpgroups (FA3's d = 64 layout), one step each, per 128 rows"},
            Row{"products_step_s", &R::products_step_s, "s",
                "both warpgroups' products of one step at the two-group rate"},
            Row{"softmax_step_s", &R::softmax_step_s, "s",
                "both warpgroups' softmax steps one after the other (2 x one group alone)"},
            Row{"rest_rate_under_products", &R::rest_rate_under_products, "",
                "softmax_step / pingpong_step: the softmax's rate in the loop over alone"},
        };
        for (const Row& row : rows)  // a value of 0 is not measured at this head dim
          if (r.*row.value != 0) add((k + row.name).c_str(), r.*row.value, row.unit, row.how);
      }
    } else {
      std::fprintf(stderr,
                   "flashlab-gpu-microbench: SKIPPED the forward's part rates (no wgmma build or "
                   "not a Hopper GPU)\n");
    }
    {  // L2 reductions: 16 MiB of fp32, added to 16 times, from every SM.
      const int64_t n = (int64_t(16) << 20) / 4;
      const int passes = 16;
      float* buf = nullptr;
      check(cudaMalloc(&buf, size_t(n) * 4), "cudaMalloc");
      check(cudaMemset(buf, 0, size_t(n) * 4), "cudaMemset");
      const double ms_scalar =
          median_ms([&] { red_scalar_kernel<<<sms * 8, 256>>>(buf, n, passes); }, 3, 20);
      check(cudaGetLastError(), "red_scalar_kernel");
      add("l2_red_scalar_bytes_per_s", double(n) * 4 * passes / (ms_scalar * 1e-3), "B/s",
          "atomicAdd (RED) of fp32 into a 16 MiB buffer, 16 passes");
      const int64_t chunks = n * 4 / kBulkBytes;
      const double ms_bulk =
          median_ms([&] { red_bulk_kernel<<<sms * 4, 128>>>(buf, chunks, passes); }, 3, 20);
      check(cudaGetLastError(), "red_bulk_kernel");
      add("l2_red_bulk_bytes_per_s", double(chunks) * kBulkBytes * passes / (ms_bulk * 1e-3), "B/s",
          "cp.reduce.async.bulk add.f32 of 16 KiB tiles into a 16 MiB buffer, 16 passes");
      cudaFree(buf);
    }
    {  // Launch floor: empty kernels back to back, and one alone.
      const int n = 1000;
      const double ms_many = median_ms(
          [&] {
            for (int i = 0; i < n; ++i) empty_kernel<<<1, 32>>>();
          },
          2, 10);
      add("launch_back_to_back_s", ms_many * 1e-3 / n, "s", "1000 empty kernels, per kernel");
      const double ms_one = median_ms([&] { empty_kernel<<<1, 32>>>(); }, 10, 200);
      add("launch_alone_s", ms_one * 1e-3, "s", "one empty kernel between CUDA events");
    }
    cudaFree(sink);

    std::ofstream f(json_path);
    f << "{\"gpu\":\"" << prop.name << "\",\"sm_count\":" << sms
      << ",\"l2_bytes\":" << prop.l2CacheSize
      << ",\"smem_per_block_optin\":" << prop.sharedMemPerBlockOptin
      << ",\"smem_per_sm\":" << prop.sharedMemPerMultiprocessor << ",\"results\":{";
    for (size_t i = 0; i < out.size(); ++i)
      f << (i ? "," : "") << "\"" << out[i].name << "\":{\"value\":" << out[i].value
        << ",\"unit\":\"" << out[i].unit << "\",\"how\":\"" << out[i].how << "\"}";
    f << "}}\n";
    std::printf("GPU %s, %d SMs, L2 %d bytes; wrote %s\n", prop.name, sms, prop.l2CacheSize,
                json_path.c_str());
  } catch (const Error& e) {
    std::fprintf(stderr, "flashlab-gpu-microbench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
