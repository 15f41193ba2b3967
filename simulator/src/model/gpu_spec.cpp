// GPU presets: datasheet peaks (NVIDIA's A100, H100 and H200 datasheets; the CUDA C++ Programming
// Guide for shared memory, resident blocks and the special-function rate) and the sustained rates
// measured by flashlab-gpu-microbench (bench/results/microbench_h200.json). Derivations and
// sources, number by number: docs/simulator.md, "Where the constants come from".
#include <flashlab/simulator/model/gpu_spec.hpp>

#include <algorithm>
#include <cctype>

#include <flashlab/core/error.hpp>

namespace flashlab::simulator {
namespace {

// Special-function units: 16 exponentials per clock per SM (CUDA C++ Programming Guide,
// arithmetic instruction throughput, compute capability 8.0 and 9.0, "base-2 exponential").
constexpr double kSfuPerClockPerSm = 16.0;
// Hopper's tensor-core clock of the datasheet's 989.4 TFLOP/s (132 SMs x 4096 FLOP per clock);
// every Hopper peak below is taken at this one clock.
constexpr double kHopperClockHz = 1.83e9;

// Measured on the lent H200 by flashlab-gpu-microbench, 2026-11-29: copy of 1 GiB, 16 MiB read
// 64x from L2, ex2.approx loop, fmaf loop (2 FLOP each: 53.5e12 FLOP/s = 26.75e12 operations),
// empty kernels back to back (bench/results/microbench_h200_run1.json); 16 KiB fp32 tiles added
// into 16 MiB by cp.reduce.async.bulk (fp32 atomicAdd: 3.13e12 B/s), from the second run
// (microbench_h200.json), whose other figures are within 3 % of the first's. cuBLAS fp16 GEMM
// 8192^3 on random inputs, from the third run (microbench_h200_run3.json): the first two filled
// the matrices with one constant, which flipped fewer bits and reached 869-873e12 (14 % more
// than the data attention kernels see). The H100 has the same SM and clocks (GH100), so its exp,
// fp32, L2 and launch figures are these; its copy and GEMM were measured on an H100 here
// (../shared/GPU.md, 2026-11-23).
constexpr double kH200CopyBytesPerS = 4.182e12;
constexpr double kH200L2BytesPerS = 7.932e12;
constexpr double kH200L2ReduceBytesPerS = 3.223e12;
constexpr double kH200GemmFlopsPerS = 762.8e12;
constexpr double kHopperExpPerS = 3.863e12;
constexpr double kHopperFp32OpsPerS = 26.75e12;
constexpr double kHopperLaunchS = 4.585e-6;
// Dropout's draws (a Philox-4x32-7 call and its eight threshold tests, the kernels' own code,
// eight independent calls per thread, every SM full), flashlab-gpu-microbench's
// dropout_draws_per_s on the lent H200, 2026-12-03 (bench/results/v31_h200/
// callA_rounds7_ab_torch_ncu/micro/r{1,2}: 3.539e11 both). Ten rounds (until v31) measured
// 2.662e11 (the mean of 2.666e11 and 2.659e11, v30's callB_micro_ncu_dropout).
constexpr double kHopperRandomDrawsPerS = 3.539e11;
constexpr double kH100CopyBytesPerS = 3.0e12;
// The wgmma forward's inner loop on fixed on-chip tiles (both warpgroups, pingpong, each
// warpgroup's softmax after its own P V, as the kernel's default rungs run it since v26, with
// the running max kept; flashlab-gpu-microbench's fwd_d64_rest_rate_under_products, the two
// softmax steps' time alone over the loop's step) at d = 64, where the step (1.13 us) is longer
// than its products alone (0.58 us), so that the softmax is what it waits for and the ratio is
// the softmax's rate beside the tensor cores: 0.637, the mean of four samples of this loop,
// 0.633-0.644 (bench/results/v26_h200/call5_tests_model/val/microbench.json and
// bench/results/v27_h200/call2_tests_micro/micro/r{1,2,3}/microbench.json). The loop before v26
// (FA2's softmax, O rescaled at every step) measured 0.652-0.666 in five runs (v14, v15), mean
// 0.658, the constant until v26. Not the d = 128 ratio (0.46-0.52 in the same runs, 0.50-0.62
// before), whose step (1.44-1.55 us) is longer than both its products (1.19-1.33) and its
// softmax at this share (1.13): there the step is not set by the softmax, so the ratio does not
// measure the softmax's rate beside the tensor cores. The simulator prices the softmax it counts
// at this share; since v27 it counts the kernels' kept max too (SimConfig::kept_max).
constexpr double kHopperRestRateUnderMatmul = 0.637;
constexpr double kH100GemmFlopsPerS = 671e12;

GpuSpec hopper(const char* name, int64_t l2_bytes) {
  GpuSpec g;
  g.name = name;
  g.sm_count = 132;
  g.smem_per_block_bytes = 227 * 1024;  // the opt-in maximum per block
  g.smem_per_sm_bytes = 228 * 1024;
  g.max_blocks_per_sm = 32;
  g.l2_bytes = l2_bytes;
  g.peak.matmul_flops_per_s = 989.4e12;                         // dense fp16
  g.peak.exp_per_s = kSfuPerClockPerSm * 132 * kHopperClockHz;  // 3.87e12
  g.peak.vector_ops_per_s = 128.0 * 132 * kHopperClockHz;       // 128 fp32 lanes: 30.9e12
  g.sustained.l2_bytes_per_s = kH200L2BytesPerS;
  g.sustained.l2_reduce_bytes_per_s = kH200L2ReduceBytesPerS;
  g.sustained.exp_per_s = kHopperExpPerS;
  g.sustained.vector_ops_per_s = kHopperFp32OpsPerS;
  g.sustained.random_draws_per_s = kHopperRandomDrawsPerS;
  g.sustained.rest_rate_under_matmul = kHopperRestRateUnderMatmul;
  g.launch_s = kHopperLaunchS;
  return g;
}

}  // namespace

GpuSpec a100_40gb() {
  GpuSpec g;
  g.name = "A100-SXM4-40GB";
  g.sm_count = 108;
  g.smem_per_block_bytes = 163 * 1024;  // the opt-in maximum per block (164 KiB per SM)
  g.smem_per_sm_bytes = 164 * 1024;
  g.max_blocks_per_sm = 32;
  g.l2_bytes = 40 * 1024 * 1024;
  const double clock = 1.41e9;  // boost
  g.peak.dram_bytes_per_s = 1.555e12;
  g.peak.matmul_flops_per_s = 312e12;
  g.peak.exp_per_s = kSfuPerClockPerSm * 108 * clock;  // 2.44e12
  g.peak.vector_ops_per_s = 64.0 * 108 * clock;        // 64 fp32 lanes: 9.7e12 (19.5 TFLOP/s)
  // No A100 was measured here: each rate is its datasheet peak times the fraction of the Hopper
  // peak that the same microbenchmark reached on the H200; the L2 scales with SMs x clock.
  const GpuSpec h = hopper("", 0);
  g.sustained.dram_bytes_per_s = g.peak.dram_bytes_per_s * kH200CopyBytesPerS / 4.8e12;
  g.sustained.matmul_flops_per_s =
      g.peak.matmul_flops_per_s * kH200GemmFlopsPerS / h.peak.matmul_flops_per_s;
  g.sustained.exp_per_s = g.peak.exp_per_s * kHopperExpPerS / h.peak.exp_per_s;
  g.sustained.vector_ops_per_s =
      g.peak.vector_ops_per_s * kHopperFp32OpsPerS / h.peak.vector_ops_per_s;
  g.sustained.rest_rate_under_matmul = kHopperRestRateUnderMatmul;  // peak 1: the same fraction
  // Integer multiplies and logic: the same units per SM and clock on Ampere and Hopper (CUDA C++
  // Programming Guide, arithmetic instruction throughput), so SMs x clock, as the L2 below.
  g.sustained.random_draws_per_s =
      kHopperRandomDrawsPerS * (108.0 * clock) / (132.0 * kHopperClockHz);
  g.sustained.l2_bytes_per_s = kH200L2BytesPerS * (108.0 * clock) / (132.0 * kHopperClockHz);
  g.sustained.l2_reduce_bytes_per_s =
      kH200L2ReduceBytesPerS * (108.0 * clock) / (132.0 * kHopperClockHz);
  g.launch_s = kHopperLaunchS;
  g.rates_source =
      "A100 datasheet peaks x the fractions of peak the H200 microbenchmarks reached; L2 and "
      "dropout draws: the H200's x SMs x clock";
  return g;
}

GpuSpec h100_sxm() {
  GpuSpec g = hopper("H100-SXM5-80GB", 50 * 1024 * 1024);
  g.peak.dram_bytes_per_s = 3.35e12;
  g.sustained.dram_bytes_per_s = kH100CopyBytesPerS;
  g.sustained.matmul_flops_per_s = kH100GemmFlopsPerS;
  g.rates_source =
      "copy and GEMM measured on an H100 here; exp, fp32, dropout draws, L2, launch, rate under "
      "matmul on the H200";
  return g;
}

GpuSpec h200_sxm() {
  GpuSpec g = hopper("H200-SXM-141GB", 60 * 1024 * 1024);  // cudaDeviceProp::l2CacheSize
  g.peak.dram_bytes_per_s = 4.8e12;
  g.sustained.dram_bytes_per_s = kH200CopyBytesPerS;
  g.sustained.matmul_flops_per_s = kH200GemmFlopsPerS;
  g.rates_source =
      "flashlab-gpu-microbench on the lent H200 (bench/results/microbench_h200.json; the rate "
      "under matmul: the d = 64 loop as the kernels run it since v26, four samples in "
      "bench/results/v26_h200/call5_tests_model and v27_h200/call2_tests_micro; dropout draws: "
      "bench/results/v31_h200/callA_rounds7_ab_torch_ncu/micro)";
  return g;
}

std::string gpu_preset_names() {
  return "a100, h100, h200";
}

GpuSpec gpu_spec_by_name(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (n == "a100" || n == "a100-40gb") return a100_40gb();
  if (n == "h100" || n == "h100-sxm") return h100_sxm();
  if (n == "h200" || n == "h200-sxm") return h200_sxm();
  throw Error("unknown GPU preset '" + name + "'; accepted: " + gpu_preset_names() +
              " (also a100-40gb, h100-sxm, h200-sxm)");
}

}  // namespace flashlab::simulator
