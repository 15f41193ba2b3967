// Lab 6's grader helpers: the truth about a tile by visiting every score of it, the student's
// classification checked tile by tile, one run of the student's FA1 Alg. 5 on a fresh machine, its
// outputs against float64, and the tiles a mask leaves (to bound the bytes and FLOPs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <flashlab/core/options.hpp>
#include <flashlab/core/tensor.hpp>
#include <flashlab/core/tiling.hpp>
#include <flashlab/labs/machine_run.hpp>
#include <flashlab/simulator/simulate.hpp>

#include "sparsity.hpp"

namespace flashlab::labs::lab6::grading {

inline constexpr int kBytes = 2;

const char* name(Coverage c);
std::string rect_str(const simulator::TileRect& s);

// The truth, by visiting every score of the tile. `why` (optional) gets the first allowed and
// the first masked score and what masks it.
Coverage scan(const MaskParams& mask, const simulator::TileRect& s, std::string* why);

// "" when classify_tile agrees with scan() on every tile of an nq x nk score matrix cut in
// Br x Bc tiles; else the first tile that differs, with what it holds.
std::string check_tiles(const MaskParams& mask, const std::string& what, int64_t nq, int64_t nk,
                        int64_t Br, int64_t Bc);

MaskParams params_of(const AttentionOptions& o, const AttentionShape& s);

struct Run {
  std::string error;
  simulator::IoStats stats;
  std::vector<float> O, l, m;
  int64_t mask_passes = 0;  // tiles the mask was applied to (process_block's FA1 Alg. 5 l. 11)
};
// `qkv` == nullptr: counting-only mode. The run is traced, to count the mask passes.
Run run_student(const AttentionShape& shape, const AttentionOptions& opt, TileSizes tiles,
                const std::vector<Tensor<float>>* qkv);

// "" when O, m and l of the student's forward match float64 (m = -inf and l = 0 for a fully
// masked row).
std::string check_forward(const AttentionShape& s, const AttentionOptions& opt, TileSizes tiles,
                          const std::string& what, uint64_t seed = 11);

// The tiles the mask leaves, by scanning: their count, the Partial ones among them, and the
// rows and row x col they cover.
struct Active {
  int64_t tiles = 0, partial = 0, rows = 0, area = 0;
};
Active active_tiles(const MaskParams& mask, int64_t nq, int64_t nk, int64_t Br, int64_t Bc);

// "" when the run's Q bytes, matmul FLOPs, mask passes and total bytes stay within what the
// active tiles need (FA1 Alg. 5's count, K and V read at most once).
std::string check_skipping(const Run& r, const MaskParams& mask, const AttentionShape& s,
                           TileSizes tiles, const std::string& what);

simulator::SimForward simulator_run(simulator::Algorithm alg, bool causal);

}  // namespace flashlab::labs::lab6::grading
