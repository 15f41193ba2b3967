// Grader of lab 6 (README.md), part 3: the randomised sweep. Random shapes (N_q, N_k up to 48,
// d up to 8), tiles (B_r, B_c up to 12), causal or not, block-sparse layouts or not (mask blocks
// of 1 to 10 rows and columns, half of them on): every tile's classification against a scan,
// O, m and l against float64, and Q bytes and FLOPs against the tiles the mask leaves.
#include <random>
#include <string>
#include <vector>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/labs/grading.hpp>
#include <flashlab/labs/sweep.hpp>

#include "sparse_checks.hpp"
#include "sparsity.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab6::grading;

struct MaskCase {
  uint64_t data_seed = 0;
  int64_t nq = 1, nk = 1, d = 1, Br = 1, Bc = 1;
  bool causal = false;
  int64_t block_rows = 0, block_cols = 0;  // 0: no block layout
};

MaskCase draw(std::mt19937_64& rng) {
  MaskCase c;
  c.data_seed = rng();
  c.nq = uniform(rng, 1, 48);
  c.nk = uniform(rng, 1, 48);
  c.d = uniform(rng, 1, 8);
  c.Br = uniform(rng, 1, 12);
  c.Bc = uniform(rng, 1, 12);
  c.causal = uniform(rng, 0, 1) == 1;
  if (uniform(rng, 0, 1) == 1) {
    c.block_rows = uniform(rng, 1, 10);
    c.block_cols = uniform(rng, 1, 10);
  }
  return c;
}

flashlab::AttentionOptions options(const MaskCase& c) {
  flashlab::AttentionOptions opt;
  opt.causal = c.causal;
  if (c.block_rows > 0) {
    const int64_t rb = flashlab::ceil_div(c.nq, c.block_rows),
                  cb = flashlab::ceil_div(c.nk, c.block_cols);
    std::mt19937_64 rng(c.data_seed ^ 0x6d61736bu);
    std::vector<uint8_t> layout(size_t(rb * cb));
    for (uint8_t& v : layout) v = uint8_t(uniform(rng, 0, 1));
    opt.block_mask = flashlab::block_sparse_mask(layout, rb, cb, c.block_rows, c.block_cols);
  }
  return opt;
}

std::string describe(const MaskCase& c) {
  return (c.causal ? "causal" : "not causal") +
         (c.block_rows > 0 ? ", a random layout of " + std::to_string(c.block_rows) + " x " +
                                 std::to_string(c.block_cols) + " mask blocks"
                           : std::string(", no block layout")) +
         ", N_q=" + std::to_string(c.nq) + ", N_k=" + std::to_string(c.nk) +
         ", d=" + std::to_string(c.d) + ", " + std::to_string(c.Br) + " x " + std::to_string(c.Bc) +
         " tiles (data seed " + std::to_string(c.data_seed) + ")";
}

std::string check(const MaskCase& c) {
  const flashlab::AttentionOptions opt = options(c);
  const flashlab::AttentionShape s{1, 1, c.nq, c.nk, c.d};
  const std::string what = describe(c);
  const flashlab::MaskParams mask = params_of(opt, s);
  if (std::string why = check_tiles(mask, what, c.nq, c.nk, c.Br, c.Bc); !why.empty()) return why;
  if (std::string why = check_forward(s, opt, {c.Br, c.Bc}, what, c.data_seed); !why.empty())
    return why;
  return check_skipping(run_student(s, opt, {c.Br, c.Bc}, nullptr), mask, s, {c.Br, c.Bc}, what);
}

std::vector<MaskCase> smaller(const MaskCase& c) {
  std::vector<MaskCase> out;
  auto with = [&](auto change) {
    MaskCase s = c;
    change(s);
    out.push_back(s);
  };
  for (int64_t MaskCase::*field : {&MaskCase::nq, &MaskCase::nk, &MaskCase::d}) {
    if (c.*field > 1) with([&](MaskCase& s) { s.*field = std::max<int64_t>(1, c.*field / 2); });
    if (c.*field > 1) with([&](MaskCase& s) { s.*field = c.*field - 1; });
  }
  for (int64_t MaskCase::*field : {&MaskCase::Br, &MaskCase::Bc})
    if (c.*field > 1) with([&](MaskCase& s) { s.*field = c.*field - 1; });
  if (c.causal) with([](MaskCase& s) { s.causal = false; });
  if (c.block_rows > 0) with([](MaskCase& s) { s.block_rows = s.block_cols = 0; });
  return out;
}

}  // namespace

FLASHLAB_LAB_TEST("random shapes tiles and masks: classification outputs and skipping", 10) {
  Sweep<MaskCase> sweep;
  sweep.test_name = "random shapes";
  sweep.cases = 200;
  sweep.draw = draw;
  sweep.check = check;
  sweep.smaller = smaller;
  FLASHLAB_LAB_REQUIRE_OK(run_sweep(sweep));
}
