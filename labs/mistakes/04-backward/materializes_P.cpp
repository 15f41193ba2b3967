// FLASHLAB-INSTRUCTOR-ONLY: lab 4 mistake fixture, right gradients with the wrong memory:
// it recomputes the whole N_q x N_k matrix P and runs the standard backward (Alg. 3) on it,
// which is exactly the O(N^2) memory that Alg. 4 exists to avoid.
#include "backward.hpp"

#include <cmath>

namespace flashlab::labs::lab4 {

Gradients flash_backward(const Matrix& Q, const Matrix& K, const Matrix& V, const Matrix& O,
                         const Matrix& dO, const Vector& l, const Vector& m,
                         const BackwardConfig& cfg) {
  Matrix S = cfg.scale * (Q * K.transpose());
  if (cfg.causal)
    for (Index r = 0; r < S.rows(); ++r)
      for (Index c = r + 1; c < S.cols(); ++c) S(r, c) = -INFINITY;
  Matrix P(S.rows(), S.cols());
  for (Index r = 0; r < S.rows(); ++r) P.row(r) = ((S.row(r).array() - m(r)).exp() / l(r)).matrix();
  const Vector D = dO.cwiseProduct(O).rowwise().sum();
  const Matrix dP = dO * V.transpose();
  const Matrix dS = P.cwiseProduct(dP.colwise() - D);
  return {cfg.scale * (dS * K), cfg.scale * (dS.transpose() * Q), P.transpose() * dO};
}

}  // namespace flashlab::labs::lab4
