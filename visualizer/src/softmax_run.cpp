// Reading lab 1's softmax run (softmax_run.hpp) and recomputing every step in float64: the state
// of the scores seen so far is m = max, l = sum e^{x - m} (FA1 §3.1), whatever order the student's
// code merged them in.
#include <flashlab/viz/softmax_run.hpp>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <flashlab/core/error.hpp>
#include <flashlab/viz/input_file.hpp>

namespace flashlab::viz {

namespace {

using nlohmann::json;

// Bounds on what a file may hold: far more than the handout's case, far less than memory.
constexpr size_t kMaxRows = 1000;
constexpr size_t kMaxScores = 100000;

// Tolerances of the float64 check. m is a max of floats, so a right m is exact (up to the
// float the student returns: 1e-6 relative); l sums at most a block's worth of float
// exponentials, each within 2^-24 relative, so 1e-5 relative is generous and still catches a
// missing rescale (a factor e^{m_old - m_new} < 1).
constexpr double kRelM = 1e-6, kRelL = 1e-5, kAbs = 1e-7;

std::string where(const std::string& path) {
  return "'" + path + "'";
}

const json& field(const json& obj, const char* key, const std::string& path) {
  require(obj.is_object() && obj.contains(key), where(path) + " is missing");
  return obj.at(key);
}

double number(const json& v, const std::string& path) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "-inf") return -INFINITY;
    if (s == "inf") return INFINITY;
    if (s == "nan") return NAN;
  }
  throw Error(where(path) + " must be a number or \"-inf\", \"inf\", \"nan\", got " + v.dump());
}

int64_t integer(const json& v, const std::string& path, int64_t lo, int64_t hi) {
  require(v.is_number_integer() && v.get<int64_t>() >= lo && v.get<int64_t>() <= hi,
          where(path) + " must be an integer in [" + std::to_string(lo) + ", " +
              std::to_string(hi) + "], got " + v.dump());
  return v.get<int64_t>();
}

std::string text(const json& v, const std::string& path) {
  require(v.is_string(), where(path) + " must be a string, got " + v.dump());
  return v.get<std::string>();
}

std::vector<float> floats(const json& v, const std::string& path) {
  require(v.is_array() && v.size() <= kMaxScores,
          where(path) + " must be an array of at most " + std::to_string(kMaxScores) + " numbers");
  std::vector<float> out;
  for (size_t k = 0; k < v.size(); ++k)
    out.push_back(float(number(v[k], path + "[" + std::to_string(k) + "]")));
  return out;
}

RowStats stats(const json& step, const char* m, const char* l, const std::string& path) {
  return {number(field(step, m, path + "." + m), path + "." + m),
          number(field(step, l, path + "." + l), path + "." + l)};
}

// The exact state of scores [first, first + count) in float64.
RowStats exact_stats(const std::vector<float>& x, size_t first, size_t count) {
  RowStats s;
  for (size_t k = first; k < first + count; ++k) s.m = std::max(s.m, double(x[k]));
  if (s.m == -INFINITY) return s;
  for (size_t k = first; k < first + count; ++k) s.l += std::exp(double(x[k]) - s.m);
  return s;
}

bool close(double got, double want, double rel) {
  if (std::isnan(got) || std::isnan(want)) return false;
  if (std::isinf(got) || std::isinf(want)) return got == want;
  return std::abs(got - want) <= kAbs + rel * std::abs(want);
}

bool same_stats(const RowStats& got, const RowStats& want) {
  return close(got.m, want.m, kRelM) && close(got.l, want.l, kRelL);
}

std::string fmt(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  std::ostringstream s;
  s.precision(7);
  s << x;
  return s.str();
}

std::string pair_text(const RowStats& s) {
  return "(m=" + fmt(s.m) + ", l=" + fmt(s.l) + ")";
}

// e^{part - whole}, 0 for a part that has seen nothing (no e^{-inf - (-inf)}).
double factor(double part, double whole) {
  return part == -INFINITY ? 0.0 : std::exp(part - whole);
}

