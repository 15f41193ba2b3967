// `flashlab sweep`: one parameter (N, d, SRAM size, block size, block-sparse density) varied over
// a list of values; per point the simulator's counts for standard attention, FlashAttention and
// the FA2 order: HBM bytes, FLOPs, peak SRAM, extra memory and the predicted time (paper Fig. 2).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <flashlab/cli/problem.hpp>
#include <flashlab/simulator/machine/io_stats.hpp>
#include <flashlab/simulator/model/gpu_spec.hpp>
#include <flashlab/simulator/model/performance_model.hpp>

namespace flashlab::cli {

enum class SweepParam { N, HeadDim, Sram, Block, Density };

// "N" (also "seq"), "d" (also "head-dim"), "sram", "block", "density"; throws flashlab::Error.
SweepParam parse_sweep_param(const std::string& text);
std::string sweep_param_name(SweepParam p);  // "N", "d", "sram", "block", "density"

struct SweepValue {
  double value = 0;   // N, d, bytes, block size, or density
  std::string label;  // as shown: "4096", "48 KiB", "0.25"
};

// Parses "--values" ("256,512,1024"; sram accepts units: "32KiB,64KiB"), or when `values` is
// empty builds from / from*factor / ... <= to (geometric; --from and --to as text, like values),
// or the parameter's default range when both are empty. Throws flashlab::Error naming the bad
// value and what the parameter accepts.
std::vector<SweepValue> sweep_values(SweepParam param, const std::string& values,
                                     const std::string& from, const std::string& to, double factor);

// One algorithm at one point.
struct SweepCell {
  bool available = false;
  std::string reason;                // why not, e.g. the tiles do not fit the SRAM
  simulator::IoStats stats;          // for the whole problem (batch x heads)
  simulator::Prediction prediction;  // the performance model on the --gpu preset
  TileSizes tiles;
  double extra_memory_bytes = 0;
  // The simulator's closed form beside the counts (io_formulas.hpp): exact bytes from the loop
  // structure, and the paper's asymptotic bound (Thm. 2, Prop. 4, Thm. 5) evaluated.
  int64_t formula_bytes = 0;
  std::string theta;          // e.g. "Theta(N^2 d^2 / M)"
  double theta_elements = 0;  // constants dropped, all heads
};

struct SweepPoint {
  SweepValue value;
  Problem problem;
  std::vector<SweepCell> cells;  // standard, flash, flash2
};

struct SweepResult {
  SweepParam param = SweepParam::N;
  bool backward = false;  // the counts are of the backward pass (Thm. 5) instead of the forward
  std::vector<SweepPoint> points;
};

// The algorithms of SweepPoint::cells, in order.
inline constexpr simulator::Algorithm kSweepAlgorithms[] = {
    simulator::Algorithm::Standard, simulator::Algorithm::Flash, simulator::Algorithm::Flash2};

// The points of a sweep, each value's problem resolved (no cells yet). Throws flashlab::Error
// naming the value whose problem is invalid.
std::vector<SweepPoint> sweep_points(const ProblemArgs& base, SweepParam param,
                                     const std::vector<SweepValue>& values, bool backward);

// Runs the simulator in counting-only mode on one (batch, head) per point and scales the counts
// by batch x heads, exactly (in counting mode every head does the same work); counts that int64
// cannot hold are refused with flashlab::Error naming --batch and --heads, never wrapped.
// `progress` is called before each point with (points done, label of the point).
SweepResult run_sweep(SweepParam param, std::vector<SweepPoint> points, bool backward,
                      const std::function<void(size_t, const std::string&)>& progress);

}  // namespace flashlab::cli
