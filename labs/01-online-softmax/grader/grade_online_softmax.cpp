// Grader of lab 1 (README.md): stable softmax, the (m, l) state and its merge (paper §3.1),
// online softmax and one row of attention in one pass. Expected values come from plain float64
// formulas here; wrong results are matched against the usual mistakes to say which one it is.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <flashlab/labs/grading.hpp>

#include "online_softmax.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab1;
using Row = std::vector<float>;
constexpr float kInf = INFINITY;

std::vector<double> softmax64(const Row& x) {
  double m = -INFINITY, l = 0;
  for (float v : x) m = std::max(m, double(v));
  std::vector<double> p(x.size(), 0.0);
  if (m == -INFINITY) return p;
  for (float v : x) l += std::exp(double(v) - m);
  for (size_t i = 0; i < x.size(); ++i) p[i] = std::exp(double(x[i]) - m) / l;
  return p;
}

// o = sum_j softmax(s)_j v_j in float64.
std::vector<double> attention_row64(const Row& s, const Row& v, size_t d) {
  const std::vector<double> p = softmax64(s);
  std::vector<double> o(d, 0.0);
  for (size_t j = 0; j < s.size(); ++j)
    for (size_t e = 0; e < d; ++e) o[e] += p[j] * double(v[j * d + e]);
  return o;
}

Row random_row(std::mt19937& rng, size_t n, float stddev) {
  std::normal_distribution<float> normal(0.0f, stddev);
  Row x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

// "" if got matches expected, else "what(x) for x = [...]: entry i expected E, got G".
std::string compare(const std::string& what, const Row& x, const std::vector<double>& expected,
                    const Row& got) {
  if (got.size() != expected.size())
    return what + " for x = " + fmt_list(x) + " returned " + std::to_string(got.size()) +
           " values, expected " + std::to_string(expected.size());
  if (const auto i = first_mismatch(expected, got, 1e-6, 1e-5))
    return what + " for x = " + fmt_list(x) + ": entry " + std::to_string(*i) + " expected " +
           fmt(expected[*i]) + ", got " + fmt(got[*i]) + " (all: " + fmt_list(got) + ")";
  return "";
}

bool near(double a, double b) {
  return std::abs(a - b) <= 1e-6 + 1e-4 * std::abs(b);
}

std::string state_str(RowState s) {
  return "{m = " + fmt(s.m) + ", l = " + fmt(s.l) + "}";
}

}  // namespace

FLASHLAB_LAB_TEST("stable softmax matches a float64 softmax on random rows", 10) {
  std::mt19937 rng(101);
  for (size_t n : {1, 2, 7, 33, 100}) {
    const Row x = random_row(rng, n, 3.0f);
    FLASHLAB_LAB_REQUIRE_OK(compare("stable_softmax", x, softmax64(x), stable_softmax(x)));
  }
}

FLASHLAB_LAB_TEST("stable softmax survives scores near 1000 and -1000", 10) {
  for (const Row& x : {Row{1000, 999, 998}, Row{-1000, -1001, -1002}, Row{89, 0}, Row{-500, 500}}) {
    const Row got = stable_softmax(x);
    std::string why = compare("stable_softmax", x, softmax64(x), got);
    if (!why.empty()) {
      bool broken = false;
      for (float p : got) broken = broken || !std::isfinite(p);
      if (broken)
        why +=
            ". NaN or inf means e^x over- or underflowed: float's e^x overflows above "
            "x = 88.7 and is 0 below x = -103. Subtract the row max m = max_i x_i before "
            "exp (paper §3.1: softmax(x) = f(x) / l(x) with f(x)_i = e^{x_i - m(x)}); "
            "then every exponent is <= 0 and the largest term is exactly 1.";
      FLASHLAB_LAB_FAIL(why);
    }
  }
}