void check_row(SoftmaxRunRow& row) {
  for (size_t k = 0; k < row.steps.size(); ++k) {
    SoftmaxRunStep& s = row.steps[k];
    s.exact_block = exact_stats(row.scores, size_t(s.col0), size_t(s.cols));
    s.exact_before = exact_stats(row.scores, 0, size_t(s.col0));
    s.exact_after = exact_stats(row.scores, 0, size_t(s.col0 + s.cols));
    s.old_factor = factor(s.exact_before.m, s.exact_after.m);
    s.block_factor = factor(s.exact_block.m, s.exact_after.m);
    s.block_ok = same_stats(s.block_state, s.exact_block);
    s.merge_ok = same_stats(s.after, s.exact_after);
    if ((!s.block_ok || !s.merge_ok) && !row.first_wrong_step) {
      row.first_wrong_step = k;
      const std::string keys =
          "keys " + std::to_string(s.col0) + ".." + std::to_string(s.col0 + s.cols - 1);
      row.verdict =
          !s.block_ok ? "block " + std::to_string(s.block) + " (" + keys + "): block_state gives " +
                            pair_text(s.block_state) + ", expected " + pair_text(s.exact_block)
                      : "block " + std::to_string(s.block) + " (" + keys + "): merge of " +
                            pair_text(s.before) + " and " + pair_text(s.block_state) + " gives " +
                            pair_text(s.after) + ", expected " + pair_text(s.exact_after) +
                            " (factors e^{m - m_new} = " + fmt(s.old_factor) +
                            ", e^{m~ - m_new} = " + fmt(s.block_factor) + ")";
    }
  }
  const RowStats all = exact_stats(row.scores, 0, row.scores.size());
  row.exact_softmax.assign(row.scores.size(), 0.0);
  if (all.m != -INFINITY)
    for (size_t k = 0; k < row.scores.size(); ++k)
      row.exact_softmax[k] = std::exp(double(row.scores[k]) - all.m) / all.l;
  // A float probability: within 1e-5 relative, or 1e-6 absolute for the tiny ones.
  if (row.softmax_error.empty() && row.softmax.size() == row.scores.size()) {
    row.p_wrong.assign(row.softmax.size(), 0);
    for (size_t k = 0; k < row.softmax.size(); ++k) {
      row.p_wrong[k] = !close(row.softmax[k], row.exact_softmax[k], 1e-5) &&
                       !(std::abs(double(row.softmax[k]) - row.exact_softmax[k]) <= 1e-6);
      if (row.p_wrong[k] && !row.first_wrong_p) row.first_wrong_p = k;
    }
  }
  if (!row.verdict.empty()) return;
  if (!row.error.empty())
    row.verdict = "not done: " + row.error;
  else if (!row.softmax_error.empty())
    row.verdict = "online_softmax: " + row.softmax_error;
  else if (row.softmax.size() != row.scores.size())
    row.verdict = "online_softmax returned " + std::to_string(row.softmax.size()) + " values for " +
                  std::to_string(row.scores.size()) + " scores";
  else if (row.first_wrong_p)
    row.verdict = "online_softmax: p[" + std::to_string(*row.first_wrong_p) +
                  "] = " + fmt(row.softmax[*row.first_wrong_p]) + ", expected " +
                  fmt(row.exact_softmax[*row.first_wrong_p]);
  else
    row.verdict = "right: every state and every probability matches float64";
}

