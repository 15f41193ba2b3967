// The problem options shared by compare, sweep and trace (sizes, mask, dropout, dtype, SRAM,
// block sizes, GPU preset): their CLI11 definitions and their validation into the core and
// simulator types, with one-line errors that name the option and what it accepts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <flashlab/cli/dtype.hpp>
#include <flashlab/core/options.hpp>
#include <flashlab/core/shape.hpp>
#include <flashlab/core/tiling.hpp>
#include <flashlab/simulator/algorithm.hpp>
#include <flashlab/simulator/model/gpu_spec.hpp>
#include <flashlab/simulator/simulate.hpp>

namespace CLI {
class App;
}

namespace flashlab::cli {

// The options as typed; the defaults are the subcommand's (set them before add_problem_options).
struct ProblemArgs {
  int64_t batch = 1, heads = 4, seq_q = 1024, seq_k = 1024, head_dim = 64;
  int64_t seq = 0;  // --seq: sets seq_q and seq_k unless those are given
  bool causal = false;
  double dropout = 0.0;
  uint64_t seed = 0;
  std::string block_sparse;  // "" = dense; a pattern or a .npy layout
  int64_t mask_block = 0;    // 0 = mask blocks are the tiles Br x Bc (FA1 Alg. 5)
  std::string dtype = "fp16";
  std::string sram;                        // "" = the --gpu preset's SRAM per SM
  int64_t block_rows = 0, block_cols = 0;  // 0 = each algorithm's own default, shrunk to fit
  std::string tiles;  // --tiles "flash=64x128,flash2=128x128,flash2-bwd=64x128": per algorithm
  std::optional<double> softmax_scale;
  std::string gpu = "h200";
  // --kept-max: flash2's forward keeps its running max (SimConfig::kept_max)
  bool kept_max = false;

  const CLI::App* app = nullptr;        // set by add_problem_options; answers given()
  std::vector<std::string> also_given;  // options a caller set in code (sweep points)
  bool given(const std::string& option) const;
};

// Adds the shared options to `app`, bound to `args` (whose current values are the defaults).
void add_problem_options(CLI::App& app, ProblemArgs& args);

// A validated problem: what every implementation runs.
struct Problem {
  AttentionShape shape;
  AttentionOptions options;
  DType dtype = DType::Float16;
  int64_t sram_bytes = 0;
  // Where sram_bytes comes from, for messages: "--sram 48.00 KiB", "the default --sram 48.00 KiB"
  // (a command's own default) or "the H100-SXM5-80GB's SRAM per SM, 228.0 KiB (no --sram given)".
  std::string sram_origin;
  std::optional<TileSizes>
      tiles;  // explicit --block-rows/--block-cols (else each algorithm's default)
  // --tiles: per algorithm, over `tiles`; flash2_backward_tiles for FA2's backward pass alone.
  std::map<simulator::Algorithm, TileSizes> algorithm_tiles;
  std::optional<TileSizes> flash2_backward_tiles;
  simulator::GpuSpec gpu;
  std::string mask_description;  // "" when dense, else e.g. "butterfly, 16x4 blocks of 64x256"
  bool kept_max = false;         // flash2's forward keeps its running max (SimConfig::kept_max)
};

// Validates `args` into a Problem for `shape` (from the size options, or from input files);
// `backward` picks default tiles that also fit the backward (they shape the block mask).
// Throws flashlab::Error with one line naming the bad option, e.g.
// "--seq-q must be between 1 and 2^30, got 0".
Problem resolve_problem(const ProblemArgs& args, const AttentionShape& shape, bool backward);

// The shape from the size options alone, validated the same way.
AttentionShape shape_from_args(const ProblemArgs& args);

// The simulator configuration of one algorithm on this problem (no trace, arithmetic on).
simulator::SimConfig sim_config(const Problem& problem, simulator::Algorithm algorithm,
                                bool backward);

// Throws flashlab::Error naming --sram (and --block-rows/--block-cols when given) unless each
// algorithm has tiles that fit the SRAM (for the backward too when `backward`: FA1 and standard
// share theirs between the passes, FA2's backward has its own).
void require_tiles_fit(const Problem& problem, const std::vector<simulator::Algorithm>& algorithms,
                       bool backward);

// The tiles FlashAttention (FA1 Alg. 2 and 4) uses on this problem: explicit, or the default that
// fits.
TileSizes flash_tiles(const Problem& problem, bool backward);

// Query rows that the block mask (with the causal mask, if any) leaves without any key: their
// output is 0 and their logsumexp -inf. 0 without a block mask.
int64_t rows_without_keys(const Problem& problem);

// Warns on stderr when rows_without_keys is not 0 (the mask is valid, but rarely meant so: e.g.
// local:0 on tiles with B_r != B_c), naming --block-sparse and how many rows.
void warn_about_mask(const Problem& problem, const ProblemArgs& args);

// "batch=1 heads=4 seq_q=1024 seq_k=1024 head_dim=64, fp16, causal, dropout 0.1 (seed 0), ..."
std::string describe(const Problem& problem);

}  // namespace flashlab::cli
