// The property both fuzzers of the trace reader check (simulator/fuzz/trace_fuzzer.cpp, coverage
// guided; tests/simulator/trace_fuzz_test.cpp, seeded mutations in CI): any text is either read
// into a trace that keeps the reader's promises, or refused with flashlab::Error. Checked here
// independently of the reader's own rules: what a consumer allocates and indexes is bounded by the
// file, and an accepted trace survives being written and read again unchanged.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

#include <flashlab/core/error.hpp>
#include <flashlab/simulator/trace/trace_json.hpp>

namespace flashlab::simulator::fuzz {

// "" when `text` is refused with flashlab::Error or read into a trace with the properties below;
// else what is wrong. Any other exception escapes (a fuzzer reports it as a crash).
inline std::string trace_reader_violation(std::string_view text) {
  Trace t;
  try {
    t = read_trace_json(text);
  } catch (const Error&) {
    return "";
  }
  const AttentionShape& s = t.shape;
  // A visualizer's grids hold ceil(seq_q / Br) x ceil(seq_k / Bc) cells per tensor: no more than
  // the events the text holds (each event takes dozens of bytes of it), or a constant.
  const int64_t Tr = (s.seq_q + t.tiles.block_rows - 1) / t.tiles.block_rows;
  const int64_t Tc = (s.seq_k + t.tiles.block_cols - 1) / t.tiles.block_cols;
  const int64_t cells = std::max(int64_t(t.events.size()), kTraceBlocksWithoutEvents);
  if (Tr < 1 || Tc < 1 || Tr > cells / Tc) return "tile grid beyond the events";
  if (int64_t(t.events.size()) * 20 > int64_t(text.size())) return "more events than the text";
  for (const Event& e : t.events) {
    // Indices a consumer uses: rows of the shape, pseudo-code lines, softmax rows.
    if (e.rect.row0 < 0 || e.rect.rows < 0 || e.rect.row0 + e.rect.rows > s.seq_q + s.seq_k ||
        e.rect.col0 < 0 || e.rect.cols < 0 || e.rect.col0 + e.rect.cols > s.seq_k + s.head_dim)
      return "a rectangle outside the shape";
    if (e.line < 1 || size_t(e.line) > t.pseudo_code.size()) return "a line outside pseudo_code";
    if (e.batch < 0 || e.batch >= s.batch || e.head < 0 || e.head >= s.heads)
      return "a (batch, head) outside the shape";
    if (e.softmax_count > 0 && t.rows_of(e).size() != size_t(e.softmax_count))
      return "softmax rows outside softmax_rows";
    if (e.bytes < 0 || e.flops < 0 || e.exps < 0) return "a negative count";
  }
  for (const SoftmaxRow& r : t.softmax_rows)
    if (r.row < 0 || r.row >= s.seq_q) return "a softmax row outside the query rows";
  // Written and read again: accepted, and the same events.
  std::ostringstream out;
  write_trace_json(t, out);
  Trace back;
  try {
    back = read_trace_json(out.str());
  } catch (const Error& e) {
    return std::string("the written trace is refused: ") + e.what();
  }
  if (back.events.size() != t.events.size() || back.softmax_rows.size() != t.softmax_rows.size())
    return "the written trace reads back different";
  return "";
}

}  // namespace flashlab::simulator::fuzz
