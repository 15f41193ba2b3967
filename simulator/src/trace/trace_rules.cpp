// The rules of a trace read from JSON (docs/trace-format.md, "Limits and rules"), each failure
// named by the path of the field and the value, and what the shape allows.
#include "trace_rules.hpp"

#include <algorithm>
#include <cmath>

#include <flashlab/core/byte_size.hpp>
#include <flashlab/core/error.hpp>
#include <flashlab/simulator/trace/trace_json.hpp>

namespace flashlab::simulator::trace_rules {
namespace {

std::string str(int64_t v) {
  return std::to_string(v);
}

// Where rectangles of a tensor may lie, within one head: rows x cols, and their names.
struct Extent {
  int64_t rows, cols;
  const char *rows_name, *cols_name;
  std::string text() const {
    return std::string(rows_name) + " " + str(rows) + " x " + cols_name + " " + str(cols);
  }
};

Extent extent_of(TensorId tensor, const AttentionShape& s) {
  switch (tensor) {
    case TensorId::Q:
    case TensorId::O:
    case TensorId::dO:
    case TensorId::dQ:
    case TensorId::dQ_acc:
      return {s.seq_q, s.head_dim, "seq_q", "head_dim"};
    case TensorId::K:
    case TensorId::V:
    case TensorId::dK:
    case TensorId::dV:
      return {s.seq_k, s.head_dim, "seq_k", "head_dim"};
    case TensorId::l:
    case TensorId::m:
    case TensorId::L:
    case TensorId::D:
      return {s.seq_q, 1, "seq_q", "columns"};
    case TensorId::None:  // on-chip scratch (rescale factors): query rows, at most a row of S or O
      return {s.seq_q, std::max(s.seq_k, s.head_dim), "seq_q", "max(seq_k, head_dim)"};
    default:  // S, P, P_dropped, dP, dS, Z: the seq_q x seq_k score matrices
      return {s.seq_q, s.seq_k, "seq_q", "seq_k"};
  }
}

// Appends to one string: GCC 12's -Wrestrict misreads `"[" + std::string&&` (an insert at 0)
// in Release builds.
std::string rect_text(const TileRect& r) {
  std::string text = "[";
  for (const int64_t v : {r.row0, r.rows, r.col0, r.cols}) {
    if (text.size() > 1) text += ", ";
    text += str(v);
  }
  return text + "]";
}

// 0 <= value < bound, or value == -1 when `minus_one_ok`.
bool in_range(int64_t value, int64_t bound, bool minus_one_ok = false) {
  return (value >= 0 && value < bound) || (minus_one_ok && value == -1);
}

// "<value> is outside <what> (0..bound-1)", built only when a check fails.
std::string outside(int64_t value, int64_t bound, const std::string& what,
                    bool minus_one_ok = false) {
  return str(value) + " is outside " + what + " (" + (minus_one_ok ? "-1 or " : "") + "0.." +
         str(bound - 1) + ")";
}

// Bytes per element in HBM: the trace's element size, except FA2's dQ accumulator, which is fp32
// whatever the element type (FA2 Alg. 2 l. 15; simulator/src/algorithms/flash2_backward.cpp).
int64_t hbm_element_bytes(TensorId tensor, int element_bytes) {
  return tensor == TensorId::dQ_acc ? 4 : element_bytes;
}

bool moves_a_tile(EventKind k) {
  return k == EventKind::Load || k == EventKind::Store || k == EventKind::Alloc ||
         k == EventKind::Free;
}

int64_t blocks(int64_t seq, int64_t block) {
  return seq / block + (seq % block != 0 ? 1 : 0);
}

}  // namespace

void fail(const std::string& where, const std::string& what) {
  throw Error("trace JSON: " + where + ": " + what);
}

std::string element_path(const char* array, size_t k) {
  return std::string(array) + "[" + std::to_string(k) + "]";
}

void check_header(const Trace& t) {
  const AttentionShape& s = t.shape;
  const std::pair<int64_t, const char*> dims[] = {{s.batch, "shape.batch"},
                                                  {s.heads, "shape.heads"},
                                                  {s.seq_q, "shape.seq_q"},
                                                  {s.seq_k, "shape.seq_k"},
                                                  {s.head_dim, "shape.head_dim"}};
  for (const auto& [value, name] : dims)
    if (value < 1 || value > kMaxDimension) fail(name, str(value) + " is outside 1..2^30");
  try {
    validate(t.shape);  // the element count as a whole
  } catch (const Error& e) {
    fail("shape", e.what());
  }
  const std::pair<int64_t, const char*> tiles[] = {{t.tiles.block_rows, "tiles.block_rows"},
                                                   {t.tiles.block_cols, "tiles.block_cols"}};
  for (const auto& [value, name] : tiles)
    if (value < 1 || value > kMaxDimension)
      fail(name, "block size " + str(value) + " is outside 1..2^30");
  if (t.sram_capacity_bytes < 1 || t.sram_capacity_bytes > kMaxByteSize)
    fail("sram_capacity_bytes", str(t.sram_capacity_bytes) + " is outside 1..2^50 bytes");
  if (t.element_bytes < 1 || t.element_bytes > 8)
    fail("element_bytes", str(t.element_bytes) + " is outside 1..8");
  if (!(std::isfinite(t.softmax_scale) && t.softmax_scale > 0))
    fail("options.softmax_scale", std::to_string(t.softmax_scale) + " is not finite and > 0");
  if (!(t.dropout_p >= 0 && t.dropout_p < 1))
    fail("options.dropout_p", std::to_string(t.dropout_p) + " is outside [0, 1)");
  if (t.kept_max && (t.algorithm != Algorithm::Flash2 || t.backward))
    fail("options.kept_max", "true, but only flash2's forward keeps its running max");
}

void check_row(const Trace& t, const SoftmaxRow& row, size_t k) {
  if (!in_range(row.row, t.shape.seq_q))
    fail(element_path("softmax_rows", k) + "[0]",
         outside(row.row, t.shape.seq_q, "the query rows of shape.seq_q " + str(t.shape.seq_q)));
}

// Messages (and the paths in them) are built only when a check fails: this runs for every event.
void check_event(const Trace& t, const Event& e, size_t k) {
  const auto at = [k](const char* field) { return element_path("events", k) + "." + field; };
  const AttentionShape& s = t.shape;
  if (!in_range(e.batch, s.batch))
    fail(at("batch"), outside(e.batch, s.batch, "shape.batch " + str(s.batch)));
  if (!in_range(e.head, s.heads))
    fail(at("head"), outside(e.head, s.heads, "shape.heads " + str(s.heads)));
  if (e.line < 1 || size_t(e.line) > t.pseudo_code.size())
    fail(at("line"), str(e.line) + " is not a line of pseudo_code (1.." +
                         std::to_string(t.pseudo_code.size()) + ")");

  // The rectangle inside its tensor (entries are >= 0, checked while reading).
  const Extent x = extent_of(e.tensor, s);
  const TileRect& r = e.rect;
  if (r.row0 > x.rows || r.rows > x.rows - r.row0 || r.col0 > x.cols || r.cols > x.cols - r.col0)
    fail(at("rect"),
         rect_text(r) + " lies outside " + tensor_name(e.tensor) + " (" + x.text() + ")");

  // Loop indices: Q block i < T_r, K/V block j < T_c. Standard attention numbers its softmax
  // strips with i, and a strip may be narrower than B_r, so there i < seq_q.
  const int64_t Tr = blocks(s.seq_q, t.tiles.block_rows), Tc = blocks(s.seq_k, t.tiles.block_cols);
  const bool strips = t.algorithm == Algorithm::Standard;
  if (!in_range(e.i, strips ? s.seq_q : Tr, true))
    fail(at("i"), outside(e.i, strips ? s.seq_q : Tr,
                          strips ? "the strips of seq_q " + str(s.seq_q)
                                 : "the query blocks T_r = " + str(Tr),
                          true));
  if (!in_range(e.j, Tc, true))
    fail(at("j"), outside(e.j, Tc, "the key blocks T_c = " + str(Tc), true));

  // Counts: a moved or allocated tile is rows x cols elements, of the tensor's size in HBM for a
  // load or store and of the trace's size in SRAM; nothing else has bytes. rows, cols <= 2^30
  // inside the extent, so rows * cols fits; the bytes may not.
  const bool in_hbm = e.kind == EventKind::Load || e.kind == EventKind::Store;
  const int64_t element = in_hbm ? hbm_element_bytes(e.tensor, t.element_bytes) : t.element_bytes;
  int64_t tile_bytes = 0;
  if (moves_a_tile(e.kind) && __builtin_mul_overflow(r.rows * r.cols, element, &tile_bytes))
    fail(at("rect"), rect_text(r) + " is a tile of more than 2^63 bytes");
  if (e.bytes != tile_bytes)
    fail(at("bytes"), str(e.bytes) + " should be " + str(tile_bytes) +
                          (moves_a_tile(e.kind) ? " (rect rows x cols x bytes per element)"
                                                : " for a " + std::string(to_string(e.kind))));
  if (e.flops < 0) fail(at("flops"), str(e.flops) + " is negative");
  if (e.exps < 0) fail(at("exps"), str(e.exps) + " is negative");
  if (e.draws < 0) fail(at("draws"), str(e.draws) + " is negative");
  if (e.draws > 0 && e.kind != EventKind::Compute)
    fail(at("draws"), "a " + std::string(to_string(e.kind)) + " event draws no random numbers");
  if (e.draws > 0 && t.dropout_p == 0)
    fail(at("draws"), str(e.draws) + " Philox calls, but the trace has no dropout (dropout_p 0)");
  if (e.sram_used_bytes < 0 || e.sram_used_bytes > t.sram_capacity_bytes)
    fail(at("sram_used_bytes"), str(e.sram_used_bytes) + " is outside 0..sram_capacity_bytes " +
                                    str(t.sram_capacity_bytes));

  // Softmax rows: in the array, only for softmax events, and rows of the event's rectangle.
  const int64_t rows = int64_t(t.softmax_rows.size());
  if (e.softmax_first > rows || e.softmax_count > rows - e.softmax_first)
    fail(at("softmax_first/softmax_count"),
         "[" + str(e.softmax_first) + ", +" + str(e.softmax_count) + ") is outside softmax_rows (" +
             str(rows) + " rows)");
  if (e.softmax_count > 0 && e.kind != EventKind::SoftmaxUpdate)
    fail(at("softmax_count"), "a " + std::string(to_string(e.kind)) + " event has no softmax rows");
  for (int64_t q = e.softmax_first; q < e.softmax_first + e.softmax_count; ++q) {
    const int64_t row = t.softmax_rows[size_t(q)].row;
    if (row < r.row0 || row >= r.row0 + r.rows)
      fail(at("softmax_first/softmax_count"), "softmax_rows[" + str(q) + "] is query row " +
                                                  str(row) + ", outside the event's rect " +
                                                  rect_text(r));
  }
}

void check_totals(const Trace& t) {
  const AttentionShape& s = t.shape;
  const int64_t Tr = blocks(s.seq_q, t.tiles.block_rows), Tc = blocks(s.seq_k, t.tiles.block_cols);
  // Tr, Tc <= 2^30, so the product fits. Every block (i, j) of a head is computed or skipped,
  // and either leaves at least one event; a run that stopped early may leave fewer, and its grid
  // is bounded by a constant instead.
  if (Tr * Tc > std::max(int64_t(t.events.size()), kTraceBlocksWithoutEvents))
    fail("shape", "seq_q " + str(s.seq_q) + " x seq_k " + str(s.seq_k) + " in tiles of " +
                      str(t.tiles.block_rows) + " x " + str(t.tiles.block_cols) + " is " +
                      str(Tr * Tc) + " blocks per head, but the trace holds only " +
                      std::to_string(t.events.size()) +
                      " events; a trace records at least one event per block (one that stopped "
                      "early may hold fewer, up to " +
                      str(kTraceBlocksWithoutEvents) + " blocks)");
  // Readers add these up (bytes read + written, FLOPs, exps, draws): each sum must fit int64.
  int64_t moved = 0, flops = 0, exps = 0, draws = 0;
  for (const Event& e : t.events) {
    bool overflow = __builtin_add_overflow(flops, e.flops, &flops);
    overflow |= __builtin_add_overflow(exps, e.exps, &exps);
    overflow |= __builtin_add_overflow(draws, e.draws, &draws);
    if (e.kind == EventKind::Load || e.kind == EventKind::Store)
      overflow |= __builtin_add_overflow(moved, e.bytes, &moved);
    if (overflow)
      fail("events", "the bytes, flops, exps or draws of the events add up to 2^63 or more");
  }
}

}  // namespace flashlab::simulator::trace_rules
