// Grader of lab 1 (README.md), part 2: online softmax and one row of attention over a
// KeyBlocks stream, their values and the passes they make over the keys (task 4: two, task 5:
// one). A hint names a mistake only when probes of the student's function show it.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <flashlab/labs/alloc_probe.hpp>
#include <flashlab/labs/grading.hpp>

#include "online_softmax.hpp"
#include "row_checks.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab1;
using namespace flashlab::labs::lab1::grading;

std::string check_online_softmax(const Row& x, size_t block) {
  return compare("online_softmax with block_size " + std::to_string(block), x, softmax64(x),
                 run_online_softmax(x, block).out);
}

// Why online_softmax fails on x, from the block sizes that pass and fail on the same row.
std::string online_softmax_hint(const Row& x) {
  if (!check_online_softmax(x, x.size()).empty())
    return ". With one block (block_size = " + std::to_string(x.size()) +
           ") it is wrong too, so the error is not in combining blocks.";
  bool divisor_fails = false, ragged_fails = false;
  for (size_t b = 2; b < x.size(); ++b) {
    const bool fails = !check_online_softmax(x, b).empty();
    (x.size() % b == 0 ? divisor_fails : ragged_fails) |= fails;
  }
  if (ragged_fails && !divisor_fails)
    return ". It is right whenever block_size divides the row and wrong when the last block is "
           "shorter: that block has b->scores.size() < block_size() scores.";
  return ". With one block it is right, so the blocks do not combine: pass 1 merges every "
         "block's state into the row's (m, l), pass 2 uses that final (m, l).";
}

// The values of the rescaling test: v_j = (j, j - 2 + j/4, j - 4 + j/2).
Row test_values(size_t n) {
  Row v;
  for (size_t j = 0; j < n; ++j)
    for (size_t e = 0; e < 3; ++e) v.push_back(float(j) - 2.0f * float(e) + 0.25f * float(j * e));
  return v;
}

// Hints for a wrong online_attention_row, each shown only when its probe pair disagrees: the
// student's function is right on one input and wrong on a twin that differs in one respect
// (every twin but the first keeps the max in the first block, so only that one needs rescaling).
std::string attention_row_hints() {
  const size_t d = 3;
  const Row v = test_values(8);
  auto ok = [&](const Row& s, size_t block) {
    return check_attention_row(s, Row(v.begin(), v.begin() + std::ptrdiff_t(s.size() * d)), d,
                               block)
        .empty();
  };
  std::string hints;
  if (ok({7, 6, 5, 4, 3, 2, 1, 0}, 2) && !ok({0, 1, 2, 3, 4, 5, 6, 7}, 2))
    hints +=
        " Right when the first block holds the max, wrong when later blocks raise it: the "
        "output accumulated so far was not rescaled by e^{m_old - m_new} when the running "
        "max increased (FA1 Alg. 1 l. 12).";
  if (ok({0.5f, -1, 2, 1.5f, 0, 1}, 3) && !ok({0.5f, -1, 2, 1.5f, 0, 1, -0.5f}, 3))
    hints +=
        " Right when block_size divides the row, wrong when the last block is shorter: that "
        "block has b->scores.size() < block_size() keys.";
  if (ok({3, 2, 0, 1, 1, 2}, 2) && !ok({-kInf, -kInf, 3, 2, 0, 1, 1, 2}, 2))
    hints += " A block of only -inf scores must leave (m, l) and the output unchanged.";
  if (ok({10, 0, 5, -10, 8, 2}, 2) && !ok({-300, -310, -305, -320, -302, -308}, 2))
    hints +=
        " Right on moderate scores, wrong when every score is near -300: e^{-300} is 0 in "
        "float. Exponents must be s_j - m with m the running max, which starts at -inf, "
        "not at 0.";
  return hints;
}

}  // namespace

FLASHLAB_LAB_TEST("online softmax equals the softmax for every block size", 10) {
  std::mt19937 rng(303);
  const std::vector<Row> rows = {
      random_row(rng, 10, 2.0f),         Row{-kInf, -kInf, -kInf, 1, 2, 3},
      Row{1, 2, 3, 4, 5, 6, 7},          Row{1000, -5, 998, 1001},
      Row{-300, -310, -305, -320, -301}, Row{-kInf, -kInf, -kInf, -kInf}};
  for (const Row& x : rows)
    for (size_t block : {size_t(1), size_t(2), size_t(3), x.size(), x.size() + 3}) {
      const std::string why = check_online_softmax(x, block);
      if (!why.empty()) FLASHLAB_LAB_FAIL(why + online_softmax_hint(x));
    }
}

