// The CUDA rows of `flashlab compare` and the GPU of `flashlab info`, host side. The kernels run
// in the CUDA plugin (cuda_plugin.hpp), loaded with dlopen the first time a CUDA row or the GPU is
// asked for: `flashlab --version`, a usage error or a CPU-only run never load the CUDA runtime or
// cuBLAS. Here: whether there is a driver at all, loading the plugin, and the performance model's
// prediction for the kernels' own tiles beside the measured times (kernel_model.hpp).
#include <dlfcn.h>
#include <unistd.h>

#include <array>
#include <flashlab/cli/cuda_rows.hpp>
#include <flashlab/cli/kernel_model.hpp>

#include "cuda_plugin.hpp"

namespace flashlab::cli {
namespace {

// What the plugin offers, or why it cannot run: loaded once per process.
struct Plugin {
  const CudaPluginApi* api = nullptr;
  std::string reason;
};

#if FLASHLAB_HAVE_CUDA
// The plugin lives beside the executable (both are build outputs of cli/).
std::string plugin_path() {
  std::array<char, 4096> exe{};
  const ssize_t n = ::readlink("/proc/self/exe", exe.data(), exe.size() - 1);
  std::string dir = n > 0 ? std::string(exe.data(), size_t(n)) : std::string();
  dir = dir.substr(0, dir.find_last_of('/') + 1);
  return dir + FLASHLAB_CUDA_PLUGIN_FILE;
}
#endif

Plugin load_plugin() {
#if !FLASHLAB_HAVE_CUDA
  return {nullptr, "flashlab was built without CUDA (FLASHLAB_CUDA=OFF or nvcc not found)"};
#else
  // The driver first: without libcuda the CUDA runtime only says that the "driver version is
  // insufficient", and loading the plugin (the runtime and cuBLAS) would be for nothing.
  if (::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL) == nullptr)
    return {nullptr,
            "no NVIDIA driver: the CUDA driver (libcuda.so.1) is not installed; install the "
            "NVIDIA driver on a machine with an NVIDIA GPU"};
  const std::string path = plugin_path();
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr)
    return {nullptr, "cannot load the CUDA plugin: " + std::string(::dlerror())};
  const auto entry = reinterpret_cast<CudaPluginEntry>(::dlsym(handle, kCudaPluginSymbol));
  const CudaPluginApi* api = entry != nullptr ? entry() : nullptr;
  if (api == nullptr || api->abi != kCudaPluginAbi || std::string(api->version) != FLASHLAB_VERSION)
    return {nullptr, path + " is from another build of flashlab; rebuild flashlab"};
  return {api, ""};
#endif
}

const Plugin& plugin() {
  static const Plugin loaded = load_plugin();
  return loaded;
}

// The two rows, named and described, before anything runs.
std::vector<ImplementationRun> row_identities(const Problem& p) {
  std::vector<ImplementationRun> rows(2);
  rows[0].name = "cuda flash (fused)";
  rows[0].id = "cuda_flash";
  rows[0].description =
      p.dtype == DType::Float32
          ? "teaching kernel: FA1 Alg. 1 in fp32 CUDA, no tensor cores"
          : "fused FlashAttention kernels: FA2 loop order on tensor cores (wgmma or mma.sync)";
  rows[1].name = "cuda naive";
  rows[1].id = "cuda_naive";
  rows[1].description =
      "naive CUDA baseline: cuBLAS GEMMs, separate mask/softmax/dropout kernels, S and P in HBM";
  for (ImplementationRun& r : rows) r.kind = ImplementationKind::Cuda;
  return rows;
}

// The model's counts and prediction for a kernel call with the kernel's own tiles (the fused
// rows; cuBLAS picks its own, so the naive rows show none). Omitted where the simulator's model of
// that loop order cannot hold the kernel's tiles in the preset's shared memory (the d = 256
// backward splits dK/dV, which the model does not): the measured row stays.
void add_model(PassRun& pass, const Problem& p, KernelCall call) {
  const bool fused = call == KernelCall::FusedForward || call == KernelCall::FusedBackward;
  if (fused && !pass.tiles) return;  // the teaching kernel
  try {
    const KernelPrediction m = predict_kernel(call, p.shape, p.options, int(element_bytes(p.dtype)),
                                              fused ? *pass.tiles : TileSizes{}, p.gpu,
                                              pass.softmax_under_matmul, pass.kept_max);
    pass.io = m.stats;
    pass.prediction = m.prediction;
  } catch (const Error&) {
  }
}

}  // namespace

std::vector<ImplementationRun> run_cuda(const Problem& problem, const Inputs& inputs,
                                        bool backward) {
  std::vector<ImplementationRun> rows = row_identities(problem);
  const GpuDevice gpu = detect_gpu();
  if (!gpu.available) {
    for (ImplementationRun& r : rows) r.available = false, r.reason_if_absent = gpu.reason;
    return rows;
  }
  plugin().api->run_rows(problem, inputs, backward, gpu, rows);
  const KernelCall calls[2][2] = {{KernelCall::FusedForward, KernelCall::FusedBackward},
                                  {KernelCall::NaiveForward, KernelCall::NaiveBackward}};
  for (size_t r = 0; r < 2; ++r) {
    if (rows[r].forward) add_model(*rows[r].forward, problem, calls[r][0]);
    if (rows[r].backward) add_model(*rows[r].backward, problem, calls[r][1]);
  }
  return rows;
}

GpuDevice detect_gpu() {
  const Plugin& p = plugin();
  if (p.api == nullptr) {
    GpuDevice none;
    none.reason = p.reason;
    return none;
  }
  static const GpuDevice gpu = p.api->detect_gpu();  // asked once per process
  return gpu;
}

}  // namespace flashlab::cli
