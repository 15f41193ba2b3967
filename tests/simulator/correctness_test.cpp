// Every simulated algorithm computes real numbers: O, logsumexp, dQ, dK, dV must match the
// float64 reference over random shapes, causal, dropout (the same Philox masks), block-sparse
// masks whose blocks differ from the tiles, and seq_q != seq_k.
#include <doctest/doctest.h>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/reference/attention.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/test/random.hpp>

#include "sim_test_util.hpp"

namespace flashlab::simulator {
namespace {
using test::check_close;
using test::random_int;
using test::to_double;

struct Inputs {
  Tensor<float> Q, K, V, dO;
};

Inputs random_inputs(std::mt19937_64& rng, const AttentionShape& s) {
  return {test::random_tensor<float>(rng, q_dims(s)), test::random_tensor<float>(rng, kv_dims(s)),
          test::random_tensor<float>(rng, kv_dims(s)), test::random_tensor<float>(rng, q_dims(s))};
}

std::string describe(const SimConfig& c, const TileSizes& t) {
  return std::string(to_string(c.algorithm)) + " " + to_string(c.shape) +
         " causal=" + std::to_string(c.options.causal) +
         " dropout=" + std::to_string(c.options.dropout_p) +
         " block_mask=" + std::to_string(c.options.block_mask.has_value()) +
         " Br=" + std::to_string(t.block_rows) + " Bc=" + std::to_string(t.block_cols) +
         " sram=" + std::to_string(c.sram_bytes);
}

// Runs forward and backward and compares both with the reference.
void check_against_reference(const SimConfig& c, const Inputs& in) {
  const TileSizes tiles = resolve_tiles(c);
  INFO(describe(c, tiles));
  const SimForward f = simulate_forward(c, &in.Q, &in.K, &in.V);
  const auto ref = reference::attention_forward(c.shape, c.options, to_double(in.Q),
                                                to_double(in.K), to_double(in.V));
  check_close(f.result.O, ref.O, test::kForwardTolerance, "O");
  check_close(f.result.lse, ref.lse, test::kForwardTolerance, "logsumexp");
  const SimBackward b = simulate_backward(c, &in.Q, &in.K, &in.V, &in.dO);
  const auto g = reference::attention_backward(c.shape, c.options, to_double(in.Q), to_double(in.K),
                                               to_double(in.V), to_double(in.dO));
  check_close(b.grads.dQ, g.dQ, test::kBackwardTolerance, "dQ");
  check_close(b.grads.dK, g.dK, test::kBackwardTolerance, "dK");
  check_close(b.grads.dV, g.dV, test::kBackwardTolerance, "dV");
}

SimConfig random_config(std::mt19937_64& rng, Algorithm algorithm) {
  SimConfig c;
  c.algorithm = algorithm;
  constexpr int64_t kDims[] = {1, 16, 63, 64, 128};
  c.shape.batch = random_int(rng, 1, 2);
  c.shape.heads = random_int(rng, 1, 2);
  c.shape.seq_q = random_int(rng, 1, 90);
  c.shape.seq_k = random_int(rng, 0, 3) == 0 ? c.shape.seq_q : random_int(rng, 1, 90);
  c.shape.head_dim = kDims[random_int(rng, 0, 4)];
  c.options.causal = random_int(rng, 0, 1) == 1;
  if (random_int(rng, 0, 2) == 0) {
    c.options.dropout_p = 0.25;
    c.options.seed = uint64_t(random_int(rng, 0, 1 << 30));
  }
  if (random_int(rng, 0, 2) == 0) {  // mask blocks of their own size, unrelated to the tiles
    const int64_t block = random_int(rng, 1, 24);
    c.options.block_mask = random_int(rng, 0, 1)
                               ? butterfly_mask(c.shape.seq_q, c.shape.seq_k, block)
                               : random_mask(c.shape.seq_q, c.shape.seq_k, block, 0.6,
                                             uint64_t(random_int(rng, 0, 1000)));
  }
  if (random_int(rng, 0, 1) == 0) {  // explicit tiles, odd sizes, large SRAM
    c.tiles = TileSizes{random_int(rng, 1, 40), random_int(rng, 1, 40)};
    // FA2's backward has tiles of its own (FA2 Alg. 2): odd ones too.
    if (algorithm == Algorithm::Flash2)
      c.backward_tiles = TileSizes{random_int(rng, 1, 40), random_int(rng, 1, 40)};
    c.sram_bytes = 4 << 20;
  } else {  // the paper's rule from a random SRAM size
    c.sram_bytes = random_int(rng, 40, 200) * 1024;
  }
  return c;
}

void random_cases(Algorithm algorithm, const char* label, int count, bool kept_max = false) {
  FLASHLAB_TEST_RNG(rng, label);
  for (int k = 0; k < count; ++k) {
    SimConfig c = random_config(rng, algorithm);
    c.kept_max = kept_max;
    const Inputs in = random_inputs(rng, c.shape);
    CAPTURE(k);
    check_against_reference(c, in);
  }
}

TEST_CASE("standard attention forward and backward match the reference on random problems") {
  random_cases(Algorithm::Standard, "standard random", 16);
}

TEST_CASE("flash forward and backward match the reference on random problems") {
  random_cases(Algorithm::Flash, "flash random", 24);
}

TEST_CASE("flash2 forward and backward match the reference on random problems") {
  random_cases(Algorithm::Flash2, "flash2 random", 24);
}

TEST_CASE("flash2 with a kept running max matches the reference on random problems") {
  random_cases(Algorithm::Flash2, "flash2 kept max random", 24, true);
}

TEST_CASE("flash forward matches the reference for odd N and causal, every head dim") {
  FLASHLAB_TEST_RNG(rng, "flash odd N causal");
  for (int64_t d : {1, 16, 63, 64, 128}) {
    SimConfig c;
    c.shape = {1, 1, 77, 77, d};
    c.options.causal = true;
    c.tiles = TileSizes{16, 24};  // 77 is a multiple of neither
    check_against_reference(c, random_inputs(rng, c.shape));
  }
}

TEST_CASE("all algorithms match the reference with seq_q != seq_k, causal and dropout") {
  FLASHLAB_TEST_RNG(rng, "seq_q != seq_k");
  for (Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
    for (auto [sq, sk] : {std::pair<int64_t, int64_t>{37, 101}, {101, 37}}) {
      SimConfig c;
      c.algorithm = a;
      c.shape = {2, 1, sq, sk, 32};
      c.options.causal = true;
      c.options.dropout_p = 0.3;
      c.options.seed = 99;
      c.tiles = TileSizes{20, 13};
      c.backward_tiles = TileSizes{13, 20};  // FA2's backward only
      check_against_reference(c, random_inputs(rng, c.shape));
    }
  }
}

TEST_CASE("block-sparse flash matches the reference when mask blocks straddle tiles") {
  FLASHLAB_TEST_RNG(rng, "block sparse straddle");
  for (Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
    SimConfig c;
    c.algorithm = a;
    c.shape = {1, 2, 96, 80, 16};
    c.options.block_mask = butterfly_mask(96, 80, 12);
    c.options.causal = a != Algorithm::Standard;
    c.tiles = TileSizes{16, 20};
    check_against_reference(c, random_inputs(rng, c.shape));
  }
}

TEST_CASE("rows with every key masked give O = 0 and logsumexp = -inf in every algorithm") {
  FLASHLAB_TEST_RNG(rng, "empty rows");
  // Only block row 1 is off entirely: its rows see no key.
  BlockMask mask = block_sparse_mask({1, 1, 0, 0, 1, 0}, 3, 2, 8, 8);
  for (Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
    SimConfig c;
    c.algorithm = a;
    c.shape = {1, 1, 24, 16, 8};
    c.options.block_mask = mask;
    c.tiles = TileSizes{5, 6};
    const Inputs in = random_inputs(rng, c.shape);
    const SimForward f = simulate_forward(c, &in.Q, &in.K, &in.V);
    for (int64_t r = 8; r < 16; ++r) {
      CHECK(f.result.lse.data[size_t(r)] == -INFINITY);
      for (int64_t k = 0; k < 8; ++k) CHECK(f.result.O.data[size_t(r * 8 + k)] == 0.0f);
    }
    check_against_reference(c, in);
  }
}

TEST_CASE("standard attention reads S twice when a row does not fit the SRAM, same result") {
  FLASHLAB_TEST_RNG(rng, "standard long rows");
  SimConfig c;
  c.algorithm = Algorithm::Standard;
  c.shape = {1, 1, 21, 700, 8};
  c.options.causal = true;
  c.sram_bytes = 1200;  // 600 fp16 elements: a row of S (700) does not fit
  c.tiles = TileSizes{8, 16};
  check_against_reference(c, random_inputs(rng, c.shape));
}

TEST_CASE("counting-only runs return no numbers but need no inputs") {
  SimConfig c;
  c.shape = {1, 2, 300, 300, 64};
  c.counting_only = true;
  const SimForward f = simulate_forward(c, nullptr, nullptr, nullptr);
  CHECK(f.result.O.data.empty());
  CHECK(f.trace.events.empty());
  CHECK(f.stats.total_bytes() > 0);
  const SimBackward b = simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
  CHECK(b.grads.dQ.data.empty());
  CHECK(b.stats.total_bytes() > f.stats.total_bytes());
}

}  // namespace
}  // namespace flashlab::simulator