FLASHLAB_LAB_TEST("stable softmax of a fully masked row is zeros and not NaN", 5) {
  for (const Row& x : {Row{-kInf, -kInf, -kInf}, Row{-kInf, 0.5f, -kInf}}) {
    std::string why = compare("stable_softmax", x, softmax64(x), stable_softmax(x));
    if (!why.empty())
      FLASHLAB_LAB_FAIL(
          why +
          ". Masked scores are -inf (weight e^{-inf} = 0). A row with no unmasked score "
          "has no softmax: return zeros, as the reference does; NaN comes from "
          "e^{-inf - (-inf)}.");
  }
}

FLASHLAB_LAB_TEST("block_state is the max and the sum of exp(x - max)", 10) {
  std::mt19937 rng(202);
  const std::vector<Row> blocks = {Row{1, 2, 3}, Row{-kInf, 0.5f}, Row{-kInf, -kInf},
                                   random_row(rng, 50, 4.0f), Row{1000, 1000}};
  for (const Row& b : blocks) {
    double m = -INFINITY, l = 0;
    for (float v : b) m = std::max(m, double(v));
    if (m != -INFINITY)
      for (float v : b) l += std::exp(double(v) - m);
    const RowState got = block_state(b);
    const bool ok = (m == -INFINITY ? got.m == -kInf : near(got.m, m)) && near(got.l, l);
    if (!ok)
      FLASHLAB_LAB_FAIL("block_state(" + fmt_list(b) + ") expected {m = " + fmt(m) +
                        ", l = " + fmt(l) + "}, got " + state_str(got) +
                        (std::isnan(got.l)
                             ? ". A block with no unmasked score is {m = -inf, l = 0}: do not "
                               "compute e^{-inf - (-inf)}."
                             : ". l sums e^{x_i - m} with m the block's own max."));
  }
}

FLASHLAB_LAB_TEST("merge rescales both partial states to the common max", 15) {
  struct Case {
    RowState a, b;
  };
  for (const Case& c : {Case{{1.0f, 2.0f}, {3.0f, 1.5f}}, Case{{3.0f, 1.5f}, {1.0f, 2.0f}},
                        Case{{-2.0f, 4.0f}, {0.5f, 1.25f}}, Case{{2.0f, 3.0f}, {2.0f, 1.0f}}}) {
    const double m = std::max(c.a.m, c.b.m);
    const double ea = std::exp(double(c.a.m) - m), eb = std::exp(double(c.b.m) - m);
    const double l = ea * c.a.l + eb * c.b.l;
    const RowState got = merge(c.a, c.b);
    if (near(got.m, m) && near(got.l, l)) continue;
    std::string why = "merge(" + state_str(c.a) + ", " + state_str(c.b) +
                      ") expected {m = " + fmt(m) + ", l = " + fmt(l) + "}, got " + state_str(got) +
                      ". ";
    if (!near(got.m, m))
      why += "The merged m is the larger of the two maxima.";
    else if (near(got.l, c.a.l + c.b.l))
      why +=
          "Your l is l_a + l_b: the two sums were added without rescaling. Each was taken "
          "relative to its own max; multiply each by e^{m_part - m_new} first (§3.1).";
    else if (near(got.l, ea * ea * c.a.l + eb * eb * c.b.l))
      why +=
          "Your l equals e^{2(m_part - m_new)} l_part summed: the rescale factor was applied "
          "twice (e.g. once to a copy of l and again in the sum). Rescale each l exactly once.";
    else if (near(got.l, c.a.l / ea + c.b.l / eb))
      why += "Your factors are inverted: use e^{m_part - m_new} (<= 1), not e^{m_new - m_part}.";
    else
      why += "l = e^{m_a - m} l_a + e^{m_b - m} l_b with m = max(m_a, m_b) (§3.1).";
    FLASHLAB_LAB_FAIL(why);
  }
}

