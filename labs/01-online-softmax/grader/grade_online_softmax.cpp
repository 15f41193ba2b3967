// Grader of lab 1 (README.md), part 1: stable softmax, the (m, l) state and its merge (paper
// §3.1), and the answers. Expected values come from plain float64 formulas (row_checks.hpp); a
// hint names a mistake only when a probe of the student's own functions shows it.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <flashlab/labs/grading.hpp>

#include "online_softmax.hpp"
#include "row_checks.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab1;
using namespace flashlab::labs::lab1::grading;

}  // namespace

FLASHLAB_LAB_TEST("stable softmax matches a float64 softmax on random rows", 5) {
  std::mt19937 rng(101);
  for (size_t n : {1, 2, 7, 33, 100}) {
    const Row x = random_row(rng, n, 3.0f);
    FLASHLAB_LAB_REQUIRE_OK(compare("stable_softmax", x, softmax64(x), stable_softmax(x)));
  }
}

FLASHLAB_LAB_TEST("stable softmax survives scores near 1000 and -1000", 5) {
  auto finite = [](const Row& x) {
    for (float p : stable_softmax(x))
      if (!std::isfinite(p)) return false;
    return true;
  };
  for (const Row& x : {Row{1000, 999, 998}, Row{-1000, -1001, -1002}, Row{89, 0}, Row{-500, 500}}) {
    std::string why = compare("stable_softmax", x, softmax64(x), stable_softmax(x));
    if (why.empty()) continue;
    const bool high_ok = finite({1000, 999, 998}), low_ok = finite({-1000, -1001, -1002});
    if (!high_ok)
      why +=
          ". NaN or inf for scores near 1000: float's e^x overflows above x = 88.7. Subtract "
          "the row max m = max_i x_i before exp (paper §3.1: softmax(x) = f(x) / l(x) with "
          "f(x)_i = e^{x_i - m(x)}); then every exponent is <= 0 and the largest term is 1.";
    else if (!low_ok)
      why +=
          ". Finite near +1000 but not when every score is near -1000: there e^{x - m} "
          "underflows to 0 unless m is the row's own max (-1000 here): did m start at 0 "
          "instead of -inf?";
    FLASHLAB_LAB_FAIL(why);
  }
}

FLASHLAB_LAB_TEST("stable softmax of a fully masked row is zeros and not NaN", 5) {
  for (const Row& x : {Row{-kInf, -kInf, -kInf}, Row{-kInf, 0.5f, -kInf}}) {
    const Row got = stable_softmax(x);
    std::string why = compare("stable_softmax", x, softmax64(x), got);
    if (why.empty()) continue;
    bool nan = false;
    for (float p : got) nan = nan || std::isnan(p);
    if (nan && state64(x).m == -INFINITY)
      why +=
          ". Masked scores are -inf (weight e^{-inf} = 0). A row with no unmasked score "
          "has no softmax: return zeros, as the reference does. NaN comes from "
          "e^{-inf - (-inf)} or from 0 / 0: test for m = -inf first.";
    FLASHLAB_LAB_FAIL(why);
  }
}

FLASHLAB_LAB_TEST("block_state is the max and the sum of exp(x - max)", 10) {
  std::mt19937 rng(202);
  const std::vector<Row> blocks = {Row{1, 2, 3},       Row{-kInf, 0.5f},          Row{-kInf, -kInf},
                                   Row{-3, -5, -2.5f}, random_row(rng, 50, 4.0f), Row{1000, 1000},
                                   Row{-200, -201}};
  for (const Row& b : blocks) {
    const State64 want = state64(b);
    const RowState got = block_state(b);
    if (same_state(got, want)) continue;
    std::string why = "block_state(" + fmt_list(b) + ") expected " + state_str(want) + ", got " +
                      state_str(got) + ".";
    if (std::isnan(got.l) && want.m == -INFINITY)
      why +=
          " A block with no unmasked score is {m = -inf, l = 0}: do not compute "
          "e^{-inf - (-inf)}.";
    else if (got.m == 0.0f && want.m < 0.0)
      why +=
          " No score of this block is above 0, and your m is 0: the running max must start "
          "at -inf (a state that has seen nothing), not at 0.";
    FLASHLAB_LAB_FAIL(why);
  }
}

