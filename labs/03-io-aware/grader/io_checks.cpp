// Lab 3's grader helpers (io_checks.hpp).
#include "io_checks.hpp"

#include <cmath>
#include <random>

#include <flashlab/core/options.hpp>
#include <flashlab/labs/grading.hpp>
#include <flashlab/labs/machine_run.hpp>
#include <flashlab/reference/attention.hpp>

#include "io_aware.hpp"

namespace flashlab::labs::lab3::grading {

using namespace flashlab::simulator;
using T = TensorId;

std::string describe(const Run& r) {
  return describe_problem(r.shape.seq_q, r.shape.seq_k, r.shape.head_dim, r.tiles.block_rows,
                          r.tiles.block_cols, false) +
         (r.element_bytes == kBytes ? ""
                                    : ", " + std::to_string(r.element_bytes) + "-byte elements");
}

Run run_student(const AttentionShape& shape, TileSizes tiles, int64_t sram_bytes,
                const std::vector<Tensor<float>>* qkv, int element_bytes) {
  MachineConfig mc;
  mc.sram_bytes = sram_bytes;
  mc.element_bytes = element_bytes;
  mc.params = make_params({}, shape);
  const MachineRun m = run_on_machine(mc, shape, tiles, qkv, "your flash_forward_on_machine",
                                      &flash_forward_on_machine);
  Run r{shape, tiles, element_bytes, m.error,           m.stats,
        m.O,   m.l,   m.m,           m.sram_left_bytes, m.resident};
  if (qkv && r.error.empty() && !m.outputs_in_hbm)
    r.error =
        "O, l and m must be in HBM after the run (define them as the given FA1 Alg. 1 l. 2 does)";
  return r;
}

std::string check_outputs(const Run& r, const std::vector<Tensor<float>>& qkv) {
  if (!r.error.empty()) return "with " + describe(r) + " the machine refused a step: " + r.error;
  const std::vector<Tensor<double>> in = to_double(qkv);
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
             " in HBM (FA1 Alg. 1 l. 11 and 13)";
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
