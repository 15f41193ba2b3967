// Standard attention as PyTorch runs it (FA1 Alg. 0 and FA1 Alg. 3): every operation is its own
// kernel that reads its inputs from HBM and writes its output back, so the N x N matrices S, P,
// dP, dS make round trips through HBM. Each kernel is blocked to fit the SRAM.
#include <flashlab/simulator/algorithms/standard_attention.hpp>

#include <algorithm>
#include <cmath>

namespace flashlab::simulator {
namespace {
using T = TensorId;

struct Operand {
  TensorId tensor;
  const char* name;  // tile name in the trace
};

// C_ij = alpha A_i B_j^T for every block (i, j): A_i (Br x d) stays on chip while the B_j
// (Bc x d) stream past; each C_ij (Br x Bc) is written. A read once, B read T_r times.
void blocked_abt(Machine& M, const HeadProblem& p, int line, const char* op, Operand A, Operand B,
                 Operand C, float alpha) {
  M.begin_launch(op);  // one kernel per operation, one unit per outer block
  for (int64_t i = 0; i < p.Tr(); ++i) {
    M.begin_unit();
    M.at(i, -1);
    const Tile A_i = M.load(line, A.name, A.tensor, p.q_block(i, p.head_dim));
    for (int64_t j = 0; j < p.Tc(); ++j) {
      M.at(i, j);
      const Tile B_j = M.load(line, B.name, B.tensor, p.kv_block(j, p.head_dim));
      const Tile C_ij = M.alloc(line, C.name, C.tensor, p.s_block(i, j));
      M.matmul(line, op, C_ij, A_i, B_j, {.transpose_b = true, .alpha = alpha});
      M.store(line, C_ij, C.tensor, p.s_block(i, j));
      M.free(line, C_ij);
      M.free(line, B_j);
    }
    M.at(i, -1);
    M.free(line, A_i);
  }
}

// C_i = alpha sum_j X_ij Y_j (X: N_q x N_k, Y: N_k x d): the C_i accumulator stays on chip.
// X read once, Y read T_r times, C written once.
void blocked_xy(Machine& M, const HeadProblem& p, int line, const char* op, Operand X, Operand Y,
                Operand C, float alpha) {
  M.begin_launch(op);  // one kernel per operation, one unit per outer block
  for (int64_t i = 0; i < p.Tr(); ++i) {
    M.begin_unit();
    M.at(i, -1);
    const TileRect c = p.q_block(i, p.head_dim);
    const Tile C_i = M.alloc(line, C.name, C.tensor, c, 0.0f);
    for (int64_t j = 0; j < p.Tc(); ++j) {
      M.at(i, j);
      const Tile X_ij = M.load(line, X.name, X.tensor, p.s_block(i, j));
      const Tile Y_j = M.load(line, Y.name, Y.tensor, p.kv_block(j, p.head_dim));
      M.matmul(line, op, C_i, X_ij, Y_j, {.alpha = alpha, .accumulate = true});
      M.free(line, Y_j);
      M.free(line, X_ij);
    }
    M.at(i, -1);
    M.store(line, C_i, C.tensor, c);
    M.free(line, C_i);
  }
}

// C_j = alpha sum_i X_ij^T Y_i (X: N_q x N_k, Y: N_q x d): the C_j accumulator stays on chip.
// X read once, Y read T_c times, C written once.
void blocked_xty(Machine& M, const HeadProblem& p, int line, const char* op, Operand X, Operand Y,
                 Operand C, float alpha) {
  M.begin_launch(op);  // one kernel per operation, one unit per outer block
  for (int64_t j = 0; j < p.Tc(); ++j) {
    M.begin_unit();
    M.at(-1, j);
    const TileRect c = p.kv_block(j, p.head_dim);
    const Tile C_j = M.alloc(line, C.name, C.tensor, c, 0.0f);
    for (int64_t i = 0; i < p.Tr(); ++i) {
      M.at(i, j);
      const Tile X_ij = M.load(line, X.name, X.tensor, p.s_block(i, j));
      const Tile Y_i = M.load(line, Y.name, Y.tensor, p.q_block(i, p.head_dim));
      M.matmul(line, op, C_j, X_ij, Y_i, {.transpose_a = true, .alpha = alpha, .accumulate = true});
      M.free(line, Y_i);
      M.free(line, X_ij);
    }
    M.at(-1, j);
    M.store(line, C_j, C.tensor, c);
    M.free(line, C_j);
  }
}

// An elementwise N x N pass (mask, dropout): read each block of `src`, write it to `dst`.
template <typename Step>
void elementwise_pass(Machine& M, const HeadProblem& p, int line, Operand src, TensorId dst,
                      Step step) {
  M.begin_launch("elementwise pass");  // one kernel per operation, one unit per outer block
  for (int64_t i = 0; i < p.Tr(); ++i) {
    M.begin_unit();
    for (int64_t j = 0; j < p.Tc(); ++j) {
      M.at(i, j);
      const Tile X_ij = M.load(line, src.name, src.tensor, p.s_block(i, j));
      step(X_ij);
      M.store(line, X_ij, dst, p.s_block(i, j));
      M.free(line, X_ij);
    }
  }
}

// How many full rows of `per_row` elements fit in the (empty) SRAM at once, at most Br.
int64_t strip_rows(const Machine& M, const HeadProblem& p, int64_t per_row) {
  const int64_t capacity = M.sram().capacity_bytes() / M.hbm().element_bytes();
  return std::min(p.Br, capacity / per_row);
}

TileRect strip(const HeadProblem& p, int64_t k, int64_t rows) {
  const int64_t row0 = k * rows;
  return {row0, std::min(rows, p.seq_q - row0), 0, p.seq_k};
}

// FA1 Alg. 0 l. 2: P = softmax(S) row by row.
void softmax_pass(Machine& M, const HeadProblem& p) {
  M.begin_launch("P = softmax(S)");  // one kernel per operation, one unit per outer block
  const int64_t rows = strip_rows(M, p, p.seq_k + 2);
  if (rows >= 1) {  // one read of S: a strip of full rows (and its m, l) fits on chip
    for (int64_t k = 0; k * rows < p.seq_q; ++k) {
      M.begin_unit();
      M.at(k, -1);
      const TileRect r = strip(p, k, rows), v{r.row0, r.rows, 0, 1};
      const Tile S_i = M.load(2, "S_i", T::S, r);
      const Tile m_i = M.alloc(2, "m_i", T::m, v);
      const Tile l_i = M.alloc(2, "l_i", T::l, v);
      M.row_max_exp_sum(2, "m_i = rowmax(S_i), P_i = exp(S_i - m_i), l_i = rowsum(P_i)", S_i, S_i,
                        m_i, l_i);
      M.divide_rows(2, "P_i = diag(l_i)^-1 P_i", S_i, l_i);
      M.store(2, S_i, T::P, r);
      for (const Tile t : {l_i, m_i, S_i}) M.free(2, t);
    }
    return;
  }
  // A row is longer than the SRAM: statistics by blocks (§3.1 merge), then a second read of S.
  for (int64_t i = 0; i < p.Tr(); ++i) {
    M.begin_unit();
    M.at(i, -1);
    const TileRect v = p.q_block(i, 1);
    const Tile m_i = M.alloc(2, "m_i", T::m, v, -INFINITY);
    const Tile l_i = M.alloc(2, "l_i", T::l, v, 0.0f);
    const Tile m_t = M.alloc(2, "m~_ij", T::m, v);
    const Tile l_t = M.alloc(2, "l~_ij", T::l, v);
    for (int64_t j = 0; j < p.Tc(); ++j) {
      M.at(i, j);
      const Tile S_ij = M.load(2, "S_ij", T::S, p.s_block(i, j));
      M.row_max_exp_sum(2, "m~_ij = rowmax(S_ij), l~_ij = rowsum(exp(S_ij - m~_ij))", S_ij, S_ij,
                        m_t, l_t);
      M.softmax_update(2, "m_i, l_i <- merge((m_i, l_i), (m~_ij, l~_ij))",
                       {m_i, l_i, m_t, l_t, m_i, l_i, Tile{}, Tile{}});
      M.free(2, S_ij);
    }
    for (int64_t j = 0; j < p.Tc(); ++j) {
      M.at(i, j);
      const Tile S_ij = M.load(2, "S_ij", T::S, p.s_block(i, j));
      M.exp_minus_rows(2, "P_ij = exp(S_ij - m_i)", S_ij, S_ij, m_i);
      M.divide_rows(2, "P_ij = diag(l_i)^-1 P_ij", S_ij, l_i);
      M.store(2, S_ij, T::P, p.s_block(i, j));
      M.free(2, S_ij);
    }
    M.at(i, -1);
    for (const Tile t : {l_t, m_t, l_i, m_i}) M.free(2, t);
  }
}

// FA1 Alg. 3 l. 3: dS = P o (dP - rowsum(P o dP)).
void softmax_grad_pass(Machine& M, const HeadProblem& p) {
  M.begin_launch("dS = P o (dP - D)");  // one kernel per operation, one unit per outer block
  const int64_t rows = strip_rows(M, p, 2 * p.seq_k + 1);
  if (rows >= 1) {  // one read of P and dP
    for (int64_t k = 0; k * rows < p.seq_q; ++k) {
      M.begin_unit();
      M.at(k, -1);
      const TileRect r = strip(p, k, rows), v{r.row0, r.rows, 0, 1};
      const Tile P_i = M.load(3, "P_i", T::P, r);
      const Tile dP_i = M.load(3, "dP_i", T::dP, r);
      const Tile D_i = M.alloc(3, "D_i", T::D, v);
      M.row_dot(3, "D_i = rowsum(P_i o dP_i)", D_i, P_i, dP_i);
      M.softmax_grad(3, "dS_i = P_i o (dP_i - D_i)", dP_i, P_i, dP_i, D_i);
      M.store(3, dP_i, T::dS, r);
      for (const Tile t : {D_i, dP_i, P_i}) M.free(3, t);
    }
    return;
  }
  for (int64_t i = 0; i < p.Tr(); ++i) {  // rows longer than the SRAM: D first, then dS
    M.begin_unit();
    M.at(i, -1);
    const Tile D_i = M.alloc(3, "D_i", T::D, p.q_block(i, 1), 0.0f);
    for (int pass = 0; pass < 2; ++pass) {
      for (int64_t j = 0; j < p.Tc(); ++j) {
        M.at(i, j);
        const TileRect s = p.s_block(i, j);
        const Tile P_ij = M.load(3, "P_ij", T::P, s);
        const Tile dP_ij = M.load(3, "dP_ij", T::dP, s);
        if (pass == 0) {
          M.row_dot(3, "D_i <- D_i + rowsum(P_ij o dP_ij)", D_i, P_ij, dP_ij, true);
        } else {
          M.softmax_grad(3, "dS_ij = P_ij o (dP_ij - D_i)", dP_ij, P_ij, dP_ij, D_i);
          M.store(3, dP_ij, T::dS, s);
        }
        M.free(3, dP_ij);
        M.free(3, P_ij);
      }
    }
    M.at(i, -1);
    M.free(3, D_i);
  }
}

}  // namespace

const PseudoCode& standard_forward_code() {
  static const PseudoCode code{
      "Standard attention forward (FA1 Alg. 0)",
      {"Load Q, K by blocks from HBM, compute S = tau QK^T, write S to HBM. [flashlab: with a "
       "mask, one more pass: read S, S = mask(S), write S]",
       "Read S from HBM, compute P = softmax(S), write P to HBM. [flashlab: with dropout, one "
       "more pass: read P, P^dropped = dropout(P), write P^dropped]",
       "Load P and V by blocks from HBM, compute O = PV, write O to HBM. [flashlab: P^dropped "
       "with dropout]",
       "Return O."}};
  return code;
}

void standard_forward(Machine& M, const HeadProblem& p) {
  const int64_t N_q = p.seq_q, N_k = p.seq_k;
  M.hbm().define(T::S, N_q, N_k);
  M.hbm().define(T::P, N_q, N_k);
  M.hbm().define(T::O, N_q, p.head_dim);
  // FA1 Alg. 0 l. 1: S is materialized in HBM.
  blocked_abt(M, p, 1, "S_ij = tau Q_i K_j^T", {T::Q, "Q_i"}, {T::K, "K_j"}, {T::S, "S_ij"}, p.tau);
  // Masking is its own kernel (PyTorch's masked_fill): a second N x N round trip.
  if (p.masked())
    elementwise_pass(M, p, 1, {T::S, "S_ij"}, T::S,
                     [&](Tile S_ij) { M.apply_mask(1, "S_ij = mask(S_ij)", S_ij); });
  // FA1 Alg. 0 l. 2.
  softmax_pass(M, p);
  // Dropout is its own kernel; P stays in HBM for the backward's dS (FA1 Alg. 3 l. 3).
  Operand P{T::P, "P_ij"};
  if (p.dropout) {
    M.hbm().define(T::P_dropped, N_q, N_k);
    elementwise_pass(M, p, 2, {T::P, "P_ij"}, T::P_dropped, [&](Tile P_ij) {
      M.apply_dropout(2, "P_ij^dropped = dropout(P_ij, p_drop)", P_ij, P_ij,
                      Machine::DropoutMask::Draw);
    });
    P = {T::P_dropped, "P_ij^dropped"};
  }
  // FA1 Alg. 0 l. 3.
  blocked_xy(M, p, 3, "O_i <- O_i + P_ij V_j", P, {T::V, "V_j"}, {T::O, "O_i"}, 1.0f);
}

const PseudoCode& standard_backward_code() {
  static const PseudoCode code{
      "Standard attention backward (FA1 Alg. 3)",
      {"Load P, dO by blocks from HBM, compute dV = P^T dO in R^{N x d}, write dV to HBM. "
       "[flashlab: P^dropped with dropout]",
       "Load dO, V by blocks from HBM, compute dP = dO V^T in R^{N x N}, write dP to HBM. "
       "[flashlab: with dropout, one more pass: read dP, dP = dP o Z, write dP]",
       "Read P, dP from HBM, compute dS in R^{N x N} where dS_ij = P_ij (dP_ij - sum_l P_il "
       "dP_il), write dS to HBM.",
       "Load dS and K by blocks from HBM, compute dQ = tau dS K, write dQ to HBM.",
       "Load dS and Q by blocks from HBM, compute dK = tau dS^T Q, write dK to HBM.",
       "Return dQ, dK, dV."}};
  return code;
}

void standard_backward(Machine& M, const HeadProblem& p) {
  const int64_t N_q = p.seq_q, N_k = p.seq_k, d = p.head_dim;
  M.hbm().define(T::dV, N_k, d);
  M.hbm().define(T::dP, N_q, N_k);
  M.hbm().define(T::dS, N_q, N_k);
  M.hbm().define(T::dQ, N_q, d);
  M.hbm().define(T::dK, N_k, d);
  // FA1 Alg. 3 l. 1: dV = (P^dropped)^T dO.
  const Operand P_used = p.dropout ? Operand{T::P_dropped, "P_ij^dropped"} : Operand{T::P, "P_ij"};
  blocked_xty(M, p, 1, "dV_j <- dV_j + P_ij^T dO_i", P_used, {T::dO, "dO_i"}, {T::dV, "dV_j"},
              1.0f);
  // FA1 Alg. 3 l. 2: dP = dO V^T, then dropout's backward as its own N x N pass.
  blocked_abt(M, p, 2, "dP_ij = dO_i V_j^T", {T::dO, "dO_i"}, {T::V, "V_j"}, {T::dP, "dP_ij"},
              1.0f);
  if (p.dropout)
    elementwise_pass(M, p, 2, {T::dP, "dP_ij"}, T::dP, [&](Tile dP_ij) {
      M.apply_dropout(2, "dP_ij = dP_ij o Z_ij", dP_ij, dP_ij, Machine::DropoutMask::Draw);
    });
  // FA1 Alg. 3 l. 3.
  softmax_grad_pass(M, p);
  // FA1 Alg. 3 l. 4–5 (the chain rule through S = tau QK^T puts tau here).
  blocked_xy(M, p, 4, "dQ_i <- dQ_i + tau dS_ij K_j", {T::dS, "dS_ij"}, {T::K, "K_j"},
             {T::dQ, "dQ_i"}, p.tau);
  blocked_xty(M, p, 5, "dK_j <- dK_j + tau dS_ij^T Q_i", {T::dS, "dS_ij"}, {T::Q, "Q_i"},
              {T::dK, "dK_j"}, p.tau);
}

}  // namespace flashlab::simulator
