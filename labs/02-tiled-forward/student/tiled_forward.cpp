// Lab 2 -- your implementation of FA1 Alg. 1 (README.md, tasks 1-4). The loops are
// given; replace the todo(...) with the body of the inner loop, then run
// `build/<preset>/flashlab-grade 2 --build`.
#include "tiled_forward.hpp"

#include <algorithm>
#include <cmath>

#include <flashlab/labs/todo.hpp>

namespace flashlab::labs::lab2 {

ForwardOutput tiled_forward(const Matrix& Q, const Matrix& K, const Matrix& V,
                            const TileConfig& cfg) {
  const Index Nq = Q.rows(), Nk = K.rows(), d = Q.cols();
  const Index Tr = (Nq + cfg.Br - 1) / cfg.Br, Tc = (Nk + cfg.Bc - 1) / cfg.Bc;

  // FA1 Alg. 1 l. 2: O = (0), l = (0), m = (-inf) "in HBM" (here: full-size arrays).
  ForwardOutput out{Matrix::Zero(Nq, d), Vector::Zero(Nq), Vector::Constant(Nq, -INFINITY)};

  for (Index j = 0; j < Tc; ++j) {  // FA1 Alg. 1 l. 5: outer loop over K/V blocks
    const Index c0 = j * cfg.Bc, cols = std::min(cfg.Bc, Nk - c0);
    // FA1 Alg. 1 l. 6: "load" K_j, V_j (views of B_c rows; the last block may be shorter).
    [[maybe_unused]] const auto Kj = K.middleRows(c0, cols);
    [[maybe_unused]] const auto Vj = V.middleRows(c0, cols);

    for (Index i = 0; i < Tr; ++i) {  // FA1 Alg. 1 l. 7: inner loop over Q blocks
      const Index r0 = i * cfg.Br, rows = std::min(cfg.Br, Nq - r0);
      // FA1 Alg. 1 l. 8: "load" Q_i, O_i, l_i, m_i (writable views into out).
      [[maybe_unused]] const auto Qi = Q.middleRows(r0, rows);
      [[maybe_unused]] auto Oi = out.O.middleRows(r0, rows);
      [[maybe_unused]] auto li = out.l.segment(r0, rows);
      [[maybe_unused]] auto mi = out.m.segment(r0, rows);

      // TODO (tasks 1-2): FA1 Alg. 1 l. 9–13. S_ij = tau Q_i K_j^T; m~, P~, l~; m_new, l_new; write
      //   O_i <- diag(l_new)^-1 (diag(l_i) e^{m_i - m_new} O_i + e^{m~ - m_new} P~ V_j), l_i, m_i.
      // TODO (task 3): with cfg.causal, score (r0 + r, c0 + c) is -inf when c0 + c > r0 + r.
      // TODO (task 4): skip tiles entirely above the diagonal; a row whose scores in this tile
      //   are all -inf must not produce NaN.
      todo("tasks 1-4, the inner loop of tiled_forward in tiled_forward.cpp");
    }
  }
  return out;
}

}  // namespace flashlab::labs::lab2
