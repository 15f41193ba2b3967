// Device memory that frees itself, for the host code around the kernels (tests, benchmark, CLI).
// A failed allocation throws flashlab::Error naming the size.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>

#include <flashlab/core/error.hpp>

namespace flashlab::cuda {

struct DeviceBuffer {
  void* ptr = nullptr;
  size_t bytes = 0;

  explicit DeviceBuffer(size_t n) : bytes(n) {
    const cudaError_t e = cudaMalloc(&ptr, n < 16 ? 16 : n);  // never a null pointer for n = 0
    if (e != cudaSuccess)
      throw Error("cudaMalloc of " + std::to_string(n) + " bytes: " + cudaGetErrorString(e));
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr);
  }
  // All bytes 0xFF: NaN in fp32, fp16 and bf16, so any element a kernel forgets to write shows.
  void poison() {
    const cudaError_t e = cudaMemset(ptr, 0xFF, bytes);
    if (e != cudaSuccess) throw Error(std::string("cudaMemset: ") + cudaGetErrorString(e));
  }
};

}  // namespace flashlab::cuda
