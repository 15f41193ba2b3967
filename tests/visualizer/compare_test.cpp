// The side-by-side comparison's model (compare.hpp) without a window: alignment by loop step,
// and each kind of difference planted by hand into a copy of a simulator trace, with the
// expected step and event found independently of the code under test.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <flashlab/core/error.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/test/random.hpp>
#include <flashlab/viz/compare.hpp>

using namespace flashlab;
using namespace flashlab::viz;
using simulator::Event;
using simulator::EventKind;
using simulator::TensorId;
using simulator::Trace;

namespace {

// FlashAttention forward (FA1 Alg. 2 / FA1 Alg. 5) on 80 x 80 queries and keys, d = 16, 32 x 16
// tiles.
Trace flash_trace(bool causal) {
  simulator::SimConfig c;
  c.shape = {1, 1, 80, 80, 16};
  c.tiles = TileSizes{32, 16};
  c.options.causal = causal;
  c.counting_only = true;
  c.record_trace = true;
  return simulator::simulate_forward(c, nullptr, nullptr, nullptr).trace;
}

// The index of the first event with loop indices (i, j) and the given kind and tensor.
size_t find_event(const Trace& t, int64_t i, int64_t j, EventKind kind, TensorId tensor) {
  for (size_t k = 0; k < t.events.size(); ++k) {
    const Event& e = t.events[k];
    if (e.i == i && e.j == j && e.kind == kind && e.tensor == tensor) return k;
  }
  FAIL("no such event");
  return 0;
}

// The position of step (i, j) among the runs of equal (i, j), counted with a plain loop.
size_t step_number(const Trace& t, int64_t i, int64_t j) {
  size_t steps = 0;
  for (size_t k = 0; k < t.events.size(); ++k) {
    const Event& e = t.events[k];
    const bool starts = k == 0 || t.events[k - 1].i != e.i || t.events[k - 1].j != e.j;
    if (starts && e.i == i && e.j == j) return steps;
    steps += starts;
  }
  FAIL("no step (" << i << ", " << j << ")");
  return 0;
}

const Difference& first_diverging(const Comparison& c) {
  REQUIRE(c.first_divergence.has_value());
  const AlignedStep& row = c.rows[*c.first_divergence];
  const auto d = std::find_if(row.differences.begin(), row.differences.end(),
                              [](const Difference& x) { return x.diverges(); });
  REQUIRE(d != row.differences.end());
  return *d;
}

// A trace of one event per step, with the given (i, j) sequence: for alignment tests.
Trace keys_trace(const std::vector<std::pair<int64_t, int64_t>>& keys) {
  Trace t;
  for (const auto& [i, j] : keys) {
    Event e;
    e.kind = EventKind::Compute;
    e.tensor = TensorId::None;
    e.op = "x";
    e.i = i;
    e.j = j;
    t.events.push_back(e);
  }
  return t;
}

// Length of the longest common subsequence, by the textbook recursion with memo.
size_t lcs(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<std::vector<size_t>> L(a.size() + 1, std::vector<size_t>(b.size() + 1, 0));
  for (size_t x = 1; x <= a.size(); ++x)
    for (size_t y = 1; y <= b.size(); ++y)
      L[x][y] = a[x - 1] == b[y - 1] ? L[x - 1][y - 1] + 1 : std::max(L[x - 1][y], L[x][y - 1]);
  return L[a.size()][b.size()];
}

}  // namespace

TEST_CASE("identical runs match step for step") {
  for (const bool causal : {false, true}) {
    const Trace t = flash_trace(causal);
    const Comparison c = compare_traces(t, t);
    CHECK_FALSE(c.first_divergence.has_value());
    CHECK(c.diverging_rows == 0);
    REQUIRE(c.rows.size() == c.left_steps.size());
    for (size_t r = 0; r < c.rows.size(); ++r) {
      CHECK(c.rows[r].left == r);
      CHECK(c.rows[r].right == r);
      CHECK(c.rows[r].differences.empty());
      CHECK(replay_step(c, r, true) == c.left_steps[r].end);
    }
    CHECK(c.summary.find("matches the solution step for step") != std::string::npos);
  }
}

TEST_CASE("a load the solution does not make is the first difference, at its step and event") {
  const Trace solution = flash_trace(false);
  Trace yours = solution;
  // Reload K_0 in block (1, 0), after its Q_1 load: as if K_j were loaded inside the inner loop.
  const size_t at = find_event(yours, 1, 0, EventKind::Load, TensorId::Q) + 1;
  Event reload = yours.events[find_event(yours, -1, 0, EventKind::Load, TensorId::K)];
  reload.i = 1;
  yours.events.insert(yours.events.begin() + int64_t(at), reload);

  const Comparison c = compare_traces(yours, solution);
  REQUIRE(c.first_divergence.has_value());
  CHECK(*c.first_divergence == step_number(solution, 1, 0));
  CHECK(c.diverging_rows == 1);
  const Difference& d = first_diverging(c);
  CHECK(d.kind == DifferenceKind::Extra);
  CHECK(d.left_event == int64_t(at));
  CHECK(d.right_event == -1);
  CHECK(d.text == "your run loads K rows 0..15 (512 B) here; the solution does not");
  CHECK(replay_step(c, *c.first_divergence, true) == int64_t(at) + 1);
  CHECK(c.summary.find("block (i=1, j=0)") != std::string::npos);
}

