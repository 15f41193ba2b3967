// Lab 1's online softmax from the student's code (flashlab-viz --softmax-run FILE): the file that
// `flashlab-grade 1 --trace FILE` writes holds, for each of the handout's rows, the scores and the
// states the student's block_state and merge returned block by block, and the student's
// online_softmax result. Here every step is recomputed in float64 beside them, and the first
// state that is wrong is found. Format "flashlab-softmax-run" version 1 (docs/visualizer.md).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flashlab::viz {

inline constexpr const char* kSoftmaxRunFormat = "flashlab-softmax-run";
inline constexpr int kSoftmaxRunVersion = 1;
// The largest file load_softmax_run reads: the handout's run is a few KiB.
inline constexpr uint64_t kMaxSoftmaxRunBytes = uint64_t(64) << 20;

// A state (m, l) of FA1 §3.1: m the max of the scores seen, l the sum of e^{x - m}.
struct RowStats {
  double m = -INFINITY, l = 0;
};

// One block of a row: the student's block_state, then merge(state so far, block state), each
// beside the exact value of the same scores in float64.
struct SoftmaxRunStep {
  int64_t block = 0, col0 = 0, cols = 0;
  RowStats block_state, before, after;              // the student's, as returned
  RowStats exact_block, exact_before, exact_after;  // float64 of the scores
  double old_factor = 0, block_factor = 0;  // e^{m_old - m_new}, e^{m~ - m_new} (exact; 0 for -inf)
  bool block_ok = true, merge_ok = true;
};

struct SoftmaxRunRow {
  std::string label;
  std::vector<float> scores;  // -inf where masked
  std::vector<SoftmaxRunStep> steps;
  std::string error;           // what the student's block_state or merge threw, if it did
  std::vector<float> softmax;  // the student's online_softmax (empty when it threw)
  std::string softmax_error;
  std::vector<double> exact_softmax;
  std::vector<uint8_t> p_wrong;            // per key: the student's probability is off
  std::optional<size_t> first_wrong_step;  // the first step whose block state or merge is off
  std::optional<size_t> first_wrong_p;     // the first probability that is off
  std::string verdict;                     // one line: right, or what is wrong first
  bool ok() const { return verdict.rfind("right", 0) == 0; }
};

struct SoftmaxRun {
  std::string source;  // the file
  std::string title;
  int64_t block_size = 1;
  std::vector<SoftmaxRunRow> rows;
  std::string summary;  // one line over all rows
};

// Parses and validates the document (throws flashlab::Error "SOURCE: " and the field and what is
// accepted), then recomputes every step in float64. load_softmax_run first checks the file
// (input_file.hpp: missing, a directory, over kMaxSoftmaxRunBytes), each error "PATH: ...".
SoftmaxRun read_softmax_run(std::string_view json_text, const std::string& source);
SoftmaxRun load_softmax_run(const std::string& path);

// Where to open: the first wrong step (row, steps applied up to and including it), or the end
// of the first row when everything is right.
struct SoftmaxRunCursor {
  size_t row = 0;
  size_t steps = 0;  // merges applied, 0..steps.size()
};
SoftmaxRunCursor first_problem(const SoftmaxRun& run);

}  // namespace flashlab::viz
