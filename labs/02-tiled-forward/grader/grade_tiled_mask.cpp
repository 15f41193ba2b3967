// Grader of lab 2 (README.md), part 2: the causal mask, the tiles it skips (on tilings where
// B_r != B_c, N is a multiple of neither block and a key block starts at a tile's last row),
// the stored m and l under the mask, and rows whose scores are all negative. A hint names a
// mistake only when the student's output equals what that mistake gives.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <flashlab/labs/causal_tiles.hpp>
#include <flashlab/labs/grading.hpp>

#include "forward_checks.hpp"
#include "tiled_forward.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab2;
using namespace flashlab::labs::lab2::grading;

bool matches(const Problem& p, const Allowed& allowed, const Matrix& O) {
  return compare_O(p, reference_O(p, allowed), O).empty();
}

// Sentences for a wrong causal O, each only when O equals what that mistake gives.
std::string causal_hint(const Problem& p, const Matrix& O) {
  const Index shift = p.K.rows() - p.Q.rows();
  if (matches(
          p, [](Index, Index) { return true; }, O))
    return ". Your O is the unmasked attention: the causal mask was not applied.";
  if (shift != 0 && matches(
                        p, [shift](Index r, Index c) { return c <= r + shift; }, O))
    return ". Your O is what bottom-right alignment gives (row r sees c <= r + N_k - N_q, as "
           "FlashAttention 2.1+ does). flashlab aligns top-left, like PyTorch's is_causal: "
           "row r sees the keys c <= r whatever N_q and N_k.";
  if (matches(
          p, [](Index r, Index c) { return c <= r + 1; }, O))
    return ". Your O is what letting row r see key r + 1 gives: the rule is c <= r.";
  // Masking the diagonal leaves row 0 without keys: its O is 0 (or NaN without a guard).
  Matrix rest = O;
  rest.row(0).setZero();
  if ((O.row(0).isZero() || !O.row(0).allFinite()) &&
      matches(
          p, [](Index r, Index c) { return c < r; }, rest))
    return ". Your result is what masking the diagonal too gives (row 0 then sees no key): the "
           "rule is c <= r, the diagonal included, so row 0 sees key 0 and O_0 = V_0.";
  return "";
}

std::string check_causal(const Problem& p) {
  const ForwardOutput out = tiled_forward(p.Q, p.K, p.V, p.cfg);
  if (std::string why = compare_O(p, reference_O(p), out.O); !why.empty())
    return why + causal_hint(p, out.O);
  return compare_stats(p, out);
}

// Rows of three kinds in turn: scores near -150 (e^{-150} is 0 in float), near -3, and near +2;
// keys K_c = (1, a_c, 0, 0) with a_c in [-1, 1], scale 1.
Problem negative_rows_problem(bool causal) {
  std::mt19937 rng(12);
  std::uniform_real_distribution<float> a(-1.0f, 1.0f);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const Index nq = 15, nk = 22, d = 4;
  Problem p{Matrix::Zero(nq, d),
            Matrix::Zero(nk, d),
            Matrix::NullaryExpr(nk, d, [&] { return normal(rng); }),
            {5, 4, 1.0f, causal}};
  const float level[] = {-150.0f, -3.0f, 2.0f};
  for (Index r = 0; r < nq; ++r) p.Q.row(r) << level[r % 3], 2.0f, 0.0f, 0.0f;
  for (Index c = 0; c < nk; ++c) p.K.row(c) << 1.0f, a(rng), 0.0f, 0.0f;
  return p;
}

}  // namespace

FLASHLAB_LAB_TEST("causal mask is top-left and includes the diagonal", 5) {
  FLASHLAB_LAB_REQUIRE_OK(check_causal(random_problem(6, 32, 32, 8, 8, 8, true)));
}

FLASHLAB_LAB_TEST("causal tiles are skipped by the right rule on unfriendly tilings", 15) {
  uint64_t seed = 20;
  for (const CausalTiling& t : unfriendly_causal_tilings()) {
    const Problem p = random_problem(seed++, t.nq, t.nk, 8, t.Br, t.Bc, true);
    const ForwardOutput out = tiled_forward(p.Q, p.K, p.V, p.cfg);
    std::string why = compare_O(p, reference_O(p), out.O);
    if (why.empty()) why = compare_stats(p, out);
    if (why.empty()) continue;
    std::string hint = causal_hint(p, out.O);
    for (const SkipRule& rule : wrong_causal_skip_rules())
      if (hint.empty() &&
          matches(
              p, [&](Index r, Index c) { return c <= r && !in_skipped_tile(rule.skips, t, r, c); },
              out.O))
        hint = ". Your O is " + explain(rule);
    FLASHLAB_LAB_FAIL(std::string(t.what) + ": " + why + hint);
  }
}

