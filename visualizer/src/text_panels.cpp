// The pseudo-code panel (current line, hits per line), the one-line event description, and the
// counters panel (bytes by tensor so far against the whole pass, the baseline and the closed
// form of Theorem 2 / Thm. 5; FLOPs; the performance model; the byte curves).
#include <cstdio>
#include <string>
#include <string_view>

#include <flashlab/viz/panels.hpp>

namespace flashlab::viz {

using simulator::Event;
using simulator::EventKind;

namespace {
std::string loop_indices(const Event& e) {
  if (e.i < 0 && e.j < 0) return "";
  std::string s = " (";
  if (e.i >= 0) s += "i=" + std::to_string(e.i);
  if (e.j >= 0) s += std::string(e.i >= 0 ? ", " : "") + "j=" + std::to_string(e.j);
  return s + ")";
}

std::string slice(const Event& e) {
  const simulator::TileRect& r = e.rect;
  return std::string(simulator::tensor_name(e.tensor)) + "[" + std::to_string(r.row0) + ":" +
         std::to_string(r.row0 + r.rows) + ", " + std::to_string(r.col0) + ":" +
         std::to_string(r.col0 + r.cols) + "]";
}
// "FlashAttention forward (FA1 Alg. 2)" and the tag 15 give "FA1 Alg. 2 l. 15"; "" when the title
// does not end in a paper's algorithm (a trace written by another tool).
std::string line_reference(std::string_view title, int line) {
  const size_t open = title.rfind("(FA");
  if (line <= 0 || open == std::string_view::npos || title.back() != ')') return "";
  return std::string(title.substr(open + 1, title.size() - open - 2)) + " l. " +
         std::to_string(line);
}
}  // namespace

std::string describe_event(const Event& e) {
  const std::string op = e.op ? e.op : "";
  switch (e.kind) {
    case EventKind::Load:
      return "load " + op + " = " + slice(e) + loop_indices(e) + " from HBM, " +
             format_bytes(e.bytes);
    case EventKind::Store:
      return "write " + op + " to " + slice(e) + loop_indices(e) + " in HBM, " +
             format_bytes(e.bytes);
    case EventKind::Alloc:
      return "allocate " + op + " (" + std::to_string(e.rect.rows) + " x " +
             std::to_string(e.rect.cols) + ") in SRAM" + loop_indices(e) + ", " +
             format_bytes(e.bytes);
    case EventKind::Free:
      return "free " + op + " from SRAM" + loop_indices(e) + ", " + format_bytes(e.bytes);
    case EventKind::Compute:
      return "compute " + op + loop_indices(e) + ", " + std::to_string(e.flops) + " FLOPs";
    case EventKind::SoftmaxUpdate:
      return "online softmax: " + op + loop_indices(e) + ", " + std::to_string(e.rect.rows) +
             " rows";
    case EventKind::Skip:
      return "skip block" + loop_indices(e) + ": " + op;
  }
  return op;
}

PseudoCodeData pseudo_code_data(const ReplayState& state) {
  const Session& session = *state.session;
  PseudoCodeData d;
  d.title = session.trace.title;
  d.lines = session.trace.pseudo_code;
  d.hits = state.line_hits;
  if (const Event* e = current_event(state)) {
    d.current_line = e->line;
    d.step_text = describe_event(*e);
    d.line_ref = line_reference(d.title, e->line);
  } else {
    d.step_text = "before the first step";
  }
  return d;
}

CountersData counters_data(const ReplayState& state) {
  const Session& session = *state.session;
  CountersData d;
  d.final_stats = session.stats;
  d.flops_split = session.flops_split;
  for (int k = 0; k < simulator::kTensorCount; ++k) {
    const simulator::TensorTraffic& f = session.stats.tensors[size_t(k)];
    if (f.bytes_read == 0 && f.bytes_written == 0) continue;
    TensorCounter c;
    c.tensor = static_cast<TensorId>(k);
    c.bytes_read = state.traffic[size_t(k)].bytes_read;
    c.bytes_written = state.traffic[size_t(k)].bytes_written;
    c.final_read = f.bytes_read;
    c.final_written = f.bytes_written;
    if (session.formula)
      for (const simulator::TensorFormula& tf : session.formula->tensors)
        if (tf.tensor == c.tensor) c.formula_reads = tf.reads, c.formula_writes = tf.writes;
    d.tensors.push_back(std::move(c));
  }
  const size_t step = size_t(state.step);
  d.bytes_read = session.cum_read[step];
  d.bytes_written = session.cum_written[step];
  d.final_bytes = session.stats.total_bytes();
  if (session.formula) {
    d.formula_bytes = session.formula->total_bytes();
    d.theta = session.formula->theta;
  }
  d.formula_note = session.formula_note;
  if (session.baseline) {
    d.baseline_bytes = session.baseline->stats.total_bytes();
    d.baseline_label = session.baseline->label;
    if (session.baseline->curve) d.baseline_curve = &*session.baseline->curve;
  }
  d.baseline_note = session.baseline_note;
  d.flops = state.flops;
  d.exps = state.exps;
  d.draws = state.draws;
  if (session.work)
    for (const simulator::GpuSpec& gpu :
         {simulator::a100_40gb(), simulator::h100_sxm(), simulator::h200_sxm()})
      d.runtime.push_back({gpu.name, simulator::predict_runtime(*session.work, gpu)});
  const int64_t n = session.event_count();
  d.progress = n == 0 ? 0.0 : double(state.step) / double(n);
  d.curve = &session.curve;
  return d;
}

}  // namespace flashlab::viz
