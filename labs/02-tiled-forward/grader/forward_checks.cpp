// Lab 2's grader helpers (forward_checks.hpp).
#include "forward_checks.hpp"

#include <cmath>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/labs/eigen_tensors.hpp>
#include <flashlab/labs/grading.hpp>
#include <flashlab/reference/attention.hpp>

namespace flashlab::labs::lab2::grading {
namespace {

Matrix random_matrix(std::mt19937_64& rng, Index rows, Index cols, float magnitude) {
  std::normal_distribution<float> normal(0.0f, magnitude);
  return Matrix::NullaryExpr(rows, cols, [&] { return normal(rng); });
}

double score(const Problem& p, Index r, Index c) {
  return score64(p.Q, p.K, p.cfg.scale, r, c);
}

}  // namespace

std::string Problem::describe() const {
  return describe_problem(Q.rows(), K.rows(), Q.cols(), cfg.Br, cfg.Bc, cfg.causal);
}

Problem random_problem(uint64_t seed, Index nq, Index nk, Index d, Index Br, Index Bc, bool causal,
                       float magnitude) {
  std::mt19937_64 rng(seed);
  Problem p{random_matrix(rng, nq, d, magnitude),
            random_matrix(rng, nk, d, magnitude),
            random_matrix(rng, nk, d, 1.0f),
            {}};
  p.cfg = {Br, Bc, 1.0f / std::sqrt(float(d)), causal};
  return p;
}

Allowed problem_mask(const Problem& p) {
  const bool causal = p.cfg.causal;
  return [causal](Index r, Index c) { return !causal || c <= r; };
}

std::vector<double> reference_O(const Problem& p, const Allowed& allowed) {
  const AttentionShape shape{1, 1, p.Q.rows(), p.K.rows(), p.Q.cols()};
  AttentionOptions opt;
  opt.softmax_scale = p.cfg.scale;
  std::vector<uint8_t> layout;
  for (Index r = 0; r < p.Q.rows(); ++r)
    for (Index c = 0; c < p.K.rows(); ++c) layout.push_back(allowed(r, c) ? 1 : 0);
  opt.block_mask = block_sparse_mask(layout, p.Q.rows(), p.K.rows(), 1, 1);
  return reference::attention_forward(shape, opt, to_tensor(p.Q), to_tensor(p.K), to_tensor(p.V))
      .O.data;
}

std::vector<double> reference_O(const Problem& p) {
  return reference_O(p, problem_mask(p));
}

std::string compare_O(const Problem& p, const std::vector<double>& expected, const Matrix& O) {
  if (O.rows() != p.Q.rows() || O.cols() != p.Q.cols())
    return "O is " + std::to_string(O.rows()) + " x " + std::to_string(O.cols()) + ", expected " +
           std::to_string(p.Q.rows()) + " x " + std::to_string(p.Q.cols());
  const std::vector<float> got = row_major(O);
  const auto k = first_mismatch(expected, got, 1e-4, 1e-4);
  if (!k) return "";
  const size_t d = size_t(p.Q.cols()), r = *k / d;
  return "with " + p.describe() + ": O[" + std::to_string(r) + "][" + std::to_string(*k % d) +
         "] expected " + fmt(expected[*k]) + ", got " + fmt(got[*k]) + " (row " +
         std::to_string(r) + " expected " +
         fmt_list(std::span<const double>(expected).subspan(r * d, d), 6) + ", got " +
         fmt_list(std::span<const float>(got).subspan(r * d, d), 6) + ")";
}

std::string compare_stats(const Problem& p, const ForwardOutput& out) {
  const Index nq = p.Q.rows();
  if (out.l.size() != nq || out.m.size() != nq)
    return "l and m must have N_q = " + std::to_string(nq) + " entries; got " +
           std::to_string(out.l.size()) + " and " + std::to_string(out.m.size());
  const Allowed allowed = problem_mask(p);
  for (Index r = 0; r < nq; ++r) {
    double m = -INFINITY, l = 0;
    for (Index c = 0; c < p.K.rows(); ++c)
      if (allowed(r, c)) m = std::max(m, score(p, r, c));
    for (Index c = 0; c < p.K.rows(); ++c)
      if (allowed(r, c)) l += std::exp(score(p, r, c) - m);
    const bool m_ok = std::abs(out.m(r) - m) <= 1e-4 * (1 + std::abs(m));
    const bool l_ok = std::abs(out.l(r) - l) <= 1e-4 * l;
    if (!m_ok || !l_ok)
      return "with " + p.describe() + ": row " + std::to_string(r) + " expected m = " + fmt(m) +
             " (the max of its allowed scores) and l = " + fmt(l) +
             " (sum of e^{S - m}), got m = " + fmt(out.m(r)) + " and l = " + fmt(out.l(r));
  }
  return "";
}

std::string check_forward(const Problem& p) {
  const ForwardOutput out = tiled_forward(p.Q, p.K, p.V, p.cfg);
  if (std::string why = compare_O(p, reference_O(p), out.O); !why.empty()) return why;
  return compare_stats(p, out);
}

double unmasked_tile_max(const Problem& p, Index r) {
  const Index r0 = r / p.cfg.Br * p.cfg.Br, r_last = std::min(r0 + p.cfg.Br, p.Q.rows()) - 1;
  double m = -INFINITY;
  for (Index c0 = 0; c0 <= r_last && c0 < p.K.rows(); c0 += p.cfg.Bc)
    for (Index c = c0; c < std::min(c0 + p.cfg.Bc, p.K.rows()); ++c)
      m = std::max(m, score(p, r, c));
  return m;
}

}  // namespace flashlab::labs::lab2::grading
