// The trace of one simulation: every step the machine takes (loads, stores, SRAM alloc/free,
// computations, per-row softmax updates, skipped blocks), each tagged with the pseudo-code line
// of the algorithm it implements. `flashlab trace` and the visualizer only read this.
// JSON form: trace_json.hpp, schema in docs/trace-format.md.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <flashlab/core/shape.hpp>
#include <flashlab/core/tiling.hpp>
#include <flashlab/simulator/algorithm.hpp>
#include <flashlab/simulator/machine/tensor_id.hpp>

namespace flashlab::simulator {

enum class EventKind : uint8_t {
  Load,           // HBM -> SRAM: `bytes` of `tensor`'s tile `rect`
  Store,          // SRAM -> HBM (also the "Initialize ... in HBM" writes of FA1 Alg. 2 and 4)
  Alloc,          // a tile of `rect.rows x rect.cols` elements is created in SRAM; op = tile name
  Free,           // that tile is released; op = tile name
  Compute,        // arithmetic on SRAM tiles; op = the formula, flops/exps = its cost
  SoftmaxUpdate,  // an online-softmax step; its per-row m, l are softmax_rows[first, first+count)
  Skip            // block (i, j) skipped: no allowed element (causal, block-sparse; FA1 Alg. 5)
};

const char* to_string(EventKind k);

// A rectangle of a tensor: rows [row0, row0+rows), columns [col0, col0+cols). For S-shaped
// tensors rows are queries and columns keys; vectors (l, m, L, D) have cols = 1.
struct TileRect {
  int64_t row0 = 0;
  int64_t rows = 0;
  int64_t col0 = 0;
  int64_t cols = 0;
  int64_t elements() const { return rows * cols; }
};

struct Event {
  EventKind kind = EventKind::Compute;
  int line = 0;       // 1-based line of Trace::pseudo_code
  int64_t batch = 0;  // the (batch, head) problem this step belongs to
  int64_t head = 0;
  TensorId tensor = TensorId::None;  // tensor moved, or the tensor the tile is a block of
  TileRect rect;                     // tile position in that tensor
  int64_t bytes = 0;                 // Load/Store: HBM bytes moved; Alloc/Free: tile bytes
  int64_t flops = 0;                 // Compute/SoftmaxUpdate: matmul or other FLOPs of the step
  int64_t exps = 0;                  // exp evaluations of the step
  int64_t draws = 0;                 // Compute: dropout's Philox calls of the step
  const char* op = "";               // formula ("S_ij = tau Q_i K_j^T") or tile name ("K_j")
  int64_t i = -1;                    // loop indices of the step (Q block i, K/V block j), -1 n/a
  int64_t j = -1;
  int64_t sram_used_bytes = 0;  // SRAM in use after the event
  int64_t softmax_first = 0;    // SoftmaxUpdate: index into Trace::softmax_rows
  int64_t softmax_count = 0;    // and number of rows (0 in counting-only mode)
};

// One row of an online-softmax update: statistics before and after, and e^{m_old - m_new}.
struct SoftmaxRow {
  int64_t row = 0;  // query row (global index within the head)
  float m_old = 0, l_old = 0, m_new = 0, l_new = 0, rescale = 0;
};

// The pseudo-code an algorithm follows: title and lines, lines[k] being line k + 1 (as numbered
// in the paper, with flashlab's additions in brackets).
struct PseudoCode {
  std::string title;
  std::vector<std::string> lines;
};

struct Trace {
  Algorithm algorithm = Algorithm::Flash;
  bool backward = false;
  std::string title;                     // e.g. "FlashAttention forward (FA1 Alg. 2)"
  std::vector<std::string> pseudo_code;  // pseudo_code[k] is line k + 1, numbered as the paper
  AttentionShape shape;
  TileSizes tiles;
  int64_t sram_capacity_bytes = 0;
  int element_bytes = 2;
  double softmax_scale = 1.0;
  bool causal = false;
  double dropout_p = 0.0;
  bool block_sparse = false;
  bool kept_max = false;  // flash2's forward kept its running max (SimConfig::kept_max)
  std::vector<Event> events;
  std::vector<SoftmaxRow> softmax_rows;
  // Storage for event texts that are not string literals (traces read from JSON). Shared, so a
  // copied Trace keeps valid `op` pointers.
  std::shared_ptr<std::deque<std::string>> strings = std::make_shared<std::deque<std::string>>();

  // Returns a pointer to a stable copy of `text` owned by this trace.
  const char* intern(std::string_view text);
  std::span<const SoftmaxRow> rows_of(const Event& e) const;
  // The text of pseudo-code line `line` (1-based); "" when out of range.
  std::string_view line_text(int line) const;
};

}  // namespace flashlab::simulator
