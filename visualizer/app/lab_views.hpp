// The two views of a student's own run (docs/visualizer.md, "Your own run"): two traces side by
// side aligned by loop step (--trace A --compare B: compare_view.cpp), and lab 1's online softmax
// from the student's code (--softmax-run FILE: softmax_run_view.cpp). Their state as plain
// structs; the model (compare.hpp, softmax_run.hpp) does the work.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <flashlab/viz/compare.hpp>
#include <flashlab/viz/replay.hpp>
#include <flashlab/viz/session.hpp>
#include <flashlab/viz/softmax_run.hpp>

namespace flashlab::viz::app {

struct CompareView {
  std::unique_ptr<Session> left, right;  // the replays point into these
  std::optional<ReplayState> left_replay, right_replay;
  Comparison comparison;
  size_t row = 0;                     // the aligned step shown
  int64_t scroll_line[2] = {-1, -1};  // each pane's pseudo-code scroll (UiState::scroll_line)
};

// The comparison of two loaded traces, at aligned step `row` (-1: the first difference, or the
// first step when the runs match). Throws flashlab::Error when they cannot be compared.
std::unique_ptr<CompareView> open_compare(const Session& left, Session right, int64_t row);
// Shows aligned step `row` (clamped) in both panes.
void set_compare_row(CompareView& view, size_t row);

struct SoftmaxRunView {
  SoftmaxRun run;
  size_t row = 0;    // the row shown
  size_t steps = 0;  // merges applied, 0..steps of the row
};

// Loads lab 1's run at (`row`, `steps`) (-1 each: the first wrong step; see first_problem).
std::unique_ptr<SoftmaxRunView> open_softmax_run(const std::string& path, int row, int64_t steps);

}  // namespace flashlab::viz::app
