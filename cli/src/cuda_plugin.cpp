// libflashlab_cuda_rows.so, the CUDA plugin of `flashlab` (interface: cuda_plugin.hpp): runs the
// fused FlashAttention kernels (fp16/bf16 tensor cores; fp32 runs the teaching kernel, forward
// only) and the naive cuBLAS baseline on the same rounded inputs, timed with CUDA events after a
// warm-up run, and says what is true when no GPU can be used.
#include <cuda_runtime.h>

#include <cstring>
#include <functional>
#include <memory>

#include <flashlab/cuda/api.hpp>
#include <flashlab/cuda/device_buffer.hpp>
#include <flashlab/cuda/event_timer.hpp>
#include <flashlab/io/half.hpp>

#include "cuda_plugin.hpp"

namespace flashlab::cli {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string(what) + ": " + cudaGetErrorString(e));
}

using cuda::DeviceBuffer;
using Buffer = std::unique_ptr<DeviceBuffer>;

cuda::DType device_dtype(DType d) {
  return d == DType::Float16    ? cuda::DType::F16
         : d == DType::BFloat16 ? cuda::DType::BF16
                                : cuda::DType::F32;
}

Buffer upload(const Tensor<double>& t, cuda::DType dtype) {
  auto buf = std::make_unique<DeviceBuffer>(size_t(t.size()) * size_t(cuda::element_bytes(dtype)));
  std::vector<unsigned char> host(buf->bytes);
  for (size_t i = 0; i < t.data.size(); ++i) {
    if (dtype == cuda::DType::F32) {
      const float x = float(t.data[i]);
      std::memcpy(host.data() + 4 * i, &x, 4);
    } else {
      const uint16_t bits = dtype == cuda::DType::F16 ? io::to_float16_bits(t.data[i])
                                                      : io::to_bfloat16_bits(t.data[i]);
      std::memcpy(host.data() + 2 * i, &bits, 2);
    }
  }
  check(cudaMemcpy(buf->ptr, host.data(), buf->bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
  return buf;
}

Tensor<double> download(const DeviceBuffer& buf, cuda::DType dtype, std::vector<int64_t> dims) {
  Tensor<double> t(std::move(dims));
  std::vector<unsigned char> host(size_t(t.size()) * size_t(cuda::element_bytes(dtype)));
  check(cudaMemcpy(host.data(), buf.ptr, host.size(), cudaMemcpyDeviceToHost), "cudaMemcpy");
  for (size_t i = 0; i < t.data.size(); ++i) {
    if (dtype == cuda::DType::F32) {
      float x;
      std::memcpy(&x, host.data() + 4 * i, 4);
      t.data[i] = x;
    } else {
      uint16_t bits;
      std::memcpy(&bits, host.data() + 2 * i, 2);
      t.data[i] = dtype == cuda::DType::F16 ? io::float16_bits_to_double(bits)
                                            : io::bfloat16_bits_to_double(bits);
    }
  }
  return t;
}

// Seconds of one call: the median of runs timed with CUDA events after warm-up runs (an idle GPU
// starts at a low clock, and one run of a small problem is mostly launch noise): at least 5 runs,
// more while they take under 20 ms together, at most 50.
double time_call(const std::function<void()>& call) {
  return cuda::median_event_ms(call, {3, 5, 50, 20.0}) / 1e3;
}

// The shared device copies of one problem.
struct DeviceProblem {
  cuda::DType dtype;
  Buffer q, k, v, d_o, o, lse, dq, dk, dv;
  DeviceProblem(const Problem& p, const Inputs& in, bool backward) : dtype(device_dtype(p.dtype)) {
    const size_t eb = size_t(cuda::element_bytes(dtype));
    q = upload(in.Q, dtype);
    k = upload(in.K, dtype);
    v = upload(in.V, dtype);
    o = std::make_unique<DeviceBuffer>(size_t(p.shape.q_elements()) * eb);
    lse = std::make_unique<DeviceBuffer>(size_t(p.shape.lse_elements()) * 4);
    if (backward) {
      d_o = upload(in.dO, dtype);
      dq = std::make_unique<DeviceBuffer>(size_t(p.shape.q_elements()) * eb);
      dk = std::make_unique<DeviceBuffer>(size_t(p.shape.kv_elements()) * eb);
      dv = std::make_unique<DeviceBuffer>(size_t(p.shape.kv_elements()) * eb);
    }
  }
  cuda::ForwardArgs forward_args() const {
    return {q->ptr, k->ptr, v->ptr, o->ptr, static_cast<float*>(lse->ptr)};
  }
  cuda::BackwardArgs backward_args() const {
    return {q->ptr,  k->ptr,  v->ptr, o->ptr, d_o->ptr, static_cast<const float*>(lse->ptr),
            dq->ptr, dk->ptr, dv->ptr};
  }
  // O in the dtype; the logsumexp as the kernels compute and store it, in fp32.
  std::vector<QuantityTensor> forward_outputs(const Problem& p) const {
    return {{Quantity::O, download(*o, dtype, q_dims(p.shape))},
            {Quantity::lse, download(*lse, cuda::DType::F32, lse_dims(p.shape)),
             OutputPrecision::Float32}};
  }
  std::vector<QuantityTensor> backward_outputs(const Problem& p) const {
    return {{Quantity::dQ, download(*dq, dtype, q_dims(p.shape))},
            {Quantity::dK, download(*dk, dtype, kv_dims(p.shape))},
            {Quantity::dV, download(*dv, dtype, kv_dims(p.shape))}};
  }
};

OutputPrecision precision_of(DType d) {
  return d == DType::Float16    ? OutputPrecision::Float16
         : d == DType::BFloat16 ? OutputPrecision::BFloat16
                                : OutputPrecision::Float32;
}

void fused_row(const Problem& p, const Inputs& in, bool backward, ImplementationRun& run) {
  DeviceProblem dev(p, in, backward);
  PassRun fwd;
  if (p.dtype == DType::Float32) {
    fwd.measured_seconds =
        time_call([&] { cuda::flash_forward_simple(p.shape, p.options, dev.forward_args()); });
  } else {
    fwd.measured_seconds =
        time_call([&] { cuda::flash_forward(p.shape, p.options, dev.dtype, dev.forward_args()); });
    fwd.tiles = cuda::flash_forward_tiles(p.shape, p.options);
    fwd.softmax_under_matmul =
        cuda::flash_forward_overlaps_softmax(p.shape.head_dim, p.options.dropout_p > 0);
    fwd.kept_max = cuda::flash_forward_keeps_max(p.shape.head_dim, p.options.dropout_p > 0);
  }
  fwd.outputs = dev.forward_outputs(p);
  fwd.extra_memory_bytes = double(p.shape.lse_elements()) * 4;  // L, kept for the backward
  run.forward = std::move(fwd);
  if (!backward) return;
  if (p.dtype == DType::Float32) {
    run.backward_absent_reason = "the teaching kernel has no backward; use --dtype fp16 or bf16";
    return;
  }
  // The kernel decides what it runs (d = 256 splits dK/dV, whatever the simulator's SRAM rule).
  std::string unsupported;
  if (!cuda::flash_backward_supports(p.shape, p.options, dev.dtype, &unsupported)) {
    run.backward_absent_reason = unsupported;
    return;
  }
  DeviceBuffer workspace(size_t(cuda::flash_backward_workspace_bytes(p.shape)));
  PassRun bwd;
  bwd.measured_seconds = time_call([&] {
    cuda::flash_backward(p.shape, p.options, dev.dtype, dev.backward_args(), workspace.ptr);
  });
  bwd.outputs = dev.backward_outputs(p);
  bwd.extra_memory_bytes = double(workspace.bytes);
  bwd.tiles = cuda::flash_backward_tiles(p.shape.head_dim, p.options.dropout_p > 0);
  run.backward = std::move(bwd);
}

void naive_row(const Problem& p, const Inputs& in, bool backward, ImplementationRun& run) {
  DeviceProblem dev(p, in, backward);
  DeviceBuffer workspace(size_t(cuda::naive_workspace_bytes(p.shape, dev.dtype, backward)));
  PassRun fwd;
  fwd.measured_seconds = time_call([&] {
    cuda::naive_forward(p.shape, p.options, dev.dtype, dev.forward_args(), workspace.ptr);
  });
  fwd.outputs = dev.forward_outputs(p);
  fwd.extra_memory_bytes = double(cuda::naive_workspace_bytes(p.shape, dev.dtype, false));
  run.forward = std::move(fwd);
  if (backward) {
    PassRun bwd;
    bwd.measured_seconds = time_call([&] {
      cuda::naive_backward(p.shape, p.options, dev.dtype, dev.backward_args(), workspace.ptr);
    });
    bwd.outputs = dev.backward_outputs(p);
    bwd.extra_memory_bytes = double(workspace.bytes);
    run.backward = std::move(bwd);
  }
}

// Runs one row; a refusal of the kernels (head dim, dtype, memory) or a CUDA failure makes the
// row absent with the reason, so that the other rows still print.
void guarded(ImplementationRun& run, const Problem& p, const GpuDevice& gpu,
             const std::function<void(ImplementationRun&)>& measure) {
  run.precision = precision_of(p.dtype);
  run.measured_on = gpu.name;
  try {
    measure(run);
  } catch (const Error& e) {
    cudaGetLastError();
    run.available = false;
    run.reason_if_absent = e.what();
    run.forward.reset();
    run.backward.reset();
  }
}

void run_rows(const Problem& p, const Inputs& in, bool backward, const GpuDevice& gpu,
              std::vector<ImplementationRun>& rows) {
  guarded(rows.at(0), p, gpu, [&](ImplementationRun& r) { fused_row(p, in, backward, r); });
  guarded(rows.at(1), p, gpu, [&](ImplementationRun& r) { naive_row(p, in, backward, r); });
}

GpuDevice detect_gpu() {
  const cuda::DeviceInfo info = cuda::device_info();
  GpuDevice d;
  d.available = info.available;
  d.name = info.name;
  d.sm_count = info.sm_count;
  d.compute_major = info.compute_major;
  d.compute_minor = info.compute_minor;
  d.memory_bytes = info.memory_bytes;
  d.reason = info.reason;  // cuda::device_info says why none is usable
  return d;
}

constexpr CudaPluginApi kApi{kCudaPluginAbi, FLASHLAB_VERSION, &detect_gpu, &run_rows};

}  // namespace
}  // namespace flashlab::cli

extern "C" __attribute__((visibility("default"))) const flashlab::cli::CudaPluginApi*
flashlab_cuda_plugin_api() {
  return &flashlab::cli::kApi;
}
