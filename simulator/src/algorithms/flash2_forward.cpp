// FlashAttention-2 forward (FA2 Alg. 1), with flashlab's scale, mask, dropout and block skipping
// added where FA1 Alg. 2 and FA1 Alg. 5 put them. The loop order is swapped relative to FA1: Q_i,
// O_i, l_i, m_i stay on chip for a whole row of blocks, so Q is read once and O written once.
#include <flashlab/simulator/algorithms/flash2_forward.hpp>

#include <cmath>

namespace flashlab::simulator {

namespace {

PseudoCode make_code(bool kept_max) {
  PseudoCode code{
      kept_max ? "FlashAttention-2 forward with a kept running max (FA2 Alg. 1)"
               : "FlashAttention-2 forward (FA2 Alg. 1)",
      {"Divide Q into T_r = ceil(N/B_r) blocks Q_1..Q_Tr of size B_r x d each, and divide K, V "
       "into T_c = ceil(N/B_c) blocks K_1..K_Tc and V_1..V_Tc of size B_c x d each.",
       "Divide the output O in R^{N x d} into T_r blocks O_1..O_Tr of size B_r x d each, and "
       "divide the logsumexp L into T_r blocks L_1..L_Tr of size B_r each.",
       "for 1 <= i <= T_r do", "  Load Q_i from HBM to on-chip SRAM.",
       "  On chip, initialize O_i^(0) = (0)_{B_r x d}, l_i^(0) = (0)_{B_r}, m_i^(0) = "
       "(-inf)_{B_r}.",
       "  for 1 <= j <= T_c do [flashlab: skip block (i, j) if the mask allows none of it]",
       "    Load K_j, V_j from HBM to on-chip SRAM.",
       "    On chip, compute S_i^(j) = tau Q_i K_j^T in R^{B_r x B_c}. [flashlab: then "
       "mask(S_i^(j))]",
       "    On chip, compute m_i^(j) = max(m_i^(j-1), rowmax(S_i^(j))) in R^{B_r}, P~_i^(j) = "
       "exp(S_i^(j) - m_i^(j)) in R^{B_r x B_c} (pointwise), l_i^(j) = e^{m_i^(j-1) - m_i^(j)} "
       "l_i^(j-1) + rowsum(P~_i^(j)) in R^{B_r}.",
       "    On chip, compute O_i^(j) = diag(e^{m_i^(j-1) - m_i^(j)}) O_i^(j-1) + P~_i^(j) V_j. "
       "[the paper prints diag(...)^-1, a typo; flashlab: P~ dropped by dropout here]",
       "  end for", "  On chip, compute O_i = diag(l_i^(T_c))^-1 O_i^(T_c).",
       "  On chip, compute L_i = m_i^(T_c) + log(l_i^(T_c)).",
       "  Write O_i to HBM as the i-th block of O.", "  Write L_i to HBM as the i-th block of L.",
       "end for", "Return the output O and the logsumexp L."}};
  if (kept_max)
    code.lines[8] +=
        " [flashlab, kept max (FA4): after the first block of row block i, while no score of "
        "S_i^(j) lies more than 8 ln 2 above m_i^(j-1): m_i^(j) = m_i^(j-1), P~_i^(j) = "
        "exp(S_i^(j) - m_i^(j-1)), l_i^(j) = l_i^(j-1) + rowsum(P~_i^(j)), and FA2 Alg. 1 l. 10 "
        "does not rescale O_i]";
  return code;
}

}  // namespace

const PseudoCode& flash2_forward_code(bool kept_max) {
  static const PseudoCode fa2 = make_code(false), kept = make_code(true);
  return kept_max ? kept : fa2;
}

void flash2_forward(Machine& M, const HeadProblem& p) {
  const int64_t N_q = p.seq_q, d = p.head_dim, Tr = p.Tr(), Tc = p.Tc();
  using T = TensorId;
  // FA2 Alg. 1 l. 1–2: O and L are only written (once each), so nothing is initialized in HBM.
  M.hbm().define(T::O, N_q, d);
  M.hbm().define(T::L, N_q, 1);

  M.begin_launch("FlashAttention-2 forward (FA2 Alg. 1)");
  for (int64_t i = 0; i < Tr; ++i) {  // FA2 Alg. 1 l. 3: outer loop over Q blocks, one unit each
    M.begin_unit();
    M.at(i, -1);
    const TileRect qo = p.q_block(i, d), lm = p.q_block(i, 1);
    // FA2 Alg. 1 l. 4–5: Q_i read once; the accumulators live on chip for the whole row of blocks.
    const Tile Q_i = M.load(4, "Q_i", T::Q, qo);
    const Tile O_i = M.alloc(5, "O_i", T::O, qo, 0.0f);
    const Tile l_i = M.alloc(5, "l_i", T::l, lm, 0.0f);
    const Tile m_i = M.alloc(5, "m_i", T::m, lm, -INFINITY);
    const Tile rescale = M.alloc(5, "e^{m_i^(j-1) - m_i^(j)}", T::None, lm);
    bool first_block = true;  // m_i = -inf: the kept max has nothing to keep yet

    for (int64_t j = 0; j < Tc; ++j) {  // FA2 Alg. 1 l. 6: inner loop over K/V blocks
      M.at(i, j);
      const TileRect s = p.s_block(i, j), kv = p.kv_block(j, d);
      const TileVisibility coverage = p.visibility(i, j);
      if (coverage == TileVisibility::None) {  // FA2 §3.1: skip blocks the mask hides entirely
        M.skip(6, "block fully masked: skip", s);
        continue;
      }
      // FA2 Alg. 1 l. 7: K and V are read once per Q block: T_r passes over K and V.
      const Tile K_j = M.load(7, "K_j", T::K, kv);
      const Tile V_j = M.load(7, "V_j", T::V, kv);
      // FA2 Alg. 1 l. 8, with FA1 Alg. 2 l. 10's scale and FA1 Alg. 2 l. 11's mask.
      const Tile S_ij = M.alloc(8, "S_i^(j)", T::S, s);
      M.matmul(8, "S_i^(j) = tau Q_i K_j^T", S_ij, Q_i, K_j, {.transpose_b = true, .alpha = p.tau});
      if (coverage == TileVisibility::Partial) M.apply_mask(8, "S_i^(j) = mask(S_i^(j))", S_ij);
      // With the kept max (FA4's conditional rescale), P~ relative to the max as it stands while
      // the block's scores stay within the slack of it: O_i and l_i stay in those units, and O
      // needs no rescale (O_i = (sum_j P~_ij V_j) / l_i holds for any m the two share).
      const bool kept = p.kept_max && !first_block &&
                        M.online_softmax_kept_max(9,
                                                  "rowmax(S_i^(j)) <= m_i^(j-1) + 8 ln 2: "
                                                  "P~_i^(j) = exp(S_i^(j) - m_i^(j-1)), l_i^(j) = "
                                                  "l_i^(j-1) + rowsum(P~_i^(j))",
                                                  S_ij, S_ij, m_i, l_i, rescale);
      first_block = false;
      // FA2 Alg. 1 l. 9: P~ relative to the new max, so O needs one rescale and no division per
      // step.
      if (!kept)
        M.online_softmax(9,
                         "m_i^(j) = max(m_i^(j-1), rowmax(S_i^(j))), P~_i^(j) = exp(S_i^(j) - "
                         "m_i^(j)), l_i^(j) = e^{m_i^(j-1) - m_i^(j)} l_i^(j-1) + rowsum(P~_i^(j))",
                         S_ij, S_ij, m_i, l_i, rescale);
      // FA2 Alg. 1 l. 10 (the paper's typo corrected: multiply by e^{m_old - m_new} <= 1), with
      // FA1 Alg. 2 l. 14's dropout on P~.
      if (p.dropout)
        M.apply_dropout(10, "P~_i^(j) = dropout(P~_i^(j), p_drop)", S_ij, S_ij,
                        Machine::DropoutMask::Draw);
      if (!kept) M.scale_rows(10, "O_i <- diag(e^{m_i^(j-1) - m_i^(j)}) O_i", O_i, rescale);
      M.matmul(10, "O_i <- O_i + P~_i^(j) V_j", O_i, S_ij, V_j, {.accumulate = true});
      M.free(11, S_ij);
      M.free(11, V_j);
      M.free(11, K_j);
    }
    M.at(i, -1);
    // FA2 Alg. 1 l. 12–13: normalize once; keep only L = m + log l for the backward.
    M.divide_rows(12, "O_i = diag(l_i^(T_c))^-1 O_i^(T_c)", O_i, l_i);
    const Tile L_i = M.alloc(13, "L_i", T::L, lm);
    M.logsumexp(13, "L_i = m_i^(T_c) + log(l_i^(T_c))", L_i, m_i, l_i);
    // FA2 Alg. 1 l. 14–15: the only writes to HBM.
    M.store(14, O_i, T::O, qo);
    M.store(15, L_i, T::L, lm);
    for (const Tile t : {L_i, rescale, m_i, l_i, O_i, Q_i}) M.free(16, t);
  }
}

}  // namespace flashlab::simulator
