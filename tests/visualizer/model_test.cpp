// The visualizer's model without a window: the replay state and every panel's data, checked at
// many steps against an independent recount of the simulator's trace (and the simulator's own
// counts and the float64 reference at the end).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <flashlab/test/random.hpp>
#include <flashlab/viz/panels.hpp>
#include <flashlab/viz/replay.hpp>
#include <flashlab/viz/session.hpp>

#include "viz_test_util.hpp"

using namespace flashlab;
using namespace flashlab::viz;
using simulator::Event;
using simulator::EventKind;

namespace {

// What the panels should show after `step` events, recounted from the trace with plain loops:
// a cell is touched when the event's rectangle overlaps the cell's rectangle.
struct Recount {
  std::vector<std::vector<int32_t>> reads, writes;
  std::map<int, std::pair<int64_t, int64_t>> bytes;  // tensor -> (read, written)
  int64_t flops = 0, exps = 0, draws = 0;
  std::vector<std::string> resident;  // "name@row0,col0" of live SRAM tiles
  std::vector<int64_t> line_hits;
};

bool overlaps(const simulator::TileRect& r, const TensorGrid& g, int64_t row, int64_t col) {
  const int64_t r0 = row * g.cell_rows, r1 = std::min(g.rows, r0 + g.cell_rows);
  const int64_t c0 = col * g.cell_cols, c1 = std::min(g.cols, c0 + g.cell_cols);
  return r.row0 < r1 && r.row0 + r.rows > r0 && r.col0 < c1 && r.col0 + r.cols > c0;
}

std::string tile_key(const Event& e) {
  return std::string(e.op) + "@" + std::to_string(int(e.tensor)) + ":" +
         std::to_string(e.rect.row0) + "," + std::to_string(e.rect.col0) + "," +
         std::to_string(e.rect.rows) + "," + std::to_string(e.rect.cols);
}

Recount recount(const Session& s, int64_t step) {
  Recount rc;
  for (const TensorGrid& g : s.grids) {
    rc.reads.emplace_back(size_t(g.cell_count()), 0);
    rc.writes.emplace_back(size_t(g.cell_count()), 0);
  }
  rc.line_hits.assign(s.trace.pseudo_code.size(), 0);
  for (int64_t k = 0; k < step; ++k) {
    const Event& e = s.trace.events[size_t(k)];
    for (size_t gi = 0; gi < s.grids.size(); ++gi) {
      const TensorGrid& g = s.grids[gi];
      const bool read = e.kind == EventKind::Load && e.tensor == g.tensor && !g.on_chip_only;
      const bool write = e.kind == EventKind::Store && e.tensor == g.tensor && !g.on_chip_only;
      const bool visit = e.kind == EventKind::Alloc && e.tensor == g.tensor && g.on_chip_only;
      if (!read && !write && !visit) continue;
      for (int64_t r = 0; r < g.grid_rows; ++r) {
        const int64_t r0 = r * g.cell_rows;
        if (e.rect.row0 >= r0 + g.cell_rows || e.rect.row0 + e.rect.rows <= r0) continue;
        for (int64_t c = 0; c < g.grid_cols; ++c)
          if (overlaps(e.rect, g, r, c))
            (read ? rc.reads : rc.writes)[gi][size_t(r * g.grid_cols + c)]++;
      }
    }
    if (e.kind == EventKind::Load) rc.bytes[int(e.tensor)].first += e.bytes;
    if (e.kind == EventKind::Store) rc.bytes[int(e.tensor)].second += e.bytes;
    rc.flops += e.flops;
    rc.exps += e.exps;
    rc.draws += e.draws;
    if (e.line >= 1) rc.line_hits[size_t(e.line - 1)]++;
    if (e.kind == EventKind::Alloc) rc.resident.push_back(tile_key(e));
    if (e.kind == EventKind::Free) {
      const auto it = std::find(rc.resident.rbegin(), rc.resident.rend(), tile_key(e));
      REQUIRE(it != rc.resident.rend());
      rc.resident.erase(std::next(it).base());
    }
  }
  return rc;
}

void check_against_trace(const ReplayState& st) {
  const Session& s = *st.session;
  INFO("step " << st.step << " of " << s.event_count());
  const Recount rc = recount(s, st.step);
  CHECK(st.reads == rc.reads);
  CHECK(st.writes == rc.writes);
  for (int t = 0; t < simulator::kTensorCount; ++t) {
    const auto it = rc.bytes.find(t);
    const std::pair<int64_t, int64_t> want =
        it == rc.bytes.end() ? std::pair<int64_t, int64_t>{0, 0} : it->second;
    CHECK(st.traffic[size_t(t)].bytes_read == want.first);
    CHECK(st.traffic[size_t(t)].bytes_written == want.second);
  }
  CHECK(st.flops == rc.flops);
  CHECK(st.exps == rc.exps);
  CHECK(st.draws == rc.draws);
  CHECK(st.line_hits == rc.line_hits);

  // SRAM panel: the trace's own sram_used_bytes, the resident tiles, the peak so far.
  const SramViewData sram = sram_view_data(st);
  const int64_t used = st.step == 0 ? 0 : s.trace.events[size_t(st.step - 1)].sram_used_bytes;
  CHECK(sram.used_bytes == used);
  int64_t sum = 0, peak = 0;
  std::vector<std::string> names;
  for (const SramTileView& t : sram.tiles) {
    sum += t.bytes;
    names.push_back(t.name + "@" + std::to_string(int(t.tensor)) + ":" +
                    std::to_string(t.rect.row0) + "," + std::to_string(t.rect.col0) + "," +
                    std::to_string(t.rect.rows) + "," + std::to_string(t.rect.cols));
  }
  CHECK(sum == used);
  std::vector<std::string> want = rc.resident;
  std::sort(names.begin(), names.end());
  std::sort(want.begin(), want.end());
  CHECK(names == want);
  for (int64_t k = 0; k < st.step; ++k)
    peak = std::max(peak, s.trace.events[size_t(k)].sram_used_bytes);
  CHECK(sram.peak_so_far == peak);
  CHECK(sram.capacity_bytes == s.trace.sram_capacity_bytes);

  // Pseudo-code panel: the current event's line.
  const PseudoCodeData code = pseudo_code_data(st);
  if (st.step > 0) {
    const Event& e = s.trace.events[size_t(st.step - 1)];
    CHECK(code.current_line == e.line);
    CHECK(code.lines[size_t(e.line - 1)] == s.trace.line_text(e.line));
    // Named as the code and the docs cite it: the title's "(FA1 Alg. 2)" and the line.
    const size_t open = s.trace.title.rfind('(');
    REQUIRE(open != std::string::npos);
    CHECK(code.line_ref == s.trace.title.substr(open + 1, s.trace.title.size() - open - 2) +
                               " l. " + std::to_string(e.line));
    CHECK(code.line_ref.rfind("FA", 0) == 0);
  } else {
    CHECK(code.current_line == 0);
  }

  // HBM panel: the current event's tile is lit first, with the event's direction.
  const HbmViewData hbm = hbm_view_data(st);
  if (st.step > 0) {
    const Event& e = s.trace.events[size_t(st.step - 1)];
    if (e.kind == EventKind::Load || e.kind == EventKind::Store) {
      REQUIRE(!hbm.highlights.empty());
      const Highlight& h = hbm.highlights.front();
      CHECK(h.age == 0);
      CHECK(h.kind == (e.kind == EventKind::Load ? EffectKind::Read : EffectKind::Write));
      const TensorGrid& g = *hbm.grids[size_t(h.grid)].grid;
      CHECK(g.tensor == e.tensor);
      for (int64_t r = 0; r < g.grid_rows; ++r)
        for (int64_t c = 0; c < g.grid_cols; ++c) {
          const bool lit = r >= h.cells.row_first && r <= h.cells.row_last &&
                           c >= h.cells.col_first && c <= h.cells.col_last;
          CHECK(lit == overlaps(e.rect, g, r, c));
        }
    }
  }
  CHECK(hbm.resident.size() <= sram.tiles.size());
}

}  // namespace

