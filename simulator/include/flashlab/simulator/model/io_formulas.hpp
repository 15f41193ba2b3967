// Closed-form HBM traffic of each simulated algorithm, exact for its loop structure, and the
// asymptotic expression of the paper (Theorem 2, Proposition 4, Theorem 5), for display beside
// the measured counts (`flashlab compare`, the visualizer). Derivations: docs/simulator.md.
// Tests do not use these as expectations; they derive their own formulas.
#pragma once

#include <string>
#include <vector>

#include <flashlab/simulator/simulate.hpp>

namespace flashlab::simulator {

struct TensorFormula {
  TensorId tensor = TensorId::None;
  std::string reads;  // e.g. "T_c N d" -- per (batch, head), in elements
  std::string writes;
  int64_t read_elements = 0;  // evaluated, all heads
  int64_t written_elements = 0;
};

struct IoFormula {
  std::vector<TensorFormula> tensors;  // only tensors with traffic
  int64_t bytes_read = 0;              // exact, all heads, = what the simulator counts
  int64_t bytes_written = 0;
  std::string theta;          // the paper's bound, e.g. "Theta(N^2 d^2 / M)"
  double theta_elements = 0;  // that expression evaluated (constants dropped), all heads
  std::string notes;          // symbols used (T_r, T_c, active blocks ...) with their values

  int64_t total_bytes() const { return bytes_read + bytes_written; }
};

// The formula for config (forward, or backward when `backward`) with the tiles the simulation
// would use (resolve_tiles). With a mask, counts depend on which blocks are skipped: the formula
// then uses the number of active blocks, found per tile as the algorithms do.
IoFormula io_formula(const SimConfig& config, bool backward = false);

}  // namespace flashlab::simulator