FLASHLAB_LAB_TEST("merge with a state that has seen nothing", 5) {
  const RowState empty{}, b{2.0f, 1.5f};
  for (const auto& [x, y] : {std::pair{empty, b}, std::pair{b, empty}}) {
    const RowState got = merge(x, y);
    if (got.m != b.m || !near(got.l, b.l))
      FLASHLAB_LAB_FAIL(
          "merge(" + state_str(x) + ", " + state_str(y) + ") expected " + state_str(b) + ", got " +
          state_str(got) +
          ". A state that has seen nothing ({-inf, 0}) contributes 0: e^{-inf - m} = 0, but "
          "compute it without forming -inf - (-inf).");
  }
  const RowState got = merge(empty, empty);
  if (got.m != -kInf || got.l != 0.0f)
    FLASHLAB_LAB_FAIL("merge of two empty states expected {m = -inf, l = 0}, got " +
                      state_str(got) +
                      " (-inf - (-inf) is NaN: test for m = -inf before subtracting).");
}

FLASHLAB_LAB_TEST("online softmax equals the softmax for every block size", 15) {
  std::mt19937 rng(303);
  const std::vector<Row> rows = {random_row(rng, 10, 2.0f), Row{-kInf, -kInf, -kInf, 1, 2, 3},
                                 Row{1, 2, 3, 4, 5, 6, 7}, Row{1000, -5, 998, 1001}};
  for (const Row& x : rows) {
    for (size_t block : {size_t(1), size_t(2), size_t(3), x.size(), x.size() + 3}) {
      const std::string why = compare("online_softmax with block_size " + std::to_string(block), x,
                                      softmax64(x), online_softmax(x, block));
      if (why.empty()) continue;
      const bool one_block_ok = compare("", x, softmax64(x), online_softmax(x, x.size())).empty();
      FLASHLAB_LAB_FAIL(
          why + (one_block_ok ? ". With one block it is right, so the merge of the blocks' "
                                "states is wrong (task 3), or the last short block is lost."
                              : ". Even one block is wrong: check pass 2, p_i = e^{x_i - m} / l "
                                "with the final (m, l)."));
    }
  }
}

FLASHLAB_LAB_TEST("online attention row rescales the running output", 20) {
  const size_t d = 3;
  Row v;
  for (size_t j = 0; j < 8; ++j)
    for (size_t e = 0; e < d; ++e) v.push_back(float(j) - 2.0f * float(e) + 0.25f * float(j * e));
  std::mt19937 rng(404);
  Row random_scores = random_row(rng, 8, 2.0f);
  random_scores[2] = random_scores[5] = -kInf;
  struct Case {
    const char* what;
    Row s;
    size_t block;
  };
  const std::vector<Case> cases = {
      {"decreasing scores (the max is found in the first block)", {7, 6, 5, 4, 3, 2, 1, 0}, 2},
      {"increasing scores (every block raises the max)", {0, 1, 2, 3, 4, 5, 6, 7}, 2},
      {"random scores with masked keys", random_scores, 3},
      {"a fully masked first block", {-kInf, -kInf, 1, 2, 0, 3, 1, 2}, 2}};
  auto wrong = [&](const Case& c) {
    return compare("", c.s, attention_row64(c.s, v, d), online_attention_row(c.s, v, d, c.block));
  };
  for (const Case& c : cases) {
    const Row got = online_attention_row(c.s, v, d, c.block);
    std::string why = compare("online_attention_row", c.s, attention_row64(c.s, v, d), got);
    if (why.empty()) continue;
    why = "case '" + std::string(c.what) + "', block_size " + std::to_string(c.block) +
          ", d = 3, " + "v_j = (j, j - 2 + j/4, j - 4 + j/2): " + why + ". ";
    const bool decreasing_ok = wrong(cases[0]).empty(), increasing_ok = wrong(cases[1]).empty();
    if (decreasing_ok && !increasing_ok)
      why +=
          "Right when the first block holds the max, wrong when later blocks raise it: the "
          "output accumulated so far was not rescaled by e^{m_old - m_new} when the running "
          "max increased (FA1 Alg. 1 l. 12).";
    else if (increasing_ok && decreasing_ok)
      why += "A block of only -inf scores must leave (m, l) and the output unchanged.";
    else
      why +=
          "Per block: m_new = max(m, m~); acc = e^{m - m_new} acc + sum_j e^{s_j - m_new} v_j; "
          "l likewise; return acc / l at the end.";
    FLASHLAB_LAB_FAIL(why);
  }
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
