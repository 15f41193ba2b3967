// What each panel shows, as plain data computed from (session, replay state) by pure functions.
// The GUI's draw_* functions only render these; the tests compare them with the trace.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <flashlab/simulator/model/gpu_spec.hpp>
#include <flashlab/simulator/model/performance_model.hpp>
#include <flashlab/viz/replay.hpp>

namespace flashlab::viz {

// ---- HBM view --------------------------------------------------------------------------------

struct GridView {
  const TensorGrid* grid = nullptr;
  std::span<const int32_t> reads;    // per cell, so far (on-chip S: always 0)
  std::span<const int32_t> writes;   // per cell, so far (on-chip S: times the block was computed)
  std::span<const uint8_t> skipped;  // per cell: the mask skips the block (FA1 Alg. 5)
  int64_t bytes_read = 0, bytes_written = 0;  // this tensor, so far
};

// A cell range lit up because an event moved (or computed, or skipped) it. age 0 is the current
// event; older movements fade (age up to kTrailLength - 1).
struct Highlight {
  EffectKind kind = EffectKind::None;
  int grid = -1;
  CellRange cells;
  int age = 0;
};
inline constexpr int kTrailLength = 6;

// A tile now resident in SRAM, outlined where it came from.
struct ResidentOutline {
  int grid = -1;
  CellRange cells;
};

struct HbmViewData {
  std::vector<GridView> grids;        // Session::grids order
  std::vector<Highlight> highlights;  // current first, then older movements
  std::vector<ResidentOutline> resident;
  int32_t max_heat = 1;  // heat-map scale: most transfers of any cell over the whole pass
};

HbmViewData hbm_view_data(const ReplayState& state);

// ---- SRAM view -------------------------------------------------------------------------------

struct SramTileView {
  std::string name;  // "K_j", "m~_ij"
  TensorId tensor = TensorId::None;
  simulator::TileRect rect;
  int64_t bytes = 0;
  int64_t alloc_event = 0;
  bool just_loaded = false;  // allocated (or loaded) by the current event
};

struct SramViewData {
  int64_t capacity_bytes = 0;
  int64_t used_bytes = 0;           // after the current event (the trace's sram_used_bytes)
  int64_t peak_so_far = 0;          // over events [0, step)
  int64_t peak_bytes = 0;           // over the whole pass
  std::vector<SramTileView> tiles;  // alloc order
};

SramViewData sram_view_data(const ReplayState& state);

// ---- online-softmax panel ----------------------------------------------------------------------

// One online-softmax update of the chosen row (one block j of keys), from the trace.
struct SoftmaxStep {
  int64_t event = 0;           // index of the SoftmaxUpdate event
  int64_t j = -1;              // K/V block
  int64_t col0 = 0, cols = 0;  // the block's key columns
  float m_old = 0, l_old = 0, m_new = 0, l_new = 0, rescale = 0;
  double block_max = NAN;  // max score of the row in this block (from S; NaN without values)
  bool done = false;       // applied at the current step
};

struct SoftmaxPanelData {
  int64_t row = 0;
  int64_t row_block = 0;  // i = row / B_r
  bool online = false;    // the algorithm updates m, l block by block
  bool has_values = false;
  std::string explanation;  // what this algorithm does with the row's softmax
  std::vector<SoftmaxStep> steps;
  std::vector<int64_t> skipped_blocks;  // j of blocks of this row block the mask skips
  int64_t done_count = 0;
  std::optional<size_t> current;       // index into steps of the current event, if it is one
  float m_now = -INFINITY, l_now = 0;  // the running statistics at the current step
  int64_t last_event = -1;             // the row's last update (or its last block's event)
  bool finished = false;               // every update of the row is applied

  // With values: the row of S, and the result beside the reference.
  std::span<const float> scores;    // seq_k (-inf where masked)
  std::vector<double> p_result;     // exp(s - m) / l with the trace's final m, l
  std::vector<double> p_reference;  // exp(s - lse_ref), the float64 reference
  double p_max_abs_diff = NAN;
  double lse_result = NAN, lse_reference = NAN;
  std::span<const float> o_result;  // the simulator's output row (forward)
  std::span<const double> o_reference;
  double o_max_abs_diff = NAN;
};

SoftmaxPanelData softmax_panel_data(const ReplayState& state, int64_t row);

// ---- pseudo-code panel -------------------------------------------------------------------------

struct PseudoCodeData {
  std::string_view title;
  std::span<const std::string> lines;  // lines[k] is line k + 1
  int current_line = 0;                // 1-based; 0 before the first step
  std::span<const int64_t> hits;       // events per line so far
  std::string step_text;               // "load Q_i: rows 64..127 of Q (i=1, j=0), 8 KiB"
  std::string line_ref;                // the current line as code and docs cite it,
                                       // "FA1 Alg. 2 l. 15"; "" when none or unnamed
};

PseudoCodeData pseudo_code_data(const ReplayState& state);

// One line describing an event, e.g. "load K_j: K rows 0..63 x 64 cols (j=0) 8 KiB".
std::string describe_event(const simulator::Event& event);

// ---- counters and plots ------------------------------------------------------------------------

struct TensorCounter {
  TensorId tensor = TensorId::None;
  int64_t bytes_read = 0, bytes_written = 0;  // so far
  int64_t final_read = 0, final_written = 0;  // whole pass
  std::string formula_reads, formula_writes;  // closed form per head, in elements ("T_c N d")
};

struct RuntimeRow {
  std::string gpu;
  simulator::Prediction prediction;
};

struct CountersData {
  std::vector<TensorCounter> tensors;                          // tensors with traffic over the pass
  int64_t bytes_read = 0, bytes_written = 0, final_bytes = 0;  // so far / whole pass
  std::optional<int64_t> formula_bytes;                        // closed form, whole pass
  std::string theta;  // the paper's bound, e.g. "Theta(N^2 d^2 / M)"
  std::string formula_note;
  std::optional<int64_t> baseline_bytes;  // the other algorithm's whole pass
  std::string baseline_label, baseline_note;
  int64_t flops = 0, exps = 0;  // so far
  int64_t draws = 0;            // dropout's Philox calls so far
  simulator::IoStats final_stats;
  bool flops_split = true;          // false for a trace file: no matmul/other split
  std::vector<RuntimeRow> runtime;  // the performance model on A100, H100, H200, whole pass
  double progress = 0;              // step / events
  const ByteCurve* curve = nullptr;
  const ByteCurve* baseline_curve = nullptr;
};

CountersData counters_data(const ReplayState& state);

}  // namespace flashlab::viz
