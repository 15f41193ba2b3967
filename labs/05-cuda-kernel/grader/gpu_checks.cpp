// Lab 5's grader helpers (gpu_checks.hpp).
#include "gpu_checks.hpp"

#include <cuda_runtime.h>

#include <cmath>
#include <random>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/cuda/device_buffer.hpp>
#include <flashlab/labs/grading.hpp>
#include <flashlab/reference/attention.hpp>

namespace flashlab::labs::lab5::grading {
namespace {

using Buffer = cuda::DeviceBuffer;

void upload(const Buffer& dst, const std::vector<float>& src) {
  if (cudaMemcpy(dst.ptr, src.data(), src.size() * sizeof(float), cudaMemcpyHostToDevice) !=
      cudaSuccess)
    throw Error("cudaMemcpy to the GPU failed");
}

std::vector<float> download(const Buffer& src, size_t n) {
  std::vector<float> out(n);
  if (cudaMemcpy(out.data(), src.ptr, n * sizeof(float), cudaMemcpyDeviceToHost) != cudaSuccess)
    throw Error("cudaMemcpy from the GPU failed");
  return out;
}

Tensor<double> to_tensor(const std::vector<float>& x, std::vector<int64_t> dims) {
  Tensor<double> t(std::move(dims));
  for (size_t i = 0; i < x.size(); ++i) t.data[i] = double(x[i]);
  return t;
}

std::string where(const Case& c, size_t k, bool lse) {
  const size_t d = lse ? 1 : size_t(c.p.head_dim), row = k / d;
  const size_t r = row % size_t(c.p.seq_q), bh = row / size_t(c.p.seq_q);
  return std::string(lse ? "lse" : "O") + "[b=" + std::to_string(bh / size_t(c.p.heads)) +
         "][h=" + std::to_string(bh % size_t(c.p.heads)) + "][row " + std::to_string(r) + "]" +
         (lse ? "" : "[" + std::to_string(k % d) + "]");
}

}  // namespace

std::string Case::describe() const {
  return "batch=" + std::to_string(p.batch) + ", heads=" + std::to_string(p.heads) +
         ", seq_q=" + std::to_string(p.seq_q) + ", seq_k=" + std::to_string(p.seq_k) +
         ", head_dim=" + std::to_string(p.head_dim) + (p.causal ? ", causal" : "");
}

Case random_case(uint64_t seed, Problem p) {
  p.scale = 1.0f / std::sqrt(float(p.head_dim));
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Case c{p, {}, {}, {}};
  const size_t nq = size_t(p.batch * p.heads * p.seq_q * p.head_dim);
  const size_t nk = size_t(p.batch * p.heads * p.seq_k * p.head_dim);
  for (auto* t : {&c.q, &c.k, &c.v}) {
    t->resize(t == &c.q ? nq : nk);
    for (float& x : *t) x = normal(rng);
  }
  return c;
}

Output run_gpu(const Case& c) {
  const size_t lse_n = size_t(c.p.batch * c.p.heads * c.p.seq_q);
  const Buffer q(c.q.size() * 4), k(c.k.size() * 4), v(c.v.size() * 4);
  Buffer o(c.q.size() * 4), lse(lse_n * 4);
  upload(q, c.q);
  upload(k, c.k);
  upload(v, c.v);
  o.poison();  // NaN: an element the kernel never writes shows
  lse.poison();
  const std::string error = flash_forward_gpu(c.p, q.as<float>(), k.as<float>(), v.as<float>(),
                                              o.as<float>(), lse.as<float>());
  if (!error.empty()) throw Error("flash_forward_gpu failed with " + c.describe() + ": " + error);
  return {download(o, c.q.size()), download(lse, lse_n)};
}

ForwardResult<double> reference(const Case& c, const std::function<bool(int, int)>& allowed) {
  const AttentionShape s{c.p.batch, c.p.heads, c.p.seq_q, c.p.seq_k, c.p.head_dim};
  AttentionOptions opt;
  opt.softmax_scale = c.p.scale;
  opt.causal = c.p.causal && !allowed;
  if (allowed) {
    std::vector<uint8_t> layout;
    for (int r = 0; r < c.p.seq_q; ++r)
      for (int col = 0; col < c.p.seq_k; ++col) layout.push_back(allowed(r, col) ? 1 : 0);
    opt.block_mask = block_sparse_mask(layout, c.p.seq_q, c.p.seq_k, 1, 1);
  }
  return reference::attention_forward(s, opt, to_tensor(c.q, q_dims(s)), to_tensor(c.k, kv_dims(s)),
                                      to_tensor(c.v, kv_dims(s)));
}

std::string compare(const Case& c, const Output& got, const ForwardResult<double>& ref) {
  if (const auto k = first_mismatch(ref.O.data, got.O, 1e-4, 1e-4)) {
    std::string why = "with " + c.describe() + ": " + where(c, *k, false) + " expected " +
                      fmt(ref.O.data[*k]) + ", got " + fmt(got.O[*k]);
    if (std::isnan(got.O[*k]))
      why +=
          ". O is filled with NaN before the launch: the kernel did not write this element "
          "(TODO 4 writes O; rows r0 .. r0 + rows - 1 of every batch x head), or it computed "
          "e^{-inf - (-inf)} for a row with no unmasked score";
    return why;
  }
  if (const auto k = first_mismatch(ref.lse.data, got.lse, 1e-4, 1e-4))
    return "with " + c.describe() + ": " + where(c, *k, true) + " expected the logsumexp " +
           fmt(ref.lse.data[*k]) + ", got " + fmt(got.lse[*k]) + " (TODO 4: lse = m + log l)";
  return "";
}

}  // namespace flashlab::labs::lab5::grading
