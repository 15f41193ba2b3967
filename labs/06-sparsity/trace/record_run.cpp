// `flashlab-grade 6 --trace FILE` (README.md, "Watching your run"): your sparse_forward_on_machine
// on the handout's small case, recorded step by step, beside the simulator's FA1 Alg. 5 on the same
// inputs.
#include <flashlab/core/block_mask.hpp>
#include <flashlab/labs/lab_trace.hpp>
#include <flashlab/simulator/algorithms/flash_forward.hpp>

#include "sparsity.hpp"

namespace flashlab::labs::lab6 {
namespace {

RecordedRun record(const std::string& path) {
  // The handout's case: causal, and a local layout of 32 x 32 mask blocks (one block either
  // side of the diagonal) over 16 x 15 tiles, so tiles are skipped by the causal rule or by the
  // layout, cut by either, and straddle mask blocks; tile (0, 1) starts its keys exactly at its
  // last query row (only score (15, 15) is allowed), and the last key block is ragged (90..95).
  // Every column keeps its diagonal tile, so K_j, V_j are loaded for every j (FA1 Alg. 5 as
  // printed) whether or not your code skips empty columns.
  MachineCase c;
  c.shape = {1, 1, 96, 96, 16};
  c.tiles = {16, 15};
  c.sram_bytes = 8 * 1024;
  c.options.causal = true;
  c.options.block_mask = local_mask(96, 96, 32, 1);
  c.seed = 6;
  return record_machine_run(path, c,
                            {"your sparse_forward_on_machine (lab 6, FA1 Alg. 5)",
                             simulator::flash_forward_code(true).lines,
                             [](simulator::Machine& M, const simulator::HeadProblem& p) {
                               sparse_forward_on_machine(M, p);
                             }});
}

const bool kRegistered = register_run_recorder(&record);

}  // namespace
}  // namespace flashlab::labs::lab6
