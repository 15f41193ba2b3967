// Closed-form traffic of each algorithm, derived from its loops (docs/simulator.md), in elements
// per (batch, head), then scaled by heads and element size.
#include <flashlab/simulator/model/io_formulas.hpp>

#include <cmath>

#include <flashlab/simulator/algorithms/problem.hpp>

namespace flashlab::simulator {
namespace {
using T = TensorId;

struct Builder {
  IoFormula f;
  int64_t heads = 1;
  int element_bytes = 2;
  // `bytes` > 0: the tensor's own element size (FA2's fp32 dQ accumulator).
  void add(TensorId t, std::string reads, int64_t r, std::string writes, int64_t w, int bytes = 0) {
    if (r == 0 && w == 0) return;
    f.tensors.push_back({t, std::move(reads), std::move(writes), r * heads, w * heads});
    f.bytes_read += r * heads * (bytes > 0 ? bytes : element_bytes);
    f.bytes_written += w * heads * (bytes > 0 ? bytes : element_bytes);
  }
};

// Sums over the blocks (i, j) that the mask leaves active: rows of Q in them (the Q/O traffic of
// FA1 Alg. 2 and FA1 Alg. 4) and columns (the K/V traffic of FA2).
struct ActiveBlocks {
  int64_t count = 0, rows = 0, cols = 0;
};

ActiveBlocks active_blocks(const HeadProblem& p) {
  ActiveBlocks a;
  for (int64_t i = 0; i < p.Tr(); ++i)
    for (int64_t j = 0; j < p.Tc(); ++j) {
      const TileRect s = p.s_block(i, j);
      if (p.visibility(i, j) == TileVisibility::None) continue;
      ++a.count;
      a.rows += s.rows;
      a.cols += s.cols;
    }
  return a;
}

}  // namespace

IoFormula io_formula(const SimConfig& c, bool backward) {
  SimConfig tiling = c;
  tiling.backward = backward || c.backward;
  const TileSizes tiles = c.algorithm == Algorithm::Flash2 && backward
                              ? resolve_backward_tiles(tiling)
                              : resolve_tiles(tiling);
  const AttentionParams params = make_params(c.options, c.shape);
  const HeadProblem p = make_head_problem(c.shape, params, tiles);
  const int64_t Nq = p.seq_q, Nk = p.seq_k, d = p.head_dim, Tr = p.Tr(), Tc = p.Tc();
  const int64_t NN = Nq * Nk;
  Builder b;
  b.heads = c.shape.batch * c.shape.heads;
  b.element_bytes = c.element_bytes;
  const double M = double(c.sram_bytes) / c.element_bytes;
  b.f.notes = "per (batch, head), in elements; N_q=" + std::to_string(Nq) +
              ", N_k=" + std::to_string(Nk) + ", d=" + std::to_string(d) +
              ", B_r=" + std::to_string(p.Br) + ", B_c=" + std::to_string(p.Bc) +
              ", T_r=" + std::to_string(Tr) + ", T_c=" + std::to_string(Tc) +
              ", M=" + std::to_string(int64_t(M)) + " elements";

  if (c.algorithm == Algorithm::Standard) {
    const int64_t capacity = c.sram_bytes / c.element_bytes;
    const bool masked = p.masked(), dropout = p.dropout;
    b.f.theta = "Theta(N d + N^2)";
    b.f.theta_elements = double(b.heads) * (double(Nq + Nk) * double(d) + double(NN));
    if (!backward) {
      const int64_t s_reads = (masked ? 1 : 0) + (Nk + 2 <= capacity ? 1 : 2);
      b.add(T::Q, "N_q d", Nq * d, "", 0);
      b.add(T::K, "T_r N_k d", Tr * Nk * d, "", 0);
      b.add(T::V, "T_r N_k d", Tr * Nk * d, "", 0);
      b.add(T::S, std::to_string(s_reads) + " N_q N_k", s_reads * NN,
            masked ? "2 N_q N_k" : "N_q N_k", (masked ? 2 : 1) * NN);
      b.add(T::P, "N_q N_k", NN, "N_q N_k", NN);
      if (dropout) b.add(T::P_dropped, "N_q N_k", NN, "N_q N_k", NN);
      b.add(T::O, "", 0, "N_q d", Nq * d);
      b.f.notes += std::string("; S read ") + (Nk + 2 <= capacity ? "once" : "twice") +
                   " by the softmax (a row of S " + (Nk + 2 <= capacity ? "fits" : "does not fit") +
                   " the SRAM)";
    } else {
      // FA1 Alg. 3 l. 3 reads P, dP once, or twice when a row does not fit.
      const int64_t rt = 2 * Nk + 1 <= capacity ? 1 : 2;
      b.add(T::P, std::to_string(rt) + " N_q N_k" + (dropout ? "" : " + N_q N_k"),
            rt * NN + (dropout ? 0 : NN), "", 0);
      if (dropout) b.add(T::P_dropped, "N_q N_k", NN, "", 0);
      b.add(T::dO, "T_c N_q d + N_q d", Tc * Nq * d + Nq * d, "", 0);
      b.add(T::V, "T_r N_k d", Tr * Nk * d, "", 0);
      b.add(T::dP, std::string(dropout ? "N_q N_k + " : "") + std::to_string(rt) + " N_q N_k",
            (dropout ? NN : 0) + rt * NN, dropout ? "2 N_q N_k" : "N_q N_k",
            (dropout ? 2 : 1) * NN);
      b.add(T::dS, "2 N_q N_k", 2 * NN, "N_q N_k", NN);
      b.add(T::K, "T_r N_k d", Tr * Nk * d, "", 0);
      b.add(T::Q, "T_c N_q d", Tc * Nq * d, "", 0);
      b.add(T::dQ, "", 0, "N_q d", Nq * d);
      b.add(T::dK, "", 0, "N_k d", Nk * d);
      b.add(T::dV, "", 0, "N_k d", Nk * d);
    }
    return b.f;
  }

  const ActiveBlocks a = active_blocks(p);
  const bool dense = a.count == Tr * Tc;
  const double s = double(a.count) / double(Tr * Tc);
  b.f.notes += "; active blocks " + std::to_string(a.count) + " of " + std::to_string(Tr * Tc) +
               " (R = sum of their rows = " + std::to_string(a.rows) +
               ", C = sum of their columns = " + std::to_string(a.cols) + ")";
  const std::string R = dense ? "T_c N_q" : "R", C = dense ? "T_r N_k" : "C";
  const double theta_dense = double(Nq) * double(Nk) * double(d) * double(d) / M;
  b.f.theta = dense ? "Theta(N^2 d^2 / M)" : "Theta(N d + N^2 d^2 s / M)";
  b.f.theta_elements =
      double(b.heads) * (dense ? theta_dense : double(Nq + Nk) * double(d) + theta_dense * s);
  if (c.algorithm == Algorithm::Flash2 && backward) {
    // FA2 Alg. 2: memset of dQ_acc (fp32); D from dO and O; the main loop streams Q, dO, L, D
    // past each K_j, V_j and adds into dQ_acc; the last launch converts dQ_acc to dQ.
    b.f.theta = dense ? "Theta(N d T_c) = Theta(N^2 d / B_c)" : "Theta(N d + N d T_c s)";
    b.f.theta_elements =
        double(b.heads) * double(Nq + Nk) * double(d) * double(Tc) * (dense ? 1.0 : s);
    b.add(T::K, "N_k d", Nk * d, "", 0);
    b.add(T::V, "N_k d", Nk * d, "", 0);
    b.add(T::Q, R + " d", a.rows * d, "", 0);
    b.add(T::dO, "N_q d + " + R + " d", Nq * d + a.rows * d, "", 0);
    b.add(T::O, "N_q d", Nq * d, "", 0);
    b.add(T::L, R, a.rows, "", 0);
    b.add(T::D, R, a.rows, "N_q", Nq);
    b.add(T::dQ_acc, "N_q d (fp32)", Nq * d, "N_q d + " + R + " d (fp32)", Nq * d + a.rows * d, 4);
    b.add(T::dQ, "", 0, "N_q d", Nq * d);
    b.add(T::dK, "", 0, "N_k d", Nk * d);
    b.add(T::dV, "", 0, "N_k d", Nk * d);
    return b.f;
  }
  if (c.algorithm == Algorithm::Flash2) {
    b.f.theta = dense ? "Theta(N d T_r) = Theta(N^2 d / B_r)" : "Theta(N d + N d T_r s)";
    b.f.theta_elements =
        double(b.heads) * double(Nq + Nk) * double(d) * double(Tr) * (dense ? 1.0 : s);
    b.add(T::Q, "N_q d", Nq * d, "", 0);
    b.add(T::K, C + " d", a.cols * d, "", 0);
    b.add(T::V, C + " d", a.cols * d, "", 0);
    b.add(T::O, "", 0, "N_q d", Nq * d);
    b.add(T::L, "", 0, "N_q", Nq);
    return b.f;
  }
  if (!backward) {
    b.add(T::K, "N_k d", Nk * d, "", 0);
    b.add(T::V, "N_k d", Nk * d, "", 0);
    b.add(T::Q, R + " d", a.rows * d, "", 0);
    b.add(T::O, R + " d", a.rows * d, "N_q d + " + R + " d", Nq * d + a.rows * d);
    b.add(T::l, R, a.rows, "N_q + " + R, Nq + a.rows);
    b.add(T::m, R, a.rows, "N_q + " + R, Nq + a.rows);
    return b.f;
  }
  b.add(T::K, "N_k d", Nk * d, "", 0);
  b.add(T::V, "N_k d", Nk * d, "", 0);
  for (TensorId t : {T::Q, T::O, T::dO}) b.add(t, R + " d", a.rows * d, "", 0);
  b.add(T::dQ, R + " d", a.rows * d, "N_q d + " + R + " d", Nq * d + a.rows * d);
  b.add(T::l, R, a.rows, "", 0);
  b.add(T::m, R, a.rows, "", 0);
  b.add(T::dK, "", 0, "2 N_k d", 2 * Nk * d);
  b.add(T::dV, "", 0, "2 N_k d", 2 * Nk * d);
  return b.f;
}

}  // namespace flashlab::simulator
