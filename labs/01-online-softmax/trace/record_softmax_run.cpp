// `flashlab-grade 1 --trace FILE` (README.md, "Watching your run"): your block_state and merge
// folded over the handout's five rows block by block, as online_softmax does (FA1 §3.1), with
// your online_softmax's result, written for `flashlab-viz --softmax-run FILE`. The file holds
// only what your code returned; flashlab-viz recomputes every step in float64 beside it. Format
// "flashlab-softmax-run" version 1 (docs/visualizer.md, "Lab 1: your online softmax").
#include <algorithm>
#include <cmath>
#include <exception>
#include <fstream>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include <flashlab/core/error.hpp>
#include <flashlab/labs/run_recorder.hpp>

#include "online_softmax.hpp"

namespace flashlab::labs::lab1 {
namespace {

using nlohmann::json;
constexpr float kInf = INFINITY;
constexpr std::size_t kBlockSize = 4;

struct CaseRow {
  const char* label;
  std::vector<float> scores;
};

// The handout's rows, ten scores in blocks of 4, 4 and 2 (README.md says what each tests).
const std::vector<CaseRow> kRows = {
    {"the max grows in every block",
     {0.5f, -1.2f, 1.0f, 0.3f, 2.1f, 1.7f, -0.4f, 2.5f, 3.0f, 1.1f}},
    {"the max comes first", {4.0f, 1.0f, 2.0f, -1.0f, 0.5f, 1.5f, 3.9f, -2.0f, 2.0f, 1.0f}},
    {"every score negative",
     {-3.5f, -2.0f, -4.1f, -2.7f, -1.9f, -3.0f, -5.2f, -2.2f, -1.2f, -4.4f}},
    {"a fully masked first block",
     {-kInf, -kInf, -kInf, -kInf, 0.2f, -0.7f, 1.3f, 0.9f, -kInf, 0.4f}},
    {"scores near 1000",
     {1000.0f, 998.0f, -1000.0f, 1001.5f, 999.0f, 1003.0f, -kInf, 1002.0f, 990.0f, 1003.5f}}};

json number(float x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return x;
}

json numbers(const std::vector<float>& v) {
  json a = json::array();
  for (float x : v) a.push_back(number(x));
  return a;
}

// One row: the fold online_softmax makes, with your functions, step by step.
json record_row(const CaseRow& row, bool& finished) {
  json r = {{"label", row.label}, {"scores", numbers(row.scores)}, {"steps", json::array()}};
  const std::span<const float> x(row.scores);
  try {
    RowState s;
    for (std::size_t start = 0, j = 0; start < x.size(); start += kBlockSize, ++j) {
      const std::size_t n = std::min(kBlockSize, x.size() - start);
      const RowState block = block_state(x.subspan(start, n));
      const RowState merged = merge(s, block);
      r["steps"].push_back({{"block", j},
                            {"col0", start},
                            {"cols", n},
                            {"block_m", number(block.m)},
                            {"block_l", number(block.l)},
                            {"m_old", number(s.m)},
                            {"l_old", number(s.l)},
                            {"m_new", number(merged.m)},
                            {"l_new", number(merged.l)}});
      s = merged;
    }
  } catch (const std::exception& e) {
    r["error"] = e.what();
    finished = false;
  }
  try {
    KeyBlocks blocks(x, {}, 0, kBlockSize);  // scores only, handed out block by block
    r["softmax"] = numbers(online_softmax(blocks));
  } catch (const std::exception& e) {
    r["softmax_error"] = e.what();
    finished = false;
  }
  return r;
}

RecordedRun record(const std::string& path) {
  RecordedRun run;
  json doc = {{"format", "flashlab-softmax-run"},
              {"version", 1},
              {"title", "your block_state, merge and online_softmax (lab 1)"},
              {"block_size", kBlockSize},
              {"rows", json::array()}};
  for (const CaseRow& row : kRows) doc["rows"].push_back(record_row(row, run.finished));
  std::ofstream out(path);
  require(bool(out), "cannot write " + path);
  out << doc.dump(1) << '\n';
  require(out.good(), "cannot write " + path);
  run.report = "wrote your online softmax on the handout's " + std::to_string(kRows.size()) +
               " rows (blocks of " + std::to_string(kBlockSize) + "): " + path +
               (run.finished ? "" : " (some of your functions are not done yet or threw)") +
               "\nwatch it step by step, each step beside the exact one in float64:\n"
               "  flashlab-viz --softmax-run " +
               path;
  return run;
}

const bool kRegistered = register_run_recorder(&record);

}  // namespace
}  // namespace flashlab::labs::lab1
