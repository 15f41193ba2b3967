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
  SweepShape shape;
  int64_t block_rows = 0, block_cols = 0;  // 0: no block layout
};

MaskCase draw(std::mt19937_64& rng) {
  MaskCase c{draw_shape(rng, 48, 8, 12, true)};
  if (uniform(rng, 0, 1) == 1) {
    c.block_rows = uniform(rng, 1, 10);
    c.block_cols = uniform(rng, 1, 10);
  }
  return c;
}

flashlab::AttentionOptions options(const MaskCase& c) {
  flashlab::AttentionOptions opt;
  opt.causal = c.shape.causal;
  if (c.block_rows > 0) {
    const int64_t rb = flashlab::ceil_div(c.shape.nq, c.block_rows),
                  cb = flashlab::ceil_div(c.shape.nk, c.block_cols);
    std::mt19937_64 rng(c.shape.data_seed ^ 0x6d61736bu);
    std::vector<uint8_t> layout(size_t(rb * cb));
    for (uint8_t& v : layout) v = uint8_t(uniform(rng, 0, 1));
    opt.block_mask = flashlab::block_sparse_mask(layout, rb, cb, c.block_rows, c.block_cols);
  }
  return opt;
}

std::string describe(const MaskCase& c) {
  return c.shape.describe() +
         (c.block_rows > 0 ? ", a random layout of " + std::to_string(c.block_rows) + " x " +
                                 std::to_string(c.block_cols) + " mask blocks"
                           : std::string(", no block layout")) +
         " (data seed " + std::to_string(c.shape.data_seed) + ")";
}

std::string check(const MaskCase& c) {
  const SweepShape& sh = c.shape;
  const flashlab::AttentionOptions opt = options(c);
  const flashlab::AttentionShape s{1, 1, sh.nq, sh.nk, sh.d};
  const flashlab::TileSizes tiles{sh.Br, sh.Bc};
  const std::string what = describe(c);
  const flashlab::MaskParams mask = params_of(opt, s);
  if (std::string why = check_tiles(mask, what, sh.nq, sh.nk, sh.Br, sh.Bc); !why.empty())
    return why;
  if (std::string why = check_forward(s, opt, tiles, what, sh.data_seed); !why.empty()) return why;
  return check_skipping(run_student(s, opt, tiles, nullptr), mask, s, tiles, what);
}

std::vector<MaskCase> smaller(const MaskCase& c) {
  std::vector<MaskCase> out;
  for (const SweepShape& s : smaller_shapes(c.shape))
    out.push_back({s, c.block_rows, c.block_cols});
  if (c.block_rows > 0) out.push_back({c.shape});
  return out;
}

}  // namespace

FLASHLAB_LAB_TEST("random shapes tiles and masks: classification outputs and skipping", 10) {
  FLASHLAB_LAB_REQUIRE_OK(run_sweep(Sweep<MaskCase>{"random shapes", 200, draw, check, smaller}));
}
