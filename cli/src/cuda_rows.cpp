// The CUDA rows of `flashlab compare`: the fused FlashAttention kernels (fp16/bf16 tensor cores;
// fp32 runs the teaching kernel, forward only) and the naive baseline, on the same rounded inputs,
// timed with CUDA events after a warm-up run, with the simulator's prediction for the kernels'
// own tile sizes beside the measured time.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>

#include <flashlab/cli/cuda_rows.hpp>
#include <flashlab/cli/kernel_model.hpp>
#include <flashlab/cuda/api.hpp>
#include <flashlab/cuda/device_buffer.hpp>
#include <flashlab/cuda/event_timer.hpp>
#include <flashlab/io/half.hpp>
#include <flashlab/simulator/simulate.hpp>

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

// The model's counts and prediction for a kernel call with the kernel's own tiles.
void add_model(PassRun& pass, const Problem& p, KernelCall call, TileSizes tiles) {
  const KernelPrediction m =
      predict_kernel(call, p.shape, p.options, int(element_bytes(p.dtype)), tiles, p.gpu);
  pass.io = m.stats;
  pass.prediction = m.prediction;
  // cuBLAS picks its own tiles: the naive rows show none (the model tiles them for the SRAM).
  if (call == KernelCall::FusedForward || call == KernelCall::FusedBackward) pass.tiles = m.tiles;
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
  PassRun forward_outputs(const Problem& p) const {
    PassRun r;
    r.outputs = {{Quantity::O, download(*o, dtype, q_dims(p.shape))},
                 {Quantity::lse, download(*lse, cuda::DType::F32, lse_dims(p.shape))}};
    return r;
  }
  PassRun backward_outputs(const Problem& p) const {
    PassRun r;
    r.outputs = {{Quantity::dQ, download(*dq, dtype, q_dims(p.shape))},
                 {Quantity::dK, download(*dk, dtype, kv_dims(p.shape))},
                 {Quantity::dV, download(*dv, dtype, kv_dims(p.shape))}};
    return r;
  }
};

OutputPrecision precision_of(DType d) {
  return d == DType::Float16    ? OutputPrecision::Float16
         : d == DType::BFloat16 ? OutputPrecision::BFloat16
                                : OutputPrecision::Float32;
}

ImplementationRun fused_row(const Problem& p, const Inputs& in, bool backward,
                            const std::string& gpu_name) {
  ImplementationRun run;
  run.name = "cuda flash (fused)";
  run.id = "cuda_flash";
  run.kind = ImplementationKind::Cuda;
  run.description = p.dtype == DType::Float32
                        ? "teaching kernel: FA1 Alg. 1 in fp32 CUDA, no tensor cores"
                        : "fused FlashAttention kernels: FA2 loop order on mma.sync tensor cores";
  run.precision = precision_of(p.dtype);
  run.measured_on = gpu_name;
  DeviceProblem dev(p, in, backward);
  PassRun fwd;
  double seconds = 0;
  if (p.dtype == DType::Float32) {
    seconds =
        time_call([&] { cuda::flash_forward_simple(p.shape, p.options, dev.forward_args()); });
  } else {
    seconds =
        time_call([&] { cuda::flash_forward(p.shape, p.options, dev.dtype, dev.forward_args()); });
    add_model(fwd, p, KernelCall::FusedForward,
              cuda::flash_forward_tiles(p.shape.head_dim, p.options.dropout_p > 0));
  }
  PassRun out = dev.forward_outputs(p);
  fwd.outputs = std::move(out.outputs);
  fwd.measured_seconds = seconds;
  fwd.extra_memory_bytes = double(p.shape.lse_elements()) * 4;  // L, kept for the backward
  run.forward = std::move(fwd);
  if (!backward) return run;
  if (p.dtype == DType::Float32) {
    run.backward_absent_reason = "the teaching kernel has no backward; use --dtype fp16 or bf16";
    return run;
  }
  DeviceBuffer workspace(size_t(cuda::flash_backward_workspace_bytes(p.shape)));
  PassRun bwd;
  bwd.measured_seconds = time_call([&] {
    cuda::flash_backward(p.shape, p.options, dev.dtype, dev.backward_args(), workspace.ptr);
  });
  bwd.outputs = dev.backward_outputs(p).outputs;
  bwd.extra_memory_bytes = double(workspace.bytes);
  add_model(bwd, p, KernelCall::FusedBackward, cuda::flash_backward_tiles(p.shape.head_dim));
  run.backward = std::move(bwd);
  return run;
}

