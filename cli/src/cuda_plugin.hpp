// The boundary between `flashlab` and its CUDA plugin, libflashlab_cuda_rows.so: the plugin holds
// everything that needs the CUDA runtime and cuBLAS (uploads, kernel runs, timing, the GPU's
// name), so that the executable links neither and loads them only when a CUDA row runs
// (cuda_rows.cpp dlopens the plugin). Both sides are built from the same tree; the version and
// kCudaPluginAbi guard against mixing builds.
#pragma once

#include <vector>

#include <flashlab/cli/cuda_rows.hpp>

namespace flashlab::cli {

// Raised whenever a type crossing this boundary changes.
inline constexpr int kCudaPluginAbi = 1;

struct CudaPluginApi {
  int abi = kCudaPluginAbi;
  const char* version = "";  // FLASHLAB_VERSION of the plugin's build
  // The GPU calls run on, or why none is usable, said in terms of what to do.
  GpuDevice (*detect_gpu)() = nullptr;
  // Measures rows[0] (the fused kernels) and rows[1] (the naive baseline), which come with their
  // names, ids and descriptions: kernel runs, times, outputs and the kernels' tiles
  // (PassRun::tiles), or available = false with the reason. The caller adds the simulator's
  // prediction. `gpu` is detect_gpu()'s answer, available.
  void (*run_rows)(const Problem& problem, const Inputs& inputs, bool backward,
                   const GpuDevice& gpu, std::vector<ImplementationRun>& rows) = nullptr;
};

// The plugin's one exported symbol.
inline constexpr const char* kCudaPluginSymbol = "flashlab_cuda_plugin_api";
using CudaPluginEntry = const CudaPluginApi* (*)();

}  // namespace flashlab::cli
