// Replay: apply / un-apply one event at a time; seek from the closer of the current step and 0.
#include <flashlab/viz/replay.hpp>

#include <algorithm>
#include <cassert>

namespace flashlab::viz {

using simulator::Event;
using simulator::EventKind;

EventEffect effect_of(const Session& session, const Event& e) {
  EventEffect fx;
  auto on = [&](TensorId t, EffectKind kind) {
    const int g = session.grid_of[size_t(simulator::index(t))];
    if (g < 0) return;
    fx.kind = kind;
    fx.grid = g;
    fx.cells = session.grids[size_t(g)].cells_of(e.rect);
  };
  switch (e.kind) {
    case EventKind::Load:
      if (e.tensor != TensorId::None) on(e.tensor, EffectKind::Read);
      break;
    case EventKind::Store:
      if (e.tensor != TensorId::None) on(e.tensor, EffectKind::Write);
      break;
    case EventKind::Alloc:
      if (e.tensor == TensorId::S && session.scores_grid >= 0 &&
          session.grids[size_t(session.scores_grid)].on_chip_only)
        on(TensorId::S, EffectKind::Compute);
      break;
    case EventKind::Skip:
      if (session.scores_grid >= 0) on(TensorId::S, EffectKind::Skip);
      break;
    case EventKind::Free:
    case EventKind::Compute:
    case EventKind::SoftmaxUpdate:
      break;
  }
  return fx;
}

ReplayState make_replay(const Session& session) {
  ReplayState s;
  s.session = &session;
  s.reads.resize(session.grids.size());
  s.writes.resize(session.grids.size());
  for (size_t g = 0; g < session.grids.size(); ++g) {
    s.reads[g].assign(size_t(session.grids[g].cell_count()), 0);
    s.writes[g].assign(size_t(session.grids[g].cell_count()), 0);
  }
  s.line_hits.assign(session.trace.pseudo_code.size(), 0);
  return s;
}

int64_t step_count(const ReplayState& state) {
  return state.session->event_count();
}

namespace {

// Applies (sign = +1) or un-applies (sign = -1) event k. Un-applying event k exactly undoes
// applying it, so any path of steps reaches the same state.
void apply(ReplayState& s, int64_t k, int sign) {
  const Session& session = *s.session;
  const Event& e = session.trace.events[size_t(k)];
  const EventEffect fx = effect_of(session, e);
  if (fx.kind == EffectKind::Read || fx.kind == EffectKind::Write ||
      fx.kind == EffectKind::Compute) {
    auto& cells =
        fx.kind == EffectKind::Read ? s.reads[size_t(fx.grid)] : s.writes[size_t(fx.grid)];
    const TensorGrid& g = session.grids[size_t(fx.grid)];
    for (int64_t r = fx.cells.row_first; r <= fx.cells.row_last; ++r)
      for (int64_t c = fx.cells.col_first; c <= fx.cells.col_last; ++c)
        cells[size_t(g.cell_index(r, c))] += sign;
  }
  if (e.tensor != TensorId::None && (e.kind == EventKind::Load || e.kind == EventKind::Store)) {
    simulator::TensorTraffic& t = s.traffic[size_t(simulator::index(e.tensor))];
    if (e.kind == EventKind::Load) {
      t.bytes_read += sign * e.bytes;
      t.reads += sign;
    } else {
      t.bytes_written += sign * e.bytes;
      t.writes += sign;
    }
  }
  s.flops += sign * e.flops;
  s.exps += sign * e.exps;
  s.draws += sign * e.draws;
  if (e.line >= 1 && size_t(e.line) <= s.line_hits.size()) s.line_hits[size_t(e.line - 1)] += sign;

  // SRAM residency: a tile is identified by its Alloc event.
  auto remove = [&](int64_t alloc) {
    const auto it = std::find(s.resident.begin(), s.resident.end(), alloc);
    if (it != s.resident.end()) s.resident.erase(it);
  };
  auto insert = [&](int64_t alloc) {  // keep alloc order
    s.resident.insert(std::upper_bound(s.resident.begin(), s.resident.end(), alloc), alloc);
  };
  if (e.kind == EventKind::Alloc) {
    if (sign > 0)
      insert(k);
    else
      remove(k);
  } else if (e.kind == EventKind::Free) {
    const int64_t alloc = session.alloc_of_free[size_t(k)];
    if (alloc >= 0) {
      if (sign > 0)
        remove(alloc);
      else
        insert(alloc);
    }
  }
}

}  // namespace

void step_forward(ReplayState& s) {
  if (s.step >= step_count(s)) return;
  apply(s, s.step, +1);
  ++s.step;
}

void step_back(ReplayState& s) {
  if (s.step <= 0) return;
  --s.step;
  apply(s, s.step, -1);
}

void seek(ReplayState& s, int64_t step) {
  step = std::clamp<int64_t>(step, 0, step_count(s));
  // Going back further than the start is far: replaying from 0 is cheaper.
  if (step < s.step && step < s.step - step) s = make_replay(*s.session);
  while (s.step < step) step_forward(s);
  while (s.step > step) step_back(s);
}

int64_t followed_row(const ReplayState& s) {
  const auto& rows = s.session->follow_rows;
  if (rows.empty()) return 0;
  return rows[size_t(std::clamp<int64_t>(s.step - 1, 0, int64_t(rows.size()) - 1))];
}

const Event* current_event(const ReplayState& s) {
  if (s.step <= 0 || s.step > step_count(s)) return nullptr;
  return &s.session->trace.events[size_t(s.step - 1)];
}

namespace {
const std::vector<int64_t>& targets(const Session& session, JumpTarget t) {
  switch (t) {
    case JumpTarget::Rescale:
      return session.rescale_events;
    case JumpTarget::WriteOutput:
      return session.output_write_events;
    case JumpTarget::Block:
      break;
  }
  return session.block_starts;
}
}  // namespace

int64_t next_step(const ReplayState& s, JumpTarget target) {
  const auto& v = targets(*s.session, target);
  // The current event is step - 1; the next one of the kind has index >= step.
  const auto it = std::lower_bound(v.begin(), v.end(), s.step);
  return it == v.end() ? s.step : *it + 1;
}

int64_t previous_step(const ReplayState& s, JumpTarget target) {
  const auto& v = targets(*s.session, target);
  // Events before the current one: index <= step - 2.
  auto it = std::lower_bound(v.begin(), v.end(), s.step - 1);
  if (it == v.begin()) return s.step;
  return *std::prev(it) + 1;
}

}  // namespace flashlab::viz