FLASHLAB_LAB_TEST("online softmax reads the row in exactly two passes", 5) {
  std::mt19937 rng(304);
  const Row x = random_row(rng, 40, 3.0f);
  FLASHLAB_LAB_REQUIRE_OK(check_online_softmax(x, 4));
  const int passes = run_online_softmax(x, 4).passes;
  if (passes > 2)
    FLASHLAB_LAB_FAIL(
        "online_softmax made " + std::to_string(passes) +
        " passes over a row of 40 scores in blocks of 4. Pass 1 finds m and l together, by "
        "merging each block's state (§3.1), not a max pass and then a sum pass; pass 2 writes "
        "the probabilities. That is the point of the online softmax: one pass fewer.");
  if (passes < 2)
    FLASHLAB_LAB_FAIL(
        "online_softmax read the row only once, so it kept its own copy of the scores. A row "
        "need not fit on chip: after pass 1, x.rewind() and read the blocks again to write "
        "e^{x_i - m} / l.");
}

FLASHLAB_LAB_TEST("online attention row rescales the running output", 15) {
  const size_t d = 3;
  std::mt19937 rng(404);
  Row random_scores = random_row(rng, 8, 2.0f);
  random_scores[2] = random_scores[4] = -kInf;
  struct Case {
    const char* what;
    Row s;
    size_t block;
  };
  const std::vector<Case> cases = {
      {"decreasing scores (the max is found in the first block)", {7, 6, 5, 4, 3, 2, 1, 0}, 2},
      {"increasing scores (every block raises the max)", {0, 1, 2, 3, 4, 5, 6, 7}, 2},
      {"random scores with masked keys and a shorter last block", random_scores, 3},
      {"a fully masked first block", {-kInf, -kInf, 1, 2, 0, 3, 1, 2}, 2},
      {"every score near -300", {-300, -310, -305, -320, -302, -308, -301, -330}, 4},
      {"every key masked", {-kInf, -kInf, -kInf, -kInf, -kInf}, 2}};
  for (const Case& c : cases) {
    const Row v = test_values(c.s.size());
    const std::string why = check_attention_row(c.s, v, d, c.block);
    if (why.empty()) continue;
    FLASHLAB_LAB_FAIL("case '" + std::string(c.what) + "', v_j = (j, j - 2 + j/4, j - 4 + j/2): " +
                      why + "." + attention_row_hints());
  }
}

FLASHLAB_LAB_TEST("online attention row reads the keys in one pass", 10) {
  std::mt19937 rng(405);
  const size_t n = 4096, d = 2, block = 64;
  const Row s = random_row(rng, n, 3.0f), v = random_row(rng, n * d, 1.0f);
  FLASHLAB_LAB_REQUIRE_OK(check_attention_row(s, v, d, block));
  KeyBlocks keys(s, v, d, block);
  size_t largest_floats = 0;
  {
    const AllocationProbe probe;
    (void)online_attention_row(keys);
    largest_floats = probe.largest_bytes() / sizeof(float);
  }
  if (keys.passes() != 1)
    FLASHLAB_LAB_FAIL(
        "online_attention_row made " + std::to_string(keys.passes()) +
        " passes over 4096 keys in blocks of 64 (it called keys.rewind()). Task 5 is ONE pass, "
        "as FlashAttention's inner loop sees each K_j, V_j once: keep the running (m, l) and "
        "an un-normalized output, and rescale that output by e^{m_old - m_new} whenever a block "
        "raises the max, instead of finding the max first.");
  if (largest_floats >= n / 4)
    FLASHLAB_LAB_FAIL("online_attention_row allocated " + std::to_string(largest_floats) +
                      " floats at once for 4096 keys in blocks of 64: it kept a copy of the "
                      "keys. One pass needs only (m, l) and the d values of the output, whatever "
                      "the number of keys: that is what lets FlashAttention stream K and V.");
}