TEST_CASE("another tile or byte count of the same tensor is a byte-count difference") {
  const Trace solution = flash_trace(false);
  Trace yours = solution;
  // The ragged last Q block (rows 64..79) read as if it had 32 rows.
  const size_t at = find_event(yours, 2, 3, EventKind::Load, TensorId::Q);
  yours.events[at].rect.rows = 32;
  yours.events[at].bytes = 32 * 16 * 2;
  const Comparison c = compare_traces(yours, solution);
  CHECK(*c.first_divergence == step_number(solution, 2, 3));
  const Difference& d = first_diverging(c);
  CHECK(d.kind == DifferenceKind::ByteCount);
  CHECK(d.left_event == int64_t(at));
  CHECK(d.right_event == int64_t(at));
  CHECK(d.text ==
        "your run loads Q rows 64..95 (1 KiB) where the solution loads Q rows 64..79 (512 B): a "
        "byte count that differs");
}

TEST_CASE("a block computed that the solution skips, and one skipped that it computes") {
  const Trace solution = flash_trace(true);
  // Causal, 32 x 16 tiles: block (0, 2) covers keys 32..47 of queries 0..31, all masked.
  const size_t skip = find_event(solution, 0, 2, EventKind::Skip, TensorId::S);
  Trace yours = solution;
  Event alloc = solution.events[skip];
  alloc.kind = EventKind::Alloc;
  alloc.op = "S_ij";
  Event matmul = alloc;
  matmul.kind = EventKind::Compute;
  matmul.flops = 2 * 32 * 16 * 16;
  yours.events[skip] = alloc;
  yours.events.insert(yours.events.begin() + int64_t(skip) + 1, matmul);
  Comparison c = compare_traces(yours, solution);
  CHECK(*c.first_divergence == step_number(solution, 0, 2));
  const Difference& d = first_diverging(c);
  CHECK(d.kind == DifferenceKind::ComputedSkipped);
  CHECK(d.left_event == int64_t(skip));
  CHECK(d.right_event == int64_t(skip));
  CHECK(d.text.find("computes block S[0..31, 32..47], which the solution skips") !=
        std::string::npos);

  c = compare_traces(solution, yours, "the solution", "your run");
  CHECK(first_diverging(c).kind == DifferenceKind::SkippedComputed);
}

TEST_CASE("a step one run leaves out is one row; the steps after it stay aligned") {
  const Trace solution = flash_trace(false);
  Trace yours = solution;
  // Drop block (1, 2) from your run entirely.
  std::erase_if(yours.events, [](const Event& e) { return e.i == 1 && e.j == 2; });
  const Comparison c = compare_traces(yours, solution);
  const size_t missing = step_number(solution, 1, 2);
  REQUIRE(c.first_divergence == missing);
  CHECK(c.diverging_rows == 1);
  const AlignedStep& row = c.rows[missing];
  CHECK_FALSE(row.left.has_value());
  CHECK(row.right == missing);
  CHECK(row.differences[0].kind == DifferenceKind::MissingStep);
  CHECK(row.differences[0].text.find("the solution takes a step here that your run does not: "
                                     "loads Q rows 32..63 (1 KiB)") == 0);
  CHECK(c.rows.size() == c.right_steps.size());
  for (size_t r = missing + 1; r < c.rows.size(); ++r) {
    CHECK(c.rows[r].right == r);
    CHECK(c.rows[r].left == r - 1);
    CHECK(c.rows[r].differences.empty());
  }
  // Your pane stays where your previous step ended.
  CHECK(replay_step(c, missing, true) == c.left_steps[missing - 1].end);
}

TEST_CASE("the alignment is a longest common subsequence of the loop steps") {
  FLASHLAB_TEST_RNG(rng, "compare alignment");
  for (int n = 0; n < 200; ++n) {
    std::vector<int> a(size_t(test::random_int(rng, 0, 12))),
        b(size_t(test::random_int(rng, 0, 12)));
    for (int& x : a) x = int(test::random_int(rng, 0, 3));
    for (int& x : b) x = int(test::random_int(rng, 0, 3));
    // Consecutive equal keys would merge into one step: keep them apart with j = position % 2.
    std::vector<std::pair<int64_t, int64_t>> ka, kb;
    for (size_t k = 0; k < a.size(); ++k) ka.push_back({a[k], int64_t(k % 2)});
    for (size_t k = 0; k < b.size(); ++k) kb.push_back({b[k], int64_t(k % 2)});
    std::vector<int> ca, cb;  // the steps as the comparison sees them: (i, j) merged into one int
    for (const auto& [i, j] : ka) ca.push_back(int(i * 2 + j));
    for (const auto& [i, j] : kb) cb.push_back(int(i * 2 + j));
    const Comparison c = compare_traces(keys_trace(ka), keys_trace(kb));
    auto text = [](const std::vector<int>& v) {
      std::string s;
      for (int x : v) s += std::to_string(x) + " ";
      return s;
    };
    INFO("left " << text(ca) << "/ right " << text(cb));
    const size_t common = lcs(ca, cb);
    CHECK(c.rows.size() == ca.size() + cb.size() - common);
    size_t next_left = 0, next_right = 0, matched = 0;
    for (const AlignedStep& row : c.rows) {
      if (row.left) CHECK(*row.left == next_left++);
      if (row.right) CHECK(*row.right == next_right++);
      if (row.left && row.right) {
        ++matched;
        CHECK(ca[*row.left] == cb[*row.right]);
      }
    }
    CHECK(matched == common);
    CHECK(next_left == ca.size());
    CHECK(next_right == cb.size());
  }
}

TEST_CASE("runs too long to align are refused with the counts") {
  std::vector<std::pair<int64_t, int64_t>> ka, kb;
  for (int64_t k = 0; k < 9000; ++k) ka.push_back({0, k}), kb.push_back({1, k});
  CHECK_THROWS_WITH_AS(compare_traces(keys_trace(ka), keys_trace(kb)),
                       doctest::Contains("the runs have 9000 and 9000 loop steps"), Error);
}
