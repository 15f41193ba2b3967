// `flashlab compare`: every implementation on the same inputs, each output checked against the
// float64 reference by relative L2 error, with a tolerance per kind of implementation.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <flashlab/cli/error_metrics.hpp>
#include <flashlab/cli/implementation_run.hpp>
#include <flashlab/cli/inputs.hpp>
#include <flashlab/cli/problem.hpp>

namespace flashlab::cli {

// The default relative-L2 tolerance of a row, for every quantity it produced:
//  - simulator: 1e-4. It computes in float32 on inputs the reference sees exactly, so its only
//    error is float rounding (unit roundoff 6e-8) accumulated over sums of length N and d:
//    ~1e-7..1e-6 in practice; 1e-4 leaves two orders of margin yet catches any algorithmic slip
//    (a missing rescale or a wrong mask gives errors of 1e-2 and more).
//  - cuda: fp32 1e-4; fp16 1e-2 and bf16 5e-2, because the kernels round P to the dtype before
//    P V (unit roundoff 4.9e-4 and 3.9e-3) and accumulate gradients over N.
// --tolerance replaces all of them.
double default_tolerance(ImplementationKind kind, DType dtype);

struct QuantityCheck {
  Quantity quantity = Quantity::O;
  ErrorMetrics error;
  bool pass = true;  // error.rel_l2 <= tolerance (a NaN never passes)
};

// The verdict of one row; absent rows have no checks and do not fail.
struct RowCheck {
  double tolerance = 0.0;
  std::vector<QuantityCheck> checks;
  bool pass = true;
};

struct CompareReport {
  Problem problem;
  bool backward = false;
  std::string inputs;  // where the inputs came from: "random normal (seed 0)" or the files
  std::vector<ImplementationRun> runs;  // runs[0] is the reference
  std::vector<RowCheck> checks;         // one per run
  bool pass = true;                     // every available row within its tolerance
};

// The rows of a report: the reference, three simulated algorithms, two CUDA rows.
inline constexpr size_t kCompareRows = 6;

// Runs the reference, the simulated standard, flash and flash2, and the CUDA rows; then checks
// every output against the reference. `tolerance` replaces the defaults when set. `starting`, if
// set, is called as each implementation starts, with its label (for a progress bar).
CompareReport run_compare(const Problem& problem, const Inputs& inputs, bool backward,
                          std::optional<double> tolerance, std::string inputs_description,
                          const std::function<void(const std::string&)>& starting = {});

// The checks of `run` against `reference` (outputs present in both, forward then backward).
RowCheck check_against(const ImplementationRun& run, const ImplementationRun& reference,
                       double tolerance);

}  // namespace flashlab::cli
