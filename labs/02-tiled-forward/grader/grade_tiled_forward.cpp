// Grader of lab 2 (README.md), part 1: the tiled forward of FA1 Alg. 1 without a mask
// against the float64 reference: one tile, many tiles, ragged tiles, rising row maxima, the row
// statistics, and the answers. A hint names a mistake only when a twin input shows it.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/core/tile_visibility.hpp>
#include <flashlab/core/tiling.hpp>
#include <flashlab/labs/grading.hpp>

#include "forward_checks.hpp"
#include "tiled_forward.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab2;
using namespace flashlab::labs::lab2::grading;

}  // namespace

FLASHLAB_LAB_TEST("one tile covering the whole problem gives softmax(QK^T)V", 5) {
  FLASHLAB_LAB_REQUIRE_OK(check_forward(random_problem(1, 8, 8, 4, 16, 16, false)));
}

FLASHLAB_LAB_TEST("square tiles that divide N", 5) {
  const std::string why = check_forward(random_problem(2, 64, 64, 16, 16, 16, false));
  if (!why.empty())
    FLASHLAB_LAB_FAIL(why +
                      (check_forward(random_problem(1, 8, 8, 4, 16, 16, false)).empty()
                           ? ". One tile is right, so the combination of tiles is wrong: "
                             "FA1 Alg. 1 l. 11–13."
                           : ". One tile is wrong too (the first test): FA1 Alg. 1 l. 9–10."));
}

FLASHLAB_LAB_TEST("ragged tiles with seq_q != seq_k", 5) {
  const std::string why = check_forward(random_problem(3, 37, 29, 8, 8, 5, false));
  if (why.empty()) return;
  const bool whole_blocks_ok = check_forward(random_problem(3, 32, 25, 8, 8, 5, false)).empty();
  FLASHLAB_LAB_FAIL(why + (whole_blocks_ok
                               ? ". With N_q = 32 and N_k = 25 (whole blocks) it is right, so the "
                                 "last, shorter blocks go wrong: they have N - (T - 1) B rows, "
                                 "not B (T_r = ceil(N_q / B_r), T_c = ceil(N_k / B_c))."
                               : ""));
}

FLASHLAB_LAB_TEST("O is rescaled when a later K block raises the row max", 10) {
  // Scores grow with the key index, so every K block raises every row's max. The same keys in
  // reverse order (with their values) give the same attention, the max found in block 1.
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> uni(0.5f, 1.5f), noise(-0.05f, 0.05f);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const Index n = 48, d = 8;
  Problem rising{Matrix::NullaryExpr(n, d, [&] { return uni(rng); }),
                 Matrix(n, d),
                 Matrix::NullaryExpr(n, d, [&] { return normal(rng); }),
                 {8, 8, 1.0f, false}};
  for (Index c = 0; c < n; ++c)
    for (Index e = 0; e < d; ++e) rising.K(c, e) = 0.08f * float(c) + noise(rng);
  Problem falling = rising;
  falling.K = rising.K.colwise().reverse();
  falling.V = rising.V.colwise().reverse();
  const std::string why = check_forward(rising);
  if (why.empty()) return;
  FLASHLAB_LAB_FAIL(
      "scores rising with the key index: " + why +
      (check_forward(falling).empty()
           ? ". The same keys in falling order (max in the first block) give the right O, so O_i "
             "was not rescaled by e^{m_i - m_i^new} when a later block raised the row max "
             "(FA1 Alg. 1 l. 12: diag(l_i) e^{m_i - m_i^new} O_i)."
           : ""));
}

