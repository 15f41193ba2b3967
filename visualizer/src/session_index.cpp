// Indexing a trace once so the replay is cheap: tensor grids, cumulative bytes, alloc/free
// pairs, jump targets, skipped blocks and the heat-map scale.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <tuple>

#include <flashlab/viz/replay.hpp>
#include <flashlab/viz/session.hpp>

namespace flashlab::viz {

using simulator::Event;
using simulator::EventKind;
using simulator::TileRect;

CellRange TensorGrid::cells_of(const TileRect& rect) const {
  CellRange r;
  if (rect.rows <= 0 || rect.cols <= 0 || grid_rows <= 0 || grid_cols <= 0) return r;
  auto clamp = [](int64_t v, int64_t hi) { return std::clamp<int64_t>(v, 0, hi - 1); };
  r.row_first = clamp(rect.row0 / cell_rows, grid_rows);
  r.row_last = clamp((rect.row0 + rect.rows - 1) / cell_rows, grid_rows);
  r.col_first = clamp(rect.col0 / cell_cols, grid_cols);
  r.col_last = clamp((rect.col0 + rect.cols - 1) / cell_cols, grid_cols);
  return r;
}

namespace {

std::optional<GridRole> role_of(TensorId t) {
  switch (t) {
    case TensorId::Q:
    case TensorId::O:
    case TensorId::dO:
    case TensorId::dQ:
    case TensorId::dQ_acc:
      return GridRole::QueryMatrix;
    case TensorId::l:
    case TensorId::m:
    case TensorId::L:
    case TensorId::D:
      return GridRole::QueryVector;
    case TensorId::K:
    case TensorId::V:
    case TensorId::dK:
    case TensorId::dV:
      return GridRole::KeyMatrix;
    case TensorId::S:
    case TensorId::P:
    case TensorId::P_dropped:
    case TensorId::dP:
    case TensorId::dS:
      return GridRole::Scores;
    case TensorId::Z:
    case TensorId::None:
      break;
  }
  return std::nullopt;
}

// Drawing order: inputs, outputs, statistics, then the N x N matrices.
constexpr TensorId kOrder[] = {
    TensorId::Q,      TensorId::K,  TensorId::V,  TensorId::O,         TensorId::dO, TensorId::dQ,
    TensorId::dQ_acc, TensorId::dK, TensorId::dV, TensorId::l,         TensorId::m,  TensorId::L,
    TensorId::D,      TensorId::S,  TensorId::P,  TensorId::P_dropped, TensorId::dP, TensorId::dS};

TensorGrid make_grid(TensorId t, GridRole role, const simulator::Trace& trace) {
  const AttentionShape& s = trace.shape;
  const int64_t Br = std::max<int64_t>(1, trace.tiles.block_rows);
  const int64_t Bc = std::max<int64_t>(1, trace.tiles.block_cols);
  TensorGrid g;
  g.tensor = t;
  g.role = role;
  switch (role) {
    case GridRole::QueryMatrix:
      g.rows = s.seq_q, g.cols = s.head_dim, g.cell_rows = Br, g.cell_cols = s.head_dim;
      break;
    case GridRole::QueryVector:
      g.rows = s.seq_q, g.cols = 1, g.cell_rows = Br, g.cell_cols = 1;
      break;
    case GridRole::KeyMatrix:
      g.rows = s.seq_k, g.cols = s.head_dim, g.cell_rows = Bc, g.cell_cols = s.head_dim;
      break;
    case GridRole::Scores:
      g.rows = s.seq_q, g.cols = s.seq_k, g.cell_rows = Br, g.cell_cols = Bc;
      break;
  }
  g.grid_rows = ceil_div(g.rows, g.cell_rows);
  g.grid_cols = ceil_div(g.cols, g.cell_cols);
  return g;
}

// A softmax update rescales when some row's running max moved after it had seen a score:
// e^{m_old - m_new} < 1 then shrinks that row's l and partial output (FA1 Alg. 2 l. 15).
bool is_rescale(const simulator::Trace& trace, const Event& e) {
  const auto rows = trace.rows_of(e);
  if (rows.empty()) return true;  // counting-only: no values, every update counts
  for (const simulator::SoftmaxRow& r : rows)
    if (std::isfinite(r.m_old) && r.m_new > r.m_old) return true;
  return false;
}

// A result of the pass that the "write" jump stops at (see output_write_label).
bool is_output_write(const simulator::Trace& trace, const Event& e) {
  if (e.kind != EventKind::Store) return false;
  if (!trace.backward) return e.tensor == TensorId::O;
  return e.tensor == TensorId::dK || e.tensor == TensorId::dV ||
         (e.tensor == TensorId::dQ && trace.algorithm != simulator::Algorithm::Flash);
}

// The first query row of the block an event with i >= 0 works on: its own first row when its
// rectangle is of query rows, else the first row of Q block i.
int64_t block_row(const simulator::Trace& trace, const Event& e) {
  const bool key_rows = e.tensor == TensorId::K || e.tensor == TensorId::V ||
                        e.tensor == TensorId::dK || e.tensor == TensorId::dV ||
                        e.tensor == TensorId::None;
  return key_rows ? e.i * std::max<int64_t>(1, trace.tiles.block_rows) : e.rect.row0;
}

// Session::follow_rows: the latest block's row, carried over events outside the block loops.
std::vector<int64_t> follow_rows(const simulator::Trace& trace) {
  const auto& events = trace.events;
  std::vector<int64_t> rows(events.size(), -1);
  int64_t row = -1;
  for (size_t k = 0; k < events.size(); ++k) {
    if (events[k].i >= 0) row = block_row(trace, events[k]);
    rows[k] = row;
  }
  // Before the first block: that block's rows (0 if there is none).
  int64_t first = 0;
  for (const Event& e : events)
    if (e.i >= 0) {
      first = block_row(trace, e);
      break;
    }
  for (int64_t& r : rows) r = r < 0 ? first : std::clamp<int64_t>(r, 0, trace.shape.seq_q - 1);
  return rows;
}

}  // namespace

std::string output_write_label(const Session& session) {
  if (!session.trace.backward) return "O";
  return session.trace.algorithm == simulator::Algorithm::Flash ? "dK, dV" : "dQ, dK, dV";
}

std::string no_rescale_reason(const Session& session) {
  if (!session.rescale_events.empty()) return "";
  if (session.trace.backward)
    return session.trace.algorithm == simulator::Algorithm::Standard
               ? "the backward reads P from HBM: no softmax statistics change (FA1 Alg. 3)"
               : "the backward recomputes P from the l, m the forward saved: no running max "
                 "changes (FA1 Alg. 4 l. 13)";
  return session.softmax_events.empty()
             ? "standard attention normalizes whole rows of S at once (FA1 Alg. 0 l. 2): nothing "
               "is rescaled"
             : "no row's running max moved after its first block";
}

ByteCurve make_curve(const std::string& label, const std::vector<int64_t>& cum_read,
                     const std::vector<int64_t>& cum_written, size_t points) {
  ByteCurve c;
  c.label = label;
  const size_t n = cum_read.empty() ? 0 : cum_read.size() - 1;
  c.total_bytes = n == 0 ? 0 : cum_read[n] + cum_written[n];
  const size_t samples = std::max<size_t>(2, std::min(points, n + 1));
  for (size_t s = 0; s < samples; ++s) {
    const size_t k = n == 0 ? 0 : s * n / (samples - 1);
    c.progress.push_back(n == 0 ? 0.f : float(double(k) / double(n)));
    c.bytes.push_back(n == 0 ? 0.0 : double(cum_read[k] + cum_written[k]));
  }
  return c;
}

void index_session(Session& session) {
  const simulator::Trace& trace = session.trace;
  const auto& events = trace.events;
  const size_t n = events.size();

  // Grids: the inputs, every tensor that crosses HBM, and FlashAttention's on-chip S.
  std::array<bool, simulator::kTensorCount> in_hbm{};
  in_hbm[size_t(index(TensorId::Q))] = in_hbm[size_t(index(TensorId::K))] =
      in_hbm[size_t(index(TensorId::V))] = true;
  for (const Event& e : events)
    if ((e.kind == EventKind::Load || e.kind == EventKind::Store) && e.tensor != TensorId::None)
      in_hbm[size_t(index(e.tensor))] = true;
  session.grids.clear();
  session.grid_of.fill(-1);
  for (TensorId t : kOrder) {
    const auto role = role_of(t);
    const bool on_chip_s = t == TensorId::S && trace.algorithm != simulator::Algorithm::Standard;
    if (!role || !(in_hbm[size_t(index(t))] || on_chip_s)) continue;
    TensorGrid g = make_grid(t, *role, trace);
    g.on_chip_only = on_chip_s && !in_hbm[size_t(index(t))];
    session.grid_of[size_t(index(t))] = int(session.grids.size());
    session.grids.push_back(g);
  }
  session.scores_grid = session.grid_of[size_t(index(TensorId::S))];

  // Cumulative bytes and SRAM peak per step.
  session.cum_read.assign(n + 1, 0);
  session.cum_written.assign(n + 1, 0);
  session.peak_sram.assign(n + 1, 0);
  for (size_t k = 0; k < n; ++k) {
    const Event& e = events[k];
    session.cum_read[k + 1] = session.cum_read[k] + (e.kind == EventKind::Load ? e.bytes : 0);
    session.cum_written[k + 1] =
        session.cum_written[k] + (e.kind == EventKind::Store ? e.bytes : 0);
    session.peak_sram[k + 1] = std::max(session.peak_sram[k], e.sram_used_bytes);
  }
  session.curve = make_curve(trace.title, session.cum_read, session.cum_written);

  // Alloc/free pairs: a tile is freed by name, tensor and rectangle (LIFO among equals).
  using Key = std::tuple<std::string, int, int64_t, int64_t, int64_t, int64_t>;
  std::map<Key, std::vector<int64_t>> live;
  session.alloc_of_free.assign(n, -1);
  session.rescales.assign(n, 0);
  session.rescale_events.clear();
  session.output_write_events.clear();
  session.block_starts.clear();
  session.softmax_events.clear();
  session.skip_events.clear();
  session.skipped.assign(session.grids.size(), {});
  for (size_t g = 0; g < session.grids.size(); ++g)
    session.skipped[g].assign(size_t(session.grids[g].cell_count()), 0);
  int64_t last_i = -1, last_j = -1;
  for (size_t k = 0; k < n; ++k) {
    const Event& e = events[k];
    if (e.kind == EventKind::Alloc || e.kind == EventKind::Free) {
      Key key{e.op ? e.op : "", int(e.tensor), e.rect.row0, e.rect.rows, e.rect.col0, e.rect.cols};
      auto& stack = live[key];
      if (e.kind == EventKind::Alloc) {
        stack.push_back(int64_t(k));
      } else if (!stack.empty()) {
        session.alloc_of_free[k] = stack.back();
        stack.pop_back();
      }
    }
    if (e.kind == EventKind::SoftmaxUpdate) {
      session.softmax_events.push_back(int64_t(k));
      if (is_rescale(trace, e)) {
        session.rescales[k] = 1;
        session.rescale_events.push_back(int64_t(k));
      }
    }
    if (e.kind == EventKind::Skip) session.skip_events.push_back(int64_t(k));
    if (is_output_write(trace, e)) session.output_write_events.push_back(int64_t(k));
    if (e.i >= 0 && e.j >= 0 && (e.i != last_i || e.j != last_j)) {
      session.block_starts.push_back(int64_t(k));
      last_i = e.i, last_j = e.j;
    }
    if (e.kind == EventKind::Skip && session.scores_grid >= 0) {
      const TensorGrid& g = session.grids[size_t(session.scores_grid)];
      const CellRange c = g.cells_of(e.rect);
      for (int64_t r = c.row_first; r <= c.row_last; ++r)
        for (int64_t col = c.col_first; col <= c.col_last; ++col)
          session.skipped[size_t(session.scores_grid)][size_t(g.cell_index(r, col))] = 1;
    }
  }

  session.follow_rows = follow_rows(trace);

  // The heat-map scale: the most transfers any cell sees over the whole pass.
  ReplayState end = make_replay(session);
  seek(end, step_count(end));
  session.max_heat = 1;
  for (size_t g = 0; g < session.grids.size(); ++g)
    for (size_t c = 0; c < end.reads[g].size(); ++c)
      session.max_heat = std::max(session.max_heat, end.reads[g][c] + end.writes[g][c]);
}

}  // namespace flashlab::viz
