// fill_loop_indices against the simulator's own loop indices (set with Machine::at): on random
// small problems of every tiled algorithm and mask, the indices read off the tiles must equal
// the recorded ones event for event.
#include <doctest/doctest.h>

#include <string>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/labs/lab_trace.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/test/random.hpp>

using namespace flashlab;
namespace sim = flashlab::simulator;

namespace {

struct Case {
  sim::Algorithm algorithm = sim::Algorithm::Flash;
  bool backward = false;
  AttentionShape shape;
  TileSizes tiles;
  bool causal = false;
  int64_t sparse_block = 0;  // > 0: a butterfly layout of blocks this size
};

std::string describe(const Case& c) {
  return std::string(sim::to_string(c.algorithm)) + (c.backward ? " backward" : " forward") +
         " seq_q=" + std::to_string(c.shape.seq_q) + " seq_k=" + std::to_string(c.shape.seq_k) +
         " d=" + std::to_string(c.shape.head_dim) + " Br=" + std::to_string(c.tiles.block_rows) +
         " Bc=" + std::to_string(c.tiles.block_cols) + (c.causal ? " causal" : "") +
         (c.sparse_block > 0 ? " butterfly:" + std::to_string(c.sparse_block) : "");
}

sim::Trace simulator_trace(const Case& c) {
  sim::SimConfig sc;
  sc.algorithm = c.algorithm;
  sc.shape = c.shape;
  sc.tiles = c.tiles;
  sc.options.causal = c.causal;
  if (c.sparse_block > 0)
    sc.options.block_mask = butterfly_mask(c.shape.seq_q, c.shape.seq_k, c.sparse_block);
  sc.sram_bytes = int64_t(1) << 30;
  sc.counting_only = true;
  sc.record_trace = true;
  return c.backward ? sim::simulate_backward(sc, nullptr, nullptr, nullptr, nullptr).trace
                    : sim::simulate_forward(sc, nullptr, nullptr, nullptr).trace;
}

void check_case(const Case& c) {
  INFO(describe(c));
  const sim::Trace recorded = simulator_trace(c);
  REQUIRE(!recorded.events.empty());
  sim::Trace inferred = recorded;
  for (sim::Event& e : inferred.events) e.i = e.j = 12345;  // nothing may survive from before
  labs::fill_loop_indices(inferred);
  for (size_t k = 0; k < recorded.events.size(); ++k) {
    const sim::Event &want = recorded.events[k], &got = inferred.events[k];
    INFO("event " << k << ": " << sim::to_string(want.kind) << " " << want.op << " "
                  << sim::tensor_name(want.tensor) << " rows " << want.rect.row0 << "+"
                  << want.rect.rows << " cols " << want.rect.col0 << "+" << want.rect.cols);
    REQUIRE(got.i == want.i);
    REQUIRE(got.j == want.j);
  }
}

}  // namespace

TEST_CASE("loop indices read off the tiles equal the simulator's on hand-picked edge cases") {
  using A = sim::Algorithm;
  const Case cases[] = {
      {A::Flash, false, {1, 1, 64, 64, 16}, {16, 16}},              // square tiles, exact fit
      {A::Flash, false, {1, 1, 80, 80, 16}, {32, 16}},              // ragged last Q block
      {A::Flash, false, {1, 1, 16, 16, 8}, {16, 16}},               // one block each way
      {A::Flash, false, {1, 1, 96, 128, 16}, {32, 16}, true},       // causal, seq_q < seq_k
      {A::Flash, false, {1, 1, 128, 128, 16}, {16, 32}, true, 32},  // causal + butterfly
      {A::Flash, true, {1, 1, 70, 50, 8}, {16, 32}, true},          // backward, causal, ragged
      {A::Flash, true, {1, 1, 32, 32, 8}, {32, 32}},                // backward, one block
      {A::Flash2, false, {1, 1, 100, 60, 8}, {16, 32}, true},       // FA2 order, causal
      {A::Flash2, false, {1, 1, 32, 16, 8}, {32, 16}},              // FA2, one block
  };
  for (const Case& c : cases) check_case(c);
}

TEST_CASE("loop indices read off the tiles equal the simulator's on random small problems") {
  FLASHLAB_TEST_RNG(rng, "loop indices random");
  for (int n = 0; n < 60; ++n) {
    Case c;
    const int kind = int(test::random_int(rng, 0, 2));
    c.algorithm = kind == 2 ? sim::Algorithm::Flash2 : sim::Algorithm::Flash;
    c.backward = kind == 1;
    c.shape = {1, 1, test::random_int(rng, 1, 150), test::random_int(rng, 1, 150),
               test::random_int(rng, 1, 24)};
    c.tiles = {test::random_int(rng, 1, 48), test::random_int(rng, 1, 48)};
    c.causal = test::random_int(rng, 0, 1) == 1;
    if (!c.backward && test::random_int(rng, 0, 2) == 0)
      c.sparse_block = test::random_int(rng, 1, 40);
    check_case(c);
  }
}
