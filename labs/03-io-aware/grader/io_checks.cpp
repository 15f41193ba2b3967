// Lab 3's grader helpers (io_checks.hpp).
#include "io_checks.hpp"

#include <cmath>
#include <random>

#include <flashlab/core/options.hpp>
#include <flashlab/labs/grading.hpp>
#include <flashlab/reference/attention.hpp>

#include "io_aware.hpp"

namespace flashlab::labs::lab3::grading {

using namespace flashlab::simulator;
using T = TensorId;

std::string describe(const Run& r) {
  return "N_q=" + std::to_string(r.shape.seq_q) + ", N_k=" + std::to_string(r.shape.seq_k) +
         ", d=" + std::to_string(r.shape.head_dim) + ", B_r=" + std::to_string(r.tiles.block_rows) +
         ", B_c=" + std::to_string(r.tiles.block_cols) +
         (r.element_bytes == kBytes ? ""
                                    : ", " + std::to_string(r.element_bytes) + "-byte elements");
}

Run run_student(const AttentionShape& shape, TileSizes tiles, int64_t sram_bytes,
                const std::vector<Tensor<float>>* qkv, int element_bytes) {
  Run r{shape, tiles, element_bytes, "", {}, {}, {}, {}, 0, ""};
  MachineConfig mc;
  mc.sram_bytes = sram_bytes;
  mc.element_bytes = element_bytes;
  mc.counting_only = qkv == nullptr;
  mc.params = make_params({}, shape);
  Machine M(mc, nullptr);
  M.set_context("your flash_forward_on_machine");
  M.begin_head(0, 0, false);
  const T ids[] = {T::Q, T::K, T::V};
  for (int k = 0; k < 3; ++k)
    M.hbm().upload(ids[k], k == 0 ? shape.seq_q : shape.seq_k, shape.head_dim,
                   qkv ? (*qkv)[size_t(k)].ptr() : nullptr);
  try {
    flash_forward_on_machine(M, make_head_problem(shape, mc.params, tiles));
  } catch (const Error& e) {
    r.error = e.what();
  }
  r.stats = M.stats();
  r.sram_left = M.sram().used_bytes();
  r.resident = M.sram().resident_summary();
  if (qkv && r.error.empty()) {
    if (!M.hbm().defined(T::O) || !M.hbm().defined(T::l) || !M.hbm().defined(T::m))
      r.error = "O, l and m must be in HBM after the run (define them as the given line 2 does)";
    else {
      r.O.assign(M.hbm().data(T::O).begin(), M.hbm().data(T::O).end());
      r.l.assign(M.hbm().data(T::l).begin(), M.hbm().data(T::l).end());
      r.m.assign(M.hbm().data(T::m).begin(), M.hbm().data(T::m).end());
    }
  }
  return r;
}

std::vector<Tensor<float>> random_qkv(uint64_t seed, const AttentionShape& s) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<Tensor<float>> t = {Tensor<float>(q_dims(s)), Tensor<float>(kv_dims(s)),
                                  Tensor<float>(kv_dims(s))};
  for (auto& x : t)
    for (float& v : x.data) v = normal(rng);
  return t;
}

std::string check_outputs(const Run& r, const std::vector<Tensor<float>>& qkv) {
  if (!r.error.empty()) return "with " + describe(r) + " the machine refused a step: " + r.error;
  std::vector<Tensor<double>> in;
  for (const auto& t : qkv) {
    Tensor<double> x(t.dims);
    for (size_t k = 0; k < t.data.size(); ++k) x.data[k] = double(t.data[k]);
    in.push_back(std::move(x));
  }
  const int64_t nq = r.shape.seq_q, nk = r.shape.seq_k, d = r.shape.head_dim;
  const auto ref = reference::attention_forward(r.shape, {}, in[0], in[1], in[2]);
  if (const auto k = first_mismatch(ref.O.data, r.O, 1e-4, 1e-4)) {
    std::string why = "with " + describe(r) + ": O[" + std::to_string(*k / size_t(d)) + "][" +
                      std::to_string(*k % size_t(d)) + "] expected " + fmt(ref.O.data[*k]) +
                      ", got " + fmt(r.O[*k]);
    AttentionOptions unscaled;
    unscaled.softmax_scale = 1.0;
    if (!first_mismatch(reference::attention_forward(r.shape, unscaled, in[0], in[1], in[2]).O.data,
                        r.O, 1e-4, 1e-4))
      why +=
          ". Your O is what S_ij = Q_i K_j^T without the scale gives: tau is missing "
          "(S_ij = tau Q_i K_j^T; M.matmul's .alpha = p.tau).";
    return why;
  }
  const double tau = 1.0 / std::sqrt(double(d));
  for (int64_t row = 0; row < nq; ++row) {
    double m = -INFINITY, l = 0;
    auto s = [&](int64_t c) {
      double dot = 0;
      for (int64_t e = 0; e < d; ++e)
        dot += in[0].data[size_t(row * d + e)] * in[1].data[size_t(c * d + e)];
      return tau * dot;
    };
    for (int64_t c = 0; c < nk; ++c) m = std::max(m, s(c));
    for (int64_t c = 0; c < nk; ++c) l += std::exp(s(c) - m);
    const size_t k = size_t(row);
    if (std::abs(r.m[k] - m) > 1e-4 * (1 + std::abs(m)) || std::abs(r.l[k] - l) > 1e-4 * l)
      return "with " + describe(r) + ": row " + std::to_string(row) + " expected m = " + fmt(m) +
             " (the row max of S) and l = " + fmt(l) +
             " (sum of e^{S - m}), got m = " + fmt(r.m[k]) + " and l = " + fmt(r.l[k]) +
             " in HBM (lines 11 and 13)";
  }
  return "";
}

int64_t alg1_bytes(const AttentionShape& s, const TileSizes& t, int element_bytes) {
  const int64_t Nq = s.seq_q, Nk = s.seq_k, d = s.head_dim;
  const int64_t Tc = ceil_div(Nk, t.block_cols);
  return element_bytes * (2 * Nk * d + Nq * d + 2 * Nq + Tc * Nq * (3 * d + 4));
}

SimForward simulator_run(Algorithm a, const AttentionShape& s, int64_t sram_bytes,
                         int element_bytes) {
  SimConfig c;
  c.algorithm = a;
  c.shape = s;
  c.sram_bytes = sram_bytes;
  c.element_bytes = element_bytes;
  c.counting_only = true;
  return simulate_forward(c, nullptr, nullptr, nullptr);
}

bool leaks() {
  const Run small = run_student({1, 1, 64, 64, 16}, {16, 16}, 1 << 24, nullptr);
  return small.error.empty() && small.sram_left > 0;
}

Run big_run() {
  const TileSizes tiles = choose_tiles(kSram48K, kBytes, 64);
  return run_student(kBig, tiles, kSram48K, nullptr);
}

}  // namespace flashlab::labs::lab3::grading
