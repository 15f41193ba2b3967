// Lab 6's grader helpers (sparse_checks.hpp).
#include "sparse_checks.hpp"

#include <cmath>
#include <random>

#include <flashlab/core/tile_visibility.hpp>
#include <flashlab/labs/causal_tiles.hpp>
#include <flashlab/labs/grading.hpp>
#include <flashlab/labs/machine_run.hpp>
#include <flashlab/reference/attention.hpp>

namespace flashlab::labs::lab6::grading {

using namespace flashlab::simulator;
using T = TensorId;

const char* name(Coverage c) {
  return c == Coverage::None ? "None" : c == Coverage::Full ? "Full" : "Partial";
}

std::string rect_str(const TileRect& s) {
  return "rows " + std::to_string(s.row0) + ".." + std::to_string(s.row0 + s.rows - 1) +
         " x cols " + std::to_string(s.col0) + ".." + std::to_string(s.col0 + s.cols - 1);
}

namespace {

// Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false positive) on "(" + string.
std::string at(int64_t r, int64_t c) {
  std::string out = "(";
  out += std::to_string(r);
  out += ", ";
  out += std::to_string(c);
  out += ")";
  return out;
}

// Why score (r, c) is masked: the causal rule, its mask block, or both.
std::string masked_by(const MaskParams& mask, int64_t r, int64_t c) {
  const bool causal = mask.causal && c > r, block = !mask.block.allows(r, c);
  const std::string b = "mask block (" + std::to_string(r / mask.block.block_rows) + ", " +
                        std::to_string(c / mask.block.block_cols) + ") is off";
  return causal && block ? "c > r and " + b : causal ? "c > r" : b;
}

// The wrong causal skip rule whose skips are exactly the student's None tiles, if any.
const SkipRule* matching_rule(const MaskParams& mask, int64_t nq, int64_t nk, int64_t Br,
                              int64_t Bc) {
  for (const SkipRule& rule : wrong_causal_skip_rules()) {
    bool all = true;
    for (int64_t r0 = 0; r0 < nq && all; r0 += Br)
      for (int64_t c0 = 0; c0 < nk && all; c0 += Bc) {
        const TileRect s{r0, std::min(Br, nq - r0), c0, std::min(Bc, nk - c0)};
        const TileRef t{s.row0, s.rows, s.col0, s.cols, Br, Bc};
        all = (classify_tile(mask, s) == Coverage::None) == rule.skips(t);
      }
    if (all) return &rule;
  }
  return nullptr;
}

}  // namespace

Coverage scan(const MaskParams& mask, const TileRect& s, std::string* why) {
  bool any = false, all = true;
  int64_t allowed[2] = {0, 0}, masked[2] = {0, 0};
  for (int64_t r = s.row0; r < s.row0 + s.rows; ++r)
    for (int64_t c = s.col0; c < s.col0 + s.cols; ++c) {
      const bool ok = mask.allows(r, c);
      if (ok && !any) allowed[0] = r, allowed[1] = c;
      if (!ok && all) masked[0] = r, masked[1] = c;
      any = any || ok;
      all = all && ok;
    }
  if (why)
    *why = (any ? "score " + at(allowed[0], allowed[1]) + " is allowed" : "no score is allowed") +
           (all ? " and none is masked"
                : ", score " + at(masked[0], masked[1]) + " is masked (" +
                      masked_by(mask, masked[0], masked[1]) + ")");
  return !any ? Coverage::None : all ? Coverage::Full : Coverage::Partial;
}

std::string check_tiles(const MaskParams& mask, const std::string& what, int64_t nq, int64_t nk,
                        int64_t Br, int64_t Bc) {
  const bool layout = mask.block.layout != nullptr;
  for (int64_t r0 = 0; r0 < nq; r0 += Br)
    for (int64_t c0 = 0; c0 < nk; c0 += Bc) {
      const TileRect s{r0, std::min(Br, nq - r0), c0, std::min(Bc, nk - c0)};
      std::string why;
      const Coverage want = scan(mask, s, &why), got = classify_tile(mask, s);
      if (got == want) continue;
      std::string msg = what + ", tiles of " + std::to_string(Br) + " x " + std::to_string(Bc) +
                        ": tile " + rect_str(s) + " expected " + name(want) + " (" + why +
                        "), got " + name(got) + ".";
      if (layout) {
        const BlockMaskView& b = mask.block;
        msg += " It overlaps the mask blocks (" + std::to_string(s.row0 / b.block_rows) + ".." +
               std::to_string((s.row0 + s.rows - 1) / b.block_rows) + ", " +
               std::to_string(s.col0 / b.block_cols) + ".." +
               std::to_string((s.col0 + s.cols - 1) / b.block_cols) + ") of " +
               std::to_string(b.block_rows) + " x " + std::to_string(b.block_cols) + " scores.";
      }
      if (got == Coverage::None)
        msg +=
            " Skipping it loses an allowed score: a tile is None only when no score of it is "
            "allowed" +
            std::string(!layout
                            ? " (causal: its first column is > its last row)."
                            : " (every mask block it overlaps is off" +
                                  std::string(mask.causal ? ", or above the diagonal)." : ")."));
      else if (want == Coverage::None)
        msg += " The mask hides it entirely: classify it None, so that it is skipped.";
      else if (got == Coverage::Full)
        msg += " Calling it Full skips the mask step and lets masked scores in: " +
               std::string(why.find("is off") != std::string::npos
                               ? "a tile is Full only when every mask block it overlaps is on"
                               : "a causal tile is Full only when its last column is <= its "
                                 "first row") +
               ".";
      else
        msg += " Every score of it is allowed: Partial costs a needless mask pass.";
      if (got == Coverage::None && !layout && mask.causal)
        if (const SkipRule* rule = matching_rule(mask, nq, nk, Br, Bc))
          msg += " Your None tiles are exactly " + explain(*rule);
      return msg;
    }
  return "";
}

MaskParams params_of(const AttentionOptions& o, const AttentionShape& s) {
  return make_params(o, s).mask;
}

Run run_student(const AttentionShape& shape, const AttentionOptions& opt, TileSizes tiles,
                const std::vector<Tensor<float>>* qkv) {
  MachineConfig mc;
  mc.sram_bytes = 192 * 1024;
  mc.element_bytes = kBytes;
  mc.params = make_params(opt, shape);
  const MachineRun m = run_on_machine(mc, shape, tiles, qkv, "your sparse_forward_on_machine",
                                      &sparse_forward_on_machine);
  Run r{m.error, m.stats, m.O, m.l, m.m, 0};
  for (const Event& e : m.trace.events)
    r.mask_passes += e.kind == EventKind::Compute && e.line == 11 && e.tensor == T::S;
  return r;
}

std::string check_forward(const AttentionShape& s, const AttentionOptions& opt, TileSizes tiles,
                          const std::string& what, uint64_t seed) {
  const auto qkv = random_qkv(seed, s);
  const Run r = run_student(s, opt, tiles, &qkv);
  if (!r.error.empty()) return what + ": the machine refused a step: " + r.error;
  if (r.O.empty()) return what + ": O, l and m are not in HBM after the run";
  const std::vector<Tensor<double>> in = to_double(qkv);
  const auto ref = reference::attention_forward(s, opt, in[0], in[1], in[2]);
  const int64_t d = s.head_dim;
  const MaskParams mask = params_of(opt, s);
  auto classified_right = [&] {
    return check_tiles(mask, "", s.seq_q, s.seq_k, tiles.block_rows, tiles.block_cols).empty();
  };
  if (const auto k = first_mismatch(ref.O.data, r.O, 1e-4, 1e-4))
    return what + ": O[" + std::to_string(*k / size_t(d)) + "][" + std::to_string(*k % size_t(d)) +
           "] expected " + fmt(ref.O.data[*k]) + ", got " + fmt(r.O[*k]) +
           (classified_right() ? ". Your classify_tile is right on every tile here, so the loop "
                                 "is wrong: skip None tiles, process_block(..., true) for "
                                 "Partial, process_block(..., false) for Full."
                               : ". Your classify_tile is wrong on some tile here (see the "
                                 "classification tests).");
  const double tau = softmax_scale(opt, s);
  for (int64_t row = 0; row < s.seq_q; ++row) {
    auto score = [&](int64_t c) {
      double dot = 0;
      for (int64_t e = 0; e < d; ++e)
        dot += in[0].data[size_t(row * d + e)] * in[1].data[size_t(c * d + e)];
      return tau * dot;
    };
    double m = -INFINITY, l = 0;
    for (int64_t c = 0; c < s.seq_k; ++c)
      if (mask.allows(row, c)) m = std::max(m, score(c));
    for (int64_t c = 0; c < s.seq_k; ++c)
      if (mask.allows(row, c)) l += std::exp(score(c) - m);
    const float gm = r.m[size_t(row)], gl = r.l[size_t(row)];
    const bool m_ok =
        m == -INFINITY ? gm == -INFINITY : std::abs(gm - m) <= 1e-4 * (1 + std::abs(m));
    if (!m_ok || std::abs(gl - l) > 1e-4 * l)
      return what + ": row " + std::to_string(row) + " expected m = " + fmt(m) +
             " and l = " + fmt(l) + " (the statistics of its allowed scores), got m = " + fmt(gm) +
             " and l = " + fmt(gl);
  }
  return "";
}

Active active_tiles(const MaskParams& mask, int64_t nq, int64_t nk, int64_t Br, int64_t Bc) {
  Active a;
  for (int64_t r0 = 0; r0 < nq; r0 += Br)
    for (int64_t c0 = 0; c0 < nk; c0 += Bc) {
      // Core's rule (tests/core checks it against a scan), the one the simulator and the kernels
      // follow: the IO the student must match is what that rule leaves.
      const TileRect s{r0, std::min(Br, nq - r0), c0, std::min(Bc, nk - c0)};
      const TileVisibility v = tile_visibility(mask, s.row0, s.rows, s.col0, s.cols);
      if (v == TileVisibility::None) continue;
      ++a.tiles;
      a.partial += v == TileVisibility::Partial;
      a.rows += s.rows;
      a.area += s.rows * s.cols;
    }
  return a;
}

std::string check_skipping(const Run& r, const MaskParams& mask, const AttentionShape& s,
                           TileSizes tiles, const std::string& what) {
  if (!r.error.empty()) return what + ": the run stopped: " + r.error;
  const int64_t Br = tiles.block_rows, Bc = tiles.block_cols, d = s.head_dim;
  const Active a = active_tiles(mask, s.seq_q, s.seq_k, Br, Bc);
  const int64_t all = ceil_div(s.seq_q, Br) * ceil_div(s.seq_k, Bc);
  const int64_t q_bytes = a.rows * d * kBytes, flops = 4 * a.area * d;
  const int64_t every_tile_q_bytes = ceil_div(s.seq_k, Bc) * s.seq_q * d * kBytes;
  const std::string kept = std::to_string(a.tiles) + " of " + std::to_string(all) + " tiles";
  const std::string none_computed =
      r.stats[T::Q].bytes_read >= every_tile_q_bytes
          ? " Q_i was loaded for every tile: tiles the mask hides entirely were computed and "
            "masked instead of skipped (FA1 Alg. 5 l. 8: if M_ij != 0)."
          : " Tiles that the mask hides entirely were loaded: skip them before process_block "
            "(FA1 Alg. 5 l. 8: if M_ij != 0), so they are neither loaded nor computed.";
  if (r.stats[T::Q].bytes_read > q_bytes)
    return what + ": Q was read " + std::to_string(r.stats[T::Q].bytes_read) + " bytes; the " +
           kept + " that the mask leaves need " + std::to_string(q_bytes) + "." + none_computed;
  if (r.stats.matmul_flops > flops)
    return what + ": " + std::to_string(r.stats.matmul_flops) + " matmul FLOPs; the " + kept +
           " that the mask leaves need " + std::to_string(flops) +
           " (4 rows cols d each): tiles the mask hides entirely were computed.";
  if (r.mask_passes > a.partial)
    return what + ": the mask was applied to " + std::to_string(r.mask_passes) +
           " tiles; only the " + std::to_string(a.partial) +
           " Partial ones have a masked score. Pass apply_mask = true for Partial tiles only: "
           "a Full tile's mask pass changes nothing and costs a pass over S_ij.";
  const int64_t bound =
      kBytes * (2 * s.seq_k * d + s.seq_q * d + 2 * s.seq_q + a.rows * (3 * d + 4));
  if (r.stats.total_bytes() > bound)
    return what + ": " + std::to_string(r.stats.total_bytes()) + " bytes moved; FA1 Alg. 5 moves " +
           "at most " + std::to_string(bound) +
           " (K and V once, Q_i, O_i, l_i, m_i once per computed tile). The per-tensor bytes: "
           "K " +
           std::to_string(r.stats[T::K].bytes_read) + ", V " +
           std::to_string(r.stats[T::V].bytes_read) + ", O " +
           std::to_string(r.stats[T::O].bytes_read + r.stats[T::O].bytes_written) + ".";
  return "";
}

SimForward simulator_run(Algorithm alg, bool causal) {
  SimConfig c;
  c.algorithm = alg;
  c.shape = {1, 1, 1024, 1024, 64};
  c.options.causal = causal;
  c.tiles = TileSizes{64, 64};
  c.counting_only = true;
  return simulate_forward(c, nullptr, nullptr, nullptr);
}

}  // namespace flashlab::labs::lab6::grading
