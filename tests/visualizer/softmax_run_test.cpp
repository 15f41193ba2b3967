// Lab 1's softmax run (softmax_run.hpp): documents written here by hand, with the student's
// states made by plain float loops (right, or with one planted mistake), and the model's float64
// recomputation must find exactly the planted step.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <flashlab/core/error.hpp>
#include <flashlab/viz/softmax_run.hpp>

using namespace flashlab;
using namespace flashlab::viz;
using nlohmann::json;

namespace {

constexpr float kInf = INFINITY;

json number(float x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (std::isnan(x)) return "nan";
  return x;
}

struct State {
  float m = -kInf, l = 0;
};

// What the student's functions may do wrong, one at a time.
enum class Plant { None, MergeWithoutRescale, BlockMaxFromZero };

State block_state(const std::vector<float>& x, size_t a, size_t b, Plant plant) {
  State s;
  if (plant == Plant::BlockMaxFromZero) s.m = 0;
  for (size_t k = a; k < b; ++k) s.m = std::max(s.m, x[k]);
  if (s.m == -kInf) return s;
  for (size_t k = a; k < b; ++k) s.l += std::exp(x[k] - s.m);
  return s;
}

State merge(State a, State b, Plant plant) {
  State s{std::max(a.m, b.m), 0};
  if (s.m == -kInf) return s;
  if (plant == Plant::MergeWithoutRescale) return {s.m, a.l + b.l};
  s.l = (a.m == -kInf ? 0 : std::exp(a.m - s.m) * a.l) +
        (b.m == -kInf ? 0 : std::exp(b.m - s.m) * b.l);
  return s;
}

json row_doc(const std::vector<float>& x, size_t B, Plant plant) {
  json scores = json::array(), steps = json::array(), p = json::array();
  for (float v : x) scores.push_back(number(v));
  State s;
  for (size_t a = 0, j = 0; a < x.size(); a += B, ++j) {
    const size_t b = std::min(x.size(), a + B);
    const State blk = block_state(x, a, b, plant), next = merge(s, blk, plant);
    steps.push_back({{"block", j},
                     {"col0", a},
                     {"cols", b - a},
                     {"block_m", number(blk.m)},
                     {"block_l", number(blk.l)},
                     {"m_old", number(s.m)},
                     {"l_old", number(s.l)},
                     {"m_new", number(next.m)},
                     {"l_new", number(next.l)}});
    s = next;
  }
  for (float v : x) p.push_back(s.m == -kInf ? 0.0f : std::exp(v - s.m) / s.l);
  return {{"label", "a row"}, {"scores", scores}, {"steps", steps}, {"softmax", p}};
}

json doc(std::vector<json> rows, size_t B = 4) {
  return {{"format", "flashlab-softmax-run"},
          {"version", 1},
          {"title", "test"},
          {"block_size", B},
          {"rows", rows}};
}

const std::vector<float> kRising = {0.5f, -1.2f, 1.0f, 0.3f, 2.1f, 1.7f, -0.4f, 2.5f, 3.0f, 1.1f};
const std::vector<float> kNegative = {-3.5f, -2.0f, -4.1f, -2.7f, -1.9f, -3.0f};
const std::vector<float> kMaskedFirst = {-kInf, -kInf, -kInf, -kInf, 0.2f, -0.7f, -kInf, 1.3f};

}  // namespace

TEST_CASE("a right run: every state and probability matches, including masked and ragged blocks") {
  const SoftmaxRun run =
      read_softmax_run(doc({row_doc(kRising, 4, Plant::None), row_doc(kNegative, 4, Plant::None),
                            row_doc(kMaskedFirst, 4, Plant::None)})
                           .dump(),
                       "mem");
  REQUIRE(run.rows.size() == 3);
  CHECK(run.summary.find("every row is right") == 0);
  for (const SoftmaxRunRow& row : run.rows) {
    CHECK(row.ok());
    CHECK_FALSE(row.first_wrong_step.has_value());
    CHECK_FALSE(row.first_wrong_p.has_value());
  }
  // Row 0, step 1 (keys 4..7): the exact state before is the max and sum of keys 0..3.
  const SoftmaxRunStep& s = run.rows[0].steps[1];
  CHECK(s.exact_before.m == doctest::Approx(1.0));
  CHECK(s.exact_before.l == doctest::Approx(std::exp(-0.5) + std::exp(-2.2) + 1 + std::exp(-0.7)));
  CHECK(s.exact_after.m == doctest::Approx(2.5));
  CHECK(s.old_factor == doctest::Approx(std::exp(1.0 - 2.5)));
  CHECK(s.block_factor == doctest::Approx(1.0));
  CHECK(first_problem(run).row == 0);
  CHECK(first_problem(run).steps == 3);
}

TEST_CASE("a merge that does not rescale is caught at the first block that moves the max") {
  const SoftmaxRun run =
      read_softmax_run(doc({row_doc(kRising, 4, Plant::MergeWithoutRescale)}).dump(), "mem");
  const SoftmaxRunRow& row = run.rows[0];
  // Step 0 merges into the empty state: factors 0 and 1, so the planted mistake is invisible.
  // Step 1 moves the max from 1.0 to 2.5: the first wrong state.
  REQUIRE(row.first_wrong_step == 1);
  CHECK(row.steps[1].block_ok);
  CHECK_FALSE(row.steps[1].merge_ok);
  CHECK(row.verdict.find("block 1 (keys 4..7): merge of") == 0);
  CHECK(row.verdict.find("expected (m=2.5") != std::string::npos);
  CHECK(first_problem(run).steps == 2);
  CHECK(run.summary == "1 of 1 rows are not right yet");
}

