// The hook for the CUDA implementations: the rows `flashlab compare` shows for the fused
// FlashAttention kernel and the naive baseline, and the GPU `flashlab info` reports. Every build
// compiles cuda_rows.cpp: in a CUDA build it loads the plugin (cuda_plugin.cpp, built beside the
// executable) with dlopen and runs the kernels on the same inputs; built without CUDA, or where no
// driver or GPU can be used, the rows are absent with the reason (see cli/CMakeLists.txt).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <flashlab/cli/implementation_run.hpp>
#include <flashlab/cli/inputs.hpp>
#include <flashlab/cli/problem.hpp>

namespace flashlab::cli {

// Always two rows, ids "cuda_flash" and "cuda_naive", in that order: run where a GPU is
// present, else absent with the reason (e.g. no GPU, or built without CUDA). A GPU failure, or a
// problem the kernels do not support (head dim, dtype), makes a row absent with the reason rather
// than throwing, so that the other rows still print; outputs keep the dtype's precision
// (OutputPrecision::Float16 / BFloat16) and compare checks them with default_tolerance().
std::vector<ImplementationRun> run_cuda(const Problem& problem, const Inputs& inputs,
                                        bool backward);

// The GPU this build would run on.
struct GpuDevice {
  bool available = false;
  std::string reason;  // why there is none, when !available
  std::string name;
  int sm_count = 0;
  int compute_major = 0, compute_minor = 0;
  int64_t memory_bytes = 0;
};
GpuDevice detect_gpu();

}  // namespace flashlab::cli
