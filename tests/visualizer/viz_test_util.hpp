// Small configurations covering every algorithm and option of the visualizer, for the model tests.
#pragma once

#include <vector>

#include <flashlab/viz/config.hpp>

namespace flashlab::test {

inline std::vector<viz::VizConfig> small_configs() {
  using viz::VizAlgorithm;
  auto make = [](VizAlgorithm a, int64_t n, int64_t d, TileSizes t) {
    viz::VizConfig c;
    c.algorithm = a;
    c.seq = n;
    c.head_dim = d;
    c.tiles = t;
    c.seed = 7;
    return c;
  };
  std::vector<viz::VizConfig> v;
  v.push_back(make(VizAlgorithm::Flash, 70, 16, {16, 24}));  // ragged last blocks
  v.back().causal = true;
  v.push_back(make(VizAlgorithm::Flash2, 64, 16, {16, 16}));
  v.back().sparse = "random:0.5";
  v.push_back(make(VizAlgorithm::Flash2, 56, 8, {16, 16}));  // FA4's kept max, causal
  v.back().kept_max = true;
  v.back().causal = true;
  v.push_back(make(VizAlgorithm::Standard, 48, 8, {16, 16}));
  v.back().dropout = 0.25;
  v.push_back(make(VizAlgorithm::FlashBackward, 48, 8, {16, 16}));
  v.back().causal = true;
  v.back().dropout = 0.1;
  v.push_back(make(VizAlgorithm::StandardBackward, 40, 8, {16, 16}));
  v.push_back(make(VizAlgorithm::Flash2Backward, 40, 8, {16, 8}));  // FA2 Alg. 2
  v.back().causal = true;
  v.push_back(make(VizAlgorithm::BlockSparse, 64, 8, {8, 8}));  // butterfly by default
  // Rows longer than the SRAM: standard attention's softmax merges block statistics (§3.1).
  v.push_back(make(VizAlgorithm::Standard, 32, 4, {2, 2}));
  v.back().sram_bytes = 64;
  // The paper's rule with a small SRAM (default tiles, shrunk to fit).
  viz::VizConfig rule;
  rule.algorithm = VizAlgorithm::Flash;
  rule.seq = 100;
  rule.head_dim = 16;
  rule.sram_bytes = 4096;
  v.push_back(rule);
  return v;
}

}  // namespace flashlab::test
