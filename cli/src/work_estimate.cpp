// Memory and time estimates of compare, trace and sweep, from the problem's sizes and tiles, and
// the refusal of what cannot fit. Memory is counted from what the code allocates (tensors of
// doubles and floats, score matrices per head, trace events); times use rates measured on one core
// of the development machine (RelWithDebInfo), rounded up.
#include <flashlab/cli/work_estimate.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <flashlab/cli/compare.hpp>
#include <flashlab/cli/progress_bar.hpp>
#include <flashlab/cli/terminal.hpp>
#include <flashlab/cli/units.hpp>
#include <flashlab/simulator/simulate.hpp>

namespace flashlab::cli {
namespace {

using simulator::Algorithm;

// Seconds per unit of work, measured (docs/cli.md, "Limits").
constexpr double kInputSecondsPerElement = 80e-9;   // Philox normal, rounding, checks
constexpr double kReferenceSecondsPerMac = 2.5e-9;  // Eigen double GEMMs of FA1 Alg. 0 / FA1 Alg. 3
constexpr double kReferenceSecondsPerScore = 40e-9;   // softmax, mask, dropout per element of S
constexpr double kSimulatorSecondsPerMac = 1.5e-9;    // Eigen float tile products
constexpr double kSimulatorSecondsPerEvent = 2.0e-6;  // one traced step with arithmetic
constexpr double kCountingSecondsPerEvent = 0.6e-6;   // one step without arithmetic
constexpr double kJsonSecondsPerByte = 12e-9;         // writing trace JSON
constexpr double kCudaSecondsPerElement = 60e-9;      // host-side conversions of the CUDA rows
constexpr double kModelSecondsPerUnit = 100e-9;       // the performance model, per unit scheduled
// Trace JSON per event and per softmax row (measured maxima: 320 and 60 bytes), and in memory.
constexpr double kJsonBytesPerEvent = 330, kJsonBytesPerRow = 64;
constexpr double kEventBytes = double(sizeof(simulator::Event)) + 16;
constexpr double kProcessBytes = 16e6;  // the program itself, before any problem

struct Sizes {
  double q, kv, lse, scores, heads;  // elements of Q, of K, of the logsumexp; S of one head
};

Sizes sizes_of(const AttentionShape& s) {
  return {double(s.batch) * double(s.heads) * double(s.seq_q) * double(s.head_dim),
          double(s.batch) * double(s.heads) * double(s.seq_k) * double(s.head_dim),
          double(s.batch) * double(s.heads) * double(s.seq_q), double(s.seq_q) * double(s.seq_k),
          double(s.batch) * double(s.heads)};
}

// Tiles of `algorithm`'s pass on the problem (the simulator's rule; FA2's backward has its
// own), or 1 x 1 if none fits (callers have refused that already; 1 x 1 keeps the estimate an
// upper bound).
TileSizes tiles_of(const Problem& p, Algorithm algorithm, bool backward) {
  try {
    const simulator::SimConfig config = sim_config(p, algorithm, backward);
    return backward ? simulator::resolve_backward_tiles(config) : simulator::resolve_tiles(config);
  } catch (const Error&) {
    return {1, 1};
  }
}

// Events per tile block (i, j), the largest measured over masks, dropout and SRAM sizes, plus a
// few per head outside the loops.
double events_per_block(Algorithm a, bool backward, bool dropout) {
  switch (a) {
    case Algorithm::Standard:
      return backward ? 40 : 26 + (dropout ? 6 : 0);
    case Algorithm::Flash:
      return backward ? 38 : 40;
    case Algorithm::Flash2:
      return backward ? 33 : 17;
  }
  return 40;
}

// Softmax rows one head records: one per query row and key block for the online algorithms.
double softmax_rows_per_head(const Problem& p, Algorithm a) {
  const TileSizes t = tiles_of(p, a, false);
  return a == Algorithm::Standard
             ? 0.0
             : double(p.shape.seq_q) * double(ceil_div(p.shape.seq_k, t.block_cols));
}

// Memory the simulator holds while running `a` with arithmetic: float copies of the inputs, its
// results, and per head the HBM tensors (for standard attention the N x N matrices).
double simulator_bytes(const Problem& p, Algorithm a, bool backward) {
  const Sizes z = sizes_of(p.shape);
  const double drop = p.options.dropout_p > 0 ? 1 : 0;
  const double inputs = 4 * (z.q + 2 * z.kv + (backward ? z.q : 0));
  const double results = 4 * (z.q + z.lse + (backward ? z.q + 2 * z.kv : 0));
  // One head's Q, K, V, O, dO, dQ, dK, dV and its vectors (l, m, L, D) in the machine's HBM.
  const double per_head_vectors =
      4 * (8 * double(std::max(p.shape.seq_q, p.shape.seq_k)) * double(p.shape.head_dim) +
           4 * double(p.shape.seq_q));
  const double matrices =
      a == Algorithm::Standard ? 4 * z.scores * (2 + 2 * drop + (backward ? 2 : 0)) : 0;
  return inputs + results + per_head_vectors + matrices;
}

std::string seconds_text(double s) {
  std::ostringstream out;
  if (s < 120)
    out << std::lround(std::max(1.0, s)) << " s";
  else if (s < 7200)
    out << std::lround(s / 60) << " min";
  else
    out << std::lround(s / 3600) << " h";
  return out.str();
}

// The performance model schedules every unit (thread block) of every head one at a time on the
// SMs: its time grows with batch x heads. A bound on the units of one algorithm's pass per head:
// a few launches of at most T_r + T_c units each.
double model_seconds(const Problem& p, Algorithm a, bool backward) {
  const TileSizes t = tiles_of(p, a, backward);
  const double blocks =
      double(ceil_div(p.shape.seq_q, t.block_rows)) + double(ceil_div(p.shape.seq_k, t.block_cols));
  return sizes_of(p.shape).heads * (4 * blocks + 4) * (backward ? 2 : 1) * kModelSecondsPerUnit;
}

}  // namespace

double WorkEstimate::seconds() const {
  double total = 0;
  for (const WorkStep& s : steps) total += s.seconds;
  return total;
}

std::vector<double> WorkEstimate::step_seconds() const {
  std::vector<double> s;
  for (const WorkStep& step : steps) s.push_back(step.seconds);
  return s;
}

double events_per_head(const Problem& p, Algorithm algorithm, bool backward) {
  const TileSizes t = tiles_of(p, algorithm, backward);
  const double blocks =
      double(ceil_div(p.shape.seq_q, t.block_rows)) * double(ceil_div(p.shape.seq_k, t.block_cols));
  return blocks * events_per_block(algorithm, backward, p.options.dropout_p > 0) + 64;
}

WorkEstimate estimate_compare(const Problem& p, bool backward) {
  const Sizes z = sizes_of(p.shape);
  const double d = double(p.shape.head_dim), drop = p.options.dropout_p > 0 ? 1 : 0;
  WorkEstimate w;
  const double input_elements = z.q + 2 * z.kv + (backward ? z.q : 0);
  w.steps.push_back({"inputs", input_elements * kInputSecondsPerElement});

  // The reference: forward Q K^T and P V; the backward recomputes S, P and adds four products.
  const double macs = z.heads * z.scores * d * (backward ? 2 + 5 : 2);
  const double score_passes = z.heads * z.scores * (backward ? 12 : 5);
  w.steps.push_back({"reference (float64)",
                     macs * kReferenceSecondsPerMac + score_passes * kReferenceSecondsPerScore});

  double simulator_peak = 0;
  for (const Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
    const bool bwd = backward;  // every simulated algorithm has its backward
    // Forward plus, for the backward, its forward again (uncounted) and FA1 Alg. 3 / FA1 Alg. 4.
    const double events = events_per_head(p, a, false) + (bwd ? events_per_head(p, a, true) : 0);
    const double sim_macs = z.heads * z.scores * d * (bwd ? 2 + 2 + 5 : 2);
    w.steps.push_back({std::string(simulator::to_string(a)) + " (simulator)",
                       z.heads * events * kSimulatorSecondsPerEvent +
                           sim_macs * kSimulatorSecondsPerMac + model_seconds(p, a, false) +
                           (bwd ? model_seconds(p, a, true) : 0)});
    simulator_peak = std::max(simulator_peak, simulator_bytes(p, a, bwd));
  }
  // The CUDA rows: host conversions, and the model of the fused (FA2) and naive (standard)
  // kernels, counting only over every head.
  double cuda = 2 * (z.q + 2 * z.kv) * kCudaSecondsPerElement;
  for (const Algorithm a : {Algorithm::Flash2, Algorithm::Standard})
    for (const bool pass : {false, true})
      if (!pass || backward)
        cuda += z.heads * events_per_head(p, a, pass) * kCountingSecondsPerEvent +
                model_seconds(p, a, pass);
  w.steps.push_back({"cuda", cuda});

  const double inputs = 8 * input_elements;
  const double kept = double(kCompareRows) * 8 * (z.q + z.lse + (backward ? z.q + 2 * z.kv : 0));
  // S and P (dP, dS in the backward, Z with dropout) of one head, and one more for Eigen's
  // temporaries.
  const double reference =
      8 * z.scores * ((backward ? 5 : 3) + drop) +
      8 * (double(p.shape.seq_q) + 2 * double(p.shape.seq_k)) * d * (backward ? 2 : 1);
  w.peak_bytes = kProcessBytes + inputs + kept + std::max(reference, simulator_peak);
  return w;
}

WorkEstimate estimate_trace(const Problem& p, Algorithm algorithm, bool backward, bool all_heads) {
  const Sizes z = sizes_of(p.shape);
  const double d = double(p.shape.head_dim);
  const double events = events_per_head(p, algorithm, backward);
  const double rows = softmax_rows_per_head(p, algorithm);
  const double recorded = all_heads ? z.heads : 1;
  WorkEstimate w;
  w.steps.push_back({"inputs", (z.q + 2 * z.kv + z.q) * kInputSecondsPerElement});
  const double macs = z.heads * z.scores * d * (backward ? 2 + 2 + 5 : 2);
  w.steps.push_back(
      {std::string(simulator::to_string(algorithm)) + " (simulator)",
       z.heads * events * kSimulatorSecondsPerEvent + macs * kSimulatorSecondsPerMac});
  w.output_bytes = recorded * (events * kJsonBytesPerEvent + rows * kJsonBytesPerRow);
  w.steps.push_back({"JSON", w.output_bytes * kJsonSecondsPerByte});
  w.peak_bytes = kProcessBytes + 8 * (2 * z.q + 2 * z.kv) +
                 simulator_bytes(p, algorithm, backward) +
                 recorded * (events * kEventBytes + rows * double(sizeof(simulator::SoftmaxRow)));
  return w;
}

WorkEstimate estimate_sweep_point(const Problem& p, bool backward) {
  WorkEstimate w;
  for (const Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
    const double events =
        events_per_head(p, a, false) + (backward ? events_per_head(p, a, true) : 0);
    w.steps.push_back({simulator::to_string(a),
                       events * kCountingSecondsPerEvent + model_seconds(p, a, backward)});
  }
  return w;
}

double available_memory_bytes() {
  double available = 0;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") available = kib * 1024;
  if (available <= 0) {
    const long pages = ::sysconf(_SC_AVPHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    available = pages > 0 && page > 0 ? double(pages) * double(page) : 1e18;
  }
  // A container's limit (cgroup v2) can be far below the machine's free memory.
  std::ifstream limit_file("/sys/fs/cgroup/memory.max"),
      usage_file("/sys/fs/cgroup/memory.current");
  std::string limit;
  double usage = 0;
  if (limit_file >> limit && limit != "max" && usage_file >> usage)
    available = std::min(available, std::stod(limit) - usage);
  return available;
}

bool show_progress(const WorkEstimate& w, const std::string& what) {
  if (is_terminal(stderr)) return w.seconds() > kProgressAfterSeconds;
  if (w.seconds() > kNoteAfterSeconds)
    print_note(what + " will take about " + seconds_text(w.seconds()));
  return false;
}

void require_feasible(const WorkEstimate& w, const std::string& what) {
  const double memory = available_memory_bytes();
  require(w.peak_bytes <= memory, what + " needs about " + format_bytes(w.peak_bytes) +
                                      " of memory; " + format_bytes(memory) +
                                      " is available. Reduce the sizes (--batch, --heads, --seq)");
  require(w.seconds() <= kMaxEstimatedSeconds,
          what + " would take about " + seconds_text(w.seconds()) + " (more than " +
              seconds_text(kMaxEstimatedSeconds) +
              "). Reduce the sizes (--batch, --heads, --seq) or use larger tiles");
}

}  // namespace flashlab::cli
