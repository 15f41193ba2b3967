// The whole chain of watching a student's run: a lab's grader records it (`--trace`), the model
// compares it with the solution's. Run on the instructor's solutions and planted mistakes: a
// solution matches the simulator's algorithm step for step, and each mistake first differs where
// it goes wrong, found here independently (from the mask, the tiles, the scores).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <string>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/core/options.hpp>
#include <flashlab/simulator/trace/trace_json.hpp>
#include <flashlab/viz/compare.hpp>
#include <flashlab/viz/softmax_run.hpp>

#include "app_run.hpp"

using namespace flashlab;
using namespace flashlab::viz;
using test::kVizTestDir;
using test::run;
using test::Run;

namespace {

const std::string kLabs = FLASHLAB_LAB_GRADERS_DIR;

// Runs `grader --trace` into the test folder; returns the trace's path.
std::string record(const std::string& grader, const std::string& name) {
  const std::string path = kVizTestDir + "/" + name;
  const Run r = run(kLabs + "/" + grader + " --trace " + path);
  INFO(r.output);
  REQUIRE(r.code == 0);
  return path;
}

simulator::Trace read(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(bool(in));
  return simulator::read_trace_json(in);
}

Comparison compare_run(const std::string& grader, const std::string& name) {
  const std::string path = record(grader, name);
  const std::string solution = path.substr(0, path.size() - 5) + ".solution.json";
  return compare_traces(read(path), read(solution));
}

const Difference& first(const Comparison& c) {
  REQUIRE(c.first_divergence.has_value());
  for (const Difference& d : c.rows[*c.first_divergence].differences)
    if (d.diverges()) return d;
  FAIL("no diverging difference");
  return c.rows[0].differences[0];
}

// The step (i, j) of a comparison's row, from the run that has it.
std::pair<int64_t, int64_t> step_of(const Comparison& c, size_t row) {
  const AlignedStep& r = c.rows[row];
  const LoopStep& s = r.left ? c.left_steps[*r.left] : c.right_steps[*r.right];
  return {s.i, s.j};
}

// Lab 6's watch case (labs/06-sparsity/README.md): N = 96, tiles 16 x 15, causal and a local
// layout of 32 x 32 blocks, window 1. Tiles in the loop order of FA1 Alg. 5 (j outer).
struct Tile {
  int64_t i, j, row0, rows, col0, cols;
};
std::vector<Tile> lab6_tiles() {
  std::vector<Tile> tiles;
  for (int64_t j = 0; j * 15 < 96; ++j)
    for (int64_t i = 0; i * 16 < 96; ++i)
      tiles.push_back({i, j, i * 16, 16, j * 15, std::min<int64_t>(15, 96 - j * 15)});
  return tiles;
}
bool any_allowed(const Tile& t) {
  static const BlockMask layout = local_mask(96, 96, 32, 1);
  MaskParams mask;
  mask.causal = true;
  mask.block = layout.view();
  for (int64_t r = t.row0; r < t.row0 + t.rows; ++r)
    for (int64_t c = t.col0; c < t.col0 + t.cols; ++c)
      if (mask.allows(r, c)) return true;
  return false;
}

}  // namespace

TEST_SUITE("lab-runs") {
  TEST_CASE("lab 3: the solution's run is the simulator's step for step") {
    const Comparison c = compare_run("03-io-aware/grade_03_solution", "lab3_solution.json");
    CHECK_FALSE(c.first_divergence.has_value());
    CHECK(c.summary.find("matches the solution step for step") != std::string::npos);
  }

  TEST_CASE("lab 3: K and V reloaded in the inner loop first differ right after block (0, 0)") {
    const Comparison c = compare_run("03-io-aware/grade_03_reread_kv_inner", "lab3_reread.json");
    const Difference& d = first(c);
    CHECK(d.kind == DifferenceKind::ExtraStep);
    CHECK(d.text.find("loads K rows 0..15 (512 B), loads V rows 0..15 (512 B)") !=
          std::string::npos);
    REQUIRE(*c.first_divergence > 0);
    CHECK(step_of(c, *c.first_divergence - 1) == std::pair<int64_t, int64_t>{0, 0});
    // One reload per inner iteration after the first, in every column: (T_r - 1) T_c = 2 x 5.
    CHECK(c.diverging_rows == 10);
  }

  TEST_CASE("lab 6: the solution matches; no skipping first differs at the first hidden tile") {
    CHECK_FALSE(compare_run("06-sparsity/grade_06_solution", "lab6_solution.json")
                    .first_divergence.has_value());
    const Comparison c = compare_run("06-sparsity/grade_06_no_skipping", "lab6_noskip.json");
    const std::vector<Tile> tiles = lab6_tiles();
    const auto hidden =
        std::find_if(tiles.begin(), tiles.end(), [](const Tile& t) { return !any_allowed(t); });
    REQUIRE(hidden != tiles.end());
    const Difference& d = first(c);
    CHECK(d.kind == DifferenceKind::ComputedSkipped);
    CHECK(step_of(c, *c.first_divergence) == std::pair<int64_t, int64_t>{hidden->i, hidden->j});
  }

  TEST_CASE("lab 6: a skip off by one at the diagonal first differs at the corner tile") {
    const Comparison c =
        compare_run("06-sparsity/grade_06_causal_skip_off_by_one", "lab6_offbyone.json");
    // The mistake skips a tile whose first key column is its last query row: the first such tile
    // that has an allowed score, in loop order.
    const std::vector<Tile> tiles = lab6_tiles();
    const auto corner = std::find_if(tiles.begin(), tiles.end(), [](const Tile& t) {
      return t.col0 == t.row0 + t.rows - 1 && any_allowed(t);
    });
    REQUIRE(corner != tiles.end());
    const Difference& d = first(c);
    CHECK(d.kind == DifferenceKind::SkippedComputed);
    CHECK(step_of(c, *c.first_divergence) == std::pair<int64_t, int64_t>{corner->i, corner->j});
  }

  TEST_CASE("lab 1: the solution's states are right; a merge without rescaling is caught") {
    const SoftmaxRun right =
        load_softmax_run(record("01-online-softmax/grade_01_solution", "lab1_solution.json"));
    for (const SoftmaxRunRow& row : right.rows) CHECK_MESSAGE(row.ok(), row.verdict);
    const SoftmaxRun wrong = load_softmax_run(
        record("01-online-softmax/grade_01_merge_without_rescale", "lab1_no_rescale.json"));
    for (const SoftmaxRunRow& row : wrong.rows) {
      // l_a + l_b is wrong as soon as the two parts have different maxima and both have seen a
      // score: one of the factors e^(m - m_new), e^(m~ - m_new) is then < 1.
      std::optional<size_t> expected;
      float m = -INFINITY;
      for (size_t k = 0; k < row.steps.size() && !expected; ++k) {
        float bm = -INFINITY;
        for (int64_t c = row.steps[k].col0; c < row.steps[k].col0 + row.steps[k].cols; ++c)
          bm = std::max(bm, row.scores[size_t(c)]);
        if (std::isfinite(m) && std::isfinite(bm) && bm != m) expected = k;
        m = std::max(m, bm);
      }
      CAPTURE(row.label);
      CHECK(row.first_wrong_step == expected);
    }
  }
}
