// FLASHLAB-INSTRUCTOR-ONLY: lab 4 solution, FA1 Alg. 4 (no dropout) with a causal mask.
#include "backward.hpp"

#include <algorithm>
#include <cmath>

namespace flashlab::labs::lab4 {

Gradients flash_backward(const Matrix& Q, const Matrix& K, const Matrix& V, const Matrix& O,
                         const Matrix& dO, const Vector& l, const Vector& m,
                         const BackwardConfig& cfg) {
  const Index Nq = Q.rows(), Nk = K.rows(), d = Q.cols();
  const Index Tr = (Nq + cfg.Br - 1) / cfg.Br, Tc = (Nk + cfg.Bc - 1) / cfg.Bc;
  // FA1 Alg. 4 l. 5: dQ = (0) in HBM; dK, dV are written once per column block (FA1 Alg. 4 l. 24).
  Gradients g{Matrix::Zero(Nq, d), Matrix::Zero(Nk, d), Matrix::Zero(Nk, d)};

  // FA1 Alg. 4 l. 19, hoisted out of the loops as FA2 does: D_i = rowsum(dO_i o O_i) =
  // rowsum(P o dP) over the WHOLE row (theory.md §3), a length-d dot product per row.
  const Vector D = dO.cwiseProduct(O).rowwise().sum();

  for (Index j = 0; j < Tc; ++j) {  // FA1 Alg. 4 l. 6
    const Index c0 = j * cfg.Bc, cols = std::min(cfg.Bc, Nk - c0);
    const auto Kj = K.middleRows(c0, cols);  // FA1 Alg. 4 l. 7
    const auto Vj = V.middleRows(c0, cols);
    Matrix dKj = Matrix::Zero(cols, d), dVj = Matrix::Zero(cols, d);  // FA1 Alg. 4 l. 8

    for (Index i = 0; i < Tr; ++i) {  // FA1 Alg. 4 l. 9
      const Index r0 = i * cfg.Br, rows = std::min(cfg.Br, Nq - r0);
      if (cfg.causal && c0 > r0 + rows - 1) continue;  // every score of the tile is masked
      const auto Qi = Q.middleRows(r0, rows);          // FA1 Alg. 4 l. 10
      const auto dOi = dO.middleRows(r0, rows);

      Matrix S = cfg.scale * (Qi * Kj.transpose());  // FA1 Alg. 4 l. 11
      if (cfg.causal)                                // FA1 Alg. 4 l. 12
        for (Index r = 0; r < rows; ++r)
          for (Index c = 0; c < cols; ++c)
            if (c0 + c > r0 + r) S(r, c) = -INFINITY;

      // FA1 Alg. 4 l. 13: P_ij = diag(l_i)^-1 exp(S_ij - m_i), exact, from the saved statistics.
      Matrix P = Matrix::Zero(rows, cols);
      for (Index r = 0; r < rows; ++r)
        if (l(r0 + r) > 0.0f)
          P.row(r) = ((S.row(r).array() - m(r0 + r)).exp() / l(r0 + r)).matrix();

      dVj.noalias() += P.transpose() * dOi;                                  // FA1 Alg. 4 l. 16
      const Matrix dP = dOi * Vj.transpose();                                // FA1 Alg. 4 l. 17
      const Matrix dS = P.cwiseProduct(dP.colwise() - D.segment(r0, rows));  // FA1 Alg. 4 l. 20
      g.dQ.middleRows(r0, rows).noalias() += cfg.scale * (dS * Kj);          // FA1 Alg. 4 l. 21
      dKj.noalias() += cfg.scale * (dS.transpose() * Qi);                    // FA1 Alg. 4 l. 22
    }
    g.dK.middleRows(c0, cols) = dKj;  // FA1 Alg. 4 l. 24
    g.dV.middleRows(c0, cols) = dVj;
  }
  return g;
}

}  // namespace flashlab::labs::lab4
