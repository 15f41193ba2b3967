// The trace: every step with its pseudo-code line, consistent with the counters, SRAM within
// capacity at every event, per-row softmax statistics, and a JSON form that reads back exactly
// and rejects malformed documents.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <flashlab/core/error.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/simulator/trace/trace_json.hpp>
#include <flashlab/test/random.hpp>
#include <nlohmann/json.hpp>

namespace flashlab::simulator {
namespace {

struct Run {
  Trace trace;
  IoStats stats;
  ForwardResult<float> forward;
};

Run run(Algorithm a, bool backward, SimConfig c) {
  c.algorithm = a;
  FLASHLAB_TEST_RNG(rng, "trace inputs");
  const auto Q = test::random_tensor<float>(rng, q_dims(c.shape));
  const auto K = test::random_tensor<float>(rng, kv_dims(c.shape));
  const auto V = test::random_tensor<float>(rng, kv_dims(c.shape));
  if (backward) {
    SimBackward b = simulate_backward(c, &Q, &K, &V, &Q);
    return {std::move(b.trace), b.stats, {}};
  }
  SimForward f = simulate_forward(c, &Q, &K, &V);
  return {std::move(f.trace), f.stats, std::move(f.result)};
}

SimConfig small(bool causal, double dropout = 0.0) {
  SimConfig c;
  c.shape = {1, 2, 45, 38, 8};
  c.options.causal = causal;
  c.options.dropout_p = dropout;
  c.tiles = TileSizes{8, 12};
  return c;
}

// (kind, tensor) -> the set of lines where such events occur.
std::map<std::pair<EventKind, TensorId>, std::set<int>> lines_by_step(const Trace& t) {
  std::map<std::pair<EventKind, TensorId>, std::set<int>> out;
  for (const Event& e : t.events) out[{e.kind, e.tensor}].insert(e.line);
  return out;
}

TEST_CASE("trace loads and stores add up to the counted bytes, per tensor") {
  for (Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
    for (bool backward : {false, true}) {
      if (backward && a == Algorithm::Flash2) continue;
      CAPTURE(to_string(a));
      CAPTURE(backward);
      const Run r = run(a, backward, small(true, 0.2));
      std::array<int64_t, kTensorCount> read{}, written{};
      for (const Event& e : r.trace.events) {
        if (e.kind == EventKind::Load) read[size_t(index(e.tensor))] += e.bytes;
        if (e.kind == EventKind::Store) written[size_t(index(e.tensor))] += e.bytes;
        if (e.kind == EventKind::Load || e.kind == EventKind::Store)
          CHECK(e.bytes == e.rect.elements() * 2);
      }
      for (int k = 0; k < kTensorCount; ++k) {
        CHECK(read[size_t(k)] == r.stats.tensors[size_t(k)].bytes_read);
        CHECK(written[size_t(k)] == r.stats.tensors[size_t(k)].bytes_written);
      }
    }
  }
}

TEST_CASE("trace events carry the paper's line numbers") {
  using K = EventKind;
  using T = TensorId;
  auto dense = lines_by_step(run(Algorithm::Flash, false, small(false)).trace);  // FA1 Alg. 2
  CHECK(dense[{K::Store, T::O}] == std::set<int>{3, 15});
  CHECK(dense[{K::Load, T::K}] == std::set<int>{7});
  CHECK(dense[{K::Load, T::Q}] == std::set<int>{9});
  CHECK(dense[{K::Compute, T::S}] == std::set<int>{10, 12, 15});
  CHECK(dense[{K::SoftmaxUpdate, T::m}] == std::set<int>{13});
  CHECK(dense[{K::Store, T::l}] == std::set<int>{3, 16});
  CHECK(dense.count({K::Skip, T::S}) == 0);

  auto sparse = lines_by_step(run(Algorithm::Flash, false, small(true, 0.3)).trace);  // FA1 Alg. 5
  CHECK(sparse[{K::Load, T::K}] == std::set<int>{6});
  CHECK(sparse[{K::Skip, T::S}] == std::set<int>{8});
  CHECK(sparse[{K::Compute, T::S}] == std::set<int>{10, 11, 12, 14, 15});

  auto bwd = lines_by_step(run(Algorithm::Flash, true, small(true, 0.3)).trace);  // FA1 Alg. 4
  CHECK(bwd[{K::Load, T::dQ}] == std::set<int>{10});
  CHECK(bwd[{K::Store, T::dQ}] == std::set<int>{5, 21});
  CHECK(bwd[{K::Store, T::dK}] == std::set<int>{5, 24});
  CHECK(bwd[{K::Compute, T::D}] == std::set<int>{19});

  auto fa2 = lines_by_step(run(Algorithm::Flash2, false, small(false)).trace);  // FA2 Alg. 1
  CHECK(fa2[{K::Load, T::Q}] == std::set<int>{4});
  CHECK(fa2[{K::Load, T::K}] == std::set<int>{7});
  CHECK(fa2[{K::Store, T::O}] == std::set<int>{14});
  CHECK(fa2[{K::Store, T::L}] == std::set<int>{15});

  for (Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
    const Trace t = run(a, false, small(true)).trace;
    for (const Event& e : t.events) CHECK(!t.line_text(e.line).empty());
  }
}

TEST_CASE("the SRAM is within capacity at every event and returns to empty") {
  for (Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
    for (bool backward : {false, true}) {
      if (backward && a == Algorithm::Flash2) continue;
      SimConfig c = small(true, 0.1);
      c.tiles.reset();
      c.sram_bytes = 3000;  // forces small default tiles and the long-row standard softmax
      const Run r = run(a, backward, c);
      int64_t peak = 0, live = 0;
      for (const Event& e : r.trace.events) {
        CHECK(e.sram_used_bytes <= c.sram_bytes);
        peak = std::max(peak, e.sram_used_bytes);
        if (e.kind == EventKind::Alloc) live += e.bytes;
        if (e.kind == EventKind::Free) live -= e.bytes;
        CHECK(live == e.sram_used_bytes);
      }
      CHECK(live == 0);
      CHECK(peak == r.stats.peak_sram_bytes);
    }
  }
}

TEST_CASE("softmax rows hold m and l before and after each update and end at the logsumexp") {
  for (Algorithm a : {Algorithm::Flash, Algorithm::Flash2}) {
    SimConfig c = small(false);
    c.shape.heads = 1;
    const Run r = run(a, false, c);
    std::map<int64_t, SoftmaxRow> last;
    int64_t updates = 0;
    for (const Event& e : r.trace.events) {
      if (e.kind != EventKind::SoftmaxUpdate) continue;
      ++updates;
      CHECK(e.softmax_count == e.rect.rows);
      for (const SoftmaxRow& row : r.trace.rows_of(e)) {
        if (last.count(row.row) == 0) {  // first block of the row: nothing seen before
          CHECK(row.m_old == -INFINITY);
          CHECK(row.l_old == 0.0f);
          CHECK(row.rescale == 0.0f);
        } else {  // continues where the previous update of the row ended
          CHECK(row.m_old == last[row.row].m_new);
          CHECK(row.l_old == last[row.row].l_new);
          CHECK(row.rescale == doctest::Approx(std::exp(row.m_old - row.m_new)));
          CHECK(row.m_new >= row.m_old);
        }
        last[row.row] = row;
      }
    }
    CHECK(updates == 6 * 4);  // T_r x T_c = ceil(45/8) x ceil(38/12)
    REQUIRE(last.size() == 45);
    for (const auto& [row, s] : last)
      CHECK(s.m_new + std::log(s.l_new) ==
            doctest::Approx(r.forward.lse.data[size_t(row)]).epsilon(1e-6));
  }
}

TEST_CASE("causal flash records one Skip per block above the diagonal") {
  SimConfig c;
  c.shape = {1, 1, 64, 64, 4};
  c.options.causal = true;
  c.tiles = TileSizes{8, 8};
  const Trace t = run(Algorithm::Flash, false, c).trace;
  int64_t skips = 0;
  for (const Event& e : t.events)
    if (e.kind == EventKind::Skip) {
      ++skips;
      CHECK(e.rect.col0 > e.rect.row0 + e.rect.rows - 1);  // entirely above the diagonal
    }
  CHECK(skips == 8 * 7 / 2);
}

TEST_CASE("trace options: first head only, and none in counting-only mode unless asked") {
  SimConfig c = small(false);
  c.shape.batch = 2;
  c.trace_first_head_only = true;
  for (const Event& e : run(Algorithm::Flash, false, c).trace.events) {
    CHECK(e.batch == 0);
    CHECK(e.head == 0);
  }
  c.counting_only = true;
  CHECK(simulate_forward(c, nullptr, nullptr, nullptr).trace.events.empty());
  c.record_trace = true;
  const SimForward f = simulate_forward(c, nullptr, nullptr, nullptr);
  CHECK(!f.trace.events.empty());
  CHECK(f.trace.softmax_rows.empty());  // no arithmetic, no statistics
}

void check_same(const Trace& t, const Trace& back) {
  CHECK(back.algorithm == t.algorithm);
  CHECK(back.backward == t.backward);
  CHECK(back.title == t.title);
  CHECK(back.pseudo_code == t.pseudo_code);
  CHECK(back.shape.seq_k == t.shape.seq_k);
  CHECK(back.tiles.block_cols == t.tiles.block_cols);
  CHECK(back.sram_capacity_bytes == t.sram_capacity_bytes);
  CHECK(back.softmax_scale == t.softmax_scale);
  CHECK(back.causal == t.causal);
  CHECK(back.block_sparse == t.block_sparse);
  CHECK(back.dropout_p == t.dropout_p);
  REQUIRE(back.events.size() == t.events.size());
  for (size_t k = 0; k < t.events.size(); ++k) {
    const Event &a = t.events[k], &b = back.events[k];
    CHECK(a.kind == b.kind);
    CHECK(a.line == b.line);
    CHECK(a.head == b.head);
    CHECK(a.tensor == b.tensor);
    CHECK((a.rect.row0 == b.rect.row0 && a.rect.rows == b.rect.rows && a.rect.col0 == b.rect.col0 &&
           a.rect.cols == b.rect.cols));
    CHECK((a.bytes == b.bytes && a.flops == b.flops && a.exps == b.exps && a.draws == b.draws));
    CHECK(std::string(a.op) == b.op);
    CHECK((a.i == b.i && a.j == b.j && a.sram_used_bytes == b.sram_used_bytes));
    CHECK((a.softmax_first == b.softmax_first && a.softmax_count == b.softmax_count));
  }
  REQUIRE(back.softmax_rows.size() == t.softmax_rows.size());
  for (size_t k = 0; k < t.softmax_rows.size(); ++k) {
    const SoftmaxRow &a = t.softmax_rows[k], &b = back.softmax_rows[k];
    CHECK((a.row == b.row && a.m_old == b.m_old && a.l_old == b.l_old && a.m_new == b.m_new &&
           a.l_new == b.l_new && a.rescale == b.rescale));
  }
}

TEST_CASE("a trace survives the JSON round trip exactly") {
  SimConfig c = small(true, 0.2);
  c.options.block_mask = butterfly_mask(45, 38, 16);
  const Trace t = run(Algorithm::Flash, false, c).trace;
  std::stringstream json;
  write_trace_json(t, json);
  const Trace back = read_trace_json(json);
  CHECK(back.shape.seq_k == 38);
  CHECK(back.tiles.block_cols == 12);
  CHECK(back.causal);
  CHECK(back.block_sparse);
  CHECK(back.dropout_p == 0.2);
  // Dropout's Philox calls travel with their events: the trace's add up to the run's count.
  int64_t draws = 0;
  for (const Event& e : back.events) draws += e.draws;
  CHECK(draws > 0);
  CHECK(draws == run(Algorithm::Flash, false, c).stats.random_draws);
  check_same(t, back);
  const Trace copy = back;  // copies keep their texts
  CHECK(std::string(copy.events[0].op) == t.events[0].op);

  // Any layout and key order reads the same (the reader streams the events in file order).
  SUBCASE("pretty-printed, as flashlab-sim-report trace-example writes it") {
    check_same(t, read_trace_json(to_json(t).dump(1)));
  }
  SUBCASE("keys in another order, header last") {
    const nlohmann::json doc = to_json(t);
    nlohmann::ordered_json reordered = {{"softmax_rows", doc["softmax_rows"]},
                                        {"events", doc["events"]}};
    for (const auto& [key, value] : doc.items())
      if (key != "events" && key != "softmax_rows") reordered[key] = value;
    check_same(t, read_trace_json(reordered.dump()));
  }
  SUBCASE("unknown fields of later versions are ignored, also nested ones") {
    nlohmann::json doc = to_json(t);
    doc["events"][0]["future"] = {{"a", {1, {{"b", nullptr}}}}, {"c", "d"}};
    doc["events"][1]["future_list"] = {1, 2, 3};
    doc["future"] = {{"x", {1.5, "y"}}};
    doc["shape"]["future"] = 7;
    check_same(t, read_trace_json(doc.dump()));
  }
}

TEST_CASE("the trace reader rejects malformed documents, naming the field") {
  SimConfig c = small(false);
  c.shape = {1, 1, 8, 8, 4};
  const nlohmann::json good = to_json(run(Algorithm::Flash2, false, c).trace);
  REQUIRE(good["events"].size() > 8);
  REQUIRE(good["softmax_rows"].size() > 2);
  auto error_for = [&](auto&& edit) {
    nlohmann::json doc = good;
    edit(doc);
    std::stringstream s(doc.dump());
    try {
      read_trace_json(s);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_for([](auto&) {}) == "no error");
  CHECK(error_for([](auto& d) { d.erase("tiles"); }).find("tiles: missing") != std::string::npos);
  CHECK(error_for([](auto& d) { d["version"] = 7; }).find("unsupported version 7") !=
        std::string::npos);
  CHECK(error_for([](auto& d) { d["events"][3]["kind"] = "lod"; }) ==
        "trace JSON: events[3].kind: unknown event kind 'lod'; accepted: load, store, alloc, free, "
        "compute, softmax, skip");
  CHECK(error_for([](auto& d) { d["events"][0]["line"] = 99; }).find("events[0].line") !=
        std::string::npos);
  CHECK(error_for([](auto& d) { d["events"][1]["tensor"] = "X"; }).find("unknown tensor 'X'") !=
        std::string::npos);
  CHECK(error_for([](auto& d) {
          d["events"][1]["rect"] = {1, 2};
        }).find("events[1].rect") != std::string::npos);
  CHECK(error_for([](auto& d) { d["softmax_rows"][0][1] = "big"; }).find("softmax_rows[0][1]") !=
        std::string::npos);
  CHECK(error_for([](auto& d) { d["shape"]["seq_q"] = 0; }).find("shape") != std::string::npos);
  std::stringstream junk("{not json");
  CHECK_THROWS_WITH_AS(read_trace_json(junk), doctest::Contains("not valid JSON"), Error);
}

// The events and softmax_rows are checked while they stream past; each problem is named by its
// full path, with the message a document-based reader would give.
TEST_CASE("the trace reader names every problem inside events and softmax_rows") {
  SimConfig c = small(false);
  c.shape = {1, 1, 8, 8, 4};
  const nlohmann::json good = to_json(run(Algorithm::Flash2, false, c).trace);
  REQUIRE(good["events"].size() > 8);
  auto error_for = [&](auto&& edit) {
    nlohmann::json doc = good;
    edit(doc);
    try {
      read_trace_json(doc.dump());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  using J = nlohmann::json;
  const struct {
    const char* name;
    std::function<void(J&)> edit;
    const char* says;
  } cases[] = {
      {"root", [](J& d) { d = J::array({1}); }, "trace JSON: trace: expected an object"},
      {"events missing", [](J& d) { d.erase("events"); }, "trace JSON: trace.events: missing"},
      {"rows missing", [](J& d) { d.erase("softmax_rows"); },
       "trace JSON: trace.softmax_rows: missing"},
      {"events not an array", [](J& d) { d["events"] = J::object(); },
       "trace JSON: events: expected an array, got an object"},
      {"events a number", [](J& d) { d["events"] = 3; },
       "trace JSON: events: expected an array, got 3"},
      {"an event not an object", [](J& d) { d["events"][2] = J::array(); },
       "trace JSON: events[2]: expected an object, got an array"},
      {"a field missing", [](J& d) { d["events"][4].erase("op"); },
       "trace JSON: events[4].op: missing"},
      {"rect missing", [](J& d) { d["events"][4].erase("rect"); },
       "trace JSON: events[4].rect: missing"},
      {"a string for an integer", [](J& d) { d["events"][5]["bytes"] = "8"; },
       "trace JSON: events[5].bytes: expected an integer, got \"8\""},
      {"a float for an integer", [](J& d) { d["events"][5]["i"] = 1.5; },
       "trace JSON: events[5].i: expected an integer, got 1.5"},
      {"null for an integer", [](J& d) { d["events"][5]["j"] = nullptr; },
       "trace JSON: events[5].j: expected an integer, got null"},
      {"an array for an integer", [](J& d) { d["events"][5]["head"] = {1}; },
       "trace JSON: events[5].head: expected an integer, got an array"},
      {"a number for a string", [](J& d) { d["events"][6]["op"] = 4; },
       "trace JSON: events[6].op: expected a string, got 4"},
      {"an object for a string", [](J& d) { d["events"][6]["kind"] = J::object(); },
       "trace JSON: events[6].kind: expected a string, got an object"},
      {"rect an object", [](J& d) { d["events"][1]["rect"] = J::object(); },
       "trace JSON: events[1].rect: expected [row0, rows, col0, cols], got an object"},
      {"rect too long",
       [](J& d) {
         d["events"][1]["rect"] = {0, 1, 2, 3, 4};
       },
       "trace JSON: events[1].rect: expected [row0, rows, col0, cols]"},
      {"a rect entry",
       [](J& d) {
         d["events"][1]["rect"] = {0, 1, "2", 3};
       },
       "trace JSON: events[1].rect[2]: expected an integer, got \"2\""},
      {"a negative rect",
       [](J& d) {
         d["events"][1]["rect"] = {0, -1, 0, 3};
       },
       "trace JSON: events[1].rect: entries must be >= 0"},
      {"a negative line", [](J& d) { d["events"][7]["line"] = -2; },
       "trace JSON: events[7].line: -2 is not a line number"},
      {"softmax_first too large", [](J& d) { d["events"][7]["softmax_first"] = 1000; },
       "trace JSON: events[7].softmax_first/softmax_count: [1000, +0) is outside softmax_rows"},
      {"softmax_count negative", [](J& d) { d["events"][7]["softmax_count"] = -1; },
       "trace JSON: events[7].softmax_first/softmax_count: must be >= 0"},
      {"rows not an array", [](J& d) { d["softmax_rows"] = "rows"; },
       "trace JSON: softmax_rows: expected an array, got \"rows\""},
      {"a row too short",
       [](J& d) {
         d["softmax_rows"][1] = {0, 1.0};
       },
       "trace JSON: softmax_rows[1]: expected [row, m_old, l_old, m_new, l_new, rescale]"},
      {"a row an object", [](J& d) { d["softmax_rows"][1] = J::object(); },
       "trace JSON: softmax_rows[1]: expected [row, m_old, l_old, m_new, l_new, rescale], got an "
       "object"},
      {"a row's index a float", [](J& d) { d["softmax_rows"][2][0] = 0.5; },
       "trace JSON: softmax_rows[2][0]: expected an integer, got 0.5"},
      {"a row's value", [](J& d) { d["softmax_rows"][2][3] = true; },
       "trace JSON: softmax_rows[2][3]: expected a number (or \"-inf\", \"inf\", \"nan\"), got "
       "true"},
      // The first problem in file order among the events, whether found at once (the kind) or
      // once pseudo_code is known (the line, whose key comes after "events").
      {"a bad line before a bad kind",
       [](J& d) {
         d["events"][3]["line"] = 99;
         d["events"][6]["kind"] = "lod";
       },
       "trace JSON: events[3].line: 99 is not a line of pseudo_code (1.."},
      {"a bad kind before a bad line",
       [](J& d) {
         d["events"][3]["kind"] = "lod";
         d["events"][6]["line"] = 99;
       },
       "trace JSON: events[3].kind: unknown event kind 'lod'"},
      // The header first, although "events" and "softmax_rows" come before "version" in the file.
      {"the version before the events",
       [](J& d) {
         d["events"][0]["kind"] = "lod";
         d["softmax_rows"][0] = 1;
         d["version"] = 2;
       },
       "trace JSON: version: unsupported version 2"},
      {"the rows before the events",
       [](J& d) {
         d["events"][0]["kind"] = "lod";
         d["softmax_rows"][0] = 1;
       },
       "trace JSON: softmax_rows[0]: expected"},
  };
  for (const auto& k : cases) {
    INFO(k.name);
    const std::string message = error_for(k.edit);
    CHECK_MESSAGE(message.rfind(k.says, 0) == 0, message);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("a syntax error anywhere is reported before the problems of the fields") {
  SimConfig c = small(false);
  c.shape = {1, 1, 8, 8, 4};
  nlohmann::json doc = to_json(run(Algorithm::Flash2, false, c).trace);
  doc["events"][0]["kind"] = "lod";
  doc["version"] = 2;
  const std::string text = doc.dump();
  for (const size_t cut : {text.size() - 1, text.size() / 2}) {
    CAPTURE(cut);
    CHECK_THROWS_WITH_AS(read_trace_json(std::string_view(text).substr(0, cut)),
                         doctest::Contains("trace JSON: not valid JSON: "), Error);
  }
  CHECK_THROWS_WITH_AS(read_trace_json(text + "}"), doctest::Contains("not valid JSON"), Error);
  CHECK_THROWS_WITH_AS(read_trace_json(text), doctest::Contains("unsupported version 2"), Error);
}

TEST_CASE("a field given twice counts once, the last one, as in a JSON object") {
  SimConfig c = small(false);
  c.shape = {1, 1, 8, 8, 4};
  const Trace t = run(Algorithm::Flash2, false, c).trace;
  const std::string text = to_json(t).dump();
  REQUIRE(text.front() == '{');
  // An earlier, bad copy of each array and of a header field, then the file's own.
  const std::string twice =
      R"({"events": [{"kind": "lod"}], "softmax_rows": [[1]], "version": 99, )" + text.substr(1);
  check_same(t, read_trace_json(twice));
}

}  // namespace
}  // namespace flashlab::simulator
