// Two traces side by side (flashlab-viz --trace A --compare B): a student's run and the
// solution's, aligned by loop step (i, j), and the steps where they differ -- a load or store
// one makes and the other does not, a byte count that differs, a block of S computed by one and
// skipped by the other, a step only one takes. Pure data; visualizer/app/compare_view.cpp draws it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <flashlab/simulator/trace/trace.hpp>

namespace flashlab::viz {

// A loop step: a maximal run of consecutive events with the same loop indices (i, j); -1 means
// "outside that loop" (j-outer order: (-1, j) loads K_j, V_j; (-1, -1) initialises HBM).
struct LoopStep {
  int64_t i = -1, j = -1;
  int64_t first = 0, end = 0;  // the events [first, end)
};

std::vector<LoopStep> loop_steps(const simulator::Trace& trace);

// "block (i=1, j=2)", "j=2, outside the inner loop", "before the loops".
std::string step_label(int64_t i, int64_t j);

enum class DifferenceKind : uint8_t {
  ExtraStep,        // a step only the left run takes
  MissingStep,      // a step only the right run takes
  Extra,            // a load, store, skip or computed block only the left run has at this step
  Missing,          // one only the right run has
  ByteCount,        // both move this tensor at this step, other rows or another byte count
  ComputedSkipped,  // the left run computes a block of S the right run skips
  SkippedComputed,  // the left run skips a block the right run computes
  Flops,            // same traffic, other arithmetic: a note, not a divergence
};

struct Difference {
  DifferenceKind kind = DifferenceKind::Extra;
  std::string text;         // one sentence, naming the tensor, rows, bytes
  int64_t left_event = -1;  // the event it points at in each run (-1: none)
  int64_t right_event = -1;
  bool diverges() const { return kind != DifferenceKind::Flops; }
};

// One row of the side-by-side list: the same loop step in both runs, or a step only one takes.
struct AlignedStep {
  std::optional<size_t> left, right;  // indices into Comparison::left_steps / right_steps
  std::vector<Difference> differences;
  bool diverges() const;
};

struct Comparison {
  std::string left_name = "your run", right_name = "the solution";
  std::vector<LoopStep> left_steps, right_steps;
  std::vector<AlignedStep> rows;
  std::optional<size_t> first_divergence;  // the first row that diverges
  size_t diverging_rows = 0;
  std::string summary;  // one line: "matches step for step" or where it first diverges
};

// Aligns the steps of the two runs (a longest common subsequence of their (i, j) sequences, so a
// step inserted or left out in one run does not shift the rest) and compares each aligned step.
// Events should carry loop indices (the simulator's algorithms and `flashlab-grade --trace`
// write them). Throws flashlab::Error when the runs are too long to align (kMaxAlignCells).
Comparison compare_traces(const simulator::Trace& left, const simulator::Trace& right,
                          std::string left_name = "your run",
                          std::string right_name = "the solution");

// Steps of left x steps of right beyond which compare_traces refuses (2 bits a cell: 16 MiB).
inline constexpr int64_t kMaxAlignCells = int64_t(1) << 26;

// How many events of one run to show at aligned row `row`: for a row that diverges and points at
// an event of this run, up to and including that event; else to the end of the run's step in
// that row; for a row without a step of this run, where its previous step ended.
int64_t replay_step(const Comparison& c, size_t row, bool left);

}  // namespace flashlab::viz
