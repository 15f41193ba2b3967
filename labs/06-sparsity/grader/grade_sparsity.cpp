// Grader of lab 6 (README.md), part 1: tile classification against a score-by-score scan of the
// mask, the block-skipping forward (FA1 Alg. 5) on the simulator against float64 (O, m and l, fully
// masked rows included), and the answers.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/core/options.hpp>
#include <flashlab/labs/causal_tiles.hpp>
#include <flashlab/labs/grading.hpp>
#include <flashlab/reference/attention.hpp>
#include <flashlab/simulator/simulate.hpp>

#include "sparse_checks.hpp"
#include "sparsity.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab6;
using namespace flashlab::labs::lab6::grading;
using namespace flashlab::simulator;
using flashlab::AttentionOptions;
using flashlab::AttentionShape;

}  // namespace

FLASHLAB_LAB_TEST("classify: causal tiles below on and above the diagonal", 10) {
  for (const auto& [nq, nk] : {std::pair<int64_t, int64_t>{40, 40}, {24, 40}, {40, 24}}) {
    const AttentionShape s{1, 1, nq, nk, 8};
    AttentionOptions opt;
    opt.causal = true;
    for (const auto& [Br, Bc] :
         {std::pair<int64_t, int64_t>{8, 8}, {6, 10}, {10, 6}, {1, 7}, {13, 13}})
      FLASHLAB_LAB_REQUIRE_OK(check_tiles(
          params_of(opt, s), "causal, N_q=" + std::to_string(nq) + ", N_k=" + std::to_string(nk),
          nq, nk, Br, Bc));
  }
  for (const flashlab::labs::CausalTiling& t : flashlab::labs::unfriendly_causal_tilings()) {
    AttentionOptions opt;
    opt.causal = true;
    FLASHLAB_LAB_REQUIRE_OK(check_tiles(params_of(opt, {1, 1, t.nq, t.nk, 8}),
                                        std::string("causal, ") + t.what, t.nq, t.nk, t.Br, t.Bc));
  }
}

FLASHLAB_LAB_TEST("classify: block-sparse layouts with and without causal", 15) {
  const AttentionShape s{1, 1, 40, 40, 8};
  const std::vector<std::pair<std::string, flashlab::BlockMask>> masks = {
      {"butterfly blocks of 8", flashlab::butterfly_mask(40, 40, 8)},
      {"local window 1, blocks of 5", flashlab::local_mask(40, 40, 5, 1)},
      {"random density 0.4, blocks of 4", flashlab::random_mask(40, 40, 4, 0.4, 7)}};
  for (const auto& [what, mask] : masks)
    for (bool causal : {false, true}) {
      AttentionOptions opt;
      opt.block_mask = mask;
      opt.causal = causal;
      for (const auto& [Br, Bc] : {std::pair<int64_t, int64_t>{8, 8}, {6, 10}, {16, 16}})
        FLASHLAB_LAB_REQUIRE_OK(
            check_tiles(params_of(opt, s), what + (causal ? " and causal" : ""), 40, 40, Br, Bc));
    }
}

FLASHLAB_LAB_TEST("sparse forward matches the reference: causal", 10) {
  AttentionOptions opt;
  opt.causal = true;
  FLASHLAB_LAB_REQUIRE_OK(
      check_forward({1, 1, 96, 96, 16}, opt, {16, 16}, "causal, N=96, d=16, 16 x 16 tiles"));
  FLASHLAB_LAB_REQUIRE_OK(check_forward({1, 1, 50, 70, 16}, opt, {12, 9},
                                        "causal, N_q=50, N_k=70, d=16, 12 x 9 tiles"));
}

FLASHLAB_LAB_TEST("sparse forward matches the reference: butterfly block mask", 5) {
  AttentionOptions opt;
  opt.block_mask = flashlab::butterfly_mask(128, 128, 8);
  FLASHLAB_LAB_REQUIRE_OK(check_forward({1, 1, 128, 128, 16}, opt, {16, 16},
                                        "butterfly blocks of 8, N=128, d=16, 16 x 16 tiles"));
}

FLASHLAB_LAB_TEST("sparse forward: rows that the layout hides entirely", 5) {
  // Mask blocks of 8 x 8 over 48 x 48 scores; block row 2 (rows 16..23) is all off, so those
  // rows have no allowed score: O = 0, m = -inf, l = 0 (the reference's convention).
  std::vector<uint8_t> layout(36, 0);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 6; ++j)
      layout[size_t(i * 6 + j)] = i != 2 && (i == j || (i + j) % 3 == 0);
  for (bool causal : {false, true}) {
    AttentionOptions opt;
    opt.causal = causal;
    opt.block_mask = flashlab::block_sparse_mask(layout, 6, 6, 8, 8);
    FLASHLAB_LAB_REQUIRE_OK(check_forward({1, 1, 48, 48, 8}, opt, {12, 10},
                                          std::string(causal ? "causal and " : "") +
                                              "rows 16..23 without an allowed score, 12 x 10 "
                                              "tiles"));
  }
}

FLASHLAB_LAB_TEST("answers: causal savings at N=1024", 10) {
  flashlab::AttentionOptions opt;
  opt.causal = true;
  const Active a = active_tiles(params_of(opt, {1, 1, 1024, 1024, 64}), 1024, 1024, 64, 64);
  const std::string how =
      " Run simulate_forward in counting-only mode with tiles 64 x 64 "
      "(docs/simulator.md), or flashlab compare.";
  FLASHLAB_LAB_REQUIRE_OK(check_answers({
      {"causal_active_tiles", double(a.tiles), 0.0, "Question 1: tiles with a score c <= r."},
      {"causal_flash_bytes", double(simulator_run(Algorithm::Flash, true).stats.total_bytes()),
       1e-6, "Question 2." + how},
      {"dense_flash_bytes", double(simulator_run(Algorithm::Flash, false).stats.total_bytes()),
       1e-6, "Question 2." + how},
  }));
}

FLASHLAB_LAB_TEST("answers: butterfly density and standard attention with a mask", 10) {
  const std::string how =
      " Run simulate_forward in counting-only mode with tiles 64 x 64 "
      "(docs/simulator.md), or flashlab compare.";
  FLASHLAB_LAB_REQUIRE_OK(check_answers({
      {"butterfly_density", flashlab::butterfly_mask(1024, 1024, 64).density(), 1e-3,
       "Question 3: the fraction of the 16 x 16 blocks with i == j or i XOR j a power of two."},
      {"standard_causal_bytes",
       double(simulator_run(Algorithm::Standard, true).stats.total_bytes()), 1e-6,
       "Question 4: standard attention masks S in one more pass over HBM." + how},
  }));
}
