// One run of a student's algorithm on a fresh simulated machine, as the graders of labs 3 and 6
// do it: Q, K, V uploaded to HBM (random data, or none in counting-only mode), the student's
// function called, and what it left behind: the machine's error, counters, trace, SRAM still
// in use, and O, l, m from HBM.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <flashlab/core/tensor.hpp>
#include <flashlab/core/tiling.hpp>
#include <flashlab/simulator/algorithms/problem.hpp>
#include <flashlab/simulator/machine/machine.hpp>

namespace flashlab::labs {

using MachineAlgorithm = std::function<void(simulator::Machine&, const simulator::HeadProblem&)>;

struct MachineRun {
  std::string error;  // flashlab::Error from the machine (SRAM overflow, ...), else ""
  simulator::IoStats stats;
  simulator::Trace trace;       // every event of the run
  bool outputs_in_hbm = false;  // O, l and m are defined in HBM
  std::vector<float> O, l, m;   // with data only
  int64_t sram_left_bytes = 0;  // still allocated after the run
  std::string resident;         // what that is
};

// `qkv` == nullptr: counting-only mode. `config.counting_only` is set from it.
MachineRun run_on_machine(simulator::MachineConfig config, const AttentionShape& shape,
                          const TileSizes& tiles, const std::vector<Tensor<float>>* qkv,
                          const char* context, const MachineAlgorithm& algorithm);

// Q, K, V ~ N(0, 1) for one (batch, head).
std::vector<Tensor<float>> random_qkv(uint64_t seed, const AttentionShape& s);
std::vector<Tensor<double>> to_double(const std::vector<Tensor<float>>& tensors);

}  // namespace flashlab::labs
