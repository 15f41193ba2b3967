// What the panels follow and offer at every step, in every pass: the online-softmax panel's row
// (the current block's, also on free events, at the end and in the backward), the "write" jumps
// (the pass's results, not only O), why there is no rescale to jump to, and the geometry that
// keeps byte bars off their numbers and the softmax table whole at 1024x700.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include <flashlab/viz/layout.hpp>
#include <flashlab/viz/replay.hpp>
#include <flashlab/viz/session.hpp>

#include "viz_test_util.hpp"

using namespace flashlab;
using namespace flashlab::viz;
using simulator::Event;
using simulator::EventKind;

namespace {

// The first query row of the block event k belongs to, by a plain scan: the latest event at or
// before k with a Q block index i >= 0 (the first such event when there is none before).
int64_t expected_row(const Session& s, int64_t k) {
  const auto& ev = s.trace.events;
  auto row_of = [&](const Event& e) {
    const bool query_rows =
        e.tensor == TensorId::Q || e.tensor == TensorId::O || e.tensor == TensorId::dO ||
        e.tensor == TensorId::dQ || e.tensor == TensorId::l || e.tensor == TensorId::m ||
        e.tensor == TensorId::L || e.tensor == TensorId::D || e.tensor == TensorId::S ||
        e.tensor == TensorId::P || e.tensor == TensorId::P_dropped || e.tensor == TensorId::dP ||
        e.tensor == TensorId::dS || e.tensor == TensorId::Z;
    return query_rows ? e.rect.row0 : e.i * s.trace.tiles.block_rows;
  };
  for (int64_t q = k; q >= 0; --q)
    if (ev[size_t(q)].i >= 0) return row_of(ev[size_t(q)]);
  for (const Event& e : ev)
    if (e.i >= 0) return row_of(e);
  return 0;
}

}  // namespace

TEST_CASE("the softmax panel follows the current block at every step, in every pass") {
  for (const VizConfig& c : test::small_configs()) {
    CAPTURE(to_string(c.algorithm));
    const Session s = build_session(c);
    ReplayState r = make_replay(s);
    const int64_t n = step_count(r);
    for (int64_t step = 1; step <= n; ++step) {
      seek(r, step);
      const int64_t row = followed_row(r);
      CHECK(row == expected_row(s, step - 1));
      CHECK(row >= 0);
      CHECK(row < s.trace.shape.seq_q);
    }
    // At the end (free events close every loop), the row is the last block's, not row 0.
    int64_t last_i = -1;
    for (const Event& e : s.trace.events) last_i = e.i >= 0 ? e.i : last_i;
    seek(r, n);
    if (last_i > 0) CHECK(followed_row(r) > 0);
  }
}

TEST_CASE("the write jump stops at the pass's results: O forward, dK and dV backward") {
  for (const VizConfig& c : test::small_configs()) {
    CAPTURE(to_string(c.algorithm));
    const Session s = build_session(c);
    const bool backward = s.trace.backward;
    REQUIRE(!s.output_write_events.empty());
    for (const int64_t k : s.output_write_events) {
      const Event& e = s.trace.events[size_t(k)];
      CHECK(e.kind == EventKind::Store);
      if (backward)
        CHECK((e.tensor == TensorId::dK || e.tensor == TensorId::dV || e.tensor == TensorId::dQ));
      else
        CHECK(e.tensor == TensorId::O);
    }
    // Every store of dK and dV (backward) or O (forward) is a target; the next jump from the
    // start lands on the first.
    int64_t stores = 0;
    for (const Event& e : s.trace.events)
      stores += e.kind == EventKind::Store &&
                (backward ? e.tensor == TensorId::dK || e.tensor == TensorId::dV
                          : e.tensor == TensorId::O);
    const int64_t dq = int64_t(
        std::count_if(s.output_write_events.begin(), s.output_write_events.end(),
                      [&](int64_t k) { return s.trace.events[size_t(k)].tensor == TensorId::dQ; }));
    CHECK(int64_t(s.output_write_events.size()) - dq == stores);
    ReplayState r = make_replay(s);
    CHECK(next_step(r, JumpTarget::WriteOutput) == s.output_write_events.front() + 1);
    CHECK(output_write_label(s) == (backward ? (dq > 0 ? "dQ, dK, dV" : "dK, dV") : "O"));
  }
}

TEST_CASE("without rescales the session says why, in terms of the algorithm") {
  for (const VizConfig& c : test::small_configs()) {
    CAPTURE(to_string(c.algorithm));
    const Session s = build_session(c);
    const std::string why = no_rescale_reason(s);
    CHECK(why.empty() == !s.rescale_events.empty());
    if (s.trace.backward) CHECK(why.find("backward") != std::string::npos);
  }
}

TEST_CASE("byte bars end before their numbers, at any width") {
  for (const float width : {0.0f, 30.0f, 60.0f, 120.0f, 200.0f, 350.0f, 900.0f}) {
    for (const float text : {10.0f, 80.0f, 200.0f}) {
      CAPTURE(width);
      CAPTURE(text);
      const BarGeometry g = bar_geometry(width, text, 3.0, 1.0, 4.0);
      CHECK(g.full <= g.track);
      CHECK(g.done <= g.full);
      CHECK(g.full == doctest::Approx(0.75 * g.track));
      CHECK(g.done == doctest::Approx(0.25 * g.track));
      if (g.text_below) {
        CHECK(g.track == doctest::Approx(std::max(width, 0.0f)));
      } else {
        CHECK(g.text_x >= g.track + kBarTextGap);  // the number starts after the whole track
        CHECK(g.text_x + text <= width + 0.01f);   // and ends inside the line
        CHECK(g.track >= kMinBarTrack);
      }
    }
  }
  // Values above the scale never draw past the track.
  CHECK(bar_geometry(300, 50, 10, 20, 5).full == bar_geometry(300, 50, 10, 20, 5).track);
}

TEST_CASE("at 1024x700 the softmax table gets the full width, and the height when short") {
  // flashlab-viz's layout (app.cpp): the center column is W - left (300) - right (360) - gaps,
  // so at 1024 wide the softmax panel is about 350 px; its table needs about 420 px.
  const float panel = 1024 - 300 - 360 - 8, table = 420;
  const SoftmaxLayout narrow = softmax_layout(panel, 300, table);
  CHECK_FALSE(narrow.side_by_side);
  CHECK(narrow.charts_width == panel);
  CHECK(narrow.charts_height == 150);  // half the height, the table below
  // The panel's height at 1024x700 (about 160 px below its header): the table alone.
  CHECK(softmax_layout(panel, 160, table).charts_height == 0);
  const SoftmaxLayout wide = softmax_layout(1600 - 328 - 464 - 8, 400, table);
  CHECK(wide.side_by_side);
  CHECK(wide.charts_width >= kMinChartWidth);
  CHECK(1600 - 328 - 464 - 8 - wide.charts_width >= table);
}
