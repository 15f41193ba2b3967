// Grader of lab 1 (README.md), part 3: the randomised sweep. Random rows (lengths, scales from
// 0.5 to 40, offsets up to -400 so that some rows are all negative and far from 0, masked keys,
// fully masked rows), block sizes and value widths; every function of the lab against float64.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <flashlab/labs/grading.hpp>
#include <flashlab/labs/sweep.hpp>

#include "online_softmax.hpp"
#include "row_checks.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab1;
using namespace flashlab::labs::lab1::grading;

struct RowCase {
  Row x, v;  // scores and value rows (x.size() x d)
  size_t d = 1, block = 1;
};

RowCase draw(std::mt19937_64& rng) {
  const float scales[] = {0.5f, 3.0f, 40.0f}, offsets[] = {0, 0, -60, 60, -400};
  const float scale = scales[uniform(rng, 0, 2)], offset = offsets[uniform(rng, 0, 4)];
  const bool all_masked = uniform(rng, 0, 15) == 0;
  const int mask_percent = uniform(rng, 0, 3) == 0 ? 30 : 0;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  RowCase c;
  const size_t n = size_t(uniform(rng, 1, 24));
  c.d = size_t(uniform(rng, 1, 4));
  c.block = size_t(uniform(rng, 1, int64_t(n) + 2));
  for (size_t i = 0; i < n; ++i)
    c.x.push_back(
        all_masked || uniform(rng, 1, 100) <= mask_percent ? -kInf : offset + scale * normal(rng));
  for (size_t k = 0; k < n * c.d; ++k) c.v.push_back(normal(rng));
  return c;
}

std::string check(const RowCase& c) {
  const Row& x = c.x;
  if (std::string why = compare("stable_softmax", x, softmax64(x), stable_softmax(x)); !why.empty())
    return why;
  const State64 want = state64(x);
  if (const RowState got = block_state(x); !same_state(got, want))
    return "block_state(" + fmt_list(x, 24) + ") expected " + state_str(want) + ", got " +
           state_str(got);
  const auto half = std::ptrdiff_t(x.size() / 2);
  const Row a(x.begin(), x.begin() + half), b(x.begin() + half, x.end());
  if (const RowState got = merge(block_state(a), block_state(b)); !same_state(got, want))
    return "merge(block_state(" + fmt_list(a, 24) + "), block_state(" + fmt_list(b, 24) +
           ")) expected " + state_str(want) + ", got " + state_str(got);
  const std::string blocks = " with block_size " + std::to_string(c.block);
  const StreamRun soft = run_online_softmax(x, c.block);
  if (std::string why = compare("online_softmax" + blocks, x, softmax64(x), soft.out); !why.empty())
    return why;
  if (soft.passes != 2 && want.m != -INFINITY)
    return "online_softmax" + blocks + " for x = " + fmt_list(x, 24) + " made " +
           std::to_string(soft.passes) + " passes over the row, expected 2";
  const StreamRun row = run_attention_row(x, c.v, c.d, c.block);
  const std::string what = "online_attention_row" + blocks + ", d = " + std::to_string(c.d) +
                           ", v = " + fmt_list(c.v, 24);
  if (std::string why = compare(what, x, attention_row64(x, c.v, c.d), row.out, 1e-5, 1e-4);
      !why.empty())
    return why;
  if (row.passes != 1)
    return what + " for x = " + fmt_list(x, 24) + " made " + std::to_string(row.passes) +
           " passes over the keys, expected 1";
  return "";
}

// Simpler variants: a key fewer, a smaller block or d, scores and values rounded.
std::vector<RowCase> smaller(const RowCase& c) {
  std::vector<RowCase> out;
  const size_t n = c.x.size();
  for (size_t i = 0; n > 1 && i < n; ++i) {
    RowCase s = c;
    s.x.erase(s.x.begin() + std::ptrdiff_t(i));
    s.v.erase(s.v.begin() + std::ptrdiff_t(i * c.d), s.v.begin() + std::ptrdiff_t((i + 1) * c.d));
    s.block = std::min(s.block, n + 1);
    out.push_back(std::move(s));
  }
  if (c.block > 1) {
    RowCase s = c;
    s.block = c.block > n ? n : c.block - 1;
    out.push_back(std::move(s));
  }
  if (c.d > 1) {
    RowCase s = c;
    s.d = c.d - 1;
    s.v.clear();
    for (size_t j = 0; j < n; ++j)
      for (size_t e = 0; e < s.d; ++e) s.v.push_back(c.v[j * c.d + e]);
    out.push_back(std::move(s));
  }
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(c.x[i]) && std::round(c.x[i]) != c.x[i]) {
      RowCase s = c;
      s.x[i] = std::round(c.x[i]);
      out.push_back(std::move(s));
    }
  RowCase rounded = c;
  for (float& v : rounded.v) v = std::round(v);
  if (rounded.v != c.v) out.push_back(std::move(rounded));
  return out;
}

}  // namespace

FLASHLAB_LAB_TEST("random rows: every function against float64", 10) {
  FLASHLAB_LAB_REQUIRE_OK(run_sweep(Sweep<RowCase>{"random rows", 300, draw, check, smaller}));
}
