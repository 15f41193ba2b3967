// The trace: every step with its pseudo-code line, consistent with the counters, SRAM within
// capacity at every event, per-row softmax statistics, and a JSON form that reads back exactly
// and rejects malformed documents.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include <flashlab/core/error.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/simulator/trace_json.hpp>
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
  auto dense = lines_by_step(run(Algorithm::Flash, false, small(false)).trace);  // Alg. 2
  CHECK(dense[{K::Store, T::O}] == std::set<int>{3, 15});
  CHECK(dense[{K::Load, T::K}] == std::set<int>{7});
  CHECK(dense[{K::Load, T::Q}] == std::set<int>{9});
  CHECK(dense[{K::Compute, T::S}] == std::set<int>{10, 12, 15});
  CHECK(dense[{K::SoftmaxUpdate, T::m}] == std::set<int>{13});
  CHECK(dense[{K::Store, T::l}] == std::set<int>{3, 16});
  CHECK(dense.count({K::Skip, T::S}) == 0);

  auto sparse = lines_by_step(run(Algorithm::Flash, false, small(true, 0.3)).trace);  // Alg. 5
  CHECK(sparse[{K::Load, T::K}] == std::set<int>{6});
  CHECK(sparse[{K::Skip, T::S}] == std::set<int>{8});
  CHECK(sparse[{K::Compute, T::S}] == std::set<int>{10, 11, 12, 14, 15});

  auto bwd = lines_by_step(run(Algorithm::Flash, true, small(true, 0.3)).trace);  // Alg. 4
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

TEST_CASE("a trace survives the JSON round trip exactly") {
  SimConfig c = small(true, 0.2);
  c.options.block_mask = butterfly_mask(45, 38, 16);
  const Trace t = run(Algorithm::Flash, false, c).trace;
  std::stringstream json;
  write_trace_json(t, json);
  const Trace back = read_trace_json(json);
  CHECK(back.algorithm == t.algorithm);
  CHECK(back.backward == t.backward);
  CHECK(back.title == t.title);
  CHECK(back.pseudo_code == t.pseudo_code);
  CHECK(back.shape.seq_k == 38);
  CHECK(back.tiles.block_cols == 12);
  CHECK(back.sram_capacity_bytes == t.sram_capacity_bytes);
  CHECK(back.softmax_scale == t.softmax_scale);
  CHECK(back.causal);
  CHECK(back.block_sparse);
  CHECK(back.dropout_p == 0.2);
  REQUIRE(back.events.size() == t.events.size());
  for (size_t k = 0; k < t.events.size(); ++k) {
    const Event &a = t.events[k], &b = back.events[k];
    CHECK(a.kind == b.kind);
    CHECK(a.line == b.line);
    CHECK(a.head == b.head);
    CHECK(a.tensor == b.tensor);
    CHECK((a.rect.row0 == b.rect.row0 && a.rect.rows == b.rect.rows && a.rect.col0 == b.rect.col0 &&
           a.rect.cols == b.rect.cols));
    CHECK((a.bytes == b.bytes && a.flops == b.flops && a.exps == b.exps));
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
  const Trace copy = back;  // copies keep their texts
  CHECK(std::string(copy.events[0].op) == t.events[0].op);
}

TEST_CASE("the trace reader rejects malformed documents, naming the field") {
  SimConfig c = small(false);
  c.shape = {1, 1, 8, 8, 4};
  const nlohmann::json good = to_json(run(Algorithm::Flash2, false, c).trace);
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
  CHECK(error_for([](auto& d) { d["events"][3]["kind"] = "lod"; }).find("events[3].kind") !=
        std::string::npos);
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

}  // namespace
}  // namespace flashlab::simulator