TEST_CASE("replay state and panel data equal a recount of the trace at every visited step") {
  FLASHLAB_TEST_RNG(rng, "viz replay recount");
  for (const VizConfig& config : test::small_configs()) {
    CAPTURE(describe(config, config.tiles.value_or(TileSizes{})));
    const Session s = build_session(config);
    REQUIRE(s.event_count() > 0);
    ReplayState st = make_replay(s);
    check_against_trace(st);
    // Forward and backward single steps, long scrubs both ways, the ends.
    const int64_t n = s.event_count();
    std::vector<int64_t> targets = {1, 2, 3, n / 2, n / 2 - 1, n, n - 1, 0, n / 3, n};
    for (int k = 0; k < 8; ++k) targets.push_back(test::random_int(rng, 0, n));
    for (const int64_t target : targets) {
      seek(st, target);
      REQUIRE(st.step == target);
      check_against_trace(st);
    }
    for (int k = 0; k < 5; ++k) {
      step_back(st);
      check_against_trace(st);
    }
    for (int k = 0; k < 7; ++k) {
      step_forward(st);
      check_against_trace(st);
    }
  }
}

TEST_CASE("at the last step the counters equal the simulator's IoStats") {
  for (const VizConfig& config : test::small_configs()) {
    CAPTURE(describe(config, config.tiles.value_or(TileSizes{})));
    const Session s = build_session(config);
    ReplayState st = make_replay(s);
    seek(st, step_count(st));
    for (int t = 0; t < simulator::kTensorCount; ++t) {
      CHECK(st.traffic[size_t(t)].bytes_read == s.stats.tensors[size_t(t)].bytes_read);
      CHECK(st.traffic[size_t(t)].bytes_written == s.stats.tensors[size_t(t)].bytes_written);
      CHECK(st.traffic[size_t(t)].reads == s.stats.tensors[size_t(t)].reads);
      CHECK(st.traffic[size_t(t)].writes == s.stats.tensors[size_t(t)].writes);
    }
    CHECK(st.flops == s.stats.matmul_flops + s.stats.other_flops);
    CHECK(st.exps == s.stats.exp_ops);
    // Dropout's Philox calls: the events carry them, so the replay ends at the run's count
    // (nonzero exactly for the configurations with dropout).
    CHECK(st.draws == s.stats.random_draws);
    CHECK((s.stats.random_draws > 0) == (config.dropout > 0));
    const CountersData c = counters_data(st);
    CHECK(c.draws == s.stats.random_draws);
    CHECK(c.bytes_read == s.stats.bytes_read());
    CHECK(c.bytes_written == s.stats.bytes_written());
    CHECK(c.final_bytes == s.stats.total_bytes());
    CHECK(c.progress == 1.0);
    REQUIRE(c.formula_bytes.has_value());
    CHECK(*c.formula_bytes == s.stats.total_bytes());  // io_formulas.hpp: exact for the loops
    // The baseline may not fit this SRAM (tiny M); then the panel says why.
    CHECK((c.baseline_bytes.has_value() ? *c.baseline_bytes > 0 : !c.baseline_note.empty()));
    CHECK(sram_view_data(st).tiles.empty());  // every tile freed
    CHECK(sram_view_data(st).peak_bytes == s.stats.peak_sram_bytes);
  }
}
