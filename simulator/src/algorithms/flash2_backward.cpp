// FlashAttention-2 backward, FA2 Alg. 2, with flashlab's scale, mask, dropout and block skipping
// added where FA1 Alg. 4 puts them, run as FA2's code runs it: a memset of the fp32 dQ
// accumulator, a preprocess that writes D, the main kernel with one work unit per K/V block j
// (FA2's parallelism over the sequence) adding into the accumulator, and a last pass that
// converts the accumulator to dQ.
#include <flashlab/simulator/algorithms/flash2_backward.hpp>

namespace flashlab::simulator {

const PseudoCode& flash2_backward_code() {
  static const PseudoCode code{
      "FlashAttention-2 backward (FA2 Alg. 2)",
      {"Divide Q into T_r = ceil(N/B_r) blocks Q_1..Q_Tr of size B_r x d each, and divide K, V "
       "into T_c = ceil(N/B_c) blocks K_1..K_Tc and V_1..V_Tc of size B_c x d each.",
       "Divide O into T_r blocks O_1..O_Tr of size B_r x d each, divide dO into T_r blocks "
       "dO_1..dO_Tr of size B_r x d each, and divide L into T_r blocks L_1..L_Tr of size B_r "
       "each.",
       "Initialize dQ = (0)_{N x d} in HBM and divide it into T_r blocks dQ_1..dQ_Tr of size "
       "B_r x d each. Divide dK, dV in R^{N x d} into T_c blocks dK_1..dK_Tc and dV_1..dV_Tc of "
       "size B_c x d each. [flashlab: dQ is accumulated in fp32 (dQ_acc), as FA2's code does; "
       "a memset]",
       "Compute D = rowsum(dO o O) in R^N (pointwise multiply), write D to HBM and divide it into "
       "T_r blocks D_1..D_Tr of size B_r each. [flashlab: its own launch, one unit per Q block]",
       "for 1 <= j <= T_c do [flashlab: one work unit per j]",
       "  Load K_j, V_j from HBM to on-chip SRAM.",
       "  Initialize dK_j = (0)_{B_c x d}, dV_j = (0)_{B_c x d} on SRAM.",
       "  for 1 <= i <= T_r do [flashlab: skip block (i, j) if the mask allows none of it]",
       "    Load Q_i, O_i, dO_i, dQ_i, L_i, D_i from HBM to on-chip SRAM. [flashlab: O_i is not "
       "needed once D is known and is not loaded, as in the real kernels; dQ_i at "
       "FA2 Alg. 2 l. 15]",
       "    On chip, compute S_i^(j) = Q_i K_j^T in R^{B_r x B_c}. [flashlab: tau Q_i K_j^T, then "
       "mask(S_i^(j))]",
       "    On chip, compute P_i^(j) = exp(S_ij - L_i) in R^{B_r x B_c}. [flashlab: and P^dropped "
       "= P o Z with the forward's dropout mask Z]",
       "    On chip, compute dV_j <- dV_j + (P_i^(j))^T dO_i in R^{B_c x d}. [flashlab: "
       "P^dropped]",
       "    On chip, compute dP_i^(j) = dO_i V_j^T in R^{B_r x B_c}. [flashlab: then o Z]",
       "    On chip, compute dS_i^(j) = P_i^(j) o (dP_i^(j) - D_i) in R^{B_r x B_c}.",
       "    Load dQ_i from HBM to SRAM, then on chip, update dQ_i <- dQ_i + dS_i^(j) K_j in "
       "R^{B_r x d}, and write back to HBM. [flashlab: tau dS K_j, added into dQ_acc in HBM by "
       "the memory system (FA2's atomic adds): written, not read, by the SM]",
       "    On chip, compute dK_j <- dK_j + dS_i^(j)^T Q_i in R^{B_c x d}. [flashlab: tau dS^T "
       "Q_i]",
       "  end for",
       "  Write dK_j, dV_j to HBM.",
       "end for",
       "Return dQ, dK, dV. [flashlab: dQ = dQ_acc rounded to the element type, its own launch]"}};
  return code;
}

namespace {

// FA2 Alg. 2 l. 4, the preprocess: D_i = rowsum(dO_i o O_i), one unit per Q block.
void write_d(Machine& M, const HeadProblem& p) {
  using T = TensorId;
  M.begin_launch("D = rowsum(dO o O)");
  for (int64_t i = 0; i < p.Tr(); ++i) {
    M.begin_unit();
    M.at(i, -1);
    const TileRect qo = p.q_block(i, p.head_dim), lm = p.q_block(i, 1);
    const Tile dO_i = M.load(4, "dO_i", T::dO, qo);
    const Tile O_i = M.load(4, "O_i", T::O, qo);
    const Tile D_i = M.alloc(4, "D_i", T::D, lm);
    M.row_dot(4, "D_i = rowsum(dO_i o O_i)", D_i, dO_i, O_i);
    M.store(4, D_i, T::D, lm);
    for (const Tile t : {D_i, O_i, dO_i}) M.free(4, t);
  }
}

// FA2 Alg. 2 l. 20: dQ is the accumulator rounded to the element type, one unit per Q block.
void convert_dq(Machine& M, const HeadProblem& p) {
  using T = TensorId;
  M.begin_launch("dQ = dQ_acc (convert)");
  for (int64_t i = 0; i < p.Tr(); ++i) {
    M.begin_unit();
    M.at(i, -1);
    const TileRect qo = p.q_block(i, p.head_dim);
    const Tile dQ_i = M.load(20, "dQ_i", T::dQ_acc, qo);
    M.store(20, dQ_i, T::dQ, qo);
    M.free(20, dQ_i);
  }
}

}  // namespace

void flash2_backward(Machine& M, const HeadProblem& p) {
  const int64_t N_q = p.seq_q, N_k = p.seq_k, d = p.head_dim, Tr = p.Tr(), Tc = p.Tc();
  using T = TensorId;

  M.hbm().define(T::D, N_q, 1);
  M.hbm().define(T::dQ_acc, N_q, d, 0.0f, 4);  // fp32: many K/V blocks add into it
  M.hbm().define(T::dQ, N_q, d);
  M.hbm().define(T::dK, N_k, d);
  M.hbm().define(T::dV, N_k, d);
  // FA2 Alg. 2 l. 3: only dQ is initialized in HBM; dK, dV are written once, at FA2 Alg. 2 l. 18.
  M.begin_launch("dQ_acc = (0) (memset)", false);
  M.begin_unit();
  M.at(-1, -1);
  M.hbm_fill(3, "dQ_acc = (0)_{N x d}", T::dQ_acc, 0.0f);
  write_d(M, p);

  M.begin_launch("FlashAttention-2 backward (FA2 Alg. 2)");
  for (int64_t j = 0; j < Tc; ++j) {  // FA2 Alg. 2 l. 5: one work unit per K/V block
    M.begin_unit();
    M.at(-1, j);
    const TileRect kv = p.kv_block(j, d);
    const Tile K_j = M.load(6, "K_j", T::K, kv);
    const Tile V_j = M.load(6, "V_j", T::V, kv);
    const Tile dK_j = M.alloc(7, "dK_j", T::dK, kv, 0.0f);
    const Tile dV_j = M.alloc(7, "dV_j", T::dV, kv, 0.0f);

    for (int64_t i = 0; i < Tr; ++i) {  // FA2 Alg. 2 l. 8
      M.at(i, j);
      const TileRect s = p.s_block(i, j), qo = p.q_block(i, d), lm = p.q_block(i, 1);
      const TileVisibility coverage = p.visibility(i, j);
      if (coverage == TileVisibility::None) {
        M.skip(8, "block fully masked: skip", s);
        continue;
      }
      // FA2 Alg. 2 l. 9: Q_i, dO_i, L_i and D_i stream past the resident K_j, V_j: T_c passes over
      // them.
      const Tile Q_i = M.load(9, "Q_i", T::Q, qo);
      const Tile dO_i = M.load(9, "dO_i", T::dO, qo);
      const Tile L_i = M.load(9, "L_i", T::L, lm);
      const Tile D_i = M.load(9, "D_i", T::D, lm);

      // FA2 Alg. 2 l. 10–11: P recomputed from the logsumexp alone (FA2 §3.1.1: only L is stored).
      const Tile P_ij = M.alloc(10, "S_i^(j)", T::S, s);
      M.matmul(10, "S_i^(j) = tau Q_i K_j^T", P_ij, Q_i, K_j,
               {.transpose_b = true, .alpha = p.tau});
      if (coverage == TileVisibility::Partial) M.apply_mask(10, "S_i^(j) = mask(S_i^(j))", P_ij);
      M.exp_minus_rows(11, "P_i^(j) = exp(S_i^(j) - L_i)", P_ij, P_ij, L_i);
      Tile P_dropped = P_ij;
      if (p.dropout) {
        P_dropped = M.alloc(11, "P_i^(j) dropped", T::P, s);
        M.apply_dropout(11, "P_i^(j) dropped = P_i^(j) o Z_ij", P_dropped, P_ij,
                        Machine::DropoutMask::Draw);
      }
      // FA2 Alg. 2 l. 12.
      M.matmul(12, "dV_j <- dV_j + (P_i^(j))^T dO_i", dV_j, P_dropped, dO_i,
               {.transpose_a = true, .accumulate = true});
      // FA2 Alg. 2 l. 13–14: dS overwrites dP on chip.
      const Tile dP_ij = M.alloc(13, "dP_i^(j)", T::dP, s);
      M.matmul(13, "dP_i^(j) = dO_i V_j^T", dP_ij, dO_i, V_j, {.transpose_b = true});
      if (p.dropout)
        M.apply_dropout(13, "dP_i^(j) = dP_i^(j) o Z_ij", dP_ij, dP_ij,
                        Machine::DropoutMask::Reuse);
      M.softmax_grad(14, "dS_i^(j) = P_i^(j) o (dP_i^(j) - D_i)", dP_ij, P_ij, dP_ij, D_i);
      // FA2 Alg. 2 l. 15: this block's share of dQ_i, added into HBM: the one tensor accumulated
      // there.
      const Tile dQ_i = M.alloc(15, "dQ_i", T::dQ_acc, qo, 0.0f);
      M.matmul(15, "dQ_i = tau dS_i^(j) K_j", dQ_i, dP_ij, K_j, {.alpha = p.tau});
      M.store_add(15, dQ_i, T::dQ_acc, qo);
      // FA2 Alg. 2 l. 16.
      M.matmul(16, "dK_j <- dK_j + tau dS_i^(j)^T Q_i", dK_j, dP_ij, Q_i,
               {.transpose_a = true, .alpha = p.tau, .accumulate = true});

      M.free(17, dQ_i);
      M.free(17, dP_ij);
      if (p.dropout) M.free(17, P_dropped);
      for (const Tile t : {P_ij, D_i, L_i, dO_i, Q_i}) M.free(17, t);
    }
    M.at(-1, j);
    // FA2 Alg. 2 l. 18: dK_j and dV_j written once.
    M.store(18, dK_j, T::dK, kv);
    M.store(18, dV_j, T::dV, kv);
    for (const Tile t : {dV_j, dK_j, V_j, K_j}) M.free(19, t);
  }
  convert_dq(M, p);
}

}  // namespace flashlab::simulator