SoftmaxRunRow read_row(const json& r, int64_t block_size, const std::string& path) {
  SoftmaxRunRow row;
  row.label = text(field(r, "label", path + ".label"), path + ".label");
  row.scores = floats(field(r, "scores", path + ".scores"), path + ".scores");
  for (size_t k = 0; k < row.scores.size(); ++k)
    require(!std::isnan(row.scores[k]) && row.scores[k] != INFINITY,
            where(path + ".scores[" + std::to_string(k) + "]") +
                " must be a finite score or \"-inf\" (masked)");
  const json& steps = field(r, "steps", path + ".steps");
  const size_t n = row.scores.size(), B = size_t(block_size);
  const size_t blocks = (n + B - 1) / B;
  require(steps.is_array() && steps.size() <= blocks,
          where(path + ".steps") + " must be an array of at most " + std::to_string(blocks) +
              " steps (one per block of " + std::to_string(B) + " scores)");
  for (size_t k = 0; k < steps.size(); ++k) {
    const std::string sp = path + ".steps[" + std::to_string(k) + "]";
    const json& st = steps[k];
    SoftmaxRunStep s;
    s.block = integer(field(st, "block", sp + ".block"), sp + ".block", int64_t(k), int64_t(k));
    s.col0 = integer(field(st, "col0", sp + ".col0"), sp + ".col0", int64_t(k * B), int64_t(k * B));
    const int64_t cols = int64_t(std::min(B, n - k * B));
    s.cols = integer(field(st, "cols", sp + ".cols"), sp + ".cols", cols, cols);
    s.block_state = stats(st, "block_m", "block_l", sp);
    s.before = stats(st, "m_old", "l_old", sp);
    s.after = stats(st, "m_new", "l_new", sp);
    row.steps.push_back(s);
  }
  if (r.contains("error")) row.error = text(r["error"], path + ".error");
  require(!row.error.empty() || row.steps.size() == blocks,
          where(path + ".steps") + " has " + std::to_string(row.steps.size()) + " steps for " +
              std::to_string(blocks) + " blocks, and no \"error\" says why it stopped");
  if (r.contains("softmax")) row.softmax = floats(r["softmax"], path + ".softmax");
  if (r.contains("softmax_error"))
    row.softmax_error = text(r["softmax_error"], path + ".softmax_error");
  check_row(row);
  return row;
}

SoftmaxRun parse_softmax_run(std::string_view json_text, const std::string& source) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw Error(std::string("not JSON: ") + e.what());
  }
  const json* format = doc.is_object() && doc.contains("format") ? &doc["format"] : nullptr;
  require(format && format->is_string() && *format == kSoftmaxRunFormat,
          "not a lab 1 softmax run (its \"format\" is not \"" + std::string(kSoftmaxRunFormat) +
              "\"; write one with flashlab-grade 1 --trace FILE)");
  integer(field(doc, "version", "version"), "version", kSoftmaxRunVersion, kSoftmaxRunVersion);
  SoftmaxRun run;
  run.source = source;
  run.title = text(field(doc, "title", "title"), "title");
  run.block_size = integer(field(doc, "block_size", "block_size"), "block_size", 1, 1 << 20);
  const json& rows = field(doc, "rows", "rows");
  require(rows.is_array() && !rows.empty() && rows.size() <= kMaxRows,
          where("rows") + " must be an array of 1 to " + std::to_string(kMaxRows) + " rows");
  size_t wrong = 0;
  for (size_t k = 0; k < rows.size(); ++k) {
    run.rows.push_back(read_row(rows[k], run.block_size, "rows[" + std::to_string(k) + "]"));
    wrong += !run.rows.back().ok();
  }
  run.summary = wrong == 0 ? "every row is right: each state and probability matches float64"
                           : std::to_string(wrong) + " of " + std::to_string(run.rows.size()) +
                                 " rows are not right yet";
  return run;
}

}  // namespace

SoftmaxRun read_softmax_run(std::string_view json_text, const std::string& source) {
  try {
    return parse_softmax_run(json_text, source);
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": " + e.what());
  }
}

SoftmaxRun load_softmax_run(const std::string& path) {
  check_input_file(path, path, "a lab 1 softmax run written by `flashlab-grade 1 --trace FILE`",
                   kMaxSoftmaxRunBytes, "softmax runs are read up to 64 MiB");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return read_softmax_run(text.str(), path);
}

SoftmaxRunCursor first_problem(const SoftmaxRun& run) {
  for (size_t r = 0; r < run.rows.size(); ++r) {
    const SoftmaxRunRow& row = run.rows[r];
    if (row.first_wrong_step) return {r, *row.first_wrong_step + 1};
    if (!row.ok()) return {r, row.steps.size()};
  }
  return {0, run.rows.empty() ? 0 : run.rows[0].steps.size()};
}

}  // namespace flashlab::viz
