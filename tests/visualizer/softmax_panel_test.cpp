// The online-softmax panel against the trace and the inputs, the timeline's jumps, the inline
// explanation of invalid configurations, and replaying a saved trace (with its load time).
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <flashlab/simulator/trace/trace_json.hpp>
#include <flashlab/viz/panels.hpp>

#include "viz_test_util.hpp"

using namespace flashlab;
using namespace flashlab::viz;
using simulator::Event;
using simulator::EventKind;

namespace {

VizConfig online_config(VizAlgorithm a) {
  VizConfig c;
  c.algorithm = a;
  c.seq = 96;
  c.head_dim = 16;
  c.tiles = TileSizes{16, 20};  // the last key block is short (96 = 4 x 20 + 16)
  c.causal = a == VizAlgorithm::Flash2;
  c.seed = 11;
  return c;
}

}  // namespace

TEST_CASE("softmax panel: each step is the trace's update of the row, consistent with its scores") {
  for (const VizAlgorithm a : {VizAlgorithm::Flash, VizAlgorithm::Flash2}) {
    const Session s = build_session(online_config(a));
    REQUIRE(s.has_values);
    ReplayState st = make_replay(s);
    for (const int64_t row : {int64_t(0), int64_t(17), int64_t(95)}) {
      CAPTURE(to_string(a));
      CAPTURE(row);
      seek(st, step_count(st) / 2);
      const SoftmaxPanelData d = softmax_panel_data(st, row);
      CHECK(d.online);
      CHECK(d.row_block == row / 16);
      // The steps are exactly the trace's softmax rows for this row, in event order.
      std::vector<const simulator::SoftmaxRow*> want;
      std::vector<int64_t> want_events;
      for (size_t k = 0; k < s.trace.events.size(); ++k) {
        const Event& e = s.trace.events[k];
        if (e.kind != EventKind::SoftmaxUpdate) continue;
        for (const simulator::SoftmaxRow& r : s.trace.rows_of(e))
          if (r.row == row) want.push_back(&r), want_events.push_back(int64_t(k));
      }
      REQUIRE(d.steps.size() == want.size());
      float l_prev = 0, m_prev = -INFINITY;
      for (size_t k = 0; k < want.size(); ++k) {
        const SoftmaxStep& p = d.steps[k];
        CHECK(p.event == want_events[k]);
        CHECK(p.m_new == want[k]->m_new);
        CHECK(p.l_new == want[k]->l_new);
        CHECK(p.rescale == want[k]->rescale);
        CHECK(p.done == (p.event < st.step));
        // Chained: each update starts from the previous one's result.
        CHECK(p.m_old == m_prev);
        CHECK(p.l_old == l_prev);
        m_prev = p.m_new, l_prev = p.l_new;
        // Independently from the row's scores in the block's columns (§3.1):
        // m_new = max(m_old, max_c s_c), l_new = e^{m_old - m_new} l_old + sum_c e^{s_c - m_new}.
        double mx = -INFINITY;
        for (int64_t c = p.col0; c < p.col0 + p.cols; ++c)
          mx = std::max(mx, double(d.scores[size_t(c)]));
        CHECK(p.block_max == mx);
        const double m_new = std::max(double(p.m_old), mx);
        CHECK(double(p.m_new) == doctest::Approx(m_new).epsilon(1e-6));
        double l = std::isinf(p.m_old) ? 0.0 : std::exp(double(p.m_old) - m_new) * double(p.l_old);
        for (int64_t c = p.col0; c < p.col0 + p.cols; ++c)
          l += std::exp(double(d.scores[size_t(c)]) - m_new);
        // float sums of <= 20 terms of size <= 1: relative error well below 1e-5.
        CHECK(double(p.l_new) == doctest::Approx(l).epsilon(1e-5));
        const double rescale = std::isinf(p.m_old) ? 0.0 : std::exp(double(p.m_old) - m_new);
        CHECK(double(p.rescale) == doctest::Approx(rescale).epsilon(1e-5));
      }
      // Causal FA2 skips the blocks right of the diagonal; the panel lists them.
      if (a == VizAlgorithm::Flash2) {
        const int64_t Tc = (96 + 19) / 20;
        CHECK(int64_t(d.steps.size() + d.skipped_blocks.size()) == Tc);
      }
    }
  }
}