TEST_CASE("a block max started at 0 is caught on a row of negative scores, in block_state") {
  const SoftmaxRun run = read_softmax_run(doc({row_doc(kRising, 4, Plant::BlockMaxFromZero),
                                               row_doc(kNegative, 4, Plant::BlockMaxFromZero)})
                                              .dump(),
                                          "mem");
  // Row 0 has a positive score in every block: m from 0 gives the same max there.
  CHECK(run.rows[0].ok());
  const SoftmaxRunRow& row = run.rows[1];
  REQUIRE(row.first_wrong_step == 0);
  CHECK_FALSE(row.steps[0].block_ok);
  CHECK(row.verdict.find("block 0 (keys 0..3): block_state gives (m=0") == 0);
  CHECK(row.verdict.find("expected (m=-2,") != std::string::npos);
  CHECK(first_problem(run).row == 1);
  CHECK(first_problem(run).steps == 1);
}

TEST_CASE("a function not done yet is reported with the student's TODO") {
  json row = row_doc(kRising, 4, Plant::None);
  row["steps"] = json::array();
  row["error"] = "TODO not done yet: task 2, block_state";
  row.erase("softmax");
  row["softmax_error"] = "TODO not done yet: task 4";
  const SoftmaxRun run = read_softmax_run(doc({row}).dump(), "mem");
  CHECK(run.rows[0].verdict == "not done: TODO not done yet: task 2, block_state");
  CHECK_FALSE(run.rows[0].ok());
}

TEST_CASE("a wrong probability from online_softmax is found when the states are right") {
  json row = row_doc(kRising, 4, Plant::None);
  row["softmax"][7] = 0.5;
  const SoftmaxRun run = read_softmax_run(doc({row}).dump(), "mem");
  CHECK(run.rows[0].first_wrong_p == 7);
  for (size_t k = 0; k < run.rows[0].p_wrong.size(); ++k) CHECK(run.rows[0].p_wrong[k] == (k == 7));
  CHECK(run.rows[0].verdict.find("online_softmax: p[7] = 0.5, expected") == 0);
}

TEST_CASE("malformed documents are refused with the field and what is accepted") {
  const json good = doc({row_doc(kRising, 4, Plant::None)});
  auto refused = [](const json& d, const std::string& part) {
    CHECK_THROWS_WITH_AS(read_softmax_run(d.dump(), "run.json"), doctest::Contains(part.c_str()),
                         Error);
  };
  CHECK_THROWS_WITH_AS(read_softmax_run("{not json", "run.json"),
                       doctest::Contains("run.json: not JSON"), Error);
  json d = good;
  d["format"] = "flashlab-trace";
  refused(d, "run.json: not a lab 1 softmax run");
  d = good;
  d["format"] = 7;  // not a string: refused as a wrong format, not a JSON type error
  refused(d, "run.json: not a lab 1 softmax run");
  d = good;
  d["version"] = 2;
  refused(d, "'version' must be an integer in [1, 1]");
  d = good;
  d["rows"][0]["steps"][1]["col0"] = 5;
  refused(d, "'rows[0].steps[1].col0' must be an integer in [4, 4]");
  d = good;
  d["rows"][0]["steps"][2]["cols"] = 4;
  refused(d, "'rows[0].steps[2].cols' must be an integer in [2, 2]");
  d = good;
  d["rows"][0]["steps"][0].erase("l_new");
  refused(d, "'rows[0].steps[0].l_new' is missing");
  d = good;
  d["rows"][0]["steps"][0]["m_new"] = "big";
  refused(d, "must be a number or");
  d = good;
  d["rows"][0]["steps"].erase(2);
  refused(d, "has 2 steps for 3 blocks, and no \"error\" says why it stopped");
  d = good;
  d["rows"][0]["scores"][3] = "nan";
  refused(d, "'rows[0].scores[3]' must be a finite score or \"-inf\"");
  d = good;
  d["rows"] = json::array();
  refused(d, "'rows' must be an array of 1 to 1000 rows");
  d = good;
  d["block_size"] = 18446744073709551615ull;  // unsigned in JSON, past int64
  refused(d, "run.json: 'block_size' must be an integer in [1, 1048576]");
}

TEST_CASE("load_softmax_run: a missing file, a directory and a huge file are one line naming it") {
  CHECK_THROWS_WITH_AS(load_softmax_run("/nonexistent/run.json"),
                       "/nonexistent/run.json: no such file", Error);
  CHECK_THROWS_WITH_AS(load_softmax_run("/"),
                       doctest::Contains("/: is a directory; give a lab 1 softmax run"), Error);
  const std::string huge = (std::filesystem::temp_directory_path() /
                            ("softmax_run_huge_" + std::to_string(::getpid()) + ".json"))
                               .string();
  {
    std::ofstream out(huge, std::ios::binary);
    out.seekp(std::streamoff(kMaxSoftmaxRunBytes));  // sparse: one byte past the limit
    out.put('\n');
  }
  CHECK_THROWS_WITH_AS(load_softmax_run(huge),
                       doctest::Contains(".json: 67108865 bytes; softmax runs are "
                                         "read up to 64 MiB"),
                       Error);
  std::remove(huge.c_str());
}
