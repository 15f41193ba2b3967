// FlashAttention backward, FA1 Alg. 4: S and P are recomputed block by block from Q, K and the
// forward's statistics l, m; the dropout mask is regenerated from the same Philox keys; dQ goes
// back to HBM at every step, dK and dV are accumulated on chip and written once per K/V block.
#include <flashlab/simulator/algorithms/flash_backward.hpp>

namespace flashlab::simulator {

const PseudoCode& flash_backward_code() {
  static const PseudoCode code{
      "FlashAttention backward (FA1 Alg. 4)",
      {"Set the pseudo-random number generator state to R. [flashlab: the Philox seed]",
       "Set block sizes B_c = ceil(M/4d), B_r = min(ceil(M/4d), d). [flashlab: the forward's]",
       "Divide Q into T_r = ceil(N/B_r) blocks Q_1..Q_Tr of size B_r x d each, and divide K, V "
       "into T_c = ceil(N/B_c) blocks K_1..K_Tc and V_1..V_Tc of size B_c x d each.",
       "Divide O into T_r blocks O_i..O_Tr of size B_r x d each, divide dO into T_r blocks "
       "dO_i..dO_Tr of size B_r x d each, divide l into T_r blocks l_i..l_Tr of size B_r each, "
       "divide m into T_r blocks m_1..m_Tr of size B_r each.",
       "Initialize dQ = (0)_{N x d} in HBM and divide it into T_r blocks dQ_1..dQ_Tr of size "
       "B_r x d each. Initialize dK = (0)_{N x d}, dV = (0)_{N x d} in HBM and divide dK, dV into "
       "T_c blocks dK_1..dK_Tc and dV_1..dV_Tc of size B_c x d each.",
       "for 1 <= j <= T_c do",
       "  Load K_j, V_j from HBM to on-chip SRAM.",
       "  Initialize dK~_j = (0)_{B_c x d}, dV~_j = (0)_{B_c x d} on SRAM.",
       "  for 1 <= i <= T_r do [flashlab: skip block (i, j) if the mask allows none of it]",
       "    Load Q_i, O_i, dO_i, dQ_i, l_i, m_i from HBM to on-chip SRAM.",
       "    On chip, compute S_ij = tau Q_i K_j^T in R^{B_r x B_c}.",
       "    On chip, compute S_ij^masked = mask(S_ij).",
       "    On chip, compute P_ij = diag(l_i)^-1 exp(S_ij^masked - m_i) in R^{B_r x B_c}.",
       "    On chip, compute dropout mask Z_ij in R^{B_r x B_c} where each entry has value "
       "1/(1 - p_drop) with probability 1 - p_drop and value 0 with probability p_drop. "
       "[flashlab: regenerated from Philox where used, FA1 Alg. 4 l. 15 and 18]",
       "    On chip, compute P_ij^dropped = P_ij o Z_ij (pointwise multiply).",
       "    On chip, compute dV~_j <- dV~_j + (P_ij^dropped)^T dO_i in R^{B_c x d}.",
       "    On chip, compute dP_ij^dropped = dO_i V_j^T in R^{B_r x B_c}.",
       "    On chip, compute dP_ij = dP_ij^dropped o Z_ij (pointwise multiply).",
       "    On chip, compute D_i = rowsum(dO_i o O_i) in R^{B_r}.",
       "    On chip, compute dS_ij = P_ij o (dP_ij - D_i) in R^{B_r x B_c}.",
       "    Write dQ_i <- dQ_i + tau dS_ij K_j in R^{B_r x d} to HBM.",
       "    On chip, compute dK~_j <- dK~_j + tau dS_ij^T Q_i in R^{B_c x d}.",
       "  end for",
       "  Write dK_j <- dK~_j, dV_j <- dV~_j to HBM.",
       "end for",
       "Return dQ, dK, dV."}};
  return code;
}

void flash_backward(Machine& M, const HeadProblem& p) {
  const int64_t N_q = p.seq_q, N_k = p.seq_k, d = p.head_dim, Tr = p.Tr(), Tc = p.Tc();
  using T = TensorId;

  // FA1 Alg. 4 l. 5: dQ, dK, dV initialized in HBM (counted as writes, as the pseudo-code says).
  M.hbm().define(T::dQ, N_q, d);
  M.hbm().define(T::dK, N_k, d);
  M.hbm().define(T::dV, N_k, d);
  // One thread block per (batch, head), as FA1's kernels run (FA2 §3.2).
  M.begin_launch("FlashAttention backward (FA1 Alg. 4)");
  M.begin_unit();
  M.at(-1, -1);
  M.hbm_fill(5, "dQ = (0)_{N x d}", T::dQ, 0.0f);
  M.hbm_fill(5, "dK = (0)_{N x d}", T::dK, 0.0f);
  M.hbm_fill(5, "dV = (0)_{N x d}", T::dV, 0.0f);

  for (int64_t j = 0; j < Tc; ++j) {  // FA1 Alg. 4 l. 6
    M.at(-1, j);
    const TileRect kv = p.kv_block(j, d);
    const Tile K_j = M.load(7, "K_j", T::K, kv);
    const Tile V_j = M.load(7, "V_j", T::V, kv);
    const Tile dK_j = M.alloc(8, "dK~_j", T::dK, kv, 0.0f);
    const Tile dV_j = M.alloc(8, "dV~_j", T::dV, kv, 0.0f);

    for (int64_t i = 0; i < Tr; ++i) {  // FA1 Alg. 4 l. 9
      M.at(i, j);
      const TileRect s = p.s_block(i, j), qo = p.q_block(i, d), lm = p.q_block(i, 1);
      const TileVisibility coverage = p.visibility(i, j);
      if (coverage == TileVisibility::None) {  // as FA1 Alg. 5: P_ij = 0, nothing to add
        M.skip(9, "M_ij = 0: skip block", s);
        continue;
      }
      // FA1 Alg. 4 l. 10: T_c passes over Q, O, dO and a read-modify-write pass over dQ.
      const Tile Q_i = M.load(10, "Q_i", T::Q, qo);
      const Tile O_i = M.load(10, "O_i", T::O, qo);
      const Tile dO_i = M.load(10, "dO_i", T::dO, qo);
      const Tile dQ_i = M.load(10, "dQ_i", T::dQ, qo);
      const Tile l_i = M.load(10, "l_i", T::l, lm);
      const Tile m_i = M.load(10, "m_i", T::m, lm);

      // FA1 Alg. 4 l. 11–13: recompute P exactly from the saved statistics instead of storing it.
      const Tile P_ij = M.alloc(11, "S_ij", T::S, s);
      M.matmul(11, "S_ij = tau Q_i K_j^T", P_ij, Q_i, K_j, {.transpose_b = true, .alpha = p.tau});
      if (coverage == TileVisibility::Partial) M.apply_mask(12, "S_ij = mask(S_ij)", P_ij);
      M.exp_minus_rows(13, "P_ij = exp(S_ij - m_i)", P_ij, P_ij, m_i);
      M.divide_rows(13, "P_ij = diag(l_i)^-1 P_ij", P_ij, l_i);

      // FA1 Alg. 4 l. 14–15: the forward's dropout mask, regenerated element by element from
      // Philox.
      Tile P_dropped = P_ij;
      if (p.dropout) {
        P_dropped = M.alloc(15, "P_ij^dropped", T::P, s);
        M.apply_dropout(15, "P_ij^dropped = P_ij o Z_ij", P_dropped, P_ij,
                        Machine::DropoutMask::Draw);
      }
      // FA1 Alg. 4 l. 16.
      M.matmul(16, "dV~_j <- dV~_j + (P_ij^dropped)^T dO_i", dV_j, P_dropped, dO_i,
               {.transpose_a = true, .accumulate = true});
      // FA1 Alg. 4 l. 17–18.
      const Tile dP_ij = M.alloc(17, "dP_ij", T::dP, s);
      M.matmul(17, "dP_ij^dropped = dO_i V_j^T", dP_ij, dO_i, V_j, {.transpose_b = true});
      if (p.dropout)
        M.apply_dropout(18, "dP_ij = dP_ij^dropped o Z_ij", dP_ij, dP_ij,
                        Machine::DropoutMask::Reuse);
      // FA1 Alg. 4 l. 19: D_i = rowsum(dO_i o O_i) equals rowsum(P_ij o dP_ij) over the full
      // row (App. B.2), a length-d dot product instead of a reduction over N.
      const Tile D_i = M.alloc(19, "D_i", T::D, lm);
      M.row_dot(19, "D_i = rowsum(dO_i o O_i)", D_i, dO_i, O_i);
      // FA1 Alg. 4 l. 20: dS_ij overwrites dP_ij on chip.
      M.softmax_grad(20, "dS_ij = P_ij o (dP_ij - D_i)", dP_ij, P_ij, dP_ij, D_i);
      // FA1 Alg. 4 l. 21: dQ is accumulated in HBM (read at FA1 Alg. 4 l. 10, written here).
      M.matmul(21, "dQ_i <- dQ_i + tau dS_ij K_j", dQ_i, dP_ij, K_j,
               {.alpha = p.tau, .accumulate = true});
      M.store(21, dQ_i, T::dQ, qo);
      // FA1 Alg. 4 l. 22.
      M.matmul(22, "dK~_j <- dK~_j + tau dS_ij^T Q_i", dK_j, dP_ij, Q_i,
               {.transpose_a = true, .alpha = p.tau, .accumulate = true});

      M.free(23, D_i);
      M.free(23, dP_ij);
      if (p.dropout) M.free(23, P_dropped);
      for (const Tile t : {P_ij, m_i, l_i, dQ_i, dO_i, O_i, Q_i}) M.free(23, t);
    }
    M.at(-1, j);
    // FA1 Alg. 4 l. 24: dK_j and dV_j written once.
    M.store(24, dK_j, T::dK, kv);
    M.store(24, dV_j, T::dV, kv);
    for (const Tile t : {dV_j, dK_j, V_j, K_j}) M.free(25, t);
  }
}

}  // namespace flashlab::simulator
