// The online-softmax panel's data for one query row: its updates block by block from the trace
// (m, l before and after, e^{m_old - m_new}), the row's scores, and at the end the result beside
// the float64 reference (paper §3.1; FA1 Alg. 2 l. 12–16; FA2 Alg. 1 l. 9–10).
#include <algorithm>
#include <cmath>

#include <flashlab/viz/panels.hpp>

namespace flashlab::viz {

using simulator::Algorithm;
using simulator::Event;
using simulator::EventKind;

namespace {

const char* explanation(const simulator::Trace& t, bool online) {
  if (t.backward)
    return t.algorithm == Algorithm::Standard
               ? "FA1 Alg. 3 reads P from HBM: the forward pass already normalized the row, so the "
                 "backward has no softmax update."
               : "FA1 Alg. 4 l. 13 recomputes P_ij = diag(l_i)^-1 exp(S_ij - m_i) from the l, m "
                 "the forward saved: exact in one step, no online update in the backward.";
  if (t.algorithm == Algorithm::Flash2 && t.kept_max)
    return "FA2 Alg. 1 l. 9 with a kept max (FA4): after the first block, m stays while no score "
           "lies more than 8 ln 2 above it (rescale 1: O_i is not rescaled); a block that rises "
           "further moves m, and O_i is multiplied by e^{m_old - m_new} (FA2 Alg. 1 l. 10).";
  if (t.algorithm == Algorithm::Flash2)
    return "FA2 Alg. 1 l. 9: each block j moves the running max m and sum l; the unnormalized "
           "O_i on chip is multiplied by e^{m_old - m_new} (FA2 Alg. 1 l. 10) and divided by l "
           "once, at the end (FA2 Alg. 1 l. 12).";
  if (t.algorithm == Algorithm::Flash)
    return "FA1 Alg. 2 l. 13 (FA1 Alg. 5 numbers it alike): each block j merges its max m~ and "
           "sum l~ into the running m, l (§3.1); FA1 Alg. 2 l. 15 rescales the old l and the "
           "partial output O_i by e^{m_old - m_new} and divides by the new l.";
  return online ? "FA1 Alg. 0 l. 2 with rows longer than the SRAM: the row statistics are merged "
                  "block by block (§3.1), then S is read again to write P."
                : "FA1 Alg. 0 l. 2: a strip of full rows of S is read from HBM and normalized in "
                  "one piece (m = rowmax, l = rowsum) -- no rescaling, but S and P cross HBM.";
}

bool covers_row(const Event& e, int64_t row) {
  return row >= e.rect.row0 && row < e.rect.row0 + e.rect.rows;
}

double max_abs_diff(std::span<const double> a, std::span<const double> b) {
  double m = 0;
  for (size_t k = 0; k < std::min(a.size(), b.size()); ++k) m = std::max(m, std::abs(a[k] - b[k]));
  return m;
}

}  // namespace

SoftmaxPanelData softmax_panel_data(const ReplayState& state, int64_t row) {
  const Session& session = *state.session;
  const simulator::Trace& trace = session.trace;
  SoftmaxPanelData d;
  d.row = std::clamp<int64_t>(row, 0, std::max<int64_t>(0, trace.shape.seq_q - 1));
  const int64_t Br = std::max<int64_t>(1, trace.tiles.block_rows);
  const int64_t Bc = std::max<int64_t>(1, trace.tiles.block_cols);
  d.row_block = d.row / Br;
  d.online = !session.softmax_events.empty();
  d.has_values = session.has_values;
  d.explanation = explanation(trace, d.online);

  const bool with_values = session.has_values && !session.values.scores.empty();
  const int64_t seq_k = trace.shape.seq_k;
  if (with_values)
    d.scores =
        std::span<const float>(session.values.scores).subspan(size_t(d.row * seq_k), size_t(seq_k));

  for (const int64_t k : session.softmax_events) {
    const Event& e = trace.events[size_t(k)];
    if (!covers_row(e, d.row)) continue;
    SoftmaxStep s;
    s.event = k;
    s.j = e.j;
    s.col0 = std::max<int64_t>(0, e.j) * Bc;
    s.cols = std::clamp<int64_t>(seq_k - s.col0, 0, Bc);
    s.done = k < state.step;
    const auto rows = trace.rows_of(e);
    const int64_t at = d.row - e.rect.row0;
    const simulator::SoftmaxRow* r = nullptr;
    if (at < int64_t(rows.size()) && rows[size_t(at)].row == d.row) r = &rows[size_t(at)];
    for (size_t q = 0; r == nullptr && q < rows.size(); ++q)
      if (rows[q].row == d.row) r = &rows[q];
    if (r != nullptr) {
      s.m_old = r->m_old, s.l_old = r->l_old, s.m_new = r->m_new, s.l_new = r->l_new;
      s.rescale = r->rescale;
    } else {
      s.m_old = s.l_old = s.m_new = s.l_new = s.rescale = NAN;
    }
    if (with_values && e.j >= 0) {
      double mx = -INFINITY;
      for (int64_t c = s.col0; c < s.col0 + s.cols; ++c)
        mx = std::max(mx, double(d.scores[size_t(c)]));
      s.block_max = mx;
    }
    if (s.done) {
      ++d.done_count;
      d.m_now = s.m_new;
      d.l_now = s.l_new;
    }
    if (k == state.step - 1) d.current = d.steps.size();
    d.steps.push_back(s);
  }
  for (const int64_t k : session.skip_events) {
    const Event& e = trace.events[size_t(k)];
    if (covers_row(e, d.row)) d.skipped_blocks.push_back(e.j);
  }

  // When is the row's result final? Online: after its last update. Standard forward: when its
  // P strip is written. Backward: the statistics are inputs, final from the start.
  if (d.online) {
    d.last_event = d.steps.empty() ? -1 : d.steps.back().event;
  } else if (!trace.backward) {
    for (size_t k = 0; k < trace.events.size(); ++k) {
      const Event& e = trace.events[k];
      if (e.kind == EventKind::Store && e.tensor == TensorId::P && covers_row(e, d.row) &&
          e.rect.col0 + e.rect.cols >= seq_k)
        d.last_event = int64_t(k);
    }
  }
  d.finished = d.last_event < state.step;

  if (!with_values) return d;
  const RowValues& v = session.values;
  const double lse_ref = v.ref_lse[size_t(d.row)];
  d.lse_reference = lse_ref;
  if (d.online && !d.steps.empty() && !std::isnan(d.steps.back().m_new)) {
    const SoftmaxStep& last = d.steps.back();  // the trace's final statistics of the row
    d.lse_result = last.l_new > 0 ? double(last.m_new) + std::log(double(last.l_new)) : -INFINITY;
  } else {
    d.lse_result = v.sim_lse[size_t(d.row)];
  }
  d.p_result.resize(size_t(seq_k));
  d.p_reference.resize(size_t(seq_k));
  for (int64_t c = 0; c < seq_k; ++c) {
    const double s = d.scores[size_t(c)];
    const bool none = std::isinf(s) || std::isinf(d.lse_result);
    d.p_result[size_t(c)] = none ? 0.0 : std::exp(s - d.lse_result);
    d.p_reference[size_t(c)] = std::isinf(s) || std::isinf(lse_ref) ? 0.0 : std::exp(s - lse_ref);
  }
  d.p_max_abs_diff = max_abs_diff(d.p_result, d.p_reference);
  const size_t hd = size_t(v.head_dim), off = size_t(d.row) * hd;
  d.o_result = std::span<const float>(v.sim_O).subspan(off, hd);
  d.o_reference = std::span<const double>(v.ref_O).subspan(off, hd);
  d.o_max_abs_diff = 0;
  for (size_t k = 0; k < hd; ++k)
    d.o_max_abs_diff =
        std::max(d.o_max_abs_diff, std::abs(double(d.o_result[k]) - d.o_reference[k]));
  return d;
}

}  // namespace flashlab::viz
