// Grader of lab 6 (README.md), part 2: skipped tiles are neither loaded nor computed, for the
// causal mask and for block-sparse layouts without it (whose blocks differ from the tiles): Q
// bytes and matmul FLOPs against the tiles the mask leaves, and the bytes causal saves.
#include <string>
#include <vector>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/labs/grading.hpp>

#include "sparse_checks.hpp"
#include "sparsity.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab6::grading;
using flashlab::AttentionOptions;
using flashlab::AttentionShape;

// Outputs first (the counters of a wrong forward mean nothing), then the counters.
std::string check_counts(const AttentionShape& s, const AttentionOptions& opt,
                         flashlab::TileSizes tiles, const std::string& what) {
  if (const std::string wrong = check_forward(s, opt, tiles, what); !wrong.empty())
    return "fix the outputs first: " + wrong;
  return check_skipping(run_student(s, opt, tiles, nullptr), params_of(opt, s), s, tiles, what);
}

}  // namespace

FLASHLAB_LAB_TEST("skipped blocks are neither loaded nor computed", 10) {
  AttentionOptions opt;
  opt.causal = true;
  FLASHLAB_LAB_REQUIRE_OK(
      check_counts({1, 1, 256, 256, 32}, opt, {32, 32}, "causal, N=256, d=32, 32 x 32 tiles"));
}

FLASHLAB_LAB_TEST("skipped blocks are neither loaded nor computed: block-sparse without causal",
                  10) {
  const AttentionShape s{1, 1, 256, 192, 16};
  const std::vector<std::pair<std::string, flashlab::BlockMask>> masks = {
      {"butterfly blocks of 16", flashlab::butterfly_mask(256, 192, 16)},
      {"local window 1, blocks of 24", flashlab::local_mask(256, 192, 24, 1)},
      {"random density 0.3, blocks of 32", flashlab::random_mask(256, 192, 32, 0.3, 5)}};
  for (const auto& [what, mask] : masks) {
    AttentionOptions opt;
    opt.block_mask = mask;
    FLASHLAB_LAB_REQUIRE_OK(
        check_counts(s, opt, {32, 24}, what + ", N_q=256, N_k=192, d=16, 32 x 24 tiles"));
  }
}

FLASHLAB_LAB_TEST("causal saves bytes at N=1024 and d=64", 5) {
  const AttentionShape s{1, 1, 1024, 1024, 64};
  AttentionOptions opt;
  opt.causal = true;
  const Run r = run_student(s, opt, {64, 64}, nullptr);
  if (!r.error.empty()) FLASHLAB_LAB_FAIL("the run stopped: " + r.error);
  const Active a = active_tiles(params_of(opt, s), 1024, 1024, 64, 64);
  const int64_t N = 1024, d = 64;
  const int64_t bound = kBytes * (2 * N * d + N * d + 2 * N + a.rows * (3 * d + 4));
  const int64_t dense = kBytes * (2 * N * d + N * d + 2 * N + 16 * N * (3 * d + 4));
  if (r.stats.total_bytes() > bound)
    FLASHLAB_LAB_FAIL("your causal forward moves " + std::to_string(r.stats.total_bytes()) +
                      " bytes; FA1 Alg. 5 moves at most " + std::to_string(bound) + " (" +
                      std::to_string(a.tiles) + " of 256 tiles computed), the dense FA1 Alg. 1 " +
                      std::to_string(dense) +
                      ". Proposition 4: Theta(N d + N^2 d^2 s / M) with s "
                      "the fraction of tiles kept.");
}