namespace {

// l of row r after FA1 Alg. 1 l. 11 over the row's key blocks, in float64, with the old l
// rescaled `old_factors` times (1 is right) and l~ rescaled or not.
double l_after_blocks(const Problem& p, Index r, int old_factors, bool rescale_tilde) {
  double m = -INFINITY, l = 0;
  for (Index c0 = 0; c0 < p.K.rows(); c0 += p.cfg.Bc) {
    double m_t = -INFINITY, l_t = 0;
    const Index c1 = std::min(c0 + p.cfg.Bc, p.K.rows());
    auto s = [&](Index c) {
      return double(p.cfg.scale) * p.Q.row(r).cast<double>().dot(p.K.row(c).cast<double>());
    };
    for (Index c = c0; c < c1; ++c) m_t = std::max(m_t, s(c));
    for (Index c = c0; c < c1; ++c) l_t += std::exp(s(c) - m_t);
    const double m_new = std::max(m, m_t), alpha = l == 0 ? 0 : std::exp(m - m_new);
    l = std::pow(alpha, old_factors) * l + (rescale_tilde ? std::exp(m_t - m_new) : 1.0) * l_t;
    m = m_new;
  }
  return l;
}

}  // namespace

FLASHLAB_LAB_TEST("l and m are the softmax statistics of each row", 5) {
  Problem p = random_problem(5, 40, 40, 8, 8, 8, false);
  p.K += Vector::LinSpaced(40, 0.0f, 3.0f).replicate(1, 8);  // rising maxima
  const ForwardOutput out = tiled_forward(p.Q, p.K, p.V, p.cfg);
  const std::string why = compare_stats(p, out);
  if (why.empty()) return;
  std::string hint;
  auto explains = [&](int old_factors, bool rescale_tilde) {
    for (Index r = 0; r < p.Q.rows(); ++r) {
      const double l = l_after_blocks(p, r, old_factors, rescale_tilde);
      if (std::abs(out.l(r) - l) > 1e-4 * l) return false;
    }
    return true;
  };
  if (explains(2, true))
    hint =
        ". Your l is what rescaling the old l_i by e^{m_i - m_i^new} twice gives: it was "
        "rescaled more than once (e.g. in place and again in the sum).";
  else if (explains(0, true))
    hint =
        ". Your l is what adding the old l_i without the factor e^{m_i - m_i^new} gives: "
        "it was not rescaled to the new max.";
  else if (explains(1, false))
    hint = ". Your l is what adding l~_ij without the factor e^{m~_ij - m_i^new} gives.";
  FLASHLAB_LAB_FAIL("keys rising along the row (each block raises the max): " + why + hint +
                    (hint.empty() ? ""
                                  : " FA1 Alg. 1 l. 11: l_i^new = e^{m_i - m_i^new} l_i + "
                                    "e^{m~_ij - m_i^new} l~_ij."));
}

FLASHLAB_LAB_TEST("answers: the paper's block sizes for M = 100 KiB", 5) {
  const flashlab::TileSizes t = flashlab::paper_tiling(100 * 1024 / 2, 64);
  const std::string how = "Question 1: M counts elements (100 KiB / 2 bytes), B_c = ceil(M / 4d).";
  FLASHLAB_LAB_REQUIRE_OK(check_answers({
      {"paper_Bc", double(t.block_cols), 0.0, how},
      {"paper_Br", double(t.block_rows), 0.0, how},
      {"paper_Tr", double(flashlab::ceil_div(1024, t.block_rows)), 0.0, how},
      {"paper_Tc", double(flashlab::ceil_div(1024, t.block_cols)), 0.0, how},
  }));
}

FLASHLAB_LAB_TEST("answers: tiles computed by a causal forward", 5) {
  flashlab::MaskParams causal;
  causal.causal = true;
  double on = 0;  // tiles of 64 x 64 over N = 1024 that a causal forward computes
  for (int64_t row0 = 0; row0 < 1024; row0 += 64)
    for (int64_t col0 = 0; col0 < 1024; col0 += 64)
      on += flashlab::tile_visibility(causal, row0, int64_t{64}, col0, int64_t{64}) !=
            flashlab::TileVisibility::None;
  FLASHLAB_LAB_REQUIRE_OK(check_answer(
      "causal_tiles", on, 0.0,
      "Question 2: count the tiles (i, j) of a 16 x 16 grid with at least one score c <= r."));
}
