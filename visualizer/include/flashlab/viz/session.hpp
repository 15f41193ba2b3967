// A session: one simulator run (or a saved trace) plus everything precomputed once so that the
// replay is cheap: the grid of tiles each tensor is drawn as, cumulative byte counts per step,
// the alloc/free pairs of SRAM tiles, the steps the timeline can jump to, and (for problems small
// enough to run with arithmetic) the values the online-softmax panel shows.
#pragma once

#include <array>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <flashlab/simulator/machine/io_stats.hpp>
#include <flashlab/simulator/model/io_formulas.hpp>
#include <flashlab/simulator/trace/trace.hpp>
#include <flashlab/viz/config.hpp>

namespace flashlab::viz {

using simulator::TensorId;

// Where a tensor is drawn in the HBM view: Q-like tensors (rows = queries) left of the score
// matrices, K-like ones (rows = keys) transposed above them, score-shaped ones as squares.
enum class GridRole : uint8_t { QueryMatrix, QueryVector, KeyMatrix, Scores };

// An inclusive range of cells of a grid.
struct CellRange {
  int64_t row_first = 0, row_last = -1, col_first = 0, col_last = -1;
  bool empty() const { return row_last < row_first || col_last < col_first; }
};

// A tensor as a grid of tiles: cell (r, c) covers rows [r*cell_rows, ...) and columns
// [c*cell_cols, ...) of the rows x cols tensor.
struct TensorGrid {
  TensorId tensor = TensorId::None;
  GridRole role = GridRole::QueryMatrix;
  bool on_chip_only = false;  // FlashAttention's S: blocks computed on chip, never in HBM
  int64_t rows = 0, cols = 0;
  int64_t cell_rows = 1, cell_cols = 1;
  int64_t grid_rows = 0, grid_cols = 0;

  int64_t cell_count() const { return grid_rows * grid_cols; }
  int64_t cell_index(int64_t r, int64_t c) const { return r * grid_cols + c; }
  // The cells a tile rectangle touches (clamped to the grid).
  CellRange cells_of(const simulator::TileRect& rect) const;
};

// Cumulative HBM bytes (read + written) over a pass, downsampled for plotting.
struct ByteCurve {
  std::string label;
  std::vector<float> progress;  // fraction of the pass's events, 0..1
  std::vector<double> bytes;    // cumulative bytes at that point
  int64_t total_bytes = 0;
};

// The other side of the comparison (standard attention for a flash run, flash for a standard
// run, same pass): its final counts and, when its trace fits the budget, its curve.
struct Baseline {
  std::string label;  // "standard attention forward (FA1 Alg. 0)"
  simulator::IoStats stats;
  std::optional<ByteCurve> curve;
};

// Values for the online-softmax panel (only with arithmetic, N <= kMaxArithmeticSeq).
struct RowValues {
  int64_t seq_q = 0, seq_k = 0, head_dim = 0;
  // S = mask(tau Q K^T), seq_q x seq_k row-major (-inf where masked), as standard attention
  // materializes it in HBM (FA1 Alg. 0 l. 1; from a simulator run of FA1 Alg. 0, not recomputed
  // here).
  std::vector<float> scores;
  std::vector<float> sim_lse;   // the simulator's forward logsumexp (per query row)
  std::vector<float> sim_O;     // the simulator's forward output, seq_q x d
  std::vector<double> ref_lse;  // flashlab::reference in double
  std::vector<double> ref_O;    // seq_q x d
};

struct Session {
  VizConfig config;  // what was run (for a trace file: reconstructed from its header)
  bool from_trace_file = false;
  std::string source;  // "simulator" or the trace file's path
  std::string title;   // trace title, e.g. "FlashAttention forward (FA1 Alg. 2)"
  simulator::Trace trace;
  simulator::IoStats stats;  // the run's final counts (for a trace file: summed from its events)
  // Launches, units and steps of the run, for the performance model (not in a trace file).
  std::optional<simulator::WorkRecord> work;
  bool flops_split = true;  // stats split matmul / other FLOPs (a trace file alone does not)
  TileSizes tiles;
  bool has_values = false;  // arithmetic ran: softmax rows and RowValues are filled
  RowValues values;
  std::vector<std::string> notes;  // what this mode shows and omits, one sentence each

