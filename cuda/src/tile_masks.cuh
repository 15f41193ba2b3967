// Which parts of a tile of S = QK^T survive masking: whole-tile skipping (causal blocks above the
// diagonal, FA2 §3.1; zero blocks of a block-sparse layout, paper Alg. 5) and the element rule
// for the tiles that are only partly visible. Shared by the forward and backward kernels.
#pragma once

#include <flashlab/core/options.hpp>

namespace flashlab::cuda {

// True when some element of rows [row0, row0+rows) x cols [col0, col0+cols) may attend.
// Rows/cols are clipped to the sequence by the caller. Uniform across a thread block.
__device__ __forceinline__ bool tile_visible(const MaskParams& mask, int64_t row0, int64_t rows,
                                             int64_t col0, int64_t cols) {
  if (mask.causal && col0 > row0 + rows - 1) return false;  // entirely above the diagonal
  const BlockMaskView& b = mask.block;
  if (b.layout == nullptr) return true;
  for (int64_t bi = row0 / b.block_rows; bi <= (row0 + rows - 1) / b.block_rows; ++bi)
    for (int64_t bj = col0 / b.block_cols; bj <= (col0 + cols - 1) / b.block_cols; ++bj)
      if (b.block_on(bi, bj)) {
        // With causal too, the block must reach the lower-left of the diagonal.
        if (!mask.causal || bj * b.block_cols <= bi * b.block_rows + b.block_rows - 1) return true;
      }
  return false;
}

// True when every element of the tile that lies inside the sequences is visible, so the kernel
// can skip the per-element mask (the common case away from the diagonal and the tails).
__device__ __forceinline__ bool tile_fully_visible(const MaskParams& mask, int64_t row0,
                                                   int64_t rows, int64_t col0, int64_t cols) {
  if (mask.causal && col0 + cols - 1 > row0) return false;  // crosses the diagonal
  const BlockMaskView& b = mask.block;
  if (b.layout == nullptr) return true;
  for (int64_t bi = row0 / b.block_rows; bi <= (row0 + rows - 1) / b.block_rows; ++bi)
    for (int64_t bj = col0 / b.block_cols; bj <= (col0 + cols - 1) / b.block_cols; ++bj)
      if (!b.block_on(bi, bj)) return false;
  return true;
}

}  // namespace flashlab::cuda
