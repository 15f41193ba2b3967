// FLASHLAB-INSTRUCTOR-ONLY: lab 6 solution, FA1 Alg. 5 on the simulator's machine.
#include "sparsity.hpp"

#include <algorithm>
#include <cmath>

namespace flashlab::labs::lab6 {

Coverage classify_tile(const MaskParams& mask, const sim::TileRect& s) {
  const int64_t r_last = s.row0 + s.rows - 1, c_last = s.col0 + s.cols - 1;
  if (s.rows <= 0 || s.cols <= 0) return Coverage::None;
  // Causal (c <= r): the last row sees the most, the first row the least.
  if (mask.causal && s.col0 > r_last) return Coverage::None;
  const bool causal_full = !mask.causal || c_last <= s.row0;
  const BlockMaskView& b = mask.block;
  if (b.layout == nullptr) return causal_full ? Coverage::Full : Coverage::Partial;
  bool any = false, all = true;
  for (int64_t bi = s.row0 / b.block_rows; bi <= r_last / b.block_rows; ++bi) {
    for (int64_t bj = s.col0 / b.block_cols; bj <= c_last / b.block_cols; ++bj) {
      if (!b.block_on(bi, bj)) {
        all = false;
        continue;
      }
      // The part of this mask block inside the tile has an allowed score iff its first column
      // is <= its last row (causal), or always.
      const int64_t rb = std::min(r_last, (bi + 1) * b.block_rows - 1);
      const int64_t ca = std::max(s.col0, bj * b.block_cols);
      if (!mask.causal || ca <= rb) any = true;
    }
  }
  if (!any) return Coverage::None;
  return all && causal_full ? Coverage::Full : Coverage::Partial;
}

// Given: FA1 Alg. 5 l. 9–17, the body of its "if M_ij != 0" (lab 3's tile step).
void process_block(sim::Machine& M, const sim::HeadProblem& p, int64_t i, int64_t j, sim::Tile K_j,
                   sim::Tile V_j, bool apply_mask) {
  using sim::Tile;
  using T = sim::TensorId;
  M.at(i, j);
  const sim::TileRect qo = p.q_block(i, p.head_dim), lm = p.q_block(i, 1), s = p.s_block(i, j);
  const Tile Q_i = M.load(9, "Q_i", T::Q, qo);
  const Tile O_i = M.load(9, "O_i", T::O, qo);
  const Tile l_i = M.load(9, "l_i", T::l, lm);
  const Tile m_i = M.load(9, "m_i", T::m, lm);
  const Tile S_ij = M.alloc(10, "S_ij", T::S, s);
  M.matmul(10, "S_ij = tau Q_i K_j^T", S_ij, Q_i, K_j, {.transpose_b = true, .alpha = p.tau});
  if (apply_mask) M.apply_mask(11, "S_ij = mask(S_ij)", S_ij);
  const Tile m_t = M.alloc(12, "m~_ij", T::m, lm);
  const Tile l_t = M.alloc(12, "l~_ij", T::l, lm);
  M.row_max_exp_sum(12, "m~, P~ = exp(S - m~), l~", S_ij, S_ij, m_t, l_t);
  const Tile m_new = M.alloc(13, "m_i^new", T::m, lm);
  const Tile l_new = M.alloc(13, "l_i^new", T::l, lm);
  const Tile alpha = M.alloc(13, "e^{m_i - m_new}", T::None, lm);
  const Tile beta = M.alloc(13, "e^{m~ - m_new}", T::None, lm);
  M.softmax_update(13, "m_new, l_new", {m_i, l_i, m_t, l_t, m_new, l_new, alpha, beta});
  M.scale_rows(15, "O_i <- diag(l_i) O_i", O_i, l_i);
  M.scale_rows(15, "O_i <- e^{m_i - m_new} O_i", O_i, alpha);
  M.scale_rows(15, "P~ <- e^{m~ - m_new} P~", S_ij, beta);
  M.matmul(15, "O_i += P~ V_j", O_i, S_ij, V_j, {.accumulate = true});
  M.divide_rows(15, "O_i <- diag(l_new)^-1 O_i", O_i, l_new);
  M.store(15, O_i, T::O, qo);
  M.store(16, l_new, T::l, lm);
  M.store(16, m_new, T::m, lm);
  for (const Tile t : {beta, alpha, l_new, m_new, l_t, m_t, S_ij, m_i, l_i, O_i, Q_i})
    M.free(17, t);
}

void sparse_forward_on_machine(sim::Machine& M, const sim::HeadProblem& p) {
  using T = sim::TensorId;
  // FA1 Alg. 5 l. 2 (given): O = (0), l = (0), m = (-inf) in HBM.
  M.hbm().define(T::O, p.seq_q, p.head_dim);
  M.hbm().define(T::l, p.seq_q, 1);
  M.hbm().define(T::m, p.seq_q, 1);
  M.hbm_fill(2, "O = (0)", T::O, 0.0f);
  M.hbm_fill(2, "l = (0)", T::l, 0.0f);
  M.hbm_fill(2, "m = (-inf)", T::m, -INFINITY);

  for (int64_t j = 0; j < p.Tc(); ++j) {  // FA1 Alg. 5 l. 5
    bool column_active = false;
    for (int64_t i = 0; i < p.Tr() && !column_active; ++i)
      column_active = classify_tile(p.mask, p.s_block(i, j)) != Coverage::None;
    M.at(-1, j);
    if (!column_active) {  // no tile of this column is computed: K_j, V_j are not needed
      for (int64_t i = 0; i < p.Tr(); ++i) M.skip(8, "M_ij = 0: skip block", p.s_block(i, j));
      continue;
    }
    const sim::Tile K_j = M.load(6, "K_j", T::K, p.kv_block(j, p.head_dim));  // FA1 Alg. 5 l. 6
    const sim::Tile V_j = M.load(6, "V_j", T::V, p.kv_block(j, p.head_dim));
    for (int64_t i = 0; i < p.Tr(); ++i) {  // FA1 Alg. 5 l. 7
      const Coverage c = classify_tile(p.mask, p.s_block(i, j));
      M.at(i, j);
      if (c == Coverage::None) {  // FA1 Alg. 5 l. 8: M_ij = 0, neither loaded nor computed
        M.skip(8, "M_ij = 0: skip block", p.s_block(i, j));
        continue;
      }
      process_block(M, p, i, j, K_j, V_j, c == Coverage::Partial);
    }
    M.free(19, V_j);
    M.free(19, K_j);
  }
}

}  // namespace flashlab::labs::lab6