  // --- replay indices (session_index.cpp) ---
  std::vector<TensorGrid> grids;                       // drawing order
  std::array<int, simulator::kTensorCount> grid_of{};  // tensor -> index into grids, -1: none
  int scores_grid = -1;                                // the grid S blocks and skips land on
  std::vector<int64_t> cum_read, cum_written;  // bytes after k events, k = 0..n (size n + 1)
  std::vector<int64_t> peak_sram;              // max sram_used_bytes over events [0, k)
  std::vector<int64_t> alloc_of_free;          // Free event -> its Alloc event; else -1
  std::vector<uint8_t> rescales;               // 1 for a softmax event whose max moved
  std::vector<int64_t> rescale_events;         // sorted event indices with rescales[e] == 1
  std::vector<int64_t> output_write_events;    // Store events of the pass's results (see below)
  std::vector<int64_t> follow_rows;            // per event: first query row of its block (below)
  std::vector<int64_t> block_starts;           // first event of each new (i, j) pair
  std::vector<int64_t> softmax_events;         // SoftmaxUpdate events
  std::vector<int64_t> skip_events;            // Skip events
  std::vector<std::vector<uint8_t>> skipped;   // per grid, per cell: a Skip event covers it
  int32_t max_heat = 1;                        // max transfers of any cell over the whole pass
  ByteCurve curve;                             // this run's cumulative bytes

  // --- comparison and formula (may be absent, with the reason) ---
  std::optional<Baseline> baseline;
  std::string baseline_note;
  std::optional<simulator::IoFormula> formula;
  std::string formula_note;

  int64_t event_count() const { return int64_t(trace.events.size()); }
  const TensorGrid* grid(TensorId t) const {
    const int g = grid_of[size_t(simulator::index(t))];
    return g < 0 ? nullptr : &grids[size_t(g)];
  }
};

// What Session::output_write_events holds: writes of the pass's results to HBM. Forward: O.
// Backward: dK and dV, and dQ, except in FA1's backward, where FA1 Alg. 4 l. 21 writes dQ_i at
// every step as a running sum (standard attention writes dQ once; FA2 Alg. 2 adds into an fp32
// accumulator and writes dQ once at the end). Label for buttons: "O", "dK, dV" or "dQ, dK, dV".
std::string output_write_label(const Session& session);

// Why a session has no rescale to jump to ("" when it has some): the backward recomputes P from
// the saved statistics; standard attention normalizes whole rows at once.
std::string no_rescale_reason(const Session& session);

// Session::follow_rows: for each event, the first query row of the block (i, j) the step is in --
// the rows of the latest event at or before it with a query block (i >= 0); before the first
// block, those of the first block. The online-softmax panel follows it.

// Runs the simulator for config (and the baseline, the reference and the score matrix when the
// problem is small enough) and indexes the trace. Throws flashlab::Error, one line, on an invalid
// config.
Session build_session(const VizConfig& config);

// Replays a trace saved by `flashlab trace` (docs/trace-format.md). No inputs come with a trace,
// so the softmax panel shows the recorded statistics without scores or a reference.
Session load_trace_session(std::istream& in, const std::string& source);
// The second half of load_trace_session, after the JSON is parsed (separate so that
// `flashlab-viz --benchmark-load` can time the two halves).
Session session_from_trace(simulator::Trace trace, const std::string& source);

// The indices above for session.trace (called by both constructors; public for tests).
void index_session(Session& session);

// Downsamples cumulative bytes (size n + 1) to at most `points` samples.
ByteCurve make_curve(const std::string& label, const std::vector<int64_t>& cum_read,
                     const std::vector<int64_t>& cum_written, size_t points = 1024);

}  // namespace flashlab::viz
