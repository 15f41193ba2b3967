// What a command will cost before it starts: host memory at the peak and time, per step, from
// the problem alone (all heads, every implementation, the trace). Commands refuse what cannot fit
// the machine with exit 2 and the estimate, and show progress on what takes more than a couple of
// seconds. The constants are measured on one core of the development machine (docs/cli.md,
// "Limits"); an estimate errs on the high side.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <flashlab/cli/problem.hpp>
#include <flashlab/simulator/algorithm.hpp>

namespace flashlab::cli {

// A command estimated to run longer than this is refused.
inline constexpr double kMaxEstimatedSeconds = 3600;

struct WorkStep {
  std::string label;  // what runs, for the progress bar: "flash (simulator)"
  double seconds = 0;
};

struct WorkEstimate {
  double peak_bytes = 0;  // host memory at the peak
  std::vector<WorkStep> steps;
  double output_bytes = 0;  // size of the file written (trace JSON), 0 when none

  double seconds() const;
  std::vector<double> step_seconds() const;  // for ProgressBar
};

// compare: inputs (random or loaded), the float64 reference, the three simulated algorithms and
// the CUDA rows, with every output kept for the report.
WorkEstimate estimate_compare(const Problem& problem, bool backward);

// trace: the simulation with arithmetic (every head runs; `all_heads` records them all, else the
// first) and the JSON text.
WorkEstimate estimate_trace(const Problem& problem, simulator::Algorithm algorithm, bool backward,
                            bool all_heads);

// One point of a sweep: the three algorithms counting only, one head each.
WorkEstimate estimate_sweep_point(const Problem& problem, bool backward);

// Simulated events of one head (an upper bound): about a constant per tile block (i, j).
double events_per_head(const Problem& problem, simulator::Algorithm algorithm, bool backward);

// Host memory that can be used now: MemAvailable, or the cgroup's limit if lower.
double available_memory_bytes();

// Whether to draw a progress bar for a run estimated at `estimate`: on a terminal, when it takes
// longer than kProgressAfterSeconds. Elsewhere (a log, a pipe) it draws none, and says in one
// note on stderr how long `what` will take when that is more than kNoteAfterSeconds.
inline constexpr double kNoteAfterSeconds = 10;
bool show_progress(const WorkEstimate& estimate, const std::string& what);

// Throws flashlab::Error unless `estimate` fits: memory within available_memory_bytes(), time
// within kMaxEstimatedSeconds. `what` names the request ("compare of batch=64 heads=16 ...") and
// the message gives the estimate and what to reduce.
void require_feasible(const WorkEstimate& estimate, const std::string& what);

}  // namespace flashlab::cli