FLASHLAB_LAB_TEST("stored m and l are the statistics of the allowed scores under a causal mask",
                  10) {
  const Problem p = random_problem(9, 30, 26, 8, 6, 4, true);
  const ForwardOutput out = tiled_forward(p.Q, p.K, p.V, p.cfg);
  FLASHLAB_LAB_REQUIRE_OK(compare_O(p, reference_O(p), out.O) + causal_hint(p, out.O));
  const std::string why = compare_stats(p, out);
  if (why.empty()) return;
  bool before_mask = true;
  for (Index r = 0; r < p.Q.rows() && before_mask; ++r) {
    const double m = unmasked_tile_max(p, r);
    before_mask = std::abs(out.m(r) - m) <= 1e-4 * (1 + std::abs(m));
  }
  FLASHLAB_LAB_FAIL(why + (before_mask
                               ? ". Your m is each row's max over the tiles it computes, masked "
                                 "scores included: m~_ij was taken before the mask. O and "
                                 "m + log l come out right anyway (softmax ignores a shift), but "
                                 "the m and l that the backward reads do not: mask S_ij first "
                                 "(FA1 Alg. 2), then take its row max."
                               : ""));
}

FLASHLAB_LAB_TEST("rows whose scores are all negative: near -3 and near -150", 5) {
  for (bool causal : {false, true}) {
    const Problem p = negative_rows_problem(causal);
    const ForwardOutput out = tiled_forward(p.Q, p.K, p.V, p.cfg);
    std::string why = compare_O(p, reference_O(p), out.O);
    if (why.empty()) why = compare_stats(p, out);
    if (why.empty()) continue;
    const bool m_zero = out.m.size() == p.Q.rows() && out.m(1) == 0.0f;  // row 1: scores near -3
    FLASHLAB_LAB_FAIL(
        "Q_r = (-150, 2, 0, 0), (-3, 2, 0, 0), (2, 2, 0, 0) in turn, K_c = (1, a_c, 0, 0) with "
        "a_c in [-1, 1], scale 1: " +
        why +
        (m_zero ? ". Row 1's scores are all near -3 and your m is 0: m starts at -inf (FA1 "
                  "FA1 Alg. 1 l. 2), not 0; near -150, e^{S - 0} is 0 in float."
                : ""));
  }
}

FLASHLAB_LAB_TEST("causal with seq_q != seq_k is aligned top-left", 5) {
  FLASHLAB_LAB_REQUIRE_OK(check_causal(random_problem(7, 20, 33, 8, 6, 7, true)));
  FLASHLAB_LAB_REQUIRE_OK(check_causal(random_problem(8, 33, 20, 8, 7, 6, true)));
}

FLASHLAB_LAB_TEST("causal tiles above the diagonal give no NaN", 5) {
  const Problem p = random_problem(8, 16, 16, 4, 4, 4, true);
  const ForwardOutput out = tiled_forward(p.Q, p.K, p.V, p.cfg);
  if (!out.O.allFinite())
    FLASHLAB_LAB_FAIL("with " + p.describe() +
                      " O has NaN or inf. A tile with every score "
                      "masked has m~ = -inf, and e^{S - m~} = e^{-inf - (-inf)} = NaN: skip "
                      "tiles entirely above the diagonal (c0 > last row of the tile), and guard "
                      "rows whose scores in the tile are all -inf.");
  FLASHLAB_LAB_REQUIRE_OK(compare_O(p, reference_O(p), out.O));
}

FLASHLAB_LAB_TEST("tiles above the diagonal are skipped and not computed", 5) {
  // Keys 20..39 form whole key blocks (B_c = 5) that no query row (0..19) may see: every tile
  // of theirs is above the diagonal. Filled with NaN, they reach O only if such a tile is
  // computed (P~ V_j = 0 NaN = NaN).
  Problem p = random_problem(10, 20, 40, 8, 4, 5, true);
  FLASHLAB_LAB_REQUIRE_OK(check_forward(p));
  const std::vector<double> expected = reference_O(p);
  p.K.bottomRows(20).setConstant(NAN);
  p.V.bottomRows(20).setConstant(NAN);
  const ForwardOutput out = tiled_forward(p.Q, p.K, p.V, p.cfg);
  if (const std::string why = compare_O(p, expected, out.O); !why.empty())
    FLASHLAB_LAB_FAIL(
        "with K and V rows 20..39 set to NaN: " + why +
        ". No query row sees those keys, so every tile of theirs is above the diagonal; your O "
        "changed, so such tiles were computed. Skip a tile (i, j) when c0 > r0 + rows - 1, "
        "before computing S_ij: that is where causal attention's ~2x saving comes from.");
}
