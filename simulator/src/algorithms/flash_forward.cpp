// FlashAttention forward, FA1 Alg. 2 (FA1 Alg. 1 with scale, mask and dropout), with FA1 Alg. 5's
// block skipping when a causal or block-sparse mask is set. Read it beside the paper: every
// machine call carries the line it implements, numbered as the algorithm the trace names.
#include <flashlab/simulator/algorithms/flash_forward.hpp>

#include <cmath>

namespace flashlab::simulator {
namespace {

// FA1 Alg. 2 and FA1 Alg. 5 number their lines alike from FA1 Alg. 2 l. 9 (= FA1 Alg. 5 l. 9) on;
// before it they differ by one (FA1 Alg. 5 has no block-size line, and an "if M_ij != 0" line).
// The comments below cite FA1 Alg. 2; the tags of the loop lines come from these tables.
struct Lines {
  int init, for_j, load_kv, for_i, skip, end_i, end_j;
};
constexpr Lines kAlg2{3, 6, 7, 8, 8, 17, 18};
constexpr Lines kAlg5{2, 5, 6, 7, 8, 18, 19};

const char* const kBody[] = {
    "    Load Q_i, O_i, l_i, m_i from HBM to on-chip SRAM.",
    "    On chip, compute S_ij = tau Q_i K_j^T in R^{B_r x B_c}.",
    "    On chip, compute S_ij^masked = mask(S_ij).",
    "    On chip, compute m~_ij = rowmax(S_ij^masked) in R^{B_r}, P~_ij = exp(S_ij^masked - "
    "m~_ij) in R^{B_r x B_c} (pointwise), l~_ij = rowsum(P~_ij) in R^{B_r}.",
    "    On chip, compute m_i^new = max(m_i, m~_ij) in R^{B_r}, l_i^new = e^{m_i - m_i^new} l_i + "
    "e^{m~_ij - m_i^new} l~_ij in R^{B_r}.",
    "    On chip, compute P~_ij^dropped = dropout(P~_ij, p_drop).",
    "    Write O_i <- diag(l_i^new)^-1 (diag(l_i) e^{m_i - m_i^new} O_i + e^{m~_ij - m_i^new} "
    "P~_ij^dropped V_j) to HBM.",
    "    Write l_i <- l_i^new, m_i <- m_i^new to HBM."};

PseudoCode make_code(bool block_skipping) {
  PseudoCode c;
  c.title = block_skipping ? "FlashAttention forward, block-sparse (FA1 Alg. 5)"
                           : "FlashAttention forward (FA1 Alg. 2)";
  auto& L = c.lines;
  L.push_back(
      "Initialize the pseudo-random number generator state R and save to HBM. "
      "[flashlab: R is the Philox seed of the options; not counted]");
  if (!block_skipping)
    L.push_back(
        "Set block sizes B_c = ceil(M/4d), B_r = min(ceil(M/4d), d). "
        "[flashlab: or as given; the trace header holds them]");
  L.push_back("Initialize O = (0)_{N x d}, l = (0)_N, m = (-inf)_N in HBM.");
  L.push_back(
      "Divide Q into T_r = ceil(N/B_r) blocks Q_1..Q_Tr of size B_r x d each, and "
      "divide K, V into T_c = ceil(N/B_c) blocks K_1..K_Tc and V_1..V_Tc of size B_c x d "
      "each.");
  L.push_back(
      "Divide O into T_r blocks O_1..O_Tr of size B_r x d each, divide l into T_r blocks "
      "l_1..l_Tr of size B_r each, divide m into T_r blocks m_1..m_Tr of size B_r each.");
  L.push_back("for 1 <= j <= T_c do");
  L.push_back("  Load K_j, V_j from HBM to on-chip SRAM.");
  L.push_back("  for 1 <= i <= T_r do");
  if (block_skipping)
    L.push_back(
        "    if M_ij != 0 then [flashlab: M_ij = 0 also when the causal mask hides the "
        "whole block]");
  for (const char* line : kBody) L.push_back(block_skipping ? std::string("  ") + line : line);
  if (block_skipping) L.push_back("    end if");
  L.push_back("  end for");
  L.push_back("end for");
  L.push_back("Return O, l, m, R.");
  return c;
}

}  // namespace

const PseudoCode& flash_forward_code(bool block_skipping) {
  static const PseudoCode alg2 = make_code(false), alg5 = make_code(true);
  return block_skipping ? alg5 : alg2;
}

void flash_forward(Machine& M, const HeadProblem& p) {
  const Lines& ln = p.masked() ? kAlg5 : kAlg2;
  const int64_t N_q = p.seq_q, d = p.head_dim, Tr = p.Tr(), Tc = p.Tc();
  using T = TensorId;

  // FA1 Alg. 2 l. 3 (FA1 Alg. 5 l. 2): O = (0), l = (0), m = (-inf) in HBM, counted as writes.
  M.hbm().define(T::O, N_q, d);
  M.hbm().define(T::l, N_q, 1);
  M.hbm().define(T::m, N_q, 1);
  // FA1 runs one thread block per (batch, head): the whole head is one work unit (FA2 §3.2).
  M.begin_launch("FlashAttention forward (FA1 Alg. 2)");
  M.begin_unit();
  M.at(-1, -1);
  M.hbm_fill(ln.init, "O = (0)_{N x d}", T::O, 0.0f);
  M.hbm_fill(ln.init, "l = (0)_N", T::l, 0.0f);
  M.hbm_fill(ln.init, "m = (-inf)_N", T::m, -INFINITY);

  for (int64_t j = 0; j < Tc; ++j) {  // FA1 Alg. 2 l. 6: outer loop over K/V blocks
    M.at(-1, j);
    const TileRect kv = p.kv_block(j, d);
    // FA1 Alg. 2 l. 7: each K_j, V_j is read from HBM exactly once.
    const Tile K_j = M.load(ln.load_kv, "K_j", T::K, kv);
    const Tile V_j = M.load(ln.load_kv, "V_j", T::V, kv);

    for (int64_t i = 0; i < Tr; ++i) {  // FA1 Alg. 2 l. 8: inner loop over Q blocks
      M.at(i, j);
      const TileRect s = p.s_block(i, j), qo = p.q_block(i, d), lm = p.q_block(i, 1);
      // FA1 Alg. 5 l. 8: a block with no allowed element is neither loaded nor computed.
      const TileVisibility coverage = p.visibility(i, j);
      if (coverage == TileVisibility::None) {
        M.skip(ln.skip, "M_ij = 0: skip block", s);
        continue;
      }
      // FA1 Alg. 2 l. 9: Q_i, O_i, l_i, m_i come from HBM at every (i, j): T_c passes over Q, O.
      const Tile Q_i = M.load(9, "Q_i", T::Q, qo);
      const Tile O_i = M.load(9, "O_i", T::O, qo);
      const Tile l_i = M.load(9, "l_i", T::l, lm);
      const Tile m_i = M.load(9, "m_i", T::m, lm);

      // FA1 Alg. 2 l. 10: S_ij = tau Q_i K_j^T.
      const Tile S_ij = M.alloc(10, "S_ij", T::S, s);
      M.matmul(10, "S_ij = tau Q_i K_j^T", S_ij, Q_i, K_j, {.transpose_b = true, .alpha = p.tau});
      // FA1 Alg. 2 l. 11: only a block the mask cuts needs masking.
      if (coverage == TileVisibility::Partial) M.apply_mask(11, "S_ij = mask(S_ij)", S_ij);

      // FA1 Alg. 2 l. 12: block statistics; P~_ij overwrites S_ij on chip.
      const Tile m_t = M.alloc(12, "m~_ij", T::m, lm);
      const Tile l_t = M.alloc(12, "l~_ij", T::l, lm);
      M.row_max_exp_sum(12,
                        "m~_ij = rowmax(S_ij), P~_ij = exp(S_ij - m~_ij), l~_ij = rowsum(P~_ij)",
                        S_ij, S_ij, m_t, l_t);

      // FA1 Alg. 2 l. 13: the online-softmax merge of §3.1 (core merge()).
      const Tile m_new = M.alloc(13, "m_i^new", T::m, lm);
      const Tile l_new = M.alloc(13, "l_i^new", T::l, lm);
      const Tile alpha = M.alloc(13, "e^{m_i - m_i^new}", T::None, lm);
      const Tile beta = M.alloc(13, "e^{m~_ij - m_i^new}", T::None, lm);
      M.softmax_update(13,
                       "m_i^new = max(m_i, m~_ij), l_i^new = e^{m_i - m_i^new} l_i + "
                       "e^{m~_ij - m_i^new} l~_ij",
                       {m_i, l_i, m_t, l_t, m_new, l_new, alpha, beta});

      // FA1 Alg. 2 l. 14: dropout acts on the P~ V product only; l keeps the undropped sum of
      // FA1 Alg. 2 l. 13.
      if (p.dropout)
        M.apply_dropout(14, "P~_ij^dropped = dropout(P~_ij, p_drop)", S_ij, S_ij,
                        Machine::DropoutMask::Draw);

      // FA1 Alg. 2 l. 15:
      // O_i <- diag(l_new)^-1 (diag(l_i) e^{m_i - m_new} O_i + e^{m~ - m_new} P~ V_j).
      M.scale_rows(15, "O_i <- diag(l_i) O_i", O_i, l_i);
      M.scale_rows(15, "O_i <- diag(e^{m_i - m_i^new}) O_i", O_i, alpha);
      M.scale_rows(15, "P~_ij <- diag(e^{m~_ij - m_i^new}) P~_ij^dropped", S_ij, beta);
      M.matmul(15, "O_i <- O_i + P~_ij^dropped V_j", O_i, S_ij, V_j, {.accumulate = true});
      M.divide_rows(15, "O_i <- diag(l_i^new)^-1 O_i", O_i, l_new);
      M.store(15, O_i, T::O, qo);
      // FA1 Alg. 2 l. 16.
      M.store(16, l_new, T::l, lm);
      M.store(16, m_new, T::m, lm);

      for (const Tile t : {beta, alpha, l_new, m_new, l_t, m_t, S_ij, m_i, l_i, O_i, Q_i})
        M.free(ln.end_i, t);
    }
    M.at(-1, j);
    M.free(ln.end_j, V_j);
    M.free(ln.end_j, K_j);
  }
}

}  // namespace flashlab::simulator
