// Shared harness of the GPU tests (llm.c style: one small place that allocates, converts, poisons
// and compares). Tests skip with a printed reason when no GPU is usable.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <flashlab/core/named_block_mask.hpp>
#include <flashlab/core/options.hpp>
#include <flashlab/core/tensor.hpp>
#include <flashlab/cuda/api.hpp>
#include <flashlab/cuda/device_buffer.hpp>

namespace flashlab::test {

// One test problem: a shape and the options every kernel supports.
struct Case {
  AttentionShape shape;
  bool causal = false;
  double dropout = 0.0;
  const char* sparse = nullptr;  // named block-mask pattern, over 64 x 64 blocks
};

inline std::string describe(const Case& c, cuda::DType dtype) {
  return to_string(c.shape) + (c.causal ? " causal" : "") +
         (c.dropout > 0 ? " dropout=" + std::to_string(c.dropout) : "") +
         (c.sparse ? std::string(" sparse=") + c.sparse : "") + " " + cuda::to_string(dtype);
}

// The case's options, with `seed` keying both the dropout mask and a random block pattern.
// The head dims the wgmma kernels (and their ladder rungs) are built for (api.hpp).
inline bool wgmma_head_dim(int64_t d) {
  return d == 64 || d == 96 || d == 128 || d == 256;
}

// Every implementation of a fast fused kernel of one direction that can run this case here:
// mma.sync always, wgmma on an sm_90 GPU (both directions at d = 64, 96, 128 and 256). Says
// loudly when the wgmma kernel cannot be tested.
enum class Direction { Forward, Backward };

inline std::vector<cuda::FusedKernel> fused_kernels_for(const Case& c, Direction direction) {
  const int64_t d = c.shape.head_dim;
  std::vector<cuda::FusedKernel> kernels = {cuda::FusedKernel::MmaSync};
  if (direction == Direction::Forward ? cuda::wgmma_forward_available(d)
                                      : cuda::wgmma_backward_available(d))
    kernels.push_back(cuda::FusedKernel::Wgmma);
  else if (wgmma_head_dim(d))
    MESSAGE("wgmma kernel NOT tested for " << describe(c, cuda::DType::F16)
                                           << ": needs an sm_90 GPU and a build for sm_90a");
  return kernels;
}

// The rungs of the wgmma ladder below each direction's default that `c` runs on (FusedKernel::
// WgmmaSerial ...; the backward has WgmmaSerial and WgmmaTma below its WgmmaWarpSpecialized):
// built without dropout at every wgmma head dim, 64, 96, 128 and 256 (api.hpp). Where the wgmma
// kernel runs here, the library must agree that the rungs are built.
inline std::vector<cuda::FusedKernel> ladder_rungs_for(const Case& c, Direction direction) {
  using K = cuda::FusedKernel;
  const int64_t d = c.shape.head_dim;
  const bool forward = direction == Direction::Forward;
  if (c.dropout > 0 || !wgmma_head_dim(d)) return {};
  const bool wgmma_here =
      forward ? cuda::wgmma_forward_available(d) : cuda::wgmma_backward_available(d);
  if (!wgmma_here) {
    MESSAGE("wgmma ladder rungs NOT tested for " << describe(c, cuda::DType::F16)
                                                 << ": need an sm_90 GPU and a build for sm_90a");
    return {};
  }
  REQUIRE_MESSAGE(cuda::wgmma_ladder_available(d),
                  "the ladder's rungs are not built at head dim " << d);
  if (!forward) return {K::WgmmaSerial, K::WgmmaTma};
  return {K::WgmmaSerial, K::WgmmaPingpong,        K::WgmmaOverlap,    K::WgmmaKeptMax,
          K::WgmmaTma,    K::WgmmaWarpSpecialized, K::WgmmaPersistent, K::WgmmaPersistentDynamic};
}

inline AttentionOptions options_for(const Case& c, uint64_t seed) {
  AttentionOptions o;
  o.causal = c.causal;
  o.dropout_p = c.dropout;
  o.seed = seed;
  if (c.sparse) o.block_mask = named_block_mask(c.sparse, c.shape.seq_q, c.shape.seq_k, 64, seed);
  return o;
}

// The message of the flashlab::Error that `call` throws, or "no error".
template <typename Call>
std::string error_of(Call call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

inline void cuda_ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw flashlab::Error(std::string(what) + ": " + cudaGetErrorString(e));
}

using DeviceBuffer = cuda::DeviceBuffer;

// Rounds every element to `dtype` (what the GPU will see) and back to double.
inline Tensor<double> rounded(const Tensor<double>& t, cuda::DType dtype) {
  Tensor<double> r = t;
  for (double& x : r.data) {
    if (dtype == cuda::DType::F16)
      x = double(__half2float(__float2half_rn(float(x))));
    else if (dtype == cuda::DType::BF16)
      x = double(__bfloat162float(__float2bfloat16_rn(float(x))));
    else
      x = double(float(x));
  }
  return r;
}

// Copies a host tensor to a new device buffer in `dtype`.
inline std::unique_ptr<DeviceBuffer> to_device(const Tensor<double>& t, cuda::DType dtype) {
  auto buf = std::make_unique<DeviceBuffer>(size_t(t.size()) * size_t(cuda::element_bytes(dtype)));
  std::vector<unsigned char> host(buf->bytes);
  for (int64_t i = 0; i < t.size(); ++i) {
    const float x = float(t.data[size_t(i)]);
    if (dtype == cuda::DType::F16)
      reinterpret_cast<__half*>(host.data())[i] = __float2half_rn(x);
    else if (dtype == cuda::DType::BF16)
      reinterpret_cast<__nv_bfloat16*>(host.data())[i] = __float2bfloat16_rn(x);
    else
      reinterpret_cast<float*>(host.data())[i] = x;
  }
  cuda_ok(cudaMemcpy(buf->ptr, host.data(), buf->bytes, cudaMemcpyHostToDevice), "cudaMemcpy H2D");
  return buf;
}

// Reads a device buffer of `dtype` elements back as a double tensor of `dims`.
inline Tensor<double> from_device(const DeviceBuffer& buf, cuda::DType dtype,
                                  std::vector<int64_t> dims) {
  Tensor<double> t(std::move(dims));
  std::vector<unsigned char> host(size_t(t.size()) * size_t(cuda::element_bytes(dtype)));
  cuda_ok(cudaMemcpy(host.data(), buf.ptr, host.size(), cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
  for (int64_t i = 0; i < t.size(); ++i) {
    if (dtype == cuda::DType::F16)
      t.data[size_t(i)] = __half2float(reinterpret_cast<__half*>(host.data())[i]);
    else if (dtype == cuda::DType::BF16)
      t.data[size_t(i)] = __bfloat162float(reinterpret_cast<__nv_bfloat16*>(host.data())[i]);
    else
      t.data[size_t(i)] = reinterpret_cast<float*>(host.data())[i];
  }
  return t;
}

// Largest |a - b| over finite-or-not elements; NaN anywhere gives +inf (so it can never pass).
// Two -inf (fully masked logsumexp rows) count as equal.
inline double max_abs_error(const Tensor<double>& a, const Tensor<double>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    const double x = a.data[i], y = b.data[i];
    if (std::isnan(x) || std::isnan(y)) return INFINITY;
    if (x == y) continue;  // includes -inf == -inf
    worst = std::max(worst, std::abs(x - y));
  }
  return worst;
}

inline double max_abs(const Tensor<double>& a) {
  double m = 0;
  for (double x : a.data)
    if (std::isfinite(x)) m = std::max(m, std::abs(x));
  return m;
}

// Unit roundoff of the dtype: 2^-11 for fp16, 2^-8 for bf16, 2^-24 for fp32.
inline double unit_roundoff(cuda::DType dtype) {
  return dtype == cuda::DType::F16 ? 0x1p-11 : dtype == cuda::DType::BF16 ? 0x1p-8 : 0x1p-24;
}

// The accuracy rule: error(kernel) <= 2 * error(reference on inputs rounded to dtype)
// + a floor. For fp16/bf16 the floor is 4 roundoffs of the output's magnitude: the kernel must
// round its output to dtype, which the double reference never does. For fp32 (the teaching
// kernel) input rounding is nearly free and the float accumulation over d and N dominates, so
// the floor is 64 roundoffs (about 4e-6 relative), still far below any indexing or masking bug.
// The magnitude is taken as at least 1e-2: the outputs of these problems (inputs drawn from
// N(0, 1)) are O(0.1-10), and a tensor below 1e-2 is a residue of sums that cancel. dQ and dK
// with one key per query are exactly zero (P = 1, so dS = P (dP - D) = 0), and the kernels'
// fp32 sums of dP and D leave up to 2.7e-6 there (fp16, N = 1: above the 1.95e-6 that 1e-3 gave,
// docs/performance.md "v25"); 4 roundoffs of 1e-2 (2e-5 in fp16) stay far below a bug's error.
inline void check_accuracy(const char* what, const Tensor<double>& kernel,
                           const Tensor<double>& exact, const Tensor<double>& rounded_ref,
                           cuda::DType dtype) {
  const double err = max_abs_error(kernel, exact);
  const double base = max_abs_error(rounded_ref, exact);
  const double roundoffs = dtype == cuda::DType::F32 ? 64 : 4;
  const double floor = roundoffs * unit_roundoff(dtype) * std::max(max_abs(exact), 1e-2);
  INFO(what << ": kernel error " << err << ", rounded-input reference error " << base << ", floor "
            << floor);
  CHECK(err <= 2 * base + floor);
}

}  // namespace flashlab::test