TEST_CASE("softmax panel: at the end the row's result equals the float64 reference") {
  for (const VizAlgorithm a : {VizAlgorithm::Flash, VizAlgorithm::Flash2, VizAlgorithm::Standard,
                               VizAlgorithm::FlashBackward}) {
    CAPTURE(to_string(a));
    const Session s = build_session(online_config(a));
    ReplayState st = make_replay(s);
    const int64_t row = 40;
    SoftmaxPanelData d = softmax_panel_data(st, row);
    CHECK(d.finished == (a == VizAlgorithm::FlashBackward));  // backward: l, m are inputs
    seek(st, step_count(st));
    d = softmax_panel_data(st, row);
    CHECK(d.finished);
    CHECK(d.done_count == int64_t(d.steps.size()));
    // Float arithmetic over <= 96 scores of size ~1: probabilities and lse to ~1e-6.
    CHECK(d.p_max_abs_diff < 1e-5);
    CHECK(d.lse_result == doctest::Approx(d.lse_reference).epsilon(1e-5));
    CHECK(d.o_max_abs_diff < 1e-4);
    double sum = 0;
    for (double p : d.p_result) sum += p;
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
    if (a == VizAlgorithm::Flash || a == VizAlgorithm::Flash2) {
      REQUIRE(!d.steps.empty());
      CHECK(d.m_now == d.steps.back().m_new);
      CHECK(d.last_event == d.steps.back().event);
    }
  }
}

TEST_CASE("timeline jumps land on the next rescale, the next write of O and the next block") {
  const Session s = build_session(online_config(VizAlgorithm::Flash));
  ReplayState st = make_replay(s);
  const auto& ev = s.trace.events;
  int rescales = 0;
  for (int64_t guard = 0; guard < s.event_count(); ++guard) {
    const int64_t from = st.step;
    const int64_t to = next_step(st, JumpTarget::Rescale);
    if (to == from) break;
    const Event& e = ev[size_t(to - 1)];
    REQUIRE(e.kind == EventKind::SoftmaxUpdate);
    bool moved = false;
    for (const simulator::SoftmaxRow& r : s.trace.rows_of(e))
      moved = moved || (std::isfinite(r.m_old) && r.m_new > r.m_old);
    CHECK(moved);
    // No rescale was jumped over.
    for (int64_t k = from; k < to - 1; ++k) {
      if (ev[size_t(k)].kind != EventKind::SoftmaxUpdate) continue;
      for (const simulator::SoftmaxRow& r : s.trace.rows_of(ev[size_t(k)]))
        CHECK_FALSE((std::isfinite(r.m_old) && r.m_new > r.m_old));
    }
    seek(st, to);
    CHECK(previous_step(st, JumpTarget::Rescale) <= to);
    ++rescales;
  }
  CHECK(rescales > 0);

  seek(st, 0);
  int writes = 0;
  while (true) {
    const int64_t to = next_step(st, JumpTarget::WriteOutput);
    if (to == st.step) break;
    CHECK(ev[size_t(to - 1)].kind == EventKind::Store);
    CHECK(ev[size_t(to - 1)].tensor == TensorId::O);
    seek(st, to);
    ++writes;
  }
  CHECK(writes == s.stats[TensorId::O].writes);
  // Going back from the last write visits them all in reverse.
  int back = 0;
  while (previous_step(st, JumpTarget::WriteOutput) != st.step) {
    seek(st, previous_step(st, JumpTarget::WriteOutput));
    ++back;
  }
  CHECK(back == writes - 1);

  seek(st, 0);
  const int64_t b = next_step(st, JumpTarget::Block);
  REQUIRE(b > 0);
  CHECK(ev[size_t(b - 1)].i == 0);
  CHECK(ev[size_t(b - 1)].j == 0);
}

