// Lab 6 -- your implementation (README.md, tasks 1 and 2), then run
// `build/<preset>/flashlab-grade 6 --build`.
#include "sparsity.hpp"

#include <algorithm>
#include <cmath>

#include <flashlab/labs/todo.hpp>

namespace flashlab::labs::lab6 {

Coverage classify_tile([[maybe_unused]] const MaskParams& mask,
                       [[maybe_unused]] const sim::TileRect& s) {
  // TODO (task 1): the causal rule alone decides from the tile's corners; with a block layout,
  // visit the mask blocks the tile overlaps (mask.block.block_rows x block_cols each).
  todo("task 1, classify_tile in sparsity.cpp");
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

  // TODO (task 2): FA1 Alg. 5 l. 5–19. For each j: load K_j, V_j (p.kv_block(j, d)); for each
  // i: classify p.s_block(i, j); None -> skip (M.skip(8, "M_ij = 0", rect) records it),
  // Partial -> process_block(..., true), Full -> process_block(..., false); free K_j, V_j.
  // Improvement (question 5): load K_j, V_j only when some tile of column j is computed.
  todo("task 2, sparse_forward_on_machine in sparsity.cpp");
}

}  // namespace flashlab::labs::lab6