ImplementationRun naive_row(const Problem& p, const Inputs& in, bool backward,
                            const std::string& gpu_name) {
  ImplementationRun run;
  run.name = "cuda naive";
  run.id = "cuda_naive";
  run.kind = ImplementationKind::Cuda;
  run.description =
      "naive CUDA baseline: cuBLAS GEMMs, separate mask/softmax/dropout kernels, S and P in HBM";
  run.precision = precision_of(p.dtype);
  run.measured_on = gpu_name;
  DeviceProblem dev(p, in, backward);
  DeviceBuffer workspace(size_t(cuda::naive_workspace_bytes(p.shape, dev.dtype, backward)));
  PassRun fwd = dev.forward_outputs(p);
  fwd.measured_seconds = time_call([&] {
    cuda::naive_forward(p.shape, p.options, dev.dtype, dev.forward_args(), workspace.ptr);
  });
  fwd.outputs = dev.forward_outputs(p).outputs;
  fwd.extra_memory_bytes = double(cuda::naive_workspace_bytes(p.shape, dev.dtype, false));
  add_model(fwd, p, KernelCall::NaiveForward, {});
  run.forward = std::move(fwd);
  if (backward) {
    PassRun bwd;
    bwd.measured_seconds = time_call([&] {
      cuda::naive_backward(p.shape, p.options, dev.dtype, dev.backward_args(), workspace.ptr);
    });
    bwd.outputs = dev.backward_outputs(p).outputs;
    bwd.extra_memory_bytes = double(workspace.bytes);
    add_model(bwd, p, KernelCall::NaiveBackward, {});
    run.backward = std::move(bwd);
  }
  return run;
}

// Runs one row; a refusal of the kernels (head dim, dtype, memory) becomes an absent row.
ImplementationRun guarded(const char* name, const char* id, const char* description,
                          const std::function<ImplementationRun()>& make) {
  try {
    return make();
  } catch (const Error& e) {
    cudaGetLastError();
    return ImplementationRun::absent(name, id, ImplementationKind::Cuda, description, e.what());
  }
}

}  // namespace

std::vector<ImplementationRun> run_cuda(const Problem& problem, const Inputs& inputs,
                                        bool backward) {
  const GpuDevice gpu = detect_gpu();
  if (!gpu.available) {
    return {
        ImplementationRun::absent("cuda flash (fused)", "cuda_flash", ImplementationKind::Cuda,
                                  "fused FlashAttention CUDA kernel", gpu.reason),
        ImplementationRun::absent("cuda naive", "cuda_naive", ImplementationKind::Cuda,
                                  "naive CUDA baseline: S and P materialized in HBM", gpu.reason)};
  }
  return {guarded("cuda flash (fused)", "cuda_flash", "fused FlashAttention CUDA kernel",
                  [&] { return fused_row(problem, inputs, backward, gpu.name); }),
          guarded("cuda naive", "cuda_naive", "naive CUDA baseline: S and P materialized in HBM",
                  [&] { return naive_row(problem, inputs, backward, gpu.name); })};
}

GpuDevice detect_gpu() {
  const cuda::DeviceInfo info = cuda::device_info();
  GpuDevice d;
  d.available = info.available;
  d.reason = info.reason;
  d.name = info.name;
  d.sm_count = info.sm_count;
  d.compute_major = info.compute_major;
  d.compute_minor = info.compute_minor;
  d.memory_bytes = info.memory_bytes;
  return d;
}

}  // namespace flashlab::cli
