// Lab 4 -- your implementation of FA1 Alg. 4 (README.md, tasks 1-4), then run
// `build/<preset>/flashlab-grade 4 --build`.
#include "backward.hpp"

#include <algorithm>
#include <cmath>

#include <flashlab/labs/todo.hpp>

namespace flashlab::labs::lab4 {

Gradients flash_backward(const Matrix& Q, const Matrix& K, const Matrix& V, const Matrix& O,
                         const Matrix& dO, const Vector& l, const Vector& m,
                         const BackwardConfig& cfg) {
  const Index Nq = Q.rows(), Nk = K.rows(), d = Q.cols();
  const Index Tr = (Nq + cfg.Br - 1) / cfg.Br, Tc = (Nk + cfg.Bc - 1) / cfg.Bc;
  // FA1 Alg. 4 l. 5: dQ = (0) in HBM; dK, dV are written once per column block (FA1 Alg. 4 l. 24).
  Gradients g{Matrix::Zero(Nq, d), Matrix::Zero(Nk, d), Matrix::Zero(Nk, d)};

  // TODO (task 1): D = rowsum(dO o O), one value per query row (FA1 Alg. 4 l. 19; FA2 computes
  //   it once, before the loops).
  for (Index j = 0; j < Tc; ++j) {  // FA1 Alg. 4 l. 6
    const Index c0 = j * cfg.Bc, cols = std::min(cfg.Bc, Nk - c0);
    [[maybe_unused]] const auto Kj = K.middleRows(c0, cols);
    [[maybe_unused]] const auto Vj = V.middleRows(c0, cols);
    // TODO (task 2): dK~_j = 0, dV~_j = 0 on chip (cols x d), FA1 Alg. 4 l. 8.
    for (Index i = 0; i < Tr; ++i) {  // FA1 Alg. 4 l. 9
      const Index r0 = i * cfg.Br, rows = std::min(cfg.Br, Nq - r0);
      [[maybe_unused]] const auto Qi = Q.middleRows(r0, rows);
      [[maybe_unused]] const auto Oi = O.middleRows(r0, rows);
      [[maybe_unused]] const auto dOi = dO.middleRows(r0, rows);
      [[maybe_unused]] const auto li = l.segment(r0, rows);
      [[maybe_unused]] const auto mi = m.segment(r0, rows);
      // TODO (task 2): FA1 Alg. 4 l. 11–22. S_ij = tau Q_i K_j^T;
      //   P_ij = diag(l_i)^-1 exp(S_ij - m_i); dV~_j += P^T dO_i; dP = dO_i V_j^T;
      //   dS = P o (dP - D_i); dQ_i += tau dS K_j; dK~_j += tau dS^T Q_i.
      // TODO (task 3): the causal mask (score (r0 + r, c0 + c) is -inf when c0 + c > r0 + r),
      //   and skip tiles entirely above the diagonal.
      todo("tasks 1-3, the body of flash_backward in backward.cpp");
    }
    // TODO (task 2): FA1 Alg. 4 l. 24, write dK_j <- dK~_j and dV_j <- dV~_j.
  }
  return g;
}

}  // namespace flashlab::labs::lab4
