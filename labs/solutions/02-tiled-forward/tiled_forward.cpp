// FLASHLAB-INSTRUCTOR-ONLY: lab 2 solution, FA1 Alg. 1 with a causal mask.
#include "tiled_forward.hpp"

#include <algorithm>
#include <cmath>

namespace flashlab::labs::lab2 {

namespace {
// e^{m_old - m_new}; a row that has seen no unmasked score (m_old = -inf) contributes 0.
float rescale(float m_old, float m_new) {
  return m_old == -INFINITY ? 0.0f : std::exp(m_old - m_new);
}
}  // namespace

ForwardOutput tiled_forward(const Matrix& Q, const Matrix& K, const Matrix& V,
                            const TileConfig& cfg) {
  const Index Nq = Q.rows(), Nk = K.rows(), d = Q.cols();
  const Index Tr = (Nq + cfg.Br - 1) / cfg.Br, Tc = (Nk + cfg.Bc - 1) / cfg.Bc;

  // FA1 Alg. 1 l. 2: O = (0), l = (0), m = (-inf) "in HBM" (here: full-size arrays).
  ForwardOutput out{Matrix::Zero(Nq, d), Vector::Zero(Nq), Vector::Constant(Nq, -INFINITY)};

  for (Index j = 0; j < Tc; ++j) {  // FA1 Alg. 1 l. 5: outer loop over K/V blocks
    const Index c0 = j * cfg.Bc, cols = std::min(cfg.Bc, Nk - c0);
    const auto Kj = K.middleRows(c0, cols);  // FA1 Alg. 1 l. 6
    const auto Vj = V.middleRows(c0, cols);

    for (Index i = 0; i < Tr; ++i) {  // FA1 Alg. 1 l. 7: inner loop over Q blocks
      const Index r0 = i * cfg.Br, rows = std::min(cfg.Br, Nq - r0);
      // Every score of the tile is masked: nothing to add (FA2 §3.1's causal block skipping).
      if (cfg.causal && c0 > r0 + rows - 1) continue;
      const auto Qi = Q.middleRows(r0, rows);  // FA1 Alg. 1 l. 8
      auto Oi = out.O.middleRows(r0, rows);
      auto li = out.l.segment(r0, rows);
      auto mi = out.m.segment(r0, rows);

      Matrix S = cfg.scale * (Qi * Kj.transpose());  // FA1 Alg. 1 l. 9 (with FA1 Alg. 2's tau)
      if (cfg.causal)
        for (Index r = 0; r < rows; ++r)
          for (Index c = 0; c < cols; ++c)
            if (c0 + c > r0 + r) S(r, c) = -INFINITY;

      // FA1 Alg. 1 l. 10: m~ = rowmax(S), P~ = exp(S - m~), l~ = rowsum(P~). A row masked in the
      // whole tile has m~ = -inf and contributes nothing (never e^{-inf - (-inf)}).
      const Vector m_tilde = S.rowwise().maxCoeff();
      Matrix P = Matrix::Zero(rows, cols);
      for (Index r = 0; r < rows; ++r)
        if (m_tilde(r) != -INFINITY) P.row(r) = (S.row(r).array() - m_tilde(r)).exp().matrix();
      const Vector l_tilde = P.rowwise().sum();

      // FA1 Alg. 1 l. 11: the online-softmax merge of §3.1.
      const Vector m_new = mi.cwiseMax(m_tilde);
      const Vector alpha = mi.binaryExpr(m_new, &rescale);      // e^{m_i - m_i^new}
      const Vector beta = m_tilde.binaryExpr(m_new, &rescale);  // e^{m~_ij - m_i^new}
      const Vector l_new = alpha.cwiseProduct(li) + beta.cwiseProduct(l_tilde);

      // FA1 Alg. 1 l. 12:
      // O_i <- diag(l_new)^-1 (diag(l_i) e^{m_i - m_new} O_i + e^{m~ - m_new} P~ V_j).
      const Vector inv_l = l_new.unaryExpr([](float l) { return l > 0.0f ? 1.0f / l : 0.0f; });
      const Matrix PV = P * Vj;
      Oi = inv_l.asDiagonal() * (alpha.cwiseProduct(li).asDiagonal() * Oi + beta.asDiagonal() * PV);
      li = l_new;  // FA1 Alg. 1 l. 13
      mi = m_new;
    }
  }
  return out;
}

}  // namespace flashlab::labs::lab2
