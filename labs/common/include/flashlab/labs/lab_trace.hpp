// Recording a student's run on the simulator's Machine as a trace flashlab-viz opens, beside the
// simulator's own algorithm on the same case and the same inputs (the lab's reference), for
// `flashlab-grade 3|6 --trace FILE` (docs/labs.md, "Watching your run").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <flashlab/core/options.hpp>
#include <flashlab/core/shape.hpp>
#include <flashlab/core/tiling.hpp>
#include <flashlab/labs/run_recorder.hpp>
#include <flashlab/simulator/algorithms/problem.hpp>
#include <flashlab/simulator/machine/machine.hpp>
#include <flashlab/simulator/trace/trace.hpp>

namespace flashlab::labs {

// The small case a handout names: one head, explicit tiles, an SRAM that holds them.
struct MachineCase {
  AttentionShape shape;
  TileSizes tiles;
  int64_t sram_bytes = 0;
  AttentionOptions options;  // causal and the block mask; no dropout in the labs
  unsigned seed = 0;         // of the standard normal Q, K, V
};

// The student's function as the recorder runs it, and what its trace is called.
struct StudentRun {
  std::string title;                     // "your flash_forward_on_machine (lab 3, FA1 Alg. 1)"
  std::vector<std::string> pseudo_code;  // the lines its `line` arguments number
  std::function<void(simulator::Machine&, const simulator::HeadProblem&)> run;
};

// Runs `student` on `c` with a trace, and the simulator's FlashAttention forward (FA1 Alg. 2, or
// FA1 Alg. 5 with a mask) on the same inputs; writes the student's trace to `path` and the
// simulator's to solution_path(path). A flashlab::Error or a TODO from the student's code ends
// its trace early; the report says where.
RecordedRun record_machine_run(const std::string& path, const MachineCase& c,
                               const StudentRun& student);

// "run.json" -> "run.solution.json" (and "run" -> "run.solution.json").
std::string solution_path(const std::string& path);

// Sets every event's loop indices (i, j) from the tiles it touches, as the simulator's own
// algorithms set them with Machine::at, so that a student's trace (whose code need not call at())
// lines up with the simulator's step by step. trace.algorithm says which loop is outer (FA2:
// the Q blocks i; else the K/V blocks j); trace.tiles gives B_r and B_c.
void fill_loop_indices(simulator::Trace& trace);

}  // namespace flashlab::labs
