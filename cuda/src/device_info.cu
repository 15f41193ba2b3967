// Names of dtypes and kernels, and what the GPU of this process is (for `flashlab info` and
// skipping tests).
#include <cuda_runtime.h>

#include <string>

#include <flashlab/cuda/api.hpp>

namespace flashlab::cuda {

std::string to_string(DType t) {
  switch (t) {
    case DType::F16:
      return "fp16";
    case DType::BF16:
      return "bf16";
    case DType::F32:
      return "fp32";
  }
  return "unknown";
}

std::string to_string(FusedKernel k) {
  switch (k) {
    case FusedKernel::Auto:
      return "auto";
    case FusedKernel::Wgmma:
      return "wgmma";
    case FusedKernel::MmaSync:
      return "mma.sync";
    case FusedKernel::WgmmaSerial:
      return "wgmma serial";
    case FusedKernel::WgmmaPingpong:
      return "wgmma pingpong";
    case FusedKernel::WgmmaOverlap:
      return "wgmma overlap";
    case FusedKernel::WgmmaKeptMax:
      return "wgmma kept max";
    case FusedKernel::WgmmaTma:
      return "wgmma tma";
    case FusedKernel::WgmmaWarpSpecialized:
      return "wgmma warp-specialized";
    case FusedKernel::WgmmaPersistent:
      return "wgmma persistent";
    case FusedKernel::WgmmaPersistentDynamic:
      return "wgmma persistent dynamic";
  }
  return "unknown";
}

namespace {

std::string version_text(int v) {  // 13000 -> "13.0"
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

// Why no GPU is usable, said as what is true and what to do. The runtime reports a missing
// driver as "driver version is insufficient", so the versions decide.
std::string no_gpu_reason(cudaError_t status) {
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  cudaGetLastError();
  if (driver == 0)
    return "no NVIDIA driver: the CUDA driver (libcuda.so.1) is not installed; install the NVIDIA "
           "driver on a machine with an NVIDIA GPU";
  if (driver < runtime)
    return "NVIDIA driver too old: it supports CUDA " + version_text(driver) +
           ", flashlab was built with CUDA " + version_text(runtime) +
           "; update the driver (or build with an older CUDA Toolkit)";
  if (status == cudaErrorNoDevice || status == cudaSuccess)
    return "no CUDA device: the NVIDIA driver (CUDA " + version_text(driver) +
           ") sees no GPU; check nvidia-smi and CUDA_VISIBLE_DEVICES";
  return std::string("no usable CUDA device: ") + cudaGetErrorString(status);
}

}  // namespace

DeviceInfo device_info() {
  DeviceInfo info;
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0) {
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    info.reason = no_gpu_reason(status);
    return info;
  }
  int device = 0;
  cudaDeviceProp prop{};
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
    info.reason = "cannot query the CUDA device";
    return info;
  }
  info.name = prop.name;
  info.sm_count = prop.multiProcessorCount;
  info.compute_major = prop.major;
  info.compute_minor = prop.minor;
  info.memory_bytes = int64_t(prop.totalGlobalMem);
  info.shared_memory_per_block_optin = int64_t(prop.sharedMemPerBlockOptin);
  if (prop.major < 8) {
    info.reason = "compute capability " + std::to_string(prop.major) + "." +
                  std::to_string(prop.minor) +
                  " is too old: the kernels need sm_80 or newer (built for sm_90)";
    return info;
  }
  info.available = true;
  return info;
}

}  // namespace flashlab::cuda
