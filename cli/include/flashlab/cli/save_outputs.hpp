// `compare --save DIR`: every input and output as .npy (readable by NumPy and PyTorch), the
// block layout when there is one, and report.json (the --json document).
#pragma once

#include <string>
#include <vector>

#include <flashlab/cli/compare.hpp>
#include <flashlab/cli/inputs.hpp>
#include <nlohmann/json.hpp>

namespace flashlab::cli {

// An upper bound of the bytes save_outputs writes for a problem with `rows` implementations.
int64_t save_bytes_estimate(const AttentionShape& shape, bool backward, size_t rows);

// Creates `dir` if missing and checks that files can be created in it and that its file system
// has `bytes_needed` free; throws flashlab::Error naming it otherwise. Called before the run, so
// that a bad --save fails before any work and before any verdict is printed.
void prepare_save_dir(const std::string& dir, int64_t bytes_needed);

// Writes into `dir` (which prepare_save_dir checked):
//   q.npy k.npy v.npy [do.npy]  the inputs as every implementation saw them, in the run's dtype
//                               (fp16 '<f2', fp32 '<f4', bf16 values stored exactly as '<f4')
//   <id>_<quantity>.npy         e.g. reference_O.npy, flash_sim_lse.npy, flash_sim_dQ.npy, in
//                               the precision the implementation produced (float64 for the
//                               reference, float32 for the simulator, the dtype for CUDA's O
//                               and gradients, float32 for CUDA's logsumexp)
//   block_mask.npy              the uint8 block layout [row_blocks, col_blocks], if any
//   report.json                 the same document as --json
// Every file is first written into a staging directory inside `dir` and moved into `dir` only
// once all are written, so a failure (disk full, permissions) leaves no partial set: the staging
// directory is removed and flashlab::Error says that nothing was saved. Returns the paths written.
std::vector<std::string> save_outputs(const std::string& dir, const CompareReport& report,
                                      const Inputs& inputs, const nlohmann::json& report_json);

}  // namespace flashlab::cli
