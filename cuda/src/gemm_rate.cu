// measure_gemm_flops_per_s: cuBLAS GemmEx on random fp16/bf16 matrices, timed with CUDA events.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <string>
#include <type_traits>

#include <flashlab/cuda/device_buffer.hpp>
#include <flashlab/cuda/event_timer.hpp>
#include <flashlab/cuda/gemm_rate.hpp>

#include "check.hpp"

namespace flashlab::cuda {
namespace {

void check_cublas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw Error(std::string(what) + ": " + cublasGetStatusString(s));
}

// Element i = a hash of (seed, i) mapped to [-1, 1): fresh, platform-independent values without
// a host-side fill of 128 MiB.
template <typename T>
__global__ void fill_uniform_kernel(T* out, int64_t n, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    uint64_t z = (uint64_t(i) + seed) * 0x9E3779B97F4A7C15ull;  // splitmix64's finaliser
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const float u = float(z >> 40) * (2.f / 16777216.f) - 1.f;
    if constexpr (std::is_same_v<T, __half>)
      out[i] = __float2half_rn(u);
    else
      out[i] = __float2bfloat16_rn(u);
  }
}

template <typename T>
void fill_uniform(const DeviceBuffer& buf, uint64_t seed) {
  const int64_t n = int64_t(buf.bytes / sizeof(T));
  fill_uniform_kernel<<<1024, 256>>>(buf.as<T>(), n, seed);
  FLASHLAB_CUDA_CHECK_LAUNCH();
}

}  // namespace

double measure_gemm_flops_per_s(DType dtype, int n) {
  if (dtype == DType::F32)
    throw Error("measure_gemm_flops_per_s: the tensor-core rate is measured for fp16 or bf16");
  const size_t bytes = size_t(n) * size_t(n) * 2;
  DeviceBuffer a(bytes), b(bytes), c(bytes);
  if (dtype == DType::F16) {
    fill_uniform<__half>(a, 1);
    fill_uniform<__half>(b, 2);
  } else {
    fill_uniform<__nv_bfloat16>(a, 1);
    fill_uniform<__nv_bfloat16>(b, 2);
  }
  const cudaDataType_t type = dtype == DType::F16 ? CUDA_R_16F : CUDA_R_16BF;
  cublasHandle_t handle = nullptr;
  check_cublas(cublasCreate(&handle), "cublasCreate");
  const float alpha = 1.f, beta = 0.f;
  double ms = 0;
  try {
    ms = median_event_ms(
        [&] {
          check_cublas(
              cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a.ptr, type, n, b.ptr,
                           type, n, &beta, c.ptr, type, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
              "cublasGemmEx");
        },
        {3, 20, 20, 0});
  } catch (...) {
    cublasDestroy(handle);
    throw;
  }
  cublasDestroy(handle);
  return 2.0 * double(n) * double(n) * double(n) / (ms * 1e-3);
}

}  // namespace flashlab::cuda
