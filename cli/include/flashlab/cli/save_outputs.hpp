// `compare --save DIR`: every input and output as .npy (readable by NumPy and PyTorch), the
// block layout when there is one, and report.json (the --json document).
#pragma once

#include <string>
#include <vector>

#include <flashlab/cli/compare.hpp>
#include <flashlab/cli/inputs.hpp>
#include <nlohmann/json.hpp>

namespace flashlab::cli {

// Creates `dir` if missing; throws flashlab::Error naming it if it cannot be a directory. Called
// before the run, so that a bad --save fails fast.
void prepare_save_dir(const std::string& dir);

// Writes into `dir` (created if missing):
//   q.npy k.npy v.npy [do.npy]  the inputs as every implementation saw them, in the run's dtype
//                               (fp16 '<f2', fp32 '<f4', bf16 values stored exactly as '<f4')
//   <id>_<quantity>.npy         e.g. reference_O.npy, flash_sim_lse.npy, flash_sim_dQ.npy, in
//                               the precision the implementation produced (float64 for the
//                               reference, float32 for the simulator, the dtype for CUDA)
//   block_mask.npy              the uint8 block layout [row_blocks, col_blocks], if any
//   report.json                 the same document as --json
// Returns the paths written. Throws flashlab::Error naming the path on failure.
std::vector<std::string> save_outputs(const std::string& dir, const CompareReport& report,
                                      const Inputs& inputs, const nlohmann::json& report_json);

}  // namespace flashlab::cli
