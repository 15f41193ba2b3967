// Lab 4's grader helpers (backward_checks.hpp).
#include "backward_checks.hpp"

#include <cmath>
#include <random>
#include <vector>

#include <flashlab/labs/eigen_tensors.hpp>
#include <flashlab/labs/grading.hpp>
#include <flashlab/reference/attention.hpp>

namespace flashlab::labs::lab4::grading {
namespace {

double score(const Problem& p, Index r, Index c) {
  return score64(p.Q, p.K, p.cfg.scale, r, c);
}

}  // namespace

std::string Problem::describe() const {
  return describe_problem(Q.rows(), K.rows(), Q.cols(), cfg.Br, cfg.Bc, cfg.causal);
}

std::function<bool(Index, Index)> problem_mask(const Problem& p) {
  const bool causal = p.cfg.causal;
  return [causal](Index r, Index c) { return !causal || c <= r; };
}

Problem make_problem(uint64_t seed, Index nq, Index nk, Index d, Index Br, Index Bc, bool causal) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto random = [&](Index rows) {
    return Matrix(Matrix::NullaryExpr(rows, d, [&] { return normal(rng); }));
  };
  Problem p{random(nq), random(nk), random(nk), {}, random(nq), {}, {}, {}, {}};
  p.cfg = {Br, Bc, 1.0f / std::sqrt(float(d)), causal};
  const AttentionShape shape{1, 1, nq, nk, d};
  AttentionOptions opt;
  opt.softmax_scale = p.cfg.scale;
  opt.causal = causal;
  const auto fwd =
      reference::attention_forward(shape, opt, to_tensor(p.Q), to_tensor(p.K), to_tensor(p.V));
  p.O = Matrix(nq, d);
  for (Index r = 0; r < nq; ++r)
    for (Index c = 0; c < d; ++c) p.O(r, c) = float(fwd.O.data[size_t(r * d + c)]);
  p.l = Vector(nq);
  p.m = Vector(nq);
  const auto allowed = problem_mask(p);
  for (Index r = 0; r < nq; ++r) {
    double m = -INFINITY, l = 0;
    for (Index c = 0; c < nk; ++c)
      if (allowed(r, c)) m = std::max(m, score(p, r, c));
    for (Index c = 0; c < nk; ++c)
      if (allowed(r, c)) l += std::exp(score(p, r, c) - m);
    p.m(r) = float(m);
    p.l(r) = float(l);
  }
  p.ref = reference::attention_backward(shape, opt, to_tensor(p.Q), to_tensor(p.K), to_tensor(p.V),
                                        to_tensor(p.dO));
  return p;
}

lab4::Gradients run(const Problem& p) {
  return flash_backward(p.Q, p.K, p.V, p.O, p.dO, p.l, p.m, p.cfg);
}

std::string compare(const Problem& p, const char* name, const Tensor<double>& expected,
                    const Matrix& got) {
  const Index rows = expected.dims[2], d = expected.dims[3];
  if (got.rows() != rows || got.cols() != d)
    return std::string(name) + " is " + std::to_string(got.rows()) + " x " +
           std::to_string(got.cols()) + ", expected " + std::to_string(rows) + " x " +
           std::to_string(d);
  const std::vector<float> g = row_major(got);
  const auto k = first_mismatch(expected.data, g, 2e-4, 2e-3);
  if (!k) return "";
  return "with " + p.describe() + ": " + name + "[" + std::to_string(*k / size_t(d)) + "][" +
         std::to_string(*k % size_t(d)) + "] expected " + fmt(expected.data[*k]) + ", got " +
         fmt(g[*k]);
}

std::string compare_all(const Problem& p, const flashlab::Gradients<double>& expected,
                        const lab4::Gradients& got) {
  if (std::string why = compare(p, "dV", expected.dV, got.dV); !why.empty()) return why;
  if (std::string why = compare(p, "dK", expected.dK, got.dK); !why.empty()) return why;
  return compare(p, "dQ", expected.dQ, got.dQ);
}

flashlab::Gradients<double> variant_gradients(const Problem& p, const Variant& v) {
  const Index nq = p.Q.rows(), nk = p.K.rows(), d = p.Q.cols();
  const double tau = p.cfg.scale;
  Eigen::MatrixXd P = Eigen::MatrixXd::Zero(nq, nk);
  for (Index r = 0; r < nq; ++r)
    for (Index c = 0; c < nk; ++c)
      if (v.keep(r, c) && p.l(r) > 0)
        P(r, c) = std::exp(score(p, r, c) - double(p.m(r))) / (v.divide_by_l ? p.l(r) : 1.0);
  const Eigen::MatrixXd dO = p.dO.cast<double>(), Vd = p.V.cast<double>();
  const Eigen::MatrixXd dP = dO * Vd.transpose();
  Eigen::MatrixXd D = (dO.cwiseProduct(p.O.cast<double>())).rowwise().sum().replicate(1, nk);
  if (v.tile_local_D)  // rowsum(P o dP) over the keys of each tile only
    for (Index c0 = 0; c0 < nk; c0 += p.cfg.Bc) {
      const Index cols = std::min(p.cfg.Bc, nk - c0);
      const Eigen::VectorXd part =
          P.middleCols(c0, cols).cwiseProduct(dP.middleCols(c0, cols)).rowwise().sum();
      D.middleCols(c0, cols) = part.replicate(1, cols);
    }
  const Eigen::MatrixXd dS = P.cwiseProduct(dP - D);
  const Eigen::MatrixXd dQ = tau * dS * p.K.cast<double>();
  const Eigen::MatrixXd dK = tau * dS.transpose() * p.Q.cast<double>();
  const Eigen::MatrixXd dV = P.transpose() * dO;
  auto tensor = [&](const Eigen::MatrixXd& M) {
    Tensor<double> t({1, 1, M.rows(), d});
    for (Index r = 0; r < M.rows(); ++r)
      for (Index c = 0; c < d; ++c) t.data[size_t(r * d + c)] = M(r, c);
    return t;
  };
  return {tensor(dQ), tensor(dK), tensor(dV)};
}

std::string dq_dk_hint(const Problem& p, const lab4::Gradients& g, const Tensor<double>& expected,
                       const Matrix& got) {
  Tensor<double> unscaled = expected;
  for (double& x : unscaled.data) x /= double(p.cfg.scale);
  if (compare(p, "", unscaled, got).empty())
    return ". It equals the reference divided by tau: the softmax scale tau is missing. "
           "S = tau Q K^T, so the chain rule gives dQ_i += tau dS_ij K_j (FA1 Alg. 4 l. 21) and "
           "dK_j += tau dS_ij^T Q_i (FA1 Alg. 4 l. 22).";
  if (!compare(p, "dV", p.ref.dV, g.dV).empty())
    return ". dV is wrong too, so start there (the test of dV).";
  const flashlab::Gradients<double> local = variant_gradients(p, {problem_mask(p), true, true});
  if (compare_all(p, local, g).empty())
    return ". dV is right, so your P_ij is right; your dQ and dK are what D_i summed over one "
           "tile gives: D_i = rowsum(dO_i o O_i) (FA1 Alg. 4 l. 19) sums over the whole row, and "
           "rowsum(P_ij o dP_ij) over one tile is only part of it.";
  return ". dV is right, so your P_ij is right: the error is in dP_ij, D_i, dS_ij "
         "(FA1 Alg. 4 l. 17–20) or in FA1 Alg. 4 l. 21–22.";
}

}  // namespace flashlab::labs::lab4::grading
