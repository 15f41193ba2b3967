// Names of dtypes and kernels, and what the GPU of this process is (for `flashlab info` and
// skipping tests).
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
    case FusedKernel::WgmmaTma:
      return "wgmma tma";
    case FusedKernel::WgmmaWarpSpecialized:
      return "wgmma warp-specialized";
    case FusedKernel::WgmmaPersistent:
      return "wgmma persistent";
  }
  return "unknown";
}

DeviceInfo device_info() {
  DeviceInfo info;
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0) {
    info.reason = status != cudaSuccess
                      ? std::string("no usable CUDA device: ") + cudaGetErrorString(status)
                      : "no CUDA device found";
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
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