FLASHLAB_LAB_TEST("merge rescales both partial states to the common max", 10) {
  struct Case {
    RowState a, b;
  };
  for (const Case& c : {Case{{1.0f, 2.0f}, {3.0f, 1.5f}}, Case{{3.0f, 1.5f}, {1.0f, 2.0f}},
                        Case{{-2.0f, 4.0f}, {0.5f, 1.25f}}, Case{{2.0f, 3.0f}, {2.0f, 1.0f}},
                        Case{{-7.0f, 1.5f}, {-4.0f, 2.0f}}}) {
    const double m = std::max(c.a.m, c.b.m);
    const double ea = std::exp(double(c.a.m) - m), eb = std::exp(double(c.b.m) - m);
    const State64 want{m, ea * c.a.l + eb * c.b.l};
    const RowState got = merge(c.a, c.b);
    if (same_state(got, want)) continue;
    auto is = [&](double l) { return same_state(got, {m, l}); };
    std::string why = "merge(" + state_str(c.a) + ", " + state_str(c.b) + ") expected " +
                      state_str(want) + ", got " + state_str(got) + ".";
    if (is(c.a.l + c.b.l))
      why +=
          " Your l is l_a + l_b: the two sums were added without rescaling. Each was taken "
          "relative to its own max; multiply each by e^{m_part - m_new} first (§3.1).";
    else if (is(ea * ea * c.a.l + eb * eb * c.b.l))
      why +=
          " Your l equals e^{2(m_part - m_new)} l_part summed: the rescale factor was applied "
          "twice (e.g. once to a copy of l and again in the sum). Rescale each l exactly once.";
    else if (is(c.a.l / ea + c.b.l / eb))
      why += " Your factors are inverted: use e^{m_part - m_new} (<= 1), not e^{m_new - m_part}.";
    FLASHLAB_LAB_FAIL(why);
  }
}

FLASHLAB_LAB_TEST("merge with a state that has seen nothing", 5) {
  const RowState empty{}, b{2.0f, 1.5f};
  for (const auto& [x, y] : {std::pair{empty, b}, std::pair{b, empty}}) {
    const RowState got = merge(x, y);
    if (!same_state(got, {b.m, b.l}))
      FLASHLAB_LAB_FAIL("merge(" + state_str(x) + ", " + state_str(y) + ") expected " +
                        state_str(b) + ", got " + state_str(got) +
                        (std::isnan(got.l)
                             ? ". A state that has seen nothing ({-inf, 0}) contributes 0: "
                               "e^{-inf - m} = 0, but compute it without forming -inf - (-inf)."
                             : "."));
  }
  const RowState got = merge(empty, empty);
  if (got.m != -kInf || got.l != 0.0f)
    FLASHLAB_LAB_FAIL("merge of two empty states expected {m = -inf, l = 0}, got " +
                      state_str(got) +
                      (std::isnan(got.l) ? " (-inf - (-inf) is NaN: test for m = -inf before "
                                           "subtracting)."
                                         : "."));
}

FLASHLAB_LAB_TEST("answers: where naive softmax breaks", 5) {
  auto naive_nan = [](float a, float b) {
    const float ea = std::exp(a), eb = std::exp(b), sum = ea + eb;
    return std::isnan(ea / sum) || std::isnan(eb / sum);
  };
  int overflow = 0, underflow = 0;
  for (int x = 0; x < 1000 && !naive_nan(float(x), 0.0f); ++x) overflow = x + 1;
  for (int x = 0; x > -1000 && !naive_nan(float(x), float(x)); --x) underflow = x - 1;
  FLASHLAB_LAB_REQUIRE_OK(check_answers({
      {"overflow_x", double(overflow), 0.0,
       "Question 1: compute e^x / (e^x + e^0) in float for x = 80, 81, ... (std::exp of a float)."},
      {"underflow_x", double(underflow), 0.0,
       "Question 2: compute e^x / (e^x + e^x) in float for x = -100, -101, ..."},
  }));
}

FLASHLAB_LAB_TEST("answers: the states of the row 1 2 3 4", 5) {
  FLASHLAB_LAB_REQUIRE_OK(check_answers({
      {"first_block_m", 2.0, 1e-3, "Question 3: m of the block {1, 2}."},
      {"first_block_l", 1.0 + std::exp(-1.0), 1e-3, "Question 3: l = e^{1-m} + e^{2-m}."},
      {"rescale_first_l", std::exp(-2.0), 1e-3,
       "Question 4: the factor e^{m_old - m_new} when the block {3, 4} is merged."},
  }));
}
