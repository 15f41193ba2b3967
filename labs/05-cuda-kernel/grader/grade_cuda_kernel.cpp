// Grader of lab 5 (README.md): the student's fused kernel on the GPU against the float64
// reference, with O and lse filled with NaN before every launch (so an unwritten element
// shows). Without a usable GPU the whole grader prints "SKIPPED: no GPU: ..." and exits 77.
#include <cuda_runtime.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/labs/grading.hpp>
#include <flashlab/reference/attention.hpp>

#include "flash_kernel.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab5;
using flashlab::Tensor;

// Runs in a child process (the runner's): a CUDA context must not exist before the fork.
std::string gpu_missing() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return std::string("no GPU: ") + cudaGetErrorString(e);
  if (count == 0) return "no GPU: no CUDA device is visible";
  return "";
}
[[maybe_unused]] const bool kNeedsGpu = register_precondition(&gpu_missing);

struct DeviceBuffer {
  float* ptr = nullptr;
  explicit DeviceBuffer(size_t n) {
    if (cudaMalloc(reinterpret_cast<void**>(&ptr), std::max<size_t>(n, 1) * sizeof(float)) !=
        cudaSuccess)
      throw flashlab::Error("cudaMalloc failed");
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

struct Case {
  Problem p;
  std::vector<float> q, k, v;
  std::string describe() const {
    return "batch=" + std::to_string(p.batch) + ", heads=" + std::to_string(p.heads) +
           ", seq_q=" + std::to_string(p.seq_q) + ", seq_k=" + std::to_string(p.seq_k) +
           ", head_dim=" + std::to_string(p.head_dim) + (p.causal ? ", causal" : "");
  }
};

Case random_case(unsigned seed, Problem p) {
  p.scale = 1.0f / std::sqrt(float(p.head_dim));
  std::mt19937 rng(seed);
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

struct Output {
  std::vector<float> O, lse;
};

Output run_gpu(const Case& c) {
  DeviceBuffer q(c.q.size()), k(c.k.size()), v(c.v.size()), o(c.q.size()),
      lse(size_t(c.p.batch * c.p.heads * c.p.seq_q));
  cudaMemcpy(q.ptr, c.q.data(), c.q.size() * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(k.ptr, c.k.data(), c.k.size() * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(v.ptr, c.v.data(), c.v.size() * 4, cudaMemcpyHostToDevice);
  Output out{std::vector<float>(c.q.size()),
             std::vector<float>(size_t(c.p.batch * c.p.heads * c.p.seq_q))};
  cudaMemset(o.ptr, 0xFF, out.O.size() * 4);  // NaN: an element the kernel never writes shows
  cudaMemset(lse.ptr, 0xFF, out.lse.size() * 4);
  const std::string error = flash_forward_gpu(c.p, q.ptr, k.ptr, v.ptr, o.ptr, lse.ptr);
  if (!error.empty())
    throw flashlab::Error("flash_forward_gpu failed with " + c.describe() + ": " + error);
  cudaMemcpy(out.O.data(), o.ptr, out.O.size() * 4, cudaMemcpyDeviceToHost);
  cudaMemcpy(out.lse.data(), lse.ptr, out.lse.size() * 4, cudaMemcpyDeviceToHost);
  return out;
}

Tensor<double> to_tensor(const std::vector<float>& x, std::vector<int64_t> dims) {
  Tensor<double> t(std::move(dims));
  for (size_t i = 0; i < x.size(); ++i) t.data[i] = double(x[i]);
  return t;
}

// The float64 reference; `strict` masks the diagonal too (the off-by-one variant).
flashlab::ForwardResult<double> reference(const Case& c, bool strict = false) {
  const flashlab::AttentionShape s{c.p.batch, c.p.heads, c.p.seq_q, c.p.seq_k, c.p.head_dim};
  flashlab::AttentionOptions opt;
  opt.softmax_scale = c.p.scale;
  opt.causal = c.p.causal && !strict;
  if (strict) {
    std::vector<uint8_t> layout;
    for (int r = 0; r < c.p.seq_q; ++r)
      for (int col = 0; col < c.p.seq_k; ++col) layout.push_back(col < r ? 1 : 0);
    opt.block_mask = flashlab::block_sparse_mask(layout, c.p.seq_q, c.p.seq_k, 1, 1);
  }
  return flashlab::reference::attention_forward(s, opt, to_tensor(c.q, flashlab::q_dims(s)),
                                                to_tensor(c.k, flashlab::kv_dims(s)),
                                                to_tensor(c.v, flashlab::kv_dims(s)));
}

std::string where(const Case& c, size_t k, bool lse) {
  const size_t d = lse ? 1 : size_t(c.p.head_dim), row = k / d;
  const size_t r = row % size_t(c.p.seq_q), bh = row / size_t(c.p.seq_q);
  return std::string(lse ? "lse" : "O") + "[b=" + std::to_string(bh / size_t(c.p.heads)) +
         "][h=" + std::to_string(bh % size_t(c.p.heads)) + "][row " + std::to_string(r) + "]" +
         (lse ? "" : "[" + std::to_string(k % d) + "]");
}

// "" when O and lse match the reference, else the first wrong element and why it may be wrong.
std::string compare(const Case& c, const Output& got, const flashlab::ForwardResult<double>& ref) {
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

std::string check(const Case& c) {
  return compare(c, run_gpu(c), reference(c));
}

}  // namespace

FLASHLAB_LAB_TEST("one tile: N=16 and d=16", 10) {
  FLASHLAB_LAB_REQUIRE_OK(check(random_case(1, {1, 1, 16, 16, 16, 1, false})));
}

FLASHLAB_LAB_TEST("many tiles: N=256 and d=64", 15) {
  const std::string why = check(random_case(2, {1, 1, 256, 256, 64, 1, false}));
  if (!why.empty())
    FLASHLAB_LAB_FAIL(why + (check(random_case(1, {1, 1, 16, 16, 16, 1, false})).empty()
                                 ? ". One tile is right, so the tiles do not combine: TODOs 2-3 "
                                   "(m, l and the rescale of O_i)."
                                 : "."));
}

FLASHLAB_LAB_TEST("O is rescaled when a later K tile raises the row max", 15) {
  Case rising = random_case(3, {1, 1, 128, 128, 32, 1, false});
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uni(0.5f, 1.5f), noise(-0.05f, 0.05f);
  for (float& x : rising.q) x = uni(rng);
  for (int c = 0; c < 128; ++c)  // scores grow with the key index: every tile raises the max
    for (int e = 0; e < 32; ++e) rising.k[size_t(c * 32 + e)] = 0.05f * float(c) + noise(rng);
  Case falling = rising;  // the same keys and values in reverse: same attention, max in tile 0
  for (int c = 0; c < 128; ++c)
    for (int e = 0; e < 32; ++e) {
      falling.k[size_t(c * 32 + e)] = rising.k[size_t((127 - c) * 32 + e)];
      falling.v[size_t(c * 32 + e)] = rising.v[size_t((127 - c) * 32 + e)];
    }
  const std::string why = check(rising);
  if (why.empty()) return;
  FLASHLAB_LAB_FAIL("scores rising with the key index: " + why +
                    (check(falling).empty()
                         ? ". The same keys in falling order give the right O, so O_i was not "
                           "rescaled by alpha = e^{m_old - m_new} when a later tile raised the "
                           "row max (TODO 3: O_i <- diag(alpha) O_i + P~ V_j)."
                         : "."));
}

FLASHLAB_LAB_TEST("ragged tiles: seq_q=100 seq_k=75 and d=24", 15) {
  FLASHLAB_LAB_REQUIRE_OK(check(random_case(4, {1, 1, 100, 75, 24, 1, false})));
}

FLASHLAB_LAB_TEST("batch and heads index the right slices", 10) {
  FLASHLAB_LAB_REQUIRE_OK(check(random_case(5, {2, 3, 64, 48, 32, 1, false})));
}

FLASHLAB_LAB_TEST("causal mask is top-left and includes the diagonal", 15) {
  const Case c = random_case(6, {1, 2, 96, 96, 32, 1, true});
  const Output got = run_gpu(c);
  const std::string why = compare(c, got, reference(c));
  if (why.empty()) return;
  FLASHLAB_LAB_FAIL(why + (compare(c, got, reference(c, true)).empty()
                               ? ". Your result is what masking the diagonal too gives: the rule "
                                 "is c <= r, the diagonal included (row 0 sees key 0)."
                               : ". Score (r0 + r, c0 + c) is -inf when c0 + c > r0 + r."));
}

FLASHLAB_LAB_TEST("causal with seq_q != seq_k", 10) {
  FLASHLAB_LAB_REQUIRE_OK(check(random_case(7, {2, 1, 70, 130, 16, 1, true})));
}

FLASHLAB_LAB_TEST("larger problem: N=2048 and d=64 with 4 heads", 10) {
  FLASHLAB_LAB_REQUIRE_OK(check(random_case(8, {1, 4, 2048, 2048, 64, 1, false})));
}
