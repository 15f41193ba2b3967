// FLASHLAB-INSTRUCTOR-ONLY: lab 3 solution, FA1 Alg. 1 on the simulator's machine.
#include "io_aware.hpp"

#include <algorithm>
#include <cmath>

namespace flashlab::labs::lab3 {

using sim::Tile;
using sim::TileRect;
using T = sim::TensorId;

namespace {
// Elements on chip at the innermost step: K_j, V_j, Q_i, O_i, S_ij (P~_ij in place) and eight
// row vectors (l_i, m_i, m~, l~, m_new, l_new and the two rescale factors).
int64_t footprint(int64_t Br, int64_t Bc, int64_t d) {
  return 2 * Bc * d + 2 * Br * d + Br * Bc + 8 * Br;
}
}  // namespace

TileSizes choose_tiles(int64_t sram_bytes, int element_bytes, int64_t head_dim) {
  const int64_t M = sram_bytes / element_bytes;  // FA1 Alg. 1 counts M in elements
  const int64_t d = head_dim;
  int64_t Bc = (M + 4 * d - 1) / (4 * d), Br = std::min(Bc, d);  // FA1 Alg. 1 l. 1
  // The constant 4 is asymptotic; shrink B_c (then B_r) until every resident tile fits.
  while (footprint(Br, Bc, d) > M && (Bc > 1 || Br > 1)) {
    if (Bc > 1)
      --Bc;
    else
      --Br;
    Br = std::min(Br, Bc);
  }
  return {Br, Bc};
}

void flash_forward_on_machine(sim::Machine& M, const sim::HeadProblem& p) {
  const int64_t N_q = p.seq_q, d = p.head_dim;

  // FA1 Alg. 1 l. 2 (given): O = (0), l = (0), m = (-inf) in HBM; the machine counts the writes.
  M.hbm().define(T::O, N_q, d);
  M.hbm().define(T::l, N_q, 1);
  M.hbm().define(T::m, N_q, 1);
  M.hbm_fill(2, "O = (0)", T::O, 0.0f);
  M.hbm_fill(2, "l = (0)", T::l, 0.0f);
  M.hbm_fill(2, "m = (-inf)", T::m, -INFINITY);

  for (int64_t j = 0; j < p.Tc(); ++j) {  // FA1 Alg. 1 l. 5
    const TileRect kv = p.kv_block(j, d);
    // FA1 Alg. 1 l. 6: once per j, so K and V are read once.
    const Tile K_j = M.load(6, "K_j", T::K, kv);
    const Tile V_j = M.load(6, "V_j", T::V, kv);
    for (int64_t i = 0; i < p.Tr(); ++i) {  // FA1 Alg. 1 l. 7
      const TileRect qo = p.q_block(i, d), lm = p.q_block(i, 1), s = p.s_block(i, j);
      const Tile Q_i = M.load(8, "Q_i", T::Q, qo);  // FA1 Alg. 1 l. 8
      const Tile O_i = M.load(8, "O_i", T::O, qo);
      const Tile l_i = M.load(8, "l_i", T::l, lm);
      const Tile m_i = M.load(8, "m_i", T::m, lm);

      const Tile S_ij = M.alloc(9, "S_ij", T::S, s);  // FA1 Alg. 1 l. 9
      M.matmul(9, "S_ij = tau Q_i K_j^T", S_ij, Q_i, K_j, {.transpose_b = true, .alpha = p.tau});

      const Tile m_t = M.alloc(10, "m~_ij", T::m, lm);  // FA1 Alg. 1 l. 10; P~ overwrites S on chip
      const Tile l_t = M.alloc(10, "l~_ij", T::l, lm);
      M.row_max_exp_sum(10, "m~, P~ = exp(S - m~), l~", S_ij, S_ij, m_t, l_t);

      const Tile m_new = M.alloc(11, "m_i^new", T::m, lm);  // FA1 Alg. 1 l. 11
      const Tile l_new = M.alloc(11, "l_i^new", T::l, lm);
      const Tile alpha = M.alloc(11, "e^{m_i - m_new}", T::None, lm);
      const Tile beta = M.alloc(11, "e^{m~ - m_new}", T::None, lm);
      M.softmax_update(11, "m_new, l_new", {m_i, l_i, m_t, l_t, m_new, l_new, alpha, beta});

      // FA1 Alg. 1 l. 12:
      // O_i <- diag(l_new)^-1 (diag(l_i) e^{m_i - m_new} O_i + e^{m~ - m_new} P~ V_j).
      M.scale_rows(12, "O_i <- diag(l_i) O_i", O_i, l_i);
      M.scale_rows(12, "O_i <- e^{m_i - m_new} O_i", O_i, alpha);
      M.scale_rows(12, "P~ <- e^{m~ - m_new} P~", S_ij, beta);
      M.matmul(12, "O_i += P~ V_j", O_i, S_ij, V_j, {.accumulate = true});
      M.divide_rows(12, "O_i <- diag(l_new)^-1 O_i", O_i, l_new);
      M.store(12, O_i, T::O, qo);
      M.store(13, l_new, T::l, lm);  // FA1 Alg. 1 l. 13
      M.store(13, m_new, T::m, lm);

      for (const Tile t : {beta, alpha, l_new, m_new, l_t, m_t, S_ij, m_i, l_i, O_i, Q_i})
        M.free(14, t);
    }
    M.free(15, V_j);
    M.free(15, K_j);
  }
}

}  // namespace flashlab::labs::lab3
