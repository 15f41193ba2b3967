// The FA2 forward with a kept running max (SimConfig::kept_max, FA4's conditional rescale): it
// keeps m while the scores allow and then counts no rescale of O; it moves m, and rescales, when
// they rise further; either way O and L are the reference's.
#include <doctest/doctest.h>

#include <flashlab/reference/attention.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/test/random.hpp>

#include "sim_test_util.hpp"

namespace flashlab::simulator {
namespace {
using test::check_close;
using test::to_double;

constexpr int64_t kSeq = 256, kDim = 32, kTile = 64;

SimConfig kept_max_config() {
  SimConfig c;
  c.algorithm = Algorithm::Flash2;
  c.shape = {1, 2, kSeq, kSeq, kDim};
  c.tiles = TileSizes{kTile, kTile};
  c.sram_bytes = 4 << 20;
  c.kept_max = true;
  return c;
}

struct Inputs {
  Tensor<float> Q, K, V;
};

// Random inputs; with `ramp`, key j scaled by 1 + 6 j / N, so that the scores of later key blocks
// rise many times the slack (8 ln 2) above a row's first block.
Inputs random_inputs(std::mt19937_64& rng, const AttentionShape& s, bool ramp) {
  Inputs in{test::random_tensor<float>(rng, q_dims(s)), test::random_tensor<float>(rng, kv_dims(s)),
            test::random_tensor<float>(rng, kv_dims(s))};
  if (ramp)
    for (int64_t bh = 0; bh < s.batch * s.heads; ++bh)
      for (int64_t j = 0; j < s.seq_k; ++j)
        for (int64_t c = 0; c < s.head_dim; ++c)
          in.K.data[size_t((bh * s.seq_k + j) * s.head_dim + c)] *=
              1.0f + 6.0f * float(j) / float(s.seq_k);
  return in;
}

SimForward run(const SimConfig& c, const Inputs& in) {
  return simulate_forward(c, &in.Q, &in.K, &in.V);
}

void check_against_reference(const SimConfig& c, const Inputs& in, const SimForward& f) {
  const auto ref = reference::attention_forward(c.shape, c.options, to_double(in.Q),
                                                to_double(in.K), to_double(in.V));
  check_close(f.result.O, ref.O, test::kForwardTolerance, "O");
  check_close(f.result.lse, ref.lse, test::kForwardTolerance, "logsumexp");
}

// Rows of the trace's softmax updates past a row block's first block whose max moved.
int64_t moved_rows(const Trace& t) {
  int64_t moved = 0;
  for (const SoftmaxRow& r : t.softmax_rows)
    if (r.m_old != -INFINITY && r.m_new > r.m_old) ++moved;
  return moved;
}

TEST_CASE("the kept max takes every later block of scores near the max and counts no rescale") {
  FLASHLAB_TEST_RNG(rng, "kept max near");
  const SimConfig kept = kept_max_config();
  SimConfig fa2 = kept, counting = kept;
  fa2.kept_max = false;
  counting.counting_only = true;
  const Inputs in = random_inputs(rng, kept.shape, false);
  const SimForward k = run(kept, in), f = run(fa2, in);
  check_against_reference(kept, in, k);
  CHECK(moved_rows(k.trace) == 0);
  CHECK(moved_rows(f.trace) > 0);  // FA2 moves m for these inputs; the kept max did not need to
  // Counting-only takes every later block as kept: the same counts show the run kept them all.
  const SimForward c = simulate_forward(counting, nullptr, nullptr, nullptr);
  CHECK(c.stats.other_flops == k.stats.other_flops);
  CHECK(c.stats.exp_ops == k.stats.exp_ops);
  // Against FA2, each later block saves O's rescale (Br x d), its factor (one exp per row) and
  // two ops per row; products and bytes are the same.
  const int64_t later_blocks = kept.shape.heads * (kSeq / kTile) * (kSeq / kTile - 1);
  CHECK(f.stats.other_flops - k.stats.other_flops == later_blocks * (kTile * kDim + 2 * kTile));
  CHECK(f.stats.exp_ops - k.stats.exp_ops == later_blocks * kTile);
  CHECK(f.stats.matmul_flops == k.stats.matmul_flops);
  CHECK(f.stats.total_bytes() == k.stats.total_bytes());
}

TEST_CASE("the kept max moves, and O is rescaled, when the scores rise past the slack") {
  FLASHLAB_TEST_RNG(rng, "kept max rising");
  for (const bool causal : {false, true}) {
    CAPTURE(causal);
    SimConfig kept = kept_max_config(), counting = kept_max_config();
    kept.options.causal = counting.options.causal = causal;
    counting.counting_only = true;
    const Inputs in = random_inputs(rng, kept.shape, true);
    const SimForward k = run(kept, in);
    check_against_reference(kept, in, k);
    CHECK(moved_rows(k.trace) > 0);
    // The blocks that moved m paid the test, FA2's softmax and O's rescale on top.
    const SimForward c = simulate_forward(counting, nullptr, nullptr, nullptr);
    CHECK(k.stats.other_flops > c.stats.other_flops);
    CHECK(k.stats.exp_ops > c.stats.exp_ops);
  }
}

TEST_CASE("the kept max says so in the algorithm's title and pseudo-code") {
  FLASHLAB_TEST_RNG(rng, "kept max code");
  SimConfig kept = kept_max_config(), fa2 = kept_max_config();
  fa2.kept_max = false;
  const Inputs in = random_inputs(rng, kept.shape, false);
  const SimForward k = run(kept, in), f = run(fa2, in);
  CHECK(k.trace.title == "FlashAttention-2 forward with a kept running max (FA2 Alg. 1)");
  CHECK(f.trace.title == "FlashAttention-2 forward (FA2 Alg. 1)");
  REQUIRE(k.trace.pseudo_code.size() == f.trace.pseudo_code.size());
  CHECK(k.trace.pseudo_code[8].find("kept max (FA4)") != std::string::npos);
  CHECK(f.trace.pseudo_code[8].find("kept max") == std::string::npos);
  // The other algorithms and the backward ignore it.
  SimConfig flash = kept;
  flash.algorithm = Algorithm::Flash;
  CHECK(run(flash, in).trace.title.find("kept") == std::string::npos);
}

}  // namespace
}  // namespace flashlab::simulator
