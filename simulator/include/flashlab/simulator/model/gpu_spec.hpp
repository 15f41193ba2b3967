// A GPU described by the few numbers the roofline needs (paper §2.1; FA2 §2.1), presets for
// A100 and H100, and a runtime estimate from the simulator's counts.
#pragma once

#include <string>

#include <flashlab/simulator/machine/io_stats.hpp>

namespace flashlab::simulator {

struct GpuSpec {
  std::string name;
  double hbm_bandwidth_bytes_per_s = 0;  // datasheet peak
  int64_t sram_bytes_per_sm = 0;         // shared memory + L1 per SM (the M of FA1 Alg. 1)
  int sm_count = 0;
  double matmul_flops_per_s = 0;  // dense fp16 tensor-core peak
  double exp_per_s = 0;           // exp evaluations per second, whole GPU (SFU: 16/clk/SM)
  double vector_flops_per_s = 0;  // fp32 non-tensor (CUDA core) peak, for other_flops
};

// A100-SXM4-40GB: 1.555e12 B/s, 192 KiB/SM, 108 SMs, 312e12 fp16, exp 16*108*1.41e9 = 2.44e12/s,
// fp32 19.5e12. H100-SXM5: 3.35e12 B/s (a device-to-device copy measures about 3.0e12),
// 228 KiB/SM, 132 SMs, 989e12 fp16, exp 16*132*1.83e9 = 3.87e12/s (FA3 paper: "3.9 TFLOPS of
// special functions"), fp32 67e12. Derivations in docs/simulator.md.
GpuSpec a100_40gb();
GpuSpec h100_sxm();

// "a100" (also "a100-40gb") or "h100" (also "h100-sxm"), case-insensitive; throws
// flashlab::Error listing the accepted names.
GpuSpec gpu_spec_by_name(const std::string& name);

enum class Bound { Memory, Matmul, Exp, Vector };
const char* to_string(Bound b);

// Roofline model: each resource works at its peak and all of them overlap perfectly, so the
// predicted time is the slowest of the four; the whole GPU works on the problem (every SM busy,
// no launch or latency cost). A lower bound, best for comparing algorithms on the same GPU.
struct RooflineEstimate {
  double memory_s = 0;  // total HBM bytes / bandwidth
  double matmul_s = 0;  // matmul_flops / matmul rate
  double exp_s = 0;     // exp_ops / exp rate
  double vector_s = 0;  // other_flops / fp32 rate
  double predicted_s = 0;
  Bound bound = Bound::Memory;
};

RooflineEstimate estimate_runtime(const IoStats& stats, const GpuSpec& gpu);

}  // namespace flashlab::simulator
