// The one rule for which tiles of S = QK^T a mask leaves visible, shared by the simulator, the CUDA
// kernels and the labs' graders: a tile with no visible score is skipped (FA1 Alg. 5 l. 8, and
// FA2 §3.1's causal block skipping); a tile with every score visible needs no element mask.
#pragma once

#include <cstdint>

#include <flashlab/core/host_device.hpp>
#include <flashlab/core/options.hpp>

namespace flashlab {

enum class TileVisibility : uint8_t {
  None,     // no score visible: skip the tile (not loaded, not computed)
  Partial,  // some scores visible: compute, then mask element by element
  Full      // every score visible: compute, no element mask
};

// A tile is rows [row0, row0 + rows) x columns [col0, col0 + cols) of S, already clipped to
// seq_q x seq_k by the caller. Scores are visible under top-left causal masking (score (r, c) iff
// c <= r) and a block-sparse layout whose blocks may be rectangular and need not align with the
// tile. Index is int64_t on the host; the kernels pass int, whose divisions are a few
// instructions where 64-bit ones are a long subroutine.
//
// The rule is tile_visibility; the kernels ask its two questions separately (tile_any_visible
// before loading a tile, tile_all_visible before masking it), because answering both at once in
// their loops cost registers and spills (measured with ptxas on the sm_90a kernels). The cost per
// tile: a few compares without a layout; with one, a loop over the mask blocks the tile overlaps,
// never over scores.

namespace detail {
// Whether some on block of the layout has a visible score in rows [first_row, row_last] x columns
// [col0, col_last] of the tile: the part of block row bi inside the tile ends at row
// part_row_last, and under causal masking sees columns up to it only.
template <typename Index>
FLASHLAB_HD bool any_block_visible_inline(const uint8_t* layout, int64_t col_blocks,
                                          Index block_rows, Index block_cols, bool causal,
                                          Index first_row, Index row_last, Index col0,
                                          Index col_last) {
  for (Index bi = first_row / block_rows; bi <= row_last / block_rows; ++bi) {
    const Index block_end = (bi + 1) * block_rows - 1;
    const Index part_row_last = block_end < row_last ? block_end : row_last;
    const Index part_col_last = causal && part_row_last < col_last ? part_row_last : col_last;
    for (Index bj = col0 / block_cols; bj <= part_col_last / block_cols; ++bj)
      if (layout[bi * col_blocks + bj] != 0) return true;
  }
  return false;
}
// The same, not inlined on the device: the kernels call it only with a layout, and inlined its
// loop cost registers on every path.
template <typename Index>
FLASHLAB_HD_NOINLINE bool any_block_visible(const uint8_t* layout, int64_t col_blocks,
                                            Index block_rows, Index block_cols, bool causal,
                                            Index first_row, Index row_last, Index col0,
                                            Index col_last) {
  return any_block_visible_inline(layout, col_blocks, block_rows, block_cols, causal, first_row,
                                  row_last, col0, col_last);
}
}  // namespace detail

// True when some score of the tile is visible: the tile is not None. kInlineScan inlines the scan
// of a block-sparse layout: a kernel that moves registers between warpgroups (setmaxnreg) may not
// call functions, which ptxas then refuses to compile (C7600).
template <bool kInlineScan = false, typename Index>
FLASHLAB_HD bool tile_any_visible(const MaskParams& mask, Index row0, Index rows, Index col0,
                                  Index cols) {
  if (rows <= 0 || cols <= 0) return false;
  const Index row_last = row0 + rows - 1, col_last = col0 + cols - 1;
  if (mask.causal && col0 > row_last) return false;  // above the diagonal
  const BlockMaskView& b = mask.block;
  if (b.layout == nullptr) return true;
  // Under causal masking the rows before col0 see no column of the tile.
  const Index first_row = mask.causal && col0 > row0 ? col0 : row0;
  if constexpr (kInlineScan)
    return detail::any_block_visible_inline(b.layout, b.col_blocks, Index(b.block_rows),
                                            Index(b.block_cols), mask.causal, first_row, row_last,
                                            col0, col_last);
  else
    return detail::any_block_visible(b.layout, b.col_blocks, Index(b.block_rows),
                                     Index(b.block_cols), mask.causal, first_row, row_last, col0,
                                     col_last);
}

// True when every score of a non-empty tile is visible: the tile is Full.
template <typename Index>
FLASHLAB_HD bool tile_all_visible(const MaskParams& mask, Index row0, Index rows, Index col0,
                                  Index cols) {
  if (rows <= 0 || cols <= 0) return false;
  if (mask.causal && col0 + cols - 1 > row0) return false;  // crosses the diagonal
  const BlockMaskView& b = mask.block;
  if (b.layout == nullptr) return true;
  const Index block_rows = Index(b.block_rows), block_cols = Index(b.block_cols);
  for (Index bi = row0 / block_rows; bi <= (row0 + rows - 1) / block_rows; ++bi)
    for (Index bj = col0 / block_cols; bj <= (col0 + cols - 1) / block_cols; ++bj)
      if (!b.block_on(bi, bj)) return false;
  return true;
}

template <typename Index>
FLASHLAB_HD TileVisibility tile_visibility(const MaskParams& mask, Index row0, Index rows,
                                           Index col0, Index cols) {
  if (!tile_any_visible(mask, row0, rows, col0, cols)) return TileVisibility::None;
  return tile_all_visible(mask, row0, rows, col0, cols) ? TileVisibility::Full
                                                        : TileVisibility::Partial;
}

}  // namespace flashlab
