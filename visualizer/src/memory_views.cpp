// The HBM and SRAM panels' data: per-tile transfer counts, the tiles moving now and just before,
// the tiles resident on chip, and the SRAM's capacity, use and contents.
#include <algorithm>

#include <flashlab/viz/panels.hpp>

namespace flashlab::viz {

using simulator::Event;
using simulator::EventKind;

HbmViewData hbm_view_data(const ReplayState& state) {
  const Session& session = *state.session;
  HbmViewData d;
  d.max_heat = session.max_heat;
  d.grids.reserve(session.grids.size());
  for (size_t g = 0; g < session.grids.size(); ++g) {
    GridView v;
    v.grid = &session.grids[g];
    v.reads = state.reads[g];
    v.writes = state.writes[g];
    v.skipped = session.skipped[g];
    if (!v.grid->on_chip_only) {
      const simulator::TensorTraffic& t = state.traffic[size_t(simulator::index(v.grid->tensor))];
      v.bytes_read = t.bytes_read;
      v.bytes_written = t.bytes_written;
    }
    d.grids.push_back(v);
  }
  // The current movement and the few before it (looking back a bounded number of events).
  // Age 0 only for the current event: if it moves nothing, the trail starts at age 1.
  constexpr int64_t kLookBack = 512;
  int age = 0;
  for (int64_t k = state.step - 1; k >= 0 && k >= state.step - kLookBack; --k) {
    if (k < state.step - 1) age = std::max(age, 1);
    const EventEffect fx = effect_of(session, session.trace.events[size_t(k)]);
    if (fx.kind == EffectKind::None || fx.cells.empty()) continue;
    d.highlights.push_back({fx.kind, fx.grid, fx.cells, age++});
    if (age >= kTrailLength) break;
  }
  for (const int64_t a : state.resident) {
    const Event& e = session.trace.events[size_t(a)];
    if (e.tensor == TensorId::None) continue;
    const int g = session.grid_of[size_t(simulator::index(e.tensor))];
    if (g < 0) continue;
    d.resident.push_back({g, session.grids[size_t(g)].cells_of(e.rect)});
  }
  return d;
}

SramViewData sram_view_data(const ReplayState& state) {
  const Session& session = *state.session;
  const auto& events = session.trace.events;
  SramViewData d;
  d.capacity_bytes = session.trace.sram_capacity_bytes;
  d.used_bytes = state.step > 0 ? events[size_t(state.step - 1)].sram_used_bytes : 0;
  d.peak_so_far = session.peak_sram[size_t(state.step)];
  d.peak_bytes = session.peak_sram.back();
  const Event* now = current_event(state);
  for (const int64_t a : state.resident) {
    const Event& e = events[size_t(a)];
    SramTileView t;
    t.name = e.op ? e.op : "";
    t.tensor = e.tensor;
    t.rect = e.rect;
    t.bytes = e.bytes;
    t.alloc_event = a;
    // "Load X" is an Alloc then a Load of the same tile: both steps show it as arriving.
    t.just_loaded = a == state.step - 1 ||
                    (a == state.step - 2 && now != nullptr && now->kind == EventKind::Load);
    d.tiles.push_back(std::move(t));
  }
  return d;
}

}  // namespace flashlab::viz