TEST_CASE("invalid configurations are refused with a one-line explanation, never a crash") {
  struct Case {
    VizConfig config;
    const char* says;
  };
  std::vector<Case> cases;
  auto add = [&](auto change, const char* says) {
    VizConfig c;
    change(c);
    cases.push_back({c, says});
  };
  add([](VizConfig& c) { c.tiles = TileSizes{256, 256}; }, "do not fit");
  add([](VizConfig& c) { c.seq = 8192, c.tiles = TileSizes{16, 16}; }, "replays at most");
  add([](VizConfig& c) { c.dropout = 1.0; }, "dropout");
  add([](VizConfig& c) { c.sparse = "checkerboard"; }, "sparsity pattern");
  add([](VizConfig& c) { c.sparse = "random:2"; }, "sparsity pattern");
  add([](VizConfig& c) { c.seq = 0; }, "N (--seq) must be");
  add([](VizConfig& c) { c.head_dim = 0; }, "d (--head-dim) must be");
  add([](VizConfig& c) { c.sram_bytes = 16; }, "SRAM");
  add([](VizConfig& c) { c.tiles = TileSizes{0, 4}; }, "block sizes");
  for (const Case& c : cases) {
    CAPTURE(c.says);
    std::string message;
    try {
      build_session(c.config);
    } catch (const Error& e) {
      message = e.what();
    }
    CHECK(message.find(c.says) != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  }
  CHECK_THROWS_AS(algorithm_from_string("flash3"), Error);
  for (const VizAlgorithm a : kAlgorithms) CHECK(algorithm_from_string(to_string(a)) == a);
}

TEST_CASE("a saved trace replays like the simulated session") {
  for (const VizConfig& config : test::small_configs()) {
    CAPTURE(to_string(config.algorithm));
    const Session a = build_session(config);
    std::stringstream json;
    simulator::write_trace_json(a.trace, json);
    const Session b = load_trace_session(json, "saved.json");
    REQUIRE(b.event_count() == a.event_count());
    CHECK(b.stats.total_bytes() == a.stats.total_bytes());
    CHECK(b.grids.size() == a.grids.size());
    ReplayState ra = make_replay(a), rb = make_replay(b);
    for (const int64_t step : {a.event_count() / 3, a.event_count(), int64_t(5)}) {
      seek(ra, step);
      seek(rb, step);
      CHECK(ra.reads == rb.reads);
      CHECK(ra.writes == rb.writes);
      CHECK(ra.resident == rb.resident);
      CHECK(sram_view_data(ra).used_bytes == sram_view_data(rb).used_bytes);
      CHECK(counters_data(ra).bytes_read == counters_data(rb).bytes_read);
    }
    const SoftmaxPanelData d = softmax_panel_data(rb, 3);
    CHECK_FALSE(d.has_values);
    if (!config.sparse.empty() || config.algorithm == VizAlgorithm::BlockSparse) continue;
    CHECK(b.flops_split);  // the counting-only rerun reproduced the trace's traffic
    CHECK(b.stats.matmul_flops == a.stats.matmul_flops);
  }
}

TEST_CASE("load time of a trace of about 100k events (printed, not asserted)") {
  VizConfig c;
  c.algorithm = VizAlgorithm::Flash;
  c.head_dim = 64;
  c.sram_bytes = 48 * 1024;
#ifdef NDEBUG
  c.seq = 1024;
  c.tiles = TileSizes{16, 24};  // 64 x 43 blocks, ~37 events each: 102k events
  const int64_t want_events = 100000;
#else
  // Unoptimized (and sanitized) builds parse JSON ~50x slower: time a 10x smaller trace here;
  // the numbers quoted in docs/visualizer.md come from an optimized build.
  c.seq = 320;
  c.tiles = TileSizes{16, 24};
  const int64_t want_events = 10000;
  std::printf("viz timing: unoptimized build, timing a smaller trace (not representative)\n");
#endif
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const Session s = build_session(c);
  const auto t1 = clock::now();
  std::stringstream json;
  simulator::write_trace_json(s.trace, json);
  const std::string text = json.str();
  std::istringstream in(text);
  const auto t2 = clock::now();
  const Session loaded = load_trace_session(in, "bench.json");
  const auto t3 = clock::now();
  std::istringstream in2(text);
  const auto t3b = clock::now();
  const simulator::Trace parsed = simulator::read_trace_json(in2);
  const auto t3c = clock::now();
  Session reindexed = s;
  const auto t4 = clock::now();
  index_session(reindexed);
  const auto t5 = clock::now();
  ReplayState st = make_replay(loaded);
  const auto t6 = clock::now();
  seek(st, step_count(st));
  const auto t7 = clock::now();
  auto sec = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  std::printf(
      "viz timing: %lld events (%zu softmax rows), JSON %.1f MB\n"
      "  build_session (simulate with arithmetic + baseline + reference + index): %.3f s\n"
      "  load_trace_session (parse JSON + rerun counts + index):                  %.3f s\n"
      "    of which read_trace_json (the simulator's JSON reader):                %.3f s\n"
      "  index_session alone:                                                     %.3f s\n"
      "  scrub from step 0 to the last step:                                      %.4f s\n",
      static_cast<long long>(loaded.event_count()), loaded.trace.softmax_rows.size(),
      double(text.size()) / 1e6, sec(t0, t1), sec(t2, t3), sec(t3b, t3c), sec(t4, t5), sec(t6, t7));
  CHECK(parsed.events.size() == loaded.trace.events.size());
  CHECK(loaded.event_count() >= want_events);
}
