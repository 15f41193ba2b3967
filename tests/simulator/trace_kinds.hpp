// Traces of every kind the simulator writes, for the tests of the trace reader (what it must
// accept, and the seeds it is fuzzed from): every algorithm and pass, with and without a causal
// mask (with dropout), a block-sparse mask, two SRAM sizes (300 bytes forces standard attention's
// long-row softmax), arithmetic or counting only, every head or the first. 96 small traces.
#pragma once

#include <algorithm>
#include <random>
#include <vector>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/test/random.hpp>

namespace flashlab::test {

inline std::vector<simulator::Trace> traces_of_every_kind(std::mt19937_64& rng) {
  using simulator::Algorithm;
  std::vector<simulator::Trace> traces;
  for (const Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2})
    for (const bool backward : {false, true})
      for (const bool causal : {false, true})
        for (const bool sparse : {false, true})
          for (const int64_t sram : {int64_t{300}, int64_t{4096}})
            for (const bool counting : {false, true}) {
              simulator::SimConfig c;
              c.algorithm = a;
              c.shape = {1, 2, 11, 7, 3};
              c.options.causal = causal;
              c.options.dropout_p = causal ? 0.2 : 0.0;
              c.sram_bytes = sram;
              c.backward = backward;
              c.counting_only = counting;
              c.record_trace = true;
              c.trace_first_head_only = sparse;
              const TileSizes tiles = simulator::resolve_tiles(c);
              if (sparse)
                c.options.block_mask =
                    random_mask(11, 7, std::min(tiles.block_rows, tiles.block_cols), 0.5, rng());
              const auto Q = random_tensor<float>(rng, q_dims(c.shape));
              const auto K = random_tensor<float>(rng, kv_dims(c.shape));
              const Tensor<float>* q = counting ? nullptr : &Q;
              const Tensor<float>* k = counting ? nullptr : &K;
              traces.push_back(backward ? simulate_backward(c, q, k, k, q).trace
                                        : simulate_forward(c, q, k, k).trace);
            }
  return traces;
}

}  // namespace flashlab::test
