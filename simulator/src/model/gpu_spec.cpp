// GPU presets from NVIDIA's datasheets and the CUDA programming guide's throughput table, and the
// roofline estimate. Derivations of the exp rates are in docs/simulator.md.
#include <flashlab/simulator/model/gpu_spec.hpp>

#include <algorithm>
#include <cctype>

#include <flashlab/core/error.hpp>

namespace flashlab::simulator {

// Special-function units: 16 results per clock per SM (CUDA C++ Programming Guide, arithmetic
// instruction throughput, compute capability 8.0 and 9.0, "base 2 exponential").
constexpr double kSfuPerClockPerSm = 16.0;

GpuSpec a100_40gb() {
  GpuSpec g;
  g.name = "A100-SXM4-40GB";
  g.hbm_bandwidth_bytes_per_s = 1.555e12;
  g.sram_bytes_per_sm = 192 * 1024;
  g.sm_count = 108;
  g.matmul_flops_per_s = 312e12;
  g.exp_per_s = kSfuPerClockPerSm * 108 * 1.41e9;  // boost clock 1410 MHz: 2.44e12
  g.vector_flops_per_s = 19.5e12;
  return g;
}

GpuSpec h100_sxm() {
  GpuSpec g;
  g.name = "H100-SXM5-80GB";
  g.hbm_bandwidth_bytes_per_s = 3.35e12;  // datasheet; a device copy measures about 3.0e12
  g.sram_bytes_per_sm = 228 * 1024;
  g.sm_count = 132;
  g.matmul_flops_per_s = 989e12;
  g.exp_per_s = kSfuPerClockPerSm * 132 * 1.83e9;  // the clock of the 989 TFLOPS figure: 3.87e12
  g.vector_flops_per_s = 67e12;
  return g;
}

GpuSpec gpu_spec_by_name(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (n == "a100" || n == "a100-40gb") return a100_40gb();
  if (n == "h100" || n == "h100-sxm") return h100_sxm();
  throw Error("unknown GPU '" + name + "'; accepted: a100 (a100-40gb), h100 (h100-sxm)");
}

const char* to_string(Bound b) {
  switch (b) {
    case Bound::Memory:
      return "memory";
    case Bound::Matmul:
      return "matmul";
    case Bound::Exp:
      return "exp";
    case Bound::Vector:
      return "vector";
  }
  return "?";
}

RooflineEstimate estimate_runtime(const IoStats& stats, const GpuSpec& gpu) {
  require(gpu.hbm_bandwidth_bytes_per_s > 0 && gpu.matmul_flops_per_s > 0 && gpu.exp_per_s > 0 &&
              gpu.vector_flops_per_s > 0,
          "GPU spec '" + gpu.name + "' needs positive bandwidth and throughputs");
  RooflineEstimate e;
  e.memory_s = double(stats.total_bytes()) / gpu.hbm_bandwidth_bytes_per_s;
  e.matmul_s = double(stats.matmul_flops) / gpu.matmul_flops_per_s;
  e.exp_s = double(stats.exp_ops) / gpu.exp_per_s;
  e.vector_s = double(stats.other_flops) / gpu.vector_flops_per_s;
  e.predicted_s = e.memory_s;
  e.bound = Bound::Memory;
  const std::pair<double, Bound> others[] = {
      {e.matmul_s, Bound::Matmul}, {e.exp_s, Bound::Exp}, {e.vector_s, Bound::Vector}};
  for (const auto& [t, b] : others) {
    if (t > e.predicted_s) {
      e.predicted_s = t;
      e.bound = b;
    }
  }
  return e;
}

}  // namespace flashlab::simulator
