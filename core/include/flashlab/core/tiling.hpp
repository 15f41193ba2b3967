// Tile sizes of the tiled algorithms: the paper's rule (FA1 Alg. 1 l. 1) or explicit sizes.
#pragma once

#include <cstdint>
#include <string>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/core/error.hpp>

namespace flashlab {

struct TileSizes {
  int64_t block_rows = 0;  // Br: rows of a Q / O block
  int64_t block_cols = 0;  // Bc: rows of a K / V block (columns of S)
};

// FA1 Alg. 1 l. 1: Bc = ceil(M / 4d), Br = min(Bc, d), with M the SRAM size in *elements*
// (Tri Dao, flash-attention issue 1704). Theorem 2 assumes d <= M.
inline TileSizes paper_tiling(int64_t sram_elements, int64_t head_dim) {
  require(head_dim >= 1, "head_dim must be >= 1, got " + std::to_string(head_dim));
  require(sram_elements >= head_dim,
          "SRAM of " + std::to_string(sram_elements) + " elements is smaller than head_dim " +
              std::to_string(head_dim) + " (the paper's rule needs d <= M)");
  const int64_t bc = ceil_div(sram_elements, 4 * head_dim);
  return {bc < head_dim ? bc : head_dim, bc};
}

inline void validate(const TileSizes& t) {
  require(t.block_rows >= 1 && t.block_cols >= 1,
          "block sizes must be >= 1, got Br=" + std::to_string(t.block_rows) +
              ", Bc=" + std::to_string(t.block_cols));
}

}  // namespace flashlab
